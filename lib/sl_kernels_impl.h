/*
 * sl_kernels_impl.h — internal to sl_kernels*.c (and test_kernels.c): the interface every
 * kernel set (ref, avx2, ...) implements, so that sl_kernels.c can dispatch in one spot and
 * the tests can run each set against the reference.
 *
 * How a matrix product runs (sl_matmul):
 *   1. the activations X (n_tok rows of floats) are quantized once per call to 8-bit blocks
 *      in a layout private to the kernel set (Q8_0-like blocks of 32 for Q4_0/Q8_0 weights,
 *      Q8_K-like blocks of 256 for Q4_K/Q6_K, as llama.cpp does; float types use X as is);
 *   2. the rows of W are cut into fixed chunks (tasks of the thread pool); each task calls
 *      the set's mm() on its chunk and all tokens, which tiles rows × tokens in registers so
 *      each weight block, once loaded, serves several tokens.
 * A set's mm() computes each Y element with the same sequence of operations whatever the
 * tile it falls in, so results depend neither on the threads nor on the chunking.
 */
#ifndef SL_KERNELS_IMPL_H
#define SL_KERNELS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "sl_pool.h"
#include "sl_types.h"

typedef struct {
	const char *name;
	/*
	 * Bytes of one token's quantized activations for weights of `type` with `cols` columns
	 * (a multiple of 64); 0 means the set reads X as floats.  -1 cast to size_t: type not
	 * handled by this set.
	 */
	size_t (*xq_size)(uint32_t type, int cols);
	/* Quantize one token x[cols] into out (xq_size bytes, 64-byte aligned). */
	void (*xq)(uint32_t type, const float *x, int cols, void *out);
	/*
	 * Y[t*ldy + r] = row r of W · token t, for r < nr, t < nt.  Rows are ws bytes apart;
	 * tokens are xs bytes apart in xq (quantized) or are rows of floats if xq_size was 0.
	 */
	void (*mm)(uint32_t type, const void *W, size_t ws, int nr, int cols,
		   const void *xq, size_t xs, int nt, float *Y, size_t ldy);
	/* Rows of half-precision values to float and back (the F16 KV cache). */
	void (*f16_to_f32)(const sl_f16 *src, float *dst, size_t n);
	void (*f32_to_f16)(const float *src, sl_f16 *dst, size_t n);
} sl_kset;

extern const sl_kset sl_kset_ref;
#if defined(__x86_64__)
extern const sl_kset sl_kset_avx2;      /* AVX2 + FMA + F16C */
extern const sl_kset sl_kset_avx2_vnni; /* the same, with AVX-VNNI dot products */
#endif

/*
 * The sets this CPU can run, best first, ending with &sl_kset_ref and NULL; SL_KERNELS
 * names the one to use ("ref", "avx2", "avx2-vnni"), default the best.
 */
const sl_kset *const *sl_kset_all(void);
const sl_kset *sl_kset_get(void);

/* sl_matmul with a given kernel set (for tests and benchmarks). */
void sl_matmul_kset(const sl_kset *ks, sl_pool *pool, uint32_t type, const void *W,
		    int rows, int cols, const float *X, int n_tok, float *Y);

/*
 * The reference quantized activation layout (the spec the SIMD sets follow in value):
 *   Q8_0 (for Q4_0, Q8_0 weights):  int8 qs[cols], then float d[cols/32];  x ≈ d*qs
 *   Q8_K (for Q4_K, Q6_K weights):  int8 qs[cols], then float d[cols/256]
 * with d = max|x|/127 over the block and qs = x/d rounded to nearest even.
 */
void sl_quant_q8_ref(const float *x, int n, int blck, int8_t *qs, float *d);

#endif
