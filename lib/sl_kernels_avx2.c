/*
 * sl_kernels_avx2 — the AVX2+FMA+F16C kernel set (x86-64), chosen at run time by
 * sl_kernels.c.  Each function computes exactly what its _ref counterpart in sl_kernels.c
 * computes, up to the order of float additions; test_kernels.c checks that.
 *
 * Tiling: mm() walks its rows in tiles of R rows × T tokens held in registers (R×T float
 * accumulators), so a weight block is unpacked once and used T times and an activation
 * block is loaded once per R rows.  Every output element goes through the same operations
 * in the same order whatever R and T are, so the tile shape never changes a result.
 *
 * Activation layouts (per token, 64-byte aligned, private to this file):
 *   Q4_0 weights: blocks are taken in pairs (b, b+1).  Pair p holds 64 int8: values 0-15 of
 *     b, 0-15 of b+1, then 16-31 of b, 16-31 of b+1 — the order in which one 32-byte load
 *     of two weight blocks' nibbles unpacks; then 8 floats [d_b ×4, d_b+1 ×4]; then 8 int32
 *     holding −8·(sums of 4 values) for the −8 offset of Q4_0.  An odd last block is paired
 *     with zeros.
 *   Q8_0 weights: int8 qs[cols], float d[cols/32].
 *   Q2_K..Q6_K weights (Q8_K): int8 qs[cols]; int16 sums of each 16 values (cols/16);
 *     int16 sums of each 32 values (cols/32); float d[cols/256].
 */
#ifndef SL_KERNELS_AVX2_TEMPLATE
#if defined(__x86_64__) && !defined(SL_NO_SIMD)

#include <immintrin.h>
#include <string.h>

#include "sl_kernels_impl.h"
#include "sl_types.h"

#define INLINE static inline __attribute__((always_inline))
/* Largest tile: R rows × T tokens (the tile functions are inlined with constant R, T) */
#define MAX_R 4
#define MAX_T 8

/* ==== helpers ==== */

INLINE float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

INLINE float hmax(__m256 v)
{
	__m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

INLINE __m256 absmax32(const float *x)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 a = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x)),
				 _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
	__m256 b = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)),
				 _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24)));
	return _mm256_max_ps(a, b);
}

/* 32 floats times id, rounded to nearest even (as nearbyintf), as 32 int8 in order. */
INLINE __m256i round32(const float *x, float id)
{
	__m256 vid = _mm256_set1_ps(id);
	__m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), vid));
	__m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), vid));
	__m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), vid));
	__m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), vid));
	/* the packs interleave 128-bit lanes; the permute puts the dwords back in order */
	__m256i q = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
	return _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* One block of 32: scale d = max|x|/127 and the rounded quants (as sl_quant_q8_ref). */
INLINE __m256i quant32(const float *x, float *d)
{
	float amax = hmax(absmax32(x));
	float db = amax / 127.f, id = db != 0 ? 1.f / db : 0.f;
	*d = db;
	return round32(x, id);
}

/* ==== activation quantization ==== */

static size_t avx2_xq_size(uint32_t type, int cols)
{
	size_t n;
	switch (type) {
	case SL_Q4_0:
		n = (size_t)(cols / 32 + 1) / 2 * 128;
		break;
	case SL_Q8_0:
		n = (size_t)cols + (size_t)(cols / 32) * 4;
		break;
	case SL_Q4_K: case SL_Q6_K: case SL_Q3_K: case SL_Q2_K:
		n = (size_t)cols + (size_t)cols / 16 * 2 + (size_t)cols / 32 * 2 + (size_t)cols / 256 * 4;
		break;
	case SL_F32: case SL_F16: case SL_BF16:
		return 0;
	default:
		return (size_t)-1;
	}
	return (n + 63) & ~(size_t)63;
}

