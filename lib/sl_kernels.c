/*
 * sl_kernels — the scalar reference kernel set (the spec the SIMD sets in sl_kernels_*.c
 * follow) and sl_matmul_ref.  sl_matmul.c tiles a product and dispatches to a set; see
 * sl_kernels_impl.h for how a product runs.
 *
 * Quantized weights meet activations quantized on the fly to 8 bits, as in llama.cpp: a
 * block dot product is then an integer sum times two scales.  For a Q4_0 block w (scale dw,
 * 4-bit q) and a Q8_0 block x (scale dx, 8-bit p):   w·x = dw·dx·Σ (q_i − 8)·p_i.
 * K-quants have 8 or 16 sub-blocks with small integer scales inside a 256-value block, so
 * their activations use one float scale per 256 (Q8_K) and the sub-block sums stay integer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl_kernels.h"
#include "sl_kernels_impl.h"
#include "sl_types.h"

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

/*
 * ==== reference micro-kernels ====
 *
 * Each unpacks a weight block once into small integers and takes its dot product with the
 * same block of T tokens; per Y element the operations are those of a plain row·token loop
 * (integer sums per block, then sum += d_w·d_x·isum block after block), so any tile gives
 * the same bits.  Activations: int8 qs[cols], then float d[cols/blck] (sl_quant_q8_ref).
 */
#define REF_R 1
#define REF_T 4

#define REF_TILE_BEGIN                                                                       \
	float sum[REF_R][SL_TILE_MAX_T];                                                     \
	for (int r = 0; r < R; r++)                                                          \
		for (int t = 0; t < T; t++)                                                  \
			sum[r][t] = 0;
#define REF_TILE_END                                                                         \
	for (int r = 0; r < R; r++)                                                          \
		for (int t = 0; t < T; t++)                                                  \
			Y[(size_t)t * ldy + r] = sum[r][t];
/* token t's quants and scales */
#define XQ(t) ((const int8_t *)(xq + (size_t)(t) * xs))
#define XD(t) ((const float *)(xq + (size_t)(t) * xs + cols))

static inline int isum32(const int8_t *q, const int8_t *x, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += q[i] * x[i];
	return s;
}

/* Q8_0: x = d·q per block of 32 */
static inline void q8_0_ref_tile(const int R, const int T, const char *W, size_t ws, int cols,
				 const char *xq, size_t xs, float *Y, size_t ldy)
{
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++) {
		const sl_block_q8_0 *w = (const sl_block_q8_0 *)(W + (size_t)r * ws);
		for (int b = 0; b < cols / SL_QK8_0; b++) {
			float dw = sl_f16_to_f32(w[b].d);
			for (int t = 0; t < T; t++)
				sum[r][t] += dw * XD(t)[b] * (float)isum32(w[b].qs, XQ(t) + 32 * b, 32);
		}
	}
	REF_TILE_END
}

/* Q4_0: value j = low nibble of qs[j], value j+16 = high nibble; x = d·(q − 8) */
static inline void q4_0_ref_tile(const int R, const int T, const char *W, size_t ws, int cols,
				 const char *xq, size_t xs, float *Y, size_t ldy)
{
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++) {
		const sl_block_q4_0 *w = (const sl_block_q4_0 *)(W + (size_t)r * ws);
		for (int b = 0; b < cols / SL_QK4_0; b++) {
			int8_t q[32];
			for (int i = 0; i < 16; i++) {
				q[i] = (int8_t)((w[b].qs[i] & 15) - 8);
				q[i + 16] = (int8_t)((w[b].qs[i] >> 4) - 8);
			}
			float dw = sl_f16_to_f32(w[b].d);
			for (int t = 0; t < T; t++)
				sum[r][t] += dw * XD(t)[b] * (float)isum32(q, XQ(t) + 32 * b, 32);
		}
	}
	REF_TILE_END
}

/*
 * Q4_K: x_i = d·s_j·q_i − dmin·m_j in sub-block j (32 values), so against Q8_K activations
 * p (scale dx per 256):  w·x = dx·(d·Σ_j s_j·Σ q_i p_i − dmin·Σ_j m_j·Σ p_i).
 */
static inline void q4_K_ref_tile(const int R, const int T, const char *W, size_t ws, int cols,
				 const char *xq, size_t xs, float *Y, size_t ldy)
{
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++) {
		const sl_block_q4_K *w = (const sl_block_q4_K *)(W + (size_t)r * ws);
		for (int b = 0; b < cols / SL_QK_K; b++) {
			int8_t q[256];
			uint8_t sm[16];
			sl_q4_K_scales(w[b].scales, sm);
			for (int g = 0; g < 4; g++) /* low nibbles: sub-block 2g, high: 2g+1 */
				for (int i = 0; i < 32; i++) {
					q[64 * g + i] = (int8_t)(w[b].qs[32 * g + i] & 15);
					q[64 * g + 32 + i] = (int8_t)(w[b].qs[32 * g + i] >> 4);
				}
			float d = sl_f16_to_f32(w[b].d), dmin = sl_f16_to_f32(w[b].dmin);
			for (int t = 0; t < T; t++) {
				const int8_t *p = XQ(t) + 256 * b;
				int qsum = 0, msum = 0;
				for (int j = 0; j < 8; j++) {
					int ps = 0;
					for (int i = 0; i < 32; i++)
						ps += p[32 * j + i];
					qsum += sm[j] * isum32(q + 32 * j, p + 32 * j, 32);
					msum += sm[8 + j] * ps;
				}
				sum[r][t] += XD(t)[b] * (d * (float)qsum - dmin * (float)msum);
			}
		}
	}
	REF_TILE_END
}

