/*
 * sl_gguf — GGUF v3 reader and writer (ggml's docs/gguf.md).
 *
 * The reader maps the file and validates everything before returning: magic, version,
 * every string and array length, tensor dims, types, offsets (aligned, inside the file,
 * non-overlapping) and sizes.  Values point into the mapping; nothing is copied but keys
 * and names.  The writer takes the metadata and tensor infos first, writes the header, then
 * tensor data one tensor at a time in order (so a quantizer can stream), packed and padded
 * as llama.cpp requires.
 */
#ifndef SL_GGUF_H
#define SL_GGUF_H

#include <stdint.h>
#include <stdio.h>

#include "sl_map.h"

#define SL_GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define SL_GGUF_VERSION 3
#define SL_GGUF_DEFAULT_ALIGN 32
#define SL_GGUF_MAX_DIMS 4

enum sl_gguf_vtype {
	SL_GGUF_U8 = 0, SL_GGUF_I8 = 1, SL_GGUF_U16 = 2, SL_GGUF_I16 = 3, SL_GGUF_U32 = 4,
	SL_GGUF_I32 = 5, SL_GGUF_F32 = 6, SL_GGUF_BOOL = 7, SL_GGUF_STRING = 8,
	SL_GGUF_ARRAY = 9, SL_GGUF_U64 = 10, SL_GGUF_I64 = 11, SL_GGUF_F64 = 12,
	SL_GGUF_VTYPE_COUNT = 13
};

typedef struct {
	const char *ptr;     /* not NUL-terminated: points into the file */
	uint64_t len;
} sl_gguf_str;

typedef struct {
	char *key;               /* NUL-terminated copy */
	uint32_t type;           /* enum sl_gguf_vtype */
	/* Scalars, widened: integers in u/i (both set when representable), floats in f. */
	uint64_t u;
	int64_t i;
	double f;
	sl_gguf_str s;           /* SL_GGUF_STRING */
	/* SL_GGUF_ARRAY: element type, count, and the raw little-endian elements.  For string
	 * arrays, strs[] holds each element (allocated); nested arrays are validated but only
	 * their raw bytes are kept. */
	uint32_t arr_type;
	uint64_t arr_n;
	const uint8_t *arr_data;
	sl_gguf_str *strs;
	/* The value as stored (the bytes after the type), to copy a key verbatim (sl_gguf_add_raw). */
	const uint8_t *raw;
	uint64_t raw_len;
} sl_gguf_kv;

typedef struct {
	char *name;                       /* NUL-terminated copy */
	uint32_t n_dims;
	uint64_t ne[SL_GGUF_MAX_DIMS];    /* ggml order: ne[0] is contiguous; unused dims are 1 */
	uint32_t type;                    /* enum sl_type */
	uint64_t offset;                  /* from the start of the data section */
	uint64_t nbytes;
	const void *data;                 /* into the mapping */
} sl_gguf_tensor;

typedef struct {
	sl_map map;                       /* owned mapping (sl_gguf_open only) */
	const uint8_t *base;              /* the file's bytes, mapped or given */
	char *name;                       /* for messages: the path, or the name given to parse */
	uint64_t size;
	uint32_t version;
	uint32_t alignment;
	uint64_t n_kv, n_tensors;
	sl_gguf_kv *kv;
	sl_gguf_tensor *tensors;
	uint64_t data_offset;             /* file offset of the data section */
} sl_gguf;

/* Map and validate a GGUF file.  Returns 0, or -1 with sl_error "path: what is wrong". */
int sl_gguf_open(sl_gguf *g, const char *path);
/* The same, reading the file into memory instead of mapping it (sl_map_read). */
int sl_gguf_open_read(sl_gguf *g, const char *path);
/* Same over bytes already in memory (not copied; must outlive g).  name is for messages. */
int sl_gguf_parse(sl_gguf *g, const void *data, uint64_t size, const char *name);
void sl_gguf_close(sl_gguf *g);

const sl_gguf_kv *sl_gguf_find(const sl_gguf *g, const char *key);
const sl_gguf_tensor *sl_gguf_tensor_find(const sl_gguf *g, const char *name);

/*
 * Typed getters.  Return 1 and set *out if the key exists with a compatible type (any
 * integer type whose value fits; f32/f64 for floats), 0 if absent, -1 with sl_error
 * "name: key K has type T, expected ..." if present but wrong.
 */
int sl_gguf_get_u32(const sl_gguf *g, const char *key, uint32_t *out);
int sl_gguf_get_u64(const sl_gguf *g, const char *key, uint64_t *out);
int sl_gguf_get_f32(const sl_gguf *g, const char *key, float *out);
int sl_gguf_get_bool(const sl_gguf *g, const char *key, int *out);
/* String value as a malloc'ed NUL-terminated copy (caller frees). */
int sl_gguf_get_str(const sl_gguf *g, const char *key, char **out);