static void xq_q4_0(const float *x, int cols, char *out)
{
	const int nb = cols / 32, np = (nb + 1) / 2;
	const __m256i eight = _mm256_set1_epi8(8), ones = _mm256_set1_epi16(1);
	for (int p = 0; p < np; p++) {
		float da, db = 0;
		__m256i qa = quant32(x + 64 * p, &da), qb = _mm256_setzero_si256();
		if (2 * p + 1 < nb)
			qb = quant32(x + 64 * p + 32, &db);
		__m256i lo = _mm256_permute2x128_si256(qa, qb, 0x20);
		__m256i hi = _mm256_permute2x128_si256(qa, qb, 0x31);
		_mm256_store_si256((__m256i *)(out + 64 * p), lo);
		_mm256_store_si256((__m256i *)(out + 64 * p + 32), hi);
		_mm256_store_ps((float *)(out + 64 * np + 32 * p),
				_mm256_set_m128(_mm_set1_ps(db), _mm_set1_ps(da)));
		__m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(eight, lo), _mm256_maddubs_epi16(eight, hi));
		_mm256_store_si256((__m256i *)(out + 96 * np + 32 * p),
				   _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_madd_epi16(s, ones)));
	}
}

static void xq_q8_0(const float *x, int cols, char *out)
{
	const int nb = cols / 32;
	float *d = (float *)(out + cols);
	for (int b = 0; b < nb; b++)
		_mm256_store_si256((__m256i *)(out + 32 * b), quant32(x + 32 * b, &d[b]));
}

static void xq_q8_K(const float *x, int cols, char *out)
{
	const int ns = cols / 256;
	int16_t *bs16 = (int16_t *)(out + cols), *bs32 = bs16 + cols / 16;
	float *d = (float *)(bs32 + cols / 32);
	for (int s = 0; s < ns; s++, x += 256) {
		__m256 m = absmax32(x);
		for (int i = 32; i < 256; i += 32)
			m = _mm256_max_ps(m, absmax32(x + i));
		float amax = hmax(m);
		float db = amax / 127.f, id = db != 0 ? 1.f / db : 0.f;
		d[s] = db;
		int8_t *q = (int8_t *)out + 256 * s;
		for (int i = 0; i < 256; i += 32)
			_mm256_store_si256((__m256i *)(q + i), round32(x + i, id));
		for (int g = 0; g < 16; g++) {
			int sum = 0;
			for (int i = 0; i < 16; i++)
				sum += q[16 * g + i];
			bs16[16 * s + g] = (int16_t)sum;
		}
		for (int g = 0; g < 8; g++)
			bs32[8 * s + g] = (int16_t)(bs16[16 * s + 2 * g] + bs16[16 * s + 2 * g + 1]);
	}
}

static void avx2_xq(uint32_t type, const float *x, int cols, void *out)
{
	switch (type) {
	case SL_Q4_0: xq_q4_0(x, cols, out); break;
	case SL_Q8_0: xq_q8_0(x, cols, out); break;
	default: xq_q8_K(x, cols, out); break;
	}
}

/* ==== Q4_K × Q8_K ==== */

/* pshufb controls broadcasting int16 scale j (of 8) to all 16 lanes */
static const uint8_t k4_shuf[8][32] __attribute__((aligned(32))) = {
#define S(j) {2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, \
	       2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, \
	       2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1}
	S(0), S(1), S(2), S(3), S(4), S(5), S(6), S(7)
#undef S
};

/* The 8 scales then the 8 mins of a Q4_K block as 16 uint8. */
INLINE __m128i q4_K_scales(const uint8_t *sc)
{
	uint32_t u[4];
	sl_q4_K_scales4(sc, u);
	return _mm_setr_epi32((int)u[0], (int)u[1], (int)u[2], (int)u[3]);
}

/*
 * Integer sums over the whole 256-block: Σ_j s_j·(q·x)_j via maddubs then madd with the
 * broadcast scale; the mins term Σ_j m_j·Σx_j from the precomputed 32-sums.
 */