/* Q6_K: x_i = d·sc_g·(q_i − 32) for 16 groups g of 16 values. */
static inline void q6_K_ref_tile(const int R, const int T, const char *W, size_t ws, int cols,
				 const char *xq, size_t xs, float *Y, size_t ldy)
{
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++) {
		const sl_block_q6_K *w = (const sl_block_q6_K *)(W + (size_t)r * ws);
		for (int b = 0; b < cols / SL_QK_K; b++) {
			int8_t q[256];
			for (int h = 0; h < 2; h++) {
				const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
				int8_t *o = q + 128 * h;
				for (int l = 0; l < 32; l++) {
					o[l] = (int8_t)(((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32);
					o[l + 32] = (int8_t)(((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
					o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
					o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
				}
			}
			float d = sl_f16_to_f32(w[b].d);
			for (int t = 0; t < T; t++) {
				const int8_t *p = XQ(t) + 256 * b;
				int isum = 0;
				for (int g = 0; g < 16; g++)
					isum += w[b].scales[g] * isum32(q + 16 * g, p + 16 * g, 16);
				sum[r][t] += d * XD(t)[b] * (float)isum;
			}
		}
	}
	REF_TILE_END
}

/*
 * Q3_K: x_i = d·s_g·(u_i − 4) for 16 groups g of 16, u_i = low 2 bits | high bit << 2 in
 * 0..7 (FORMATS.md; value 128h + 32j + l: qs[32h + l] bits 2j, hmask[l] bit 4h + j).
 */
static inline void q3_K_ref_tile(const int R, const int T, const char *W, size_t ws, int cols,
				 const char *xq, size_t xs, float *Y, size_t ldy)
{
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++) {
		const sl_block_q3_K *w = (const sl_block_q3_K *)(W + (size_t)r * ws);
		for (int b = 0; b < cols / SL_QK_K; b++) {
			int8_t q[256], sc[16];
			sl_q3_K_scales(w[b].scales, sc);
			for (int h = 0; h < 2; h++)
				for (int j = 0; j < 4; j++)
					for (int l = 0; l < 32; l++) {
						int u = ((w[b].qs[32 * h + l] >> (2 * j)) & 3) |
							((w[b].hmask[l] >> (4 * h + j)) & 1) << 2;
						q[128 * h + 32 * j + l] = (int8_t)(u - 4);
					}
			float d = sl_f16_to_f32(w[b].d);
			for (int t = 0; t < T; t++) {
				const int8_t *p = XQ(t) + 256 * b;
				int isum = 0;
				for (int g = 0; g < 16; g++)
					isum += sc[g] * isum32(q + 16 * g, p + 16 * g, 16);
				sum[r][t] += d * XD(t)[b] * (float)isum;
			}
		}
	}
	REF_TILE_END
}

/*
 * Q2_K: x_i = d·s_g·q_i − dmin·m_g for 16 groups g of 16, q_i the 2-bit fields in Q3_K's
 * order;  w·x = dx·(d·Σ_g s_g·Σ q_i p_i − dmin·Σ_g m_g·Σ p_i).
 */
static inline void q2_K_ref_tile(const int R, const int T, const char *W, size_t ws, int cols,
				 const char *xq, size_t xs, float *Y, size_t ldy)
{
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++) {
		const sl_block_q2_K *w = (const sl_block_q2_K *)(W + (size_t)r * ws);
		for (int b = 0; b < cols / SL_QK_K; b++) {
			int8_t q[256];
			for (int h = 0; h < 2; h++)
				for (int j = 0; j < 4; j++)
					for (int l = 0; l < 32; l++)
						q[128 * h + 32 * j + l] = (int8_t)((w[b].qs[32 * h + l] >> (2 * j)) & 3);
			float d = sl_f16_to_f32(w[b].d), dmin = sl_f16_to_f32(w[b].dmin);
			for (int t = 0; t < T; t++) {
				const int8_t *p = XQ(t) + 256 * b;
				int qsum = 0, msum = 0;
				for (int g = 0; g < 16; g++) {
					int ps = 0;
					for (int i = 0; i < 16; i++)
						ps += p[16 * g + i];
					qsum += (w[b].scales[g] & 15) * isum32(q + 16 * g, p + 16 * g, 16);
					msum += (w[b].scales[g] >> 4) * ps;
				}
				sum[r][t] += XD(t)[b] * (d * (float)qsum - dmin * (float)msum);
			}
		}
	}
	REF_TILE_END
}

/* Float weights: one sum per row and token, column after column.  X is rows of floats. */
static inline float ref_w(uint32_t type, const char *w, int k)
{
	return type == SL_F32 ? ((const float *)w)[k]
		: type == SL_F16 ? sl_f16_to_f32(((const sl_f16 *)w)[k])
		: sl_bf16_to_f32(((const sl_bf16 *)w)[k]);
}

static inline void fl_ref_tile(const int R, const int T, uint32_t type, const char *W, size_t ws,
			       int cols, const char *X, size_t xs, float *Y, size_t ldy)
{
	const char *xq = X;
	REF_TILE_BEGIN
	for (int r = 0; r < R; r++)
		for (int k = 0; k < cols; k++) {
			float v = ref_w(type, W + (size_t)r * ws, k);
			for (int t = 0; t < T; t++)
				sum[r][t] += v * ((const float *)(xq + (size_t)t * xs))[k];
		}
	REF_TILE_END
}

#define FL_REF(name, TYPE)                                                                   \
	static inline void name(const int R, const int T, const char *W, size_t ws, int cols, \
				const char *X, size_t xs, float *Y, size_t ldy)              \
	{                                                                                    \
		fl_ref_tile(R, T, TYPE, W, ws, cols, X, xs, Y, ldy);                         \
	}
FL_REF(f32_ref_tile, SL_F32)
FL_REF(f16_ref_tile, SL_F16)
FL_REF(bf16_ref_tile, SL_BF16)

SL_TILE_FNS(q4_0_ref, q4_0_ref_tile, REF_R, REF_T)
SL_TILE_FNS(q8_0_ref, q8_0_ref_tile, REF_R, REF_T)
SL_TILE_FNS(q4_K_ref, q4_K_ref_tile, REF_R, REF_T)
SL_TILE_FNS(q6_K_ref, q6_K_ref_tile, REF_R, REF_T)
SL_TILE_FNS(q3_K_ref, q3_K_ref_tile, REF_R, REF_T)
SL_TILE_FNS(q2_K_ref, q2_K_ref_tile, REF_R, REF_T)
SL_TILE_FNS(f32_ref, f32_ref_tile, REF_R, REF_T)
SL_TILE_FNS(f16_ref, f16_ref_tile, REF_R, REF_T)
SL_TILE_FNS(bf16_ref, bf16_ref_tile, REF_R, REF_T)

/* ==== reference kernel set ==== */

static int act_blck(uint32_t type)
{
	switch (type) {
	case SL_Q4_0: case SL_Q8_0: return 32;
	case SL_Q4_K: case SL_Q6_K: case SL_Q3_K: case SL_Q2_K: return 256;
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

SL_GEMM_NN(ref_gemm_nn, 4)
#define REF_LOAD_F16_(v, p) (*(v) = (__typeof__(*(v))){ sl_f16_to_f32(*(p)) })
#define REF_LOADP_F16_(v, p, nr) SL_LOADP_COPY_(v, p, nr, sl_f16, 1, REF_LOAD_F16_)
SL_GEMM_NN_B(ref_gemm_f16_nn, 4, sl_f16, REF_LOAD_F16_, REF_LOADP_F16_)

static void ref_softmax(float *row, int n, float scale)
{
	float max = -INFINITY;
	double sum = 0;
	for (int p = 0; p < n; p++) {
		row[p] *= scale;
		if (row[p] > max)
			max = row[p];
	}
	for (int p = 0; p < n; p++) {
		row[p] = expf(row[p] - max);
		sum += row[p];
	}
	float inv = (float)(1.0 / sum);
	for (int p = 0; p < n; p++)
		row[p] *= inv;
}

static void ref_silu_mul(float *g, const float *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

const sl_kset sl_kset_ref = {
	.name = "ref",
	.xq_size = ref_xq_size,
	.xq = ref_xq,
	.tiles = {
		[SL_KT_F32] = SL_TILES(f32_ref, REF_R, REF_T),
		[SL_KT_F16] = SL_TILES(f16_ref, REF_R, REF_T),
		[SL_KT_BF16] = SL_TILES(bf16_ref, REF_R, REF_T),
		[SL_KT_Q4_0] = SL_TILES(q4_0_ref, REF_R, REF_T),
		[SL_KT_Q8_0] = SL_TILES(q8_0_ref, REF_R, REF_T),
		[SL_KT_Q4_K] = SL_TILES(q4_K_ref, REF_R, REF_T),
		[SL_KT_Q6_K] = SL_TILES(q6_K_ref, REF_R, REF_T),
		[SL_KT_Q3_K] = SL_TILES(q3_K_ref, REF_R, REF_T),
		[SL_KT_Q2_K] = SL_TILES(q2_K_ref, REF_R, REF_T),
	},
	.f16_to_f32 = ref_f16_to_f32,
	.f32_to_f16 = ref_f32_to_f16,
	.gemm_nn = ref_gemm_nn,
	.gemm_f16_nn = ref_gemm_f16_nn,
	.softmax = ref_softmax,
	.silu_mul = ref_silu_mul,
};

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
