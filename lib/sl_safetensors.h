/*
 * sl_safetensors — read Hugging Face safetensors weights: one file, or a sharded set named by
 * model.safetensors.index.json (../shared/FORMATS.md).
 *
 * This is the input side of sl-quant.  Every file is mapped (sl_map.h), never copied, and the
 * whole header is validated before any tensor is handed out: header length inside the file,
 * JSON well-formed, known dtypes, shape × dtype size = byte range, ranges contiguous from 0 with
 * no gap or overlap, the last one ending at the end of the file.  For a sharded set, every name in
 * the index must be in the shard it names and no name may appear twice.  Tensors are then read
 * one at a time (sl_st_read_f32) and their pages dropped after use (sl_st_release), so a model
 * larger than RAM streams through.
 */
#ifndef SL_SAFETENSORS_H
#define SL_SAFETENSORS_H

#include <stdint.h>

#include "sl_map.h"

#define SL_ST_MAX_DIMS 8

/* The dtypes safetensors names; only F32, F16 and BF16 convert to float. */
enum sl_st_dtype {
	SL_ST_BOOL, SL_ST_U8, SL_ST_I8, SL_ST_F8_E5M2, SL_ST_F8_E4M3, SL_ST_I16, SL_ST_U16,
	SL_ST_F16, SL_ST_BF16, SL_ST_I32, SL_ST_U32, SL_ST_F32, SL_ST_F64, SL_ST_I64, SL_ST_U64,
	SL_ST_DTYPE_COUNT
};

typedef struct {
	char *name;                    /* NUL-terminated copy */
	int dtype;                     /* enum sl_st_dtype */
	uint32_t n_dims;
	uint64_t shape[SL_ST_MAX_DIMS]; /* row-major: shape[n_dims-1] is contiguous */
	uint64_t n_elems;
	uint64_t nbytes;
	const uint8_t *data;           /* into the mapping of file `file` */
	int file;                      /* index into sl_safetensors.files */
} sl_st_tensor;

typedef struct {
	int n_files;
	sl_map *files;                 /* one mapping per shard */
	uint64_t n_tensors;
	sl_st_tensor *tensors;         /* shard by shard, each in data order */
	int borrowed;                  /* files[] are not ours to unmap (sl_st_parse) */
} sl_safetensors;

/*
 * Open PATH: a .safetensors file, a model.safetensors.index.json, or a directory holding one of
 * them (the index wins).  Returns 0, or -1 with sl_error "file: what is wrong".  Close with
 * sl_st_close even after a failure.
 */
int sl_st_open(sl_safetensors *st, const char *path);
void sl_st_close(sl_safetensors *st);

/* Parse one file's bytes already in memory (not copied; must outlive st).  For tests. */
int sl_st_parse(sl_safetensors *st, const void *data, uint64_t size, const char *name);

/* Tensor by name, or NULL. */
const sl_st_tensor *sl_st_find(const sl_safetensors *st, const char *name);

/* "F32", ... */
const char *sl_st_dtype_name(int dtype);
/* Bytes per element, 0 for an unknown dtype. */
unsigned sl_st_dtype_size(int dtype);

/*
 * Convert n elements starting at element `first` of t to float.  Returns 0, or -1 with sl_error
 * "NAME: dtype D is not supported (F32, F16, BF16)" or on a range past the end.
 */
int sl_st_read_f32(const sl_st_tensor *t, uint64_t first, uint64_t n, float *dst);

/* Tell the kernel the tensor's pages will not be read again (madvise DONTNEED). */
void sl_st_release(const sl_safetensors *st, const sl_st_tensor *t);

#endif