INLINE void q4_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const __m256i m4 = _mm256_set1_epi8(15);
	__m256 acc[MAX_R][MAX_T];
	const size_t o16 = (size_t)cols, o32 = o16 + (size_t)cols / 8, od = o32 + (size_t)cols / 16;

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (int s = 0; s < ns; s++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q4_K *blk = (const sl_block_q4_K *)(W + (size_t)r * ws) + s;
			sl_prefetch_ahead(T, blk, sizeof *blk);
			__m128i sm = q4_K_scales(blk->scales);
			__m256i sc = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(sm, sm)); /* scales, twice */
			__m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
			float d = _cvtsh_ss(blk->d), dmin = _cvtsh_ss(blk->dmin);
			__m256i sumi[MAX_T];
			for (int t = 0; t < T; t++)
				sumi[t] = _mm256_setzero_si256();
			for (int g = 0; g < 4; g++) {
				__m256i q = _mm256_loadu_si256((const __m256i *)(blk->qs + 32 * g));
				__m256i lo = _mm256_and_si256(q, m4);
				__m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
				__m256i s0 = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)k4_shuf[2 * g]));
				__m256i s1 = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)k4_shuf[2 * g + 1]));
				for (int t = 0; t < T; t++) {
					const int8_t *x = (const int8_t *)(xq + (size_t)t * xs) + 256 * s + 64 * g;
					__m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_load_si256((const __m256i *)x)), s0);
					__m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_load_si256((const __m256i *)(x + 32))), s1);
					sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p0, p1));
				}
			}
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs;
				float dx = ((const float *)(x + od))[s];
				__m128i b32 = _mm_loadu_si128((const __m128i *)(x + o32) + s);
				__m256i pm = _mm256_set_m128i(_mm_setzero_si128(), _mm_madd_epi16(mins, b32));
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_set1_ps(d * dx), acc[r][t]);
				acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(pm), _mm256_set1_ps(dmin * dx), acc[r][t]);
			}
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			Y[(size_t)t * ldy + r] = hsum(acc[r][t]);
}

/* ==== Q6_K × Q8_K ==== */

/* pshufb controls: int16 scale 2k to the low 128-bit lane, 2k+1 to the high one */
static const uint8_t k6_shuf[4][32] __attribute__((aligned(32))) = {
#define S(a, b) {2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, \
		 2*a, 2*a+1, 2*a, 2*a+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, \
		 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1}
	S(0, 1), S(2, 3), S(4, 5), S(6, 7)
#undef S
};

/*
 * The 6-bit quants are rebuilt unsigned (0..63) for maddubs; the −32 offset is one madd of
 * the 16 scales with the 16-sums of x per block.
 */
INLINE void q6_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), m30 = _mm256_set1_epi8(0x30);
	__m256 acc[MAX_R][MAX_T];
	const size_t o16 = (size_t)cols, od = o16 + (size_t)cols / 8 + (size_t)cols / 16;

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (int s = 0; s < ns; s++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q6_K *blk = (const sl_block_q6_K *)(W + (size_t)r * ws) + s;
			sl_prefetch_ahead(T, blk, sizeof *blk);
			__m256i sc_all = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)blk->scales));
			__m256i sumi[MAX_T];
			for (int t = 0; t < T; t++) {
				const __m256i *b16 = (const __m256i *)(xq + (size_t)t * xs + o16) + s;
				sumi[t] = _mm256_slli_epi32(_mm256_madd_epi16(sc_all, _mm256_loadu_si256(b16)), 5);
				sumi[t] = _mm256_sub_epi32(_mm256_setzero_si256(), sumi[t]);
			}
			for (int h = 0; h < 2; h++) {
				const uint8_t *ql = blk->ql + 64 * h, *qh = blk->qh + 32 * h;
				__m128i s8 = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(blk->scales + 8 * h)));
				__m256i sc = _mm256_set_m128i(s8, s8);
				__m256i la = _mm256_loadu_si256((const __m256i *)ql);
				__m256i lb = _mm256_loadu_si256((const __m256i *)(ql + 32));
				__m256i hb = _mm256_loadu_si256((const __m256i *)qh);
				__m256i q[4];
				q[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m3), 4));
				q[1] = _mm256_or_si256(_mm256_and_si256(lb, m4),
						       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 4));
				q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(hb, m30));
				q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
						       _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
				for (int k = 0; k < 4; k++) {
					__m256i sk = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)k6_shuf[k]));
					for (int t = 0; t < T; t++) {
						const int8_t *x = (const int8_t *)(xq + (size_t)t * xs) + 256 * s + 128 * h + 32 * k;
						__m256i p = _mm256_maddubs_epi16(q[k], _mm256_load_si256((const __m256i *)x));
						sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sk));
					}
				}
			}
			float d = _cvtsh_ss(blk->d);
			for (int t = 0; t < T; t++) {
				float dx = ((const float *)(xq + (size_t)t * xs + od))[s];
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_set1_ps(d * dx), acc[r][t]);
			}
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			Y[(size_t)t * ldy + r] = hsum(acc[r][t]);
}

