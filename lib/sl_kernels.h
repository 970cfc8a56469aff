/*
 * sl_kernels — the arithmetic that dominates inference: matrix × vector/matrix products
 * with weights in any supported type.
 *
 * Each kernel has a plain scalar reference (_ref, the spec) and SIMD variants chosen once
 * at run time (AVX-512 or AVX2+FMA+F16C on x86-64).  Only the sl_kernels_*.c files contain
 * intrinsics.
 */
#ifndef SL_KERNELS_H
#define SL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "sl_pool.h"
#include "sl_types.h"

/*
 * Y[t*rows + r] = sum_k W_r[k] * X[t*cols + k]   for t < n_tok, r < rows.
 * W: rows × cols in `type` (sl_types.h), row r at (char*)W + r*sl_type_row_bytes(type, cols).
 * X: n_tok × cols floats; Y: n_tok × rows floats.  pool may be NULL.
 * The result does not depend on the pool's thread count.
 */
void sl_matmul(sl_pool *pool, uint32_t type, const void *W, int rows, int cols,
	       const float *X, int n_tok, float *Y);

/*
 * Several products of the same X at once: outs[i].Y = outs[i].W · X for i < n, each
 * outs[i].rows × cols in `type`, as sl_matmul (the same bits).  X is quantized once and
 * the rows of all are shared out among the threads as one product's: q, k and v (or gate
 * and up) stream from memory as one job, with one wait at its end.
 */
typedef struct {
	const void *W;
	int rows;
	float *Y;
} sl_mm_out;
void sl_matmul_n(sl_pool *pool, uint32_t type, const sl_mm_out *outs, int n, int cols,
		 const float *X, int n_tok);

/* The reference: dequantize each row and accumulate in double.  Same contract. */
void sl_matmul_ref(uint32_t type, const void *W, int rows, int cols,
		   const float *X, int n_tok, float *Y);

/*
 * C[t*ldc + j] = Σ_k A[t*lda + k] · B[k*ldb + j]   for t < m, j < n: a float product with
 * B's rows along j (attention's two products: a block's keys, stored by dimension, and its
 * values, as they are cached).
 * Each element is a chain c = c + a·b over k in order whatever the tile, m or n: a row's
 * result does not depend on the others.
 */
void sl_gemm_f32_nn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
		    float *C, size_t ldc);

/*
 * sl_gemm_f32_nn with B in half precision, converted as it is read: each element bit for
 * bit what sl_gemm_f32_nn gives for B converted to f32 (sl_f16_to_f32_rows).  1 if done, 0
 * if the kernel set has no such product (then convert B and call sl_gemm_f32_nn).  Saves
 * writing and reading back the converted B where each of its values is used once or a few
 * times (attention for one token).
 */
int sl_gemm_f16_nn(int m, int n, int k, const float *A, size_t lda, const sl_f16 *B, size_t ldb,
		   float *C, size_t ldc);

/*
 * dst[i] = src[i] for `rows` rows of n half-precision values, src_stride and dst_stride
 * elements apart, exactly (F16C where the CPU has it).  Many rows per call: attention
 * converts a head's block of keys or values (one run when the strides are n).
 */
void sl_f16_to_f32_rows(const sl_f16 *src, size_t src_stride, float *dst, size_t dst_stride,
			int rows, size_t n);
/* dst[i] = src[i] rounded to the nearest half, ties to even, as sl_f32_to_f16 (a NaN stays
 * a NaN, though not always the same one). */
void sl_f32_to_f16_row(const float *src, sl_f16 *dst, size_t n);

/*
 * g[i] = g[i] / (1 + e^−g[i]) · u[i]: LlamaMLP's act_fn(gate) · up.  The reference uses
 * expf; a SIMD set may use its own exponential: the result within 4 ulp of it.
 */
void sl_silu_mul(float *g, const float *u, size_t n);

/*
 * row[i] = e^(s_i − max s) / Σ e^(s_j − max s), s_i = row[i]·scale, for i < n > 0: the
 * attention weights of one query.  The reference sums in double with expf; a SIMD set may
 * use its exponential and float partial sums, within 8 ulp of the reference.
 */
void sl_softmax(float *row, int n, float scale);

/*
 * Name of the kernel set chosen at run time ("avx512", "avx2-vnni", "avx2" or "ref"); the
 * environment variable SL_KERNELS=name forces one the CPU has (SL_KERNELS=ref: the scalar
 * reference); any other name leaves the default (sl-infer warns).
 */
const char *sl_kernels_name(void);

/*
 * Bytes ahead of its position at which a one-token product asks for its rows (8192 by
 * default).  The environment variable SL_PREFETCH_AHEAD=bytes, a whole number from 0 to
 * 1048576, sets it when the library is loaded.  sl_kernels_prefetch_parse(s) is the distance the
 * string s gives, or -1 if it gives none (NULL, empty or not such a number).
 */
long sl_kernels_prefetch(void);
long sl_kernels_prefetch_parse(const char *s);

/*
 * Choosing the distance by timing: without SL_PREFETCH_AHEAD, and where the kernel set in
 * use asks ahead, the first 2 × SL_TUNE_ROUNDS one-token passes a tuner sees alternate
 * between 8192 and 2048 bytes, and then the distance whose passes' median time was shorter
 * stays (the best distance moves with the host: bench/NOTES.md).  Call before_pass before
 * a one-token pass: if it returns 1, time the pass and give after_pass its seconds (0: the
 * tuner is done or idle, nothing to time).  The distance is one for the process; it never
 * changes a result.
 */
#define SL_TUNE_ROUNDS 4
typedef struct {
	int n;                            /* passes timed */
	double s[2][SL_TUNE_ROUNDS];      /* their seconds, by distance */
} sl_prefetch_tuner;
int sl_prefetch_tune_before_pass(const sl_prefetch_tuner *t);
void sl_prefetch_tune_after_pass(sl_prefetch_tuner *t, double seconds);
/* Where the distance in use came from: "SL_PREFETCH_AHEAD", "timed" or "default". */
const char *sl_kernels_prefetch_how(void);

#endif
