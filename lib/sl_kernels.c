/*
 * sl_kernels — matrix products W·X with weights in any supported type: the dispatch, the
 * thread split, and the scalar reference kernels (the spec; sl_kernels_avx2.c has the fast
 * ones).  See sl_kernels_impl.h for how a product runs.
 *
 * Quantized weights meet activations quantized on the fly to 8 bits, as in llama.cpp: a
 * block dot product is then an integer sum times two scales.  For a Q4_0 block w (scale dw,
 * 4-bit q) and a Q8_0 block x (scale dx, 8-bit p):   w·x = dw·dx·Σ (q_i − 8)·p_i.
 * K-quants have 8 or 16 sub-blocks with small integer scales inside a 256-value block, so
 * their activations use one float scale per 256 (Q8_K) and the sub-block sums stay integer.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sl_kernels.h"
#include "sl_kernels_impl.h"
#include "sl_types.h"

/*
 * Rows per pool task: a multiple of every tile height, small enough to balance threads.
 * Each Y element is computed the same way whatever the chunk, so this choice never
 * changes results.
 */
#define ROWS_PER_TASK 32

/*
 * For one token (generation) the product streams its weights from memory once, and the
 * threads stream fastest from a few large pieces each (hundreds of rows, not tens; one
 * thread does not care; figures in bench/NOTES.md).  So the rows are cut into 4 pieces per
 * thread of decreasing size (piece i of n in proportion to 2(n-i)-1: the first is 15 times
 * the last), whole multiples of 64 rows: large pieces first, small ones last so the
 * threads finish together.  Piece `task` starts at row:
 */
static int piece_start(int rows, int n, int task)
{
	if (task >= n)
		return rows;
	double left = (double)(n - task) / n;
	return (int)((double)rows * (1.0 - left * left)) & ~63;
}
/* Tokens quantized per pool task. */
#define TOKS_PER_TASK 8

/* ==== reference: activation quantization ==== */

void sl_quant_q8_ref(const float *x, int n, int blck, int8_t *qs, float *d)
{
	for (int b = 0; b < n / blck; b++, x += blck, qs += blck) {
		float amax = 0;
		for (int i = 0; i < blck; i++)
			amax = fmaxf(amax, fabsf(x[i]));
		float db = amax / 127.f, id = db != 0 ? 1.f / db : 0.f;
		d[b] = db;
		for (int i = 0; i < blck; i++)
			qs[i] = (int8_t)nearbyintf(x[i] * id); /* |x·id| <= 127 */
	}
}

/* ==== reference: dot products of one weight row with one token ==== */

static float dot_q8_0_ref(const sl_block_q8_0 *w, const int8_t *xq, const float *xd, int n)
{
	float sum = 0;
	for (int b = 0; b < n / SL_QK8_0; b++, xq += SL_QK8_0) {
		int isum = 0;
		for (int i = 0; i < SL_QK8_0; i++)
			isum += w[b].qs[i] * xq[i];
		sum += sl_f16_to_f32(w[b].d) * xd[b] * (float)isum;
	}
	return sum;
}

static float dot_q4_0_ref(const sl_block_q4_0 *w, const int8_t *xq, const float *xd, int n)
{
	float sum = 0;
	for (int b = 0; b < n / SL_QK4_0; b++, xq += SL_QK4_0) {
		int isum = 0;
		for (int i = 0; i < SL_QK4_0 / 2; i++) {
			isum += ((w[b].qs[i] & 15) - 8) * xq[i];
			isum += ((w[b].qs[i] >> 4) - 8) * xq[i + 16];
		}
		sum += sl_f16_to_f32(w[b].d) * xd[b] * (float)isum;
	}
	return sum;
}

/* The 6-bit scale and min of sub-block j of a Q4_K block (FORMATS.md). */
static void q4_K_scale_min(int j, const uint8_t *sc, int *s, int *m)
{
	if (j < 4) {
		*s = sc[j] & 63;
		*m = sc[j + 4] & 63;
	} else {
		*s = (sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4);
		*m = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
	}
}

/*
 * Q4_K: x_i = d·s_j·q_i − dmin·m_j in sub-block j, so against Q8_K activations p (scale dx)
 * w·x = dx·(d·Σ_j s_j·Σ q_i p_i − dmin·Σ_j m_j·Σ p_i).
 */
static float dot_q4_K_ref(const sl_block_q4_K *w, const int8_t *xq, const float *xd, int n)
{
	float sum = 0;
	for (int b = 0; b < n / SL_QK_K; b++) {
		int qsum = 0, msum = 0;
		for (int j = 0; j < 8; j++) {
			int s, m, qp = 0, p = 0;
			q4_K_scale_min(j, w[b].scales, &s, &m);
			const uint8_t *q = w[b].qs + 32 * (j / 2); /* low nibbles: even j, high: odd */
			for (int i = 0; i < 32; i++) {
				int v = j % 2 ? q[i] >> 4 : q[i] & 15;
				qp += v * xq[32 * j + i];
				p += xq[32 * j + i];
			}
			qsum += s * qp;
			msum += m * p;
		}
		sum += xd[b] * (sl_f16_to_f32(w[b].d) * (float)qsum - sl_f16_to_f32(w[b].dmin) * (float)msum);
		xq += SL_QK_K;
	}
	return sum;
}