/* ==== Q3_K, Q2_K × Q8_K ==== */

/*
 * Both keep their 2-bit fields in qs[32h + l], bits 2j..2j+1 for value 128h + 32j + l: one
 * 32-byte load per half, shifted by 2j and masked, gives values 32j..32j+31 of the half in
 * order, sub-blocks 8h + 2j (low 128-bit lane) and 8h + 2j + 1 (high lane), so the scales
 * broadcast as for Q6_K (k6_shuf[j] on the half's 8 int16 scales).
 *
 * Q3_K adds bit 4h + j of hmask[l] as bit 2: u = 0..7 unsigned for maddubs, and the −4 is
 * −4·Σ_g s_g·Σx_g from the 16-sums of x.
 */
INLINE void q3_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
	__m256 acc[MAX_R][MAX_T];
	const size_t o16 = (size_t)cols, od = o16 + (size_t)cols / 8 + (size_t)cols / 16;

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (int s = 0; s < ns; s++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q3_K *blk = (const sl_block_q3_K *)(W + (size_t)r * ws) + s;
			sl_prefetch_ahead(T, blk, sizeof *blk);
			uint32_t u[4];
			sl_q3_K_scales4(blk->scales, u);
			__m128i sc8 = _mm_sub_epi8(_mm_setr_epi32((int)u[0], (int)u[1], (int)u[2], (int)u[3]),
						   _mm_set1_epi8(32));
			__m256i sc_all = _mm256_cvtepi8_epi16(sc8);
			__m256i hm = _mm256_loadu_si256((const __m256i *)blk->hmask);
			__m256i sumi[MAX_T];
			for (int t = 0; t < T; t++) {
				const __m256i *b16 = (const __m256i *)(xq + (size_t)t * xs + o16) + s;
				sumi[t] = _mm256_slli_epi32(_mm256_madd_epi16(sc_all, _mm256_loadu_si256(b16)), 2);
				sumi[t] = _mm256_sub_epi32(_mm256_setzero_si256(), sumi[t]);
			}
			for (int h = 0; h < 2; h++) {
				__m128i s8 = _mm_cvtepi8_epi16(h ? _mm_srli_si128(sc8, 8) : sc8);
				__m256i sc = _mm256_set_m128i(s8, s8);
				__m256i q2 = _mm256_loadu_si256((const __m256i *)(blk->qs + 32 * h));
				for (int j = 0; j < 4; j++) {
					__m256i lo = _mm256_and_si256(_mm256_srl_epi16(q2, _mm_cvtsi32_si128(2 * j)), m3);
					__m256i hb = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(4 * h + j)), one);
					__m256i u = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 2));
					__m256i sk = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)k6_shuf[j]));
					for (int t = 0; t < T; t++) {
						const int8_t *x = (const int8_t *)(xq + (size_t)t * xs) + 256 * s + 128 * h + 32 * j;
						__m256i p = _mm256_maddubs_epi16(u, _mm256_load_si256((const __m256i *)x));
						sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sk));
					}
				}
			}
			float d = _cvtsh_ss(blk->d);
			for (int t = 0; t < T; t++) {
				float dx = ((const float *)(xq + (size_t)t * xs + od))[s];
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_set1_ps(d * dx), acc[r][t]);
			}
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			Y[(size_t)t * ldy + r] = hsum(acc[r][t]);
}

