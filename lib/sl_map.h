/*
 * sl_map — read-only memory-mapped files and a bounds-checked byte reader.
 *
 * Every model byte sl reads comes through here: weights are mapped, never copied (unless
 * the user asks, sl_map_read), and every length and offset found in a file is checked
 * against the mapping before it is used.
 *
 * Built with -DSL_NO_MMAP (systems without mmap) there is one plain-buffer variant:
 * sl_map_open reads the file into malloc'ed memory as sl_map_read does (m->copied is the
 * size), sl_map_prefault and sl_map_drop do nothing, and sl_huge_alloc is calloc.
 */
#ifndef SL_MAP_H
#define SL_MAP_H

#include <stddef.h>
#include <stdint.h>

/* 1 if sl_map_open maps files, 0 if it reads them into memory (-DSL_NO_MMAP). */
#ifdef SL_NO_MMAP
#define SL_MAP_MAPS 0
#else
#define SL_MAP_MAPS 1
#endif

typedef struct {
	const uint8_t *data; /* NULL for an empty file */
	uint64_t size;
	char *path;          /* copy of the path, for messages */
	uint64_t copied;     /* sl_map_read: bytes of anonymous memory holding the copy; 0 if mapped */
	uint64_t huge;       /* after sl_map_prefault: bytes of the mapping in 2 MiB pages */
	uint64_t dev, ino;   /* the file mapped, to find it again by path */
} sl_map;

/*
 * Map a whole file read-only, at a 2 MiB-aligned address and advised for transparent huge
 * pages (the kernel may then back it with 2 MiB page-cache pages).  Returns 0, or -1 with
 * sl_error "path: strerror".
 */
int sl_map_open(sl_map *m, const char *path);

/*
 * Fault the whole mapping in now, in 2 MiB pages where the kernel can, for a reader that
 * will touch every byte again and again (decoding reads every weight for every token).
 *
 * Why: a pass over weights mapped in 4 KiB pages costs a TLB miss every 4 KiB, and under a
 * hypervisor each miss walks two sets of page tables, which makes decoding several times
 * slower than from 2 MiB pages, and erratic (bench/NOTES.md).  Linux (6.x, on ext4 or
 * XFS) reads a file mapped with huge-page advice into 2 MiB page-cache pages, but only
 * pages not yet cached: a file just written or read with read(2) sits in the cache in
 * small pages.  So each 2 MiB piece of the file that the cache holds in small pages is
 * dropped (if clean and mapped by no other process) and faulted in again, once the first
 * such piece has come back as a huge page (otherwise nothing more is dropped).  Later runs
 * find the huge pages cached.
 * Advice only: never fails, and leaves the contents as they were.  Sets m->huge.
 */
void sl_map_prefault(sl_map *m);

/*
 * Read a whole file into anonymous memory instead, 2 MiB-aligned and advised for transparent
 * huge pages.  Costs a copy and the time to read it (sl-infer --no-mmap).  Same contract as
 * sl_map_open.
 */
int sl_map_read(sl_map *m, const char *path);
void sl_map_close(sl_map *m);

/*
 * The reader is done with [p, p+n) of a mapping (a tensor converted, sl-quant): give the
 * whole pages inside it back to the kernel, so the RSS stays low; read again, they come
 * back from the file.  Only for mapped files (not sl_map_read copies); advice, never fails.
 */
void sl_map_drop(const void *p, uint64_t n);

/*
 * n zeroed bytes of anonymous memory, 2 MiB-aligned and advised for transparent huge pages,
 * for large buffers read over and over (the KV cache): NULL if out of memory.  Free with
 * sl_huge_free(p, n), n as given.
 */
void *sl_huge_alloc(size_t n);
void sl_huge_free(void *p, size_t n);

/* A cursor over [base, base+size) that fails instead of reading past the end. */
typedef struct {
	const uint8_t *base;
	uint64_t size, pos;
	const char *name;    /* file name for messages */
} sl_rd;

void sl_rd_init(sl_rd *r, const void *base, uint64_t size, const char *name);
/* Each returns 0, or -1 with sl_error "name: truncated at byte P (reading WHAT)". */
int sl_rd_bytes(sl_rd *r, uint64_t n, const uint8_t **out, const char *what);
int sl_rd_u8(sl_rd *r, uint8_t *v, const char *what);
int sl_rd_u16(sl_rd *r, uint16_t *v, const char *what);
int sl_rd_u32(sl_rd *r, uint32_t *v, const char *what);
int sl_rd_u64(sl_rd *r, uint64_t *v, const char *what);

/* Overflow-checked arithmetic: return 0 and set *out, or -1 on overflow. */
int sl_add_u64(uint64_t a, uint64_t b, uint64_t *out);
int sl_mul_u64(uint64_t a, uint64_t b, uint64_t *out);

#endif
