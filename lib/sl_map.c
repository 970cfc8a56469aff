/*
 * sl_map — read-only mappings and the bounds-checked cursor (sl_map.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_err.h"
#include "sl_map.h"

/* Open path, which must be a regular file: the descriptor, or -1 with sl_error set. */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sl_seterr_sys(errno, "%s", path);
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		return sl_seterr_sys(e, "%s", path);
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return sl_seterr(S_ISDIR(st->st_mode) ? "%s: is a directory" :
				 "%s: not a regular file (models must be seekable files)", path);
	}
	return fd;
}

/*
 * Read all m->size bytes of fd into buf: 0, or -1 with sl_error set (m->path).  In pieces of
 * at most 1 GiB, which every system's read accepts.
 */
static int read_all(const sl_map *m, int fd, uint8_t *buf)
{
	uint64_t got = 0;

	while (got < m->size) {
		ssize_t r = pread(fd, buf + got, (size_t)(m->size - got > (1u << 30) ? (1u << 30) : m->size - got),
				  (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sl_seterr_sys(errno, "%s: read", m->path);
		if (r == 0)
			return sl_seterr_code(SL_E_IO, "%s: read: file shrank while reading", m->path);
		got += (uint64_t)r;
	}
	return 0;
}

#ifdef SL_NO_MMAP
/*
 * A build without mmap (-DSL_NO_MMAP, for systems that have none): files are read into
 * malloc'ed memory, the huge-page hints do nothing, and the KV cache is calloc'ed.
 */
static int read_file(sl_map *m, const char *path)
{
	struct stat st;
	uint8_t *buf;
	int fd;

	memset(m, 0, sizeof *m);
	fd = open_regular(path, &st);
	if (fd < 0)
		return -1;
	m->path = strdup(path);
	m->size = (uint64_t)st.st_size;
	m->dev = (uint64_t)st.st_dev;
	m->ino = (uint64_t)st.st_ino;
	if (!m->path) {
		close(fd);
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	}
	if (m->size == 0) {
		close(fd);
		return 0;
	}
	buf = m->size <= SIZE_MAX ? malloc((size_t)m->size) : NULL;
	if (!buf) {
		close(fd);
		sl_map_close(m);
		return sl_seterr_code(SL_E_NOMEM, "%s: cannot allocate %llu bytes to read it into", path,
				      (unsigned long long)st.st_size);
	}
	m->data = buf;
	m->copied = m->size;
	if (read_all(m, fd, buf) != 0) {
		close(fd);
		sl_map_close(m);
		return -1;
	}
	close(fd);
	return 0;
}

int sl_map_open(sl_map *m, const char *path)
{
	return read_file(m, path);
}

int sl_map_read(sl_map *m, const char *path)
{
	return read_file(m, path);
}

void sl_map_prefault(sl_map *m)
{
	(void)m;
}

void sl_map_drop(const void *p, uint64_t n)
{
	(void)p;
	(void)n;
}

void *sl_huge_alloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

void sl_huge_free(void *p, size_t n)
{
	(void)n;
	free(p);
}

void sl_map_close(sl_map *m)
{
	free((void *)m->data);
	free(m->path);
	memset(m, 0, sizeof *m);
}

#else /* mmap */

#include <sys/mman.h>

#define HUGE_PAGE ((uint64_t)2 << 20)

static uint64_t huge_round(uint64_t n)
{
	return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/*
 * len bytes (a multiple of the page size) of anonymous memory with protection prot at a
 * 2 MiB-aligned address (a huge page can only map an aligned range): over-allocate by one
 * huge page, then give back both ends.  NULL on failure, with errno set.
 */
static uint8_t *aligned_region(uint64_t len, int prot)
{
	if (len == 0 || len > SIZE_MAX - HUGE_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	uint8_t *raw = mmap(NULL, (size_t)(len + HUGE_PAGE), prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + len + HUGE_PAGE > p + len)
		munmap(p + len, (size_t)(raw + len + HUGE_PAGE - (p + len)));
	return p;
}

/*
 * Map n bytes of fd read-only at a 2 MiB-aligned address, advised for huge pages.
 * MAP_FAILED on failure, with errno set.
 */
static void *map_aligned(int fd, uint64_t n)
{
	uint64_t page = (uint64_t)getpagesize(), len = (n + page - 1) & ~(page - 1);
	uint8_t *p = aligned_region(len, PROT_NONE);

	if (!p)
		return MAP_FAILED;
	if (mmap(p, (size_t)n, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int e = errno;
		munmap(p, (size_t)len);
		errno = e;
		return MAP_FAILED;
	}
	madvise(p, (size_t)n, MADV_HUGEPAGE); /* advice only: fine if the kernel ignores it */
	return p;
}

int sl_map_open(sl_map *m, const char *path)
{
	struct stat st;
	void *p = NULL;
	int fd;

	memset(m, 0, sizeof *m);
	fd = open_regular(path, &st);
	if (fd < 0)
		return -1;
	if (st.st_size > 0) {
		p = map_aligned(fd, (uint64_t)st.st_size);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			return sl_seterr_sys(e, "%s: mmap", path);
		}
	}
	close(fd);
	m->data = p;
	m->size = (uint64_t)st.st_size;
	m->dev = (uint64_t)st.st_dev;
	m->ino = (uint64_t)st.st_ino;
	m->path = strdup(path);
	if (!m->path) {
		sl_map_close(m);
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

void *sl_huge_alloc(size_t n)
{
	uint8_t *p = aligned_region(huge_round(n), PROT_READ | PROT_WRITE);

	if (p)
		madvise(p, (size_t)huge_round(n), MADV_HUGEPAGE); /* advice only: fine if THP is off */
	return p;
}

void sl_huge_free(void *p, size_t n)
{
	if (p)
		munmap(p, (size_t)huge_round(n));
}

int sl_map_read(sl_map *m, const char *path)
{
	struct stat st;
	uint8_t *buf;
	int fd;

	memset(m, 0, sizeof *m);
	fd = open_regular(path, &st);
	if (fd < 0)
		return -1;
	m->path = strdup(path);
	if (!m->path) {
		close(fd);
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	}
	m->size = (uint64_t)st.st_size;
	if (m->size == 0) {
		close(fd);
		return 0;
	}
	buf = sl_huge_alloc((size_t)m->size);
	if (!buf) {
		int e = errno;
		close(fd);
		sl_map_close(m);
		return sl_seterr_sys(e, "%s: cannot allocate %llu bytes to read it into", path,
				     (unsigned long long)st.st_size);
	}
	m->data = buf;
	m->copied = huge_round(m->size);
	if (read_all(m, fd, buf) != 0) {
		close(fd);
		sl_map_close(m);
		return -1;
	}
	close(fd);
	mprotect(buf, (size_t)m->copied, PROT_READ); /* weights are read-only, as when mapped */
	return 0;
}

/* ==== sl_map_prefault ==== */

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* Fault [p, p+n) in: one system call, or on kernels before 5.14 a read per page. */
static void populate(const uint8_t *p, uint64_t n)
{
	if (n == 0 || madvise((void *)p, (size_t)n, MADV_POPULATE_READ) == 0 || errno != EINVAL)
		return; /* EIO, EFAULT (file shrank): leave it to the reader, who checks */
	volatile uint8_t sink = 0;
	for (uint64_t i = 0; i < n; i += (uint64_t)getpagesize())
		sink ^= p[i];
	(void)sink;
}

/*
 * FilePmdMapped (bytes of 2 MiB file pages mapped) of the mappings that start at lo + i·stride,
 * i < k, from /proc/self/smaps: out[i], or -1 where there is none or the kernel does not say.
 * Returns 0, or -1 if smaps cannot be read.
 */
static int pmd_mapped(uintptr_t lo, uint64_t stride, int k, int64_t *out)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int cur = -1;

	for (int i = 0; i < k; i++)
		out[i] = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long long a, b, v;
		char dash;
		/* a mapping's first line: "start-end perms ..."; field lines start "Name:" */
		if (sscanf(line, "%llx%c%llx", &a, &dash, &b) == 3 && dash == '-') {
			cur = a >= lo && (a - lo) % stride == 0 && (a - lo) / stride < (uint64_t)k ? (int)((a - lo) / stride) : -1;
			continue;
		}
		if (cur >= 0 && sscanf(line, "FilePmdMapped: %llu kB", &v) == 1)
			out[cur] = (int64_t)v * 1024;
	}
	fclose(f);
	return 0;
}

/*
 * Chunks looked at per round, each mapped a second time meanwhile: 64 MiB more in the RSS,
 * while the main mapping is mostly unmapped (sl_map_prefault).
 */
#define PROBE_CHUNKS 32

/*
 * Which of the k 2 MiB chunks of fd from offset off does the page cache hold in one huge
 * page?  Each is mapped apart (smaps counts per mapping; a gap between them keeps the
 * kernel from merging them) with huge-page advice, faulted in, and looked at.  huge[i] is
 * 1 or 0; returns -1 if this cannot be found out.
 */
static int huge_chunks(int fd, uint64_t off, int k, int *huge)
{
	uint64_t span = (uint64_t)(2 * k) * HUGE_PAGE; /* chunk, gap, chunk, gap ... */
	uint8_t *raw = mmap(NULL, (size_t)(span + HUGE_PAGE), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t bytes[PROBE_CHUNKS];
	int rc = 0;

	if (raw == MAP_FAILED)
		return -1;
	uint8_t *base = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	for (int i = 0; i < k && rc == 0; i++) {
		uint8_t *p = base + (uint64_t)(2 * i) * HUGE_PAGE;
		if (mmap(p, HUGE_PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
			 (off_t)(off + (uint64_t)i * HUGE_PAGE)) == MAP_FAILED)
			rc = -1;
		madvise(p, HUGE_PAGE, MADV_HUGEPAGE);
		populate(p, HUGE_PAGE);
	}
	if (rc == 0)
		rc = pmd_mapped((uintptr_t)base, 2 * HUGE_PAGE, k, bytes);
	for (int i = 0; i < k && rc == 0; i++) {
		if (bytes[i] < 0)
			rc = -1;
		huge[i] = bytes[i] == (int64_t)HUGE_PAGE;
	}
	munmap(raw, (size_t)(span + HUGE_PAGE));
	return rc;
}

/*
 * Drop chunk [off, off + 2 MiB) of m's file from the page cache (clean pages nobody else
 * maps) and from this process's mapping, and fault it in again: read anew, through the
 * huge-page advice.  fd is the file, reopened.
 */
static void reread_chunk(const sl_map *m, int fd, uint64_t off)
{
	madvise((void *)(m->data + off), HUGE_PAGE, MADV_DONTNEED); /* read-only: nothing lost */
	posix_fadvise(fd, (off_t)off, (off_t)HUGE_PAGE, POSIX_FADV_DONTNEED);
	populate(m->data + off, HUGE_PAGE);
}

/*
 * Read again the chunks the page cache holds in small pages.  The first one tells whether
 * that helps on this machine (kernel, file system, THP setting): if it comes back small
 * too, nothing more is dropped.
 */
static void reread_small_chunks(const sl_map *m, int fd)
{
	uint64_t whole = m->size & ~(HUGE_PAGE - 1);
	int huge[PROBE_CHUNKS], tried = 0;

	for (uint64_t off = 0; off < whole; off += PROBE_CHUNKS * HUGE_PAGE) {
		int k = (int)((whole - off) / HUGE_PAGE < PROBE_CHUNKS ? (whole - off) / HUGE_PAGE : PROBE_CHUNKS);
		if (huge_chunks(fd, off, k, huge) != 0)
			return;
		for (int i = 0; i < k; i++) {
			uint64_t c = off + (uint64_t)i * HUGE_PAGE;
			if (huge[i])
				continue;
			reread_chunk(m, fd, c);
			if (!tried++ && (huge_chunks(fd, c, 1, &huge[i]) != 0 || !huge[i]))
				return;
		}
	}
}

void sl_map_prefault(sl_map *m)
{
	uint64_t whole = m->size & ~(HUGE_PAGE - 1); /* only whole, aligned 2 MiB can be huge */
	struct stat st;
	int64_t h;
	int fd;

	if (m->copied || !m->data)
		return;
	populate(m->data, m->size);
	pmd_mapped((uintptr_t)m->data, 1, 1, &h);
	m->huge = h > 0 ? (uint64_t)h : 0;
	if (h < 0 || m->huge >= whole) /* the kernel does not say, or all huge already */
		return;
	/* Reopen the file the mapping shows, only if it is still the same file. */
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_dev == m->dev && (uint64_t)st.st_ino == m->ino) {
		/*
		 * Unmap our small pages first (they stay cached): every read of smaps walks every
		 * page table entry of the process, so it is far cheaper without them, and the RSS
		 * stays under the model's size while chunks are looked at.
		 */
		madvise((void *)m->data, (size_t)m->size, MADV_DONTNEED);
		reread_small_chunks(m, fd);
		populate(m->data, m->size);
		pmd_mapped((uintptr_t)m->data, 1, 1, &h);
		m->huge = h > 0 ? (uint64_t)h : 0;
	}
	close(fd);
}

void sl_map_close(sl_map *m)
{
	if (m->data)
		munmap((void *)m->data, (size_t)(m->copied ? m->copied : m->size));
	free(m->path);
	memset(m, 0, sizeof *m);
}

void sl_map_drop(const void *p, uint64_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t b, e;

	if (pg <= 0)
		return;
	/* Only whole pages inside [p, p+n): a neighbour may still need a shared edge page. */
	b = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
	e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
	if (e > b)
		madvise((void *)b, e - b, MADV_DONTNEED);
}

#endif /* SL_NO_MMAP */

void sl_rd_init(sl_rd *r, const void *base, uint64_t size, const char *name)
{
	r->base = base;
	r->size = size;
	r->pos = 0;
	r->name = name;
}

int sl_rd_bytes(sl_rd *r, uint64_t n, const uint8_t **out, const char *what)
{
	if (n > r->size - r->pos)
		return sl_seterr("%s: truncated at byte %llu (reading %s: %llu bytes past the end)", r->name,
				 (unsigned long long)r->pos, what,
				 (unsigned long long)(n - (r->size - r->pos)));
	*out = r->base + r->pos;
	r->pos += n;
	return 0;
}

/* Little-endian loads: the file format is little-endian whatever the host. */
static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int sl_rd_u8(sl_rd *r, uint8_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 1, &p, what))
		return -1;
	*v = p[0];
	return 0;
}

int sl_rd_u16(sl_rd *r, uint16_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 2, &p, what))
		return -1;
	*v = (uint16_t)le(p, 2);
	return 0;
}

int sl_rd_u32(sl_rd *r, uint32_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 4, &p, what))
		return -1;
	*v = (uint32_t)le(p, 4);
	return 0;
}

int sl_rd_u64(sl_rd *r, uint64_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 8, &p, what))
		return -1;
	*v = le(p, 8);
	return 0;
}

int sl_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a > UINT64_MAX - b)
		return -1;
	*out = a + b;
	return 0;
}

int sl_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a != 0 && b > UINT64_MAX / a)
		return -1;
	*out = a * b;
	return 0;
}