/* Q2_K: the 4-bit scales (low nibbles) as Q3_K's; the mins term from the 16-sums of x. */
INLINE void q2_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const __m256i m3 = _mm256_set1_epi8(3);
	const __m128i m4 = _mm_set1_epi8(15);
	__m256 acc[MAX_R][MAX_T];
	const size_t o16 = (size_t)cols, od = o16 + (size_t)cols / 8 + (size_t)cols / 16;

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (int s = 0; s < ns; s++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q2_K *blk = (const sl_block_q2_K *)(W + (size_t)r * ws) + s;
			sl_prefetch_ahead(T, blk, sizeof *blk);
			__m128i raw = _mm_loadu_si128((const __m128i *)blk->scales);
			__m128i scl = _mm_and_si128(raw, m4);
			__m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
			__m256i sumi[MAX_T];
			for (int t = 0; t < T; t++)
				sumi[t] = _mm256_setzero_si256();
			for (int h = 0; h < 2; h++) {
				__m128i s8 = _mm_cvtepu8_epi16(h ? _mm_srli_si128(scl, 8) : scl);
				__m256i sc = _mm256_set_m128i(s8, s8);
				__m256i q2 = _mm256_loadu_si256((const __m256i *)(blk->qs + 32 * h));
				for (int j = 0; j < 4; j++) {
					__m256i q = _mm256_and_si256(_mm256_srl_epi16(q2, _mm_cvtsi32_si128(2 * j)), m3);
					__m256i sk = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)k6_shuf[j]));
					for (int t = 0; t < T; t++) {
						const int8_t *x = (const int8_t *)(xq + (size_t)t * xs) + 256 * s + 128 * h + 32 * j;
						__m256i p = _mm256_maddubs_epi16(q, _mm256_load_si256((const __m256i *)x));
						sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sk));
					}
				}
			}
			float d = _cvtsh_ss(blk->d), dmin = _cvtsh_ss(blk->dmin);
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs;
				float dx = ((const float *)(x + od))[s];
				__m256i pm = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)(x + o16) + s));
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_set1_ps(d * dx), acc[r][t]);
				acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(pm), _mm256_set1_ps(dmin * dx), acc[r][t]);
			}
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			Y[(size_t)t * ldy + r] = hsum(acc[r][t]);
}

/* ==== F32 / F16 / BF16 × F32 ==== */

INLINE __m256 load8(uint32_t type, const char *w, int k)
{
	if (type == SL_F32)
		return _mm256_loadu_ps((const float *)w + k);
	__m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + k));
	if (type == SL_F16)
		return _mm256_cvtph_ps(h);
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INLINE float load1(uint32_t type, const char *w, int k)
{
	if (type == SL_F32)
		return ((const float *)w)[k];
	if (type == SL_F16)
		return _cvtsh_ss(((const uint16_t *)w)[k]);
	return sl_bf16_to_f32(((const uint16_t *)w)[k]);
}

/*
 * Groups of 32 columns go into the accumulator as one sum, acc += (w0·x0 + w1·x1) +
 * (w2·x2 + w3·x3), then the 8-column groups left one FMA each, then the last 0-7 columns
 * one by one.  With one FMA per 8 columns, its 4-cycle latency alone held a one-token
 * product to 2 weights per cycle.
 */
INLINE void fl_tile(const int R, const int T, const uint32_t type, const char *W, size_t ws,
		    int cols, const char *X, size_t xs, float *Y, size_t ldy)
{
	const int c8 = cols & ~7, c32 = cols & ~31;
	__m256 acc[MAX_R][MAX_T];
	int k = 0;

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (; k < c32; k += 32) {
		for (int r = 0; r < R; r++) {
			const char *w = W + (size_t)r * ws;
			__m256 w0 = load8(type, w, k), w1 = load8(type, w, k + 8);
			__m256 w2 = load8(type, w, k + 16), w3 = load8(type, w, k + 24);
			for (int t = 0; t < T; t++) {
				const float *x = (const float *)(X + (size_t)t * xs) + k;
				__m256 s01 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + 8), _mm256_mul_ps(w0, _mm256_loadu_ps(x)));
				__m256 s23 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x + 24), _mm256_mul_ps(w2, _mm256_loadu_ps(x + 16)));
				acc[r][t] = _mm256_add_ps(acc[r][t], _mm256_add_ps(s01, s23));
			}
		}
	}
	for (; k < c8; k += 8) {
		for (int r = 0; r < R; r++) {
			__m256 w = load8(type, W + (size_t)r * ws, k);
			for (int t = 0; t < T; t++)
				acc[r][t] = _mm256_fmadd_ps(w, _mm256_loadu_ps((const float *)(X + (size_t)t * xs) + k), acc[r][t]);
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++) {
			float s = hsum(acc[r][t]);
			const float *x = (const float *)(X + (size_t)t * xs);
			for (int c = c8; c < cols; c++)
				s += load1(type, W + (size_t)r * ws, c) * x[c];
			Y[(size_t)t * ldy + r] = s;
		}
}