/*
 * Arrays.  sl_gguf_get_arr_n: 1 and the element count if key is an array, 0 if absent, -1 if
 * it is not an array.  The element getters return 1 and set *out, 0 if the key is absent, -1
 * with sl_error if it is not an array of that kind or i is past its end: _i64 takes any
 * integer element type (a u64 above INT64_MAX is an error), _f32 f32 or f64, _str strings
 * (pointing into the file, not NUL-terminated).
 */
int sl_gguf_get_arr_n(const sl_gguf *g, const char *key, uint64_t *n);
int sl_gguf_get_arr_i64(const sl_gguf *g, const char *key, uint64_t i, int64_t *out);
int sl_gguf_get_arr_f32(const sl_gguf *g, const char *key, uint64_t i, float *out);
int sl_gguf_get_arr_str(const sl_gguf *g, const char *key, uint64_t i, sl_gguf_str *out);
/* The same on a value already found (g names the file in messages): 0 or -1, for loops
 * over long arrays (a vocabulary) that should not look the key up per element. */
int sl_gguf_kv_i64(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, int64_t *out);
int sl_gguf_kv_f32(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, float *out);
int sl_gguf_kv_str(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, sl_gguf_str *out);

const char *sl_gguf_vtype_name(uint32_t type);

/* ==== writer ==== */

typedef struct sl_gguf_writer sl_gguf_writer;

sl_gguf_writer *sl_gguf_writer_new(void);   /* NULL on out of memory */
void sl_gguf_writer_free(sl_gguf_writer *w);

/* Metadata, in the order added.  Each returns 0 or -1 (out of memory / bad key). */
int sl_gguf_add_u32(sl_gguf_writer *w, const char *key, uint32_t v);
int sl_gguf_add_i32(sl_gguf_writer *w, const char *key, int32_t v);
int sl_gguf_add_u64(sl_gguf_writer *w, const char *key, uint64_t v);
int sl_gguf_add_f32(sl_gguf_writer *w, const char *key, float v);
int sl_gguf_add_bool(sl_gguf_writer *w, const char *key, int v);
int sl_gguf_add_str(sl_gguf_writer *w, const char *key, const char *s);
/* Generic scalar of any non-array, non-string type; `val` points at its little-endian bytes. */
int sl_gguf_add_scalar(sl_gguf_writer *w, const char *key, uint32_t type, const void *val);
/* Array of fixed-size elements (not strings): n elements of elem_type at data. */
int sl_gguf_add_arr(sl_gguf_writer *w, const char *key, uint32_t elem_type, uint64_t n, const void *data);
/* Array of strings: s[i] of length lens[i] (lens NULL: NUL-terminated). */
int sl_gguf_add_arr_str(sl_gguf_writer *w, const char *key, uint64_t n, const char *const *s, const uint64_t *lens);

/* Copy a key/value read from a GGUF file, with its type and bytes.  0, -1, or 1 if it was
 * skipped: a nested array (the reader keeps no structure for those). */
int sl_gguf_add_kv(sl_gguf_writer *w, const sl_gguf_kv *kv);

/* A key whose value is given as stored in a GGUF file (sl_gguf_kv.raw: for a string its length
 * and bytes, for an array its element type, count and elements), copied verbatim.  The value
 * is trusted to be well formed (it comes from the validating reader); scalars are checked. */
int sl_gguf_add_raw(sl_gguf_writer *w, const char *key, uint32_t type, const void *val, uint64_t n);
/* Write GGUF version 2 or 3 (default) in the header: the two differ only in that number. */
int sl_gguf_writer_set_version(sl_gguf_writer *w, uint32_t version);

/* Declare a tensor (in output order).  Returns its index, or -1 (ragged row, bad name). */
int sl_gguf_add_tensor(sl_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type);
/* Bytes tensor idx must be given. */
uint64_t sl_gguf_tensor_nbytes(const sl_gguf_writer *w, int idx);

/* Write header, metadata, tensor infos and padding.  Then call sl_gguf_write_tensor for
 * each tensor in order, with exactly its nbytes (in one call or several).  Then finish. */
int sl_gguf_write_header(sl_gguf_writer *w, FILE *f);
int sl_gguf_write_data(sl_gguf_writer *w, FILE *f, const void *data, uint64_t n);
int sl_gguf_write_finish(sl_gguf_writer *w, FILE *f);  /* -1 if a tensor is short */

#endif