/* Q6_K: x_i = d·sc_g·(q_i − 32) for 16 groups g of 16 values. */
static float dot_q6_K_ref(const sl_block_q6_K *w, const int8_t *xq, const float *xd, int n)
{
	float sum = 0;
	for (int b = 0; b < n / SL_QK_K; b++) {
		int isum = 0;
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
			const int8_t *sc = w[b].scales + 8 * h;
			const int8_t *p = xq + 128 * h;
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				isum += sc[is] * q1 * p[l] + sc[is + 2] * q2 * p[l + 32] +
					sc[is + 4] * q3 * p[l + 64] + sc[is + 6] * q4 * p[l + 96];
			}
		}
		sum += sl_f16_to_f32(w[b].d) * xd[b] * (float)isum;
		xq += SL_QK_K;
	}
	return sum;
}

static float dot_float_ref(uint32_t type, const void *w, const float *x, int n)
{
	float sum = 0;
	for (int i = 0; i < n; i++) {
		float v = type == SL_F32 ? ((const float *)w)[i]
			: type == SL_F16 ? sl_f16_to_f32(((const sl_f16 *)w)[i])
			: sl_bf16_to_f32(((const sl_bf16 *)w)[i]);
		sum += v * x[i];
	}
	return sum;
}

/* ==== reference kernel set ==== */

static int act_blck(uint32_t type)
{
	switch (type) {
	case SL_Q4_0: case SL_Q8_0: return 32;
	case SL_Q4_K: case SL_Q6_K: return 256;
	case SL_F32: case SL_F16: case SL_BF16: return 0;
	default: return -1;
	}
}

static size_t ref_xq_size(uint32_t type, int cols)
{
	int blck = act_blck(type);
	if (blck < 0)
		return (size_t)-1;
	if (blck == 0)
		return 0;
	size_t n = (size_t)cols + (size_t)(cols / blck) * sizeof(float);
	return (n + 63) & ~(size_t)63;
}

static void ref_xq(uint32_t type, const float *x, int cols, void *out)
{
	sl_quant_q8_ref(x, cols, act_blck(type), out, (float *)((int8_t *)out + cols));
}

static void ref_mm(uint32_t type, const void *W, size_t ws, int nr, int cols,
		   const void *xq, size_t xs, int nt, float *Y, size_t ldy)
{
	for (int t = 0; t < nt; t++) {
		const int8_t *q = (const int8_t *)xq + (size_t)t * xs;
		const float *d = (const float *)(q + cols);
		for (int r = 0; r < nr; r++) {
			const void *w = (const char *)W + (size_t)r * ws;
			float y;
			switch (type) {
			case SL_Q4_0: y = dot_q4_0_ref(w, q, d, cols); break;
			case SL_Q8_0: y = dot_q8_0_ref(w, q, d, cols); break;
			case SL_Q4_K: y = dot_q4_K_ref(w, q, d, cols); break;
			case SL_Q6_K: y = dot_q6_K_ref(w, q, d, cols); break;
			default: y = dot_float_ref(type, w, (const float *)q, cols); break;
			}
			Y[(size_t)t * ldy + r] = y;
		}
	}
}

static void ref_f16_to_f32(const sl_f16 *src, float *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = sl_f16_to_f32(src[i]);
}

static void ref_f32_to_f16(const float *src, sl_f16 *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = sl_f32_to_f16(src[i]);
}

const sl_kset sl_kset_ref = {"ref", ref_xq_size, ref_xq, ref_mm, ref_f16_to_f32, ref_f32_to_f16};

/* ==== dispatch ==== */

const sl_kset *const *sl_kset_all(void)
{
	static const sl_kset *all[4];
	static _Atomic int done;
	if (!atomic_load_explicit(&done, memory_order_acquire)) {
		int n = 0;
#if defined(__x86_64__) && !defined(SL_NO_SIMD) /* -DSL_NO_SIMD: the reference set alone */
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		    __builtin_cpu_supports("f16c")) {
			if (__builtin_cpu_supports("avxvnni"))
				all[n++] = &sl_kset_avx2_vnni;
			all[n++] = &sl_kset_avx2;
		}
#endif
		all[n] = &sl_kset_ref;
		/* threads racing here all write the same table */
		atomic_store_explicit(&done, 1, memory_order_release);
	}
	return all;
}

const sl_kset *sl_kset_get(void)
{
	static const sl_kset *_Atomic ks;
	if (!ks) {
		const sl_kset *const *all = sl_kset_all();
		const char *e = getenv("SL_KERNELS");
		const sl_kset *k = all[0];
		for (int i = 0; e && all[i]; i++)
			if (strcmp(e, all[i]->name) == 0)
				k = all[i];
		ks = k;
	}
	return ks;
}