INLINE void f32_tile(const int R, const int T, const char *W, size_t ws, int cols,
		     const char *X, size_t xs, float *Y, size_t ldy)
{
	fl_tile(R, T, SL_F32, W, ws, cols, X, xs, Y, ldy);
}

INLINE void f16_tile(const int R, const int T, const char *W, size_t ws, int cols,
		     const char *X, size_t xs, float *Y, size_t ldy)
{
	fl_tile(R, T, SL_F16, W, ws, cols, X, xs, Y, ldy);
}

INLINE void bf16_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *X, size_t xs, float *Y, size_t ldy)
{
	fl_tile(R, T, SL_BF16, W, ws, cols, X, xs, Y, ldy);
}

/* ==== half-precision rows (F16C: exact one way, round to nearest even the other) ==== */

static void avx2_f16_to_f32(const sl_f16 *src, float *dst, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
	for (; i < n; i++)
		dst[i] = _cvtsh_ss(src[i]);
}

static void avx2_f32_to_f16(const float *src, sl_f16 *dst, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

/* ==== micro-kernels ==== */

/*
 * Prompt tiles (rows, tokens), the best of a bench/kpeak sweep; -D overrides for tuning.
 * Generation (one token) runs 1×1 tiles, one row at a time: the weights stream from memory
 * once, and one stream per core is what the hardware prefetcher follows best.
 */
#ifndef Q4_K_TILE
#define Q4_K_TILE 1, 6
#endif
#ifndef Q6_K_TILE
#define Q6_K_TILE 1, 8
#endif
#ifndef Q3_K_TILE
#define Q3_K_TILE 1, 8
#endif
#ifndef Q2_K_TILE
#define Q2_K_TILE 1, 8
#endif
#define TILE_FNS_(...) SL_TILE_FNS(__VA_ARGS__)
#define TILES_(...) SL_TILES(__VA_ARGS__)
TILE_FNS_(q4_K, q4_K_tile, Q4_K_TILE)
TILE_FNS_(q6_K, q6_K_tile, Q6_K_TILE)
TILE_FNS_(q3_K, q3_K_tile, Q3_K_TILE)
TILE_FNS_(q2_K, q2_K_tile, Q2_K_TILE)
SL_TILE_FNS(f32, f32_tile, 2, 4)
SL_TILE_FNS(f16, f16_tile, 2, 4)
SL_TILE_FNS(bf16, bf16_tile, 2, 4)

/* ==== Q4_0 and Q8_0: plain AVX2, then again with AVX-VNNI ==== */

/*
 * The two differ only in the integer dot products of 8-bit blocks: AVX2 multiplies u8×s8
 * pairs into int16 (maddubs) and sums those into int32 (madd); AVX-VNNI's dpbusd does both
 * in one instruction.  No sum here can overflow int16, so both give the same integers and
 * the same Y bit for bit.  The second half of this file is compiled twice (it includes
 * itself), with V() naming the variant.
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define TILE(n) CAT(V(n), _tile)
#define SL_KERNELS_AVX2_TEMPLATE

#define V(n) CAT(n, _avx2)
/* acc + Σ a·x (+ Σ b·y) over groups of 4 u8×s8 products, as int32 ×8 */
#define DOT1(acc, a, x) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, x), _mm256_set1_epi16(1)))
#define DOT2(acc, a, x, b, y) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16( \
	_mm256_maddubs_epi16(a, x), _mm256_maddubs_epi16(b, y)), _mm256_set1_epi16(1)))
#include "sl_kernels_avx2.c"
#undef V
#undef DOT1
#undef DOT2

#ifdef __clang__ /* clang (make fuzz) has no GCC target pragma */
#pragma clang attribute push(__attribute__((target("avxvnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avxvnni")
#endif
#define V(n) CAT(n, _vnni)
#define DOT1(acc, a, x) _mm256_dpbusd_avx_epi32(acc, a, x)
#define DOT2(acc, a, x, b, y) _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(acc, a, x), b, y)
#include "sl_kernels_avx2.c"
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

/* the first nr of 8 columns by a masked load (no read past them), zeros in the rest */
#define LOADP_F32_(v, p, nr)                                                                   \
	do {                                                                                   \
		const __m256 f_ = _mm256_maskload_ps((p), _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), \
						     _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));   \
		__builtin_memcpy((v), &f_, sizeof f_);                                         \
	} while (0)
SL_GEMM_NN_B(avx2_gemm_nn, 32, float, SL_LOAD_F32_, LOADP_F32_)
#define LOAD_F16_(v, p)                                                                        \
	do {                                                                                   \
		const __m256 f_ = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)));      \
		__builtin_memcpy((v), &f_, sizeof f_);                                         \
	} while (0)
#define LOADP_F16_(v, p, nr) SL_LOADP_COPY_(v, p, nr, sl_f16, 8, LOAD_F16_)
SL_GEMM_NN_B(avx2_gemm_f16_nn, 32, sl_f16, LOAD_F16_, LOADP_F16_)

#define KSET(NAME, V)                                                                          \
	{                                                                                      \
		.name = NAME,                                                                  \
		.asks_ahead = 1,                                                               \
		.xq_size = avx2_xq_size,                                                       \
		.xq = avx2_xq,                                                                 \
		.tiles = {                                                                     \
			[SL_KT_F32] = SL_TILES(f32, 2, 4),                                     \
			[SL_KT_F16] = SL_TILES(f16, 2, 4),                                     \
			[SL_KT_BF16] = SL_TILES(bf16, 2, 4),                                   \
			[SL_KT_Q4_0] = TILES_(CAT(q4_0, V), Q4_0_TILE),                        \
			[SL_KT_Q8_0] = TILES_(CAT(q8_0, V), Q8_0_TILE),                        \
			[SL_KT_Q4_K] = TILES_(q4_K, Q4_K_TILE),                                \
			[SL_KT_Q6_K] = TILES_(q6_K, Q6_K_TILE),                                \
			[SL_KT_Q3_K] = TILES_(q3_K, Q3_K_TILE),                                \
			[SL_KT_Q2_K] = TILES_(q2_K, Q2_K_TILE),                                \
		},                                                                             \
		.f16_to_f32 = avx2_f16_to_f32,                                                 \
		.f32_to_f16 = avx2_f32_to_f16,                                                 \
		.gemm_nn = avx2_gemm_nn,                                                       \
		.gemm_f16_nn = avx2_gemm_f16_nn,                                               \
	}
const sl_kset sl_kset_avx2 = KSET("avx2", _avx2);
const sl_kset sl_kset_avx2_vnni = KSET("avx2-vnni", _vnni);

#endif /* __x86_64__ */

#else /* SL_KERNELS_AVX2_TEMPLATE: the variant part, compiled once per V() */

/* ==== Q4_0 × Q8_0 ==== */

/*
 * Two weight blocks at a time: their 16+16 bytes of nibbles in one register; the low
 * nibbles are values 0-15 of each block, the high ones 16-31, matching the activation pair
 * layout.  The nibbles stay unsigned (0..15) so the u8×s8 products take them directly, and
 * the −8 comes in as the starting value −8·Σx, precomputed with the activations.
 */
INLINE void TILE(q4_0)(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int nb = cols / 32, np = (nb + 1) / 2, full = nb / 2;
	const __m256i m4 = _mm256_set1_epi8(15);
	const __m256i dup = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
	__m256 acc[MAX_R][MAX_T];

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (int p = 0; p < np; p++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q4_0 *blk = (const sl_block_q4_0 *)(W + (size_t)r * ws) + 2 * p;
			sl_prefetch_ahead(T, blk, 2 * sizeof *blk);
			__m128i q0 = _mm_loadu_si128((const __m128i *)blk[0].qs), q1 = _mm_setzero_si128();
			uint32_t dd = blk[0].d;
			if (p < full) {
				q1 = _mm_loadu_si128((const __m128i *)blk[1].qs);
				dd |= (uint32_t)blk[1].d << 16;
			}
			__m256i v = _mm256_set_m128i(q1, q0);
			__m256i lo = _mm256_and_si256(v, m4);
			__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
			__m256 dw = _mm256_permutevar8x32_ps(
				_mm256_castps128_ps256(_mm_cvtph_ps(_mm_cvtsi32_si128((int)dd))), dup);
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs;
				__m256i i = DOT2(_mm256_load_si256((const __m256i *)(x + 96 * np + 32 * p)),
						 lo, _mm256_load_si256((const __m256i *)(x + 64 * p)),
						 hi, _mm256_load_si256((const __m256i *)(x + 64 * p + 32)));
				__m256 d = _mm256_mul_ps(dw, _mm256_load_ps((const float *)(x + 64 * np + 32 * p)));
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), d, acc[r][t]);
			}
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			Y[(size_t)t * ldy + r] = hsum(acc[r][t]);
}