void sl_f16_to_f32_rows(const sl_f16 *src, size_t src_stride, float *dst, size_t dst_stride,
			int rows, size_t n)
{
	void (*cvt)(const sl_f16 *, float *, size_t) = sl_kset_get()->f16_to_f32;
	for (int r = 0; r < rows; r++)
		cvt(src + (size_t)r * src_stride, dst + (size_t)r * dst_stride, n);
}

void sl_f32_to_f16_row(const float *src, sl_f16 *dst, size_t n)
{
	sl_kset_get()->f32_to_f16(src, dst, n);
}

const char *sl_kernels_name(void)
{
	return sl_kset_get()->name;
}

/* ==== sl_matmul: quantize X once, then row chunks in parallel ==== */

typedef struct {
	const sl_kset *ks;
	uint32_t type;
	const char *W;
	size_t ws, xs;
	int rows, cols, n_tok;
	int chunk; /* rows per task; 0: pieces of decreasing size (piece_start) */
	int n_tasks;
	const float *X;
	const void *xq; /* quantized X, or X itself */
	float *Y;
} mm_job;

static void xq_task(void *arg, int task, int n_tasks)
{
	const mm_job *j = arg;
	int t1 = (task + 1) * TOKS_PER_TASK < j->n_tok ? (task + 1) * TOKS_PER_TASK : j->n_tok;
	(void)n_tasks;
	for (int t = task * TOKS_PER_TASK; t < t1; t++)
		j->ks->xq(j->type, j->X + (size_t)t * j->cols, j->cols, (char *)j->xq + (size_t)t * j->xs);
}

static void mm_task(void *arg, int task, int n_tasks)
{
	const mm_job *j = arg;
	int r0, nr;

	if (j->chunk) {
		r0 = task * j->chunk;
		nr = j->rows - r0 < j->chunk ? j->rows - r0 : j->chunk;
	} else {
		r0 = piece_start(j->rows, j->n_tasks, task);
		nr = piece_start(j->rows, j->n_tasks, task + 1) - r0;
		if (nr <= 0)
			return;
	}
	(void)n_tasks;
	j->ks->mm(j->type, j->W + (size_t)r0 * j->ws, j->ws, nr, j->cols, j->xq, j->xs,
		  j->n_tok, j->Y + r0, (size_t)j->rows);
}

/*
 * Scratch for the quantized activations, one per calling thread, kept between calls: a
 * forward pass makes hundreds of products of the same few sizes.
 */
static _Thread_local void *xq_buf;
static _Thread_local size_t xq_cap;

void sl_matmul_kset(const sl_kset *ks, sl_pool *pool, uint32_t type, const void *W,
		    int rows, int cols, const float *X, int n_tok, float *Y)
{
	size_t ws = sl_type_row_bytes(type, (uint64_t)cols);
	size_t xs = ks->xq_size(type, cols);
	mm_job j = {ks, type, W, ws, xs, rows, cols, n_tok, 0, 0, X, X, Y};

	if (rows <= 0 || n_tok <= 0)
		return;
	if (ws == 0 || xs == (size_t)-1) {
		/* an unsupported type or shape: the caller validated the model, so poison */
		for (size_t i = 0; i < (size_t)n_tok * rows; i++)
			Y[i] = NAN;
		return;
	}
	if (xs == 0) {
		j.xs = (size_t)cols * sizeof(float);
	} else {
		size_t need = xs * (size_t)n_tok;
		if (need > xq_cap) {
			free(xq_buf);
			xq_buf = aligned_alloc(64, need);
			xq_cap = xq_buf ? need : 0;
			if (!xq_buf) {
				for (size_t i = 0; i < (size_t)n_tok * rows; i++)
					Y[i] = NAN;
				return;
			}
		}
		j.xq = xq_buf;
		sl_pool_run(pool, (n_tok + TOKS_PER_TASK - 1) / TOKS_PER_TASK, xq_task, &j);
	}
	j.chunk = n_tok == 1 ? 0 : ROWS_PER_TASK;
	j.n_tasks = n_tok == 1 ? 4 * sl_pool_threads(pool) : (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
	sl_pool_run(pool, j.n_tasks, mm_task, &j);
}

void sl_matmul(sl_pool *pool, uint32_t type, const void *W, int rows, int cols,
	       const float *X, int n_tok, float *Y)
{
	sl_matmul_kset(sl_kset_get(), pool, type, W, rows, cols, X, n_tok, Y);
}

/* ==== the reference product: dequantize, accumulate in double ==== */

void sl_matmul_ref(uint32_t type, const void *W, int rows, int cols,
		   const float *X, int n_tok, float *Y)
{
	size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
	float *w = malloc((size_t)cols * sizeof(float));

	for (int r = 0; r < rows; r++) {
		int ok = w && rb && sl_dequant_row(type, (const char *)W + (size_t)r * rb, w, (uint64_t)cols) == 0;
		for (int t = 0; t < n_tok; t++) {
			double s = 0;
			for (int k = 0; k < cols; k++)
				s += (double)w[k] * X[(size_t)t * cols + k];
			Y[(size_t)t * rows + r] = ok ? (float)s : NAN;
		}
	}
	free(w);
}