/* ==== Q8_0 × Q8_0 ==== */

/*
 * Signed × signed through u8×s8 products: |w| · (x with w's sign), as 8 int32 partial sums.
 * aw = |w| is passed in, computed once per weight block for all tokens.
 */
INLINE __m256i TILE(q8_0_dot)(__m256i w, __m256i aw, const char *x)
{
	__m256i y = _mm256_load_si256((const __m256i *)x);
	return DOT1(_mm256_setzero_si256(), aw, _mm256_sign_epi8(y, w));
}

/*
 * Blocks go in pairs, acc += (p0 + p1) with p = isum·dw·dx, not acc += p0, acc += p1: one
 * token and row make a single chain of additions into acc, and its latency (4 cycles an
 * FMA), not the arithmetic, bounded the one-token product (bench/NOTES.md).
 */
INLINE void TILE(q8_0)(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int nb = cols / 32;
	__m256 acc[MAX_R][MAX_T];
	int b = 0;

	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (; b + 2 <= nb; b += 2) {
		for (int r = 0; r < R; r++) {
			const sl_block_q8_0 *blk = (const sl_block_q8_0 *)(W + (size_t)r * ws) + b;
			sl_prefetch_ahead(T, blk, 2 * sizeof *blk);
			__m256i w0 = _mm256_loadu_si256((const __m256i *)blk[0].qs);
			__m256i w1 = _mm256_loadu_si256((const __m256i *)blk[1].qs);
			__m256i aw0 = _mm256_sign_epi8(w0, w0), aw1 = _mm256_sign_epi8(w1, w1);
			__m256 dw0 = _mm256_set1_ps(_cvtsh_ss(blk[0].d)), dw1 = _mm256_set1_ps(_cvtsh_ss(blk[1].d));
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs;
				const float *dx = (const float *)(x + cols) + b;
				__m256 p0 = _mm256_mul_ps(_mm256_cvtepi32_ps(TILE(q8_0_dot)(w0, aw0, x + 32 * b)),
							  _mm256_mul_ps(dw0, _mm256_broadcast_ss(dx)));
				__m256 p01 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(TILE(q8_0_dot)(w1, aw1, x + 32 * b + 32)),
							     _mm256_mul_ps(dw1, _mm256_broadcast_ss(dx + 1)), p0);
				acc[r][t] = _mm256_add_ps(acc[r][t], p01);
			}
		}
	}
	if (b < nb) { /* an odd last block */
		for (int r = 0; r < R; r++) {
			const sl_block_q8_0 *blk = (const sl_block_q8_0 *)(W + (size_t)r * ws) + b;
			__m256i w = _mm256_loadu_si256((const __m256i *)blk->qs);
			__m256i aw = _mm256_sign_epi8(w, w);
			__m256 dw = _mm256_set1_ps(_cvtsh_ss(blk->d));
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs;
				__m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss((const float *)(x + cols) + b));
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(TILE(q8_0_dot)(w, aw, x + 32 * b)), d,
							    acc[r][t]);
			}
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			Y[(size_t)t * ldy + r] = hsum(acc[r][t]);
}

/* ==== micro-kernels of the variant ==== */

/* rows × tokens of the Q4_0 prompt tile: the best of 1-4 × 2-8 in a bench/kpeak sweep */
#ifndef Q4_0_TILE
#define Q4_0_TILE 2, 6
#endif
TILE_FNS_(V(q4_0), TILE(q4_0), Q4_0_TILE)
#ifndef Q8_0_TILE
#define Q8_0_TILE 1, 6
#endif
TILE_FNS_(V(q8_0), TILE(q8_0), Q8_0_TILE)

#endif
