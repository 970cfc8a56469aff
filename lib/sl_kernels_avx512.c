/*
 * sl_kernels_avx512 — the AVX-512 kernel set (F, BW, VL and VNNI; x86-64), chosen at run
 * time by sl_matmul.c.  Each micro-kernel computes what its counterpart in sl_kernels.c
 * computes, up to the order of float additions; test_kernels.c checks that.
 *
 * Q4_0, Q8_0, Q4_K and Q6_K go 16 blocks (or sub-blocks) at a time, one a 32-bit lane, so
 * that vpdpbusd (64 u8×s8 products summed by 4 into 16 int32) sums each exactly before its
 * scales are applied (see "groups of 16 blocks").  For two tokens or more their rows are
 * packed once per 32 rows into the registers' order and multiplied in 2-row × 4-token
 * tiles.  Q3_K and Q2_K keep 64 values of a block a register, in tiles of R rows × T
 * tokens with R·T accumulators in registers: each weight block is unpacked once per tile
 * and serves T tokens, each activation block is loaded once and serves R rows.
 *
 * Activation layouts (per token, 64-byte aligned, private to this file):
 *   Q4_0 and Q8_0 weights: groups of 16 blocks, 640 bytes each: 8 × 64 int8, register i
 *     lane p = values 4i..4i+3 of block GROUP_BLOCK(p) (Q8_0) or Q4_BLOCK(p) (Q4_0); 16
 *     floats, the blocks' scales; 16 int32, −(sum of the block's values).  Blocks past the
 *     end of the row are zeros.
 *   Q4_K weights: groups of two 256-blocks, 1152 bytes: 8 × 64 int8, lane p = sub-block
 *     KQ_SUB(p) of 32; 16 floats, the lane's block's scale d; 16 floats, d·Σx of the lane's
 *     sub-block; the same 512 int8 in the rows' nibble order, for one token's product.  A
 *     missing second block is zeros.
 *   Q6_K weights: per 256-block, 384 bytes: 4 × 64 int8, lane p = sub-block GROUP_BLOCK(p)
 *     of 16; 16 floats d; 16 int32 −Σx of the lane's sub-block.
 *   Q3_K, Q2_K weights: per 256-block, 320 bytes: 256 int8 in order, int16 sums of each 16
 *     (16), the float scale.
 * Quantization itself is the reference's: d = max|x|/127, q = x/d rounded to nearest even.
 *
 * Not used: vdpbf16ps.  It multiplies bf16 by bf16, so the activations would be rounded to
 * 8 significant bits; BF16 weights are widened to float instead (exact) and go through FMA.
 */
#if defined(__x86_64__) && !defined(SL_NO_SIMD)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "sl_kernels_impl.h"
#include "sl_types.h"

#define INLINE static inline __attribute__((always_inline))
#define MAX_R 4
#define MAX_T SL_TILE_MAX_T

/* ==== activation quantization ==== */

/* max |x| over n floats (n a multiple of 32) */
INLINE float absmax(const float *x, int n)
{
	__m512 m = _mm512_setzero_ps();
	for (int i = 0; i < n; i += 32)
		m = _mm512_max_ps(m, _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)),
						   _mm512_abs_ps(_mm512_loadu_ps(x + i + 16))));
	return _mm512_reduce_max_ps(m);
}

/* 16 floats times id, rounded to nearest even (as nearbyintf), as 16 int8 */
INLINE __m128i round16(const float *x, __m512 id)
{
	return _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id)));
}

/* n values (a multiple of 16) to int8 with one scale, as sl_quant_q8_ref; returns d */
INLINE float quant_block(const float *x, int n, int8_t *q)
{
	float amax = absmax(x, n);
	float d = amax / 127.f, id = d != 0 ? 1.f / d : 0.f;
	__m512 vid = _mm512_set1_ps(id);
	for (int i = 0; i < n; i += 16)
		_mm_storeu_si128((__m128i *)(q + i), round16(x + i, vid));
	return d;
}

#define QK_REC 320
#define Q4K_X 1152 /* a Q4_K group of one token's activations, and its part in */
#define Q4K_XN 640 /* the rows' own order (xq_q4_K) */

/* Q4_0, Q8_0, Q4_K and Q6_K weights: below, with their kernels */
static size_t group_xq_size(int cols);
static void xq_group(const float *x, int cols, char *out, int q4);
static void xq_q4_K(const float *x, int cols, char *out);
static void xq_q6_K(const float *x, int cols, char *out);

static size_t avx512_xq_size(uint32_t type, int cols)
{
	switch (type) {
	case SL_Q4_0: case SL_Q8_0: return group_xq_size(cols);
	case SL_Q4_K: return (size_t)(cols / 256 + 1) / 2 * Q4K_X;
	case SL_Q6_K: return (size_t)(cols / 256) * 384;
	case SL_Q3_K: case SL_Q2_K: return (size_t)(cols / 256) * QK_REC;
	case SL_F32: case SL_F16: case SL_BF16: return 0;
	default: return (size_t)-1;
	}
}

/* One block of 32 as sl_quant_q8_ref: values 0-15 in *lo, 16-31 in *hi; returns d. */
INLINE float quant32(const float *x, __m128i *lo, __m128i *hi)
{
	__m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
	float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
	float d = amax / 127.f, id = d != 0 ? 1.f / d : 0.f;
	__m512 vid = _mm512_set1_ps(id);
	*lo = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x0, vid)));
	*hi = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x1, vid)));
	return d;
}

/* Q8_K for Q3_K and Q2_K: 256 int8 in order, the 16 sums of 16, the scale */
static void xq_q8_K(const float *x, int cols, char *out)
{
	for (int s = 0; s < cols / 256; s++, x += 256) {
		char *o = out + (size_t)s * QK_REC;
		int8_t q[256];
		float d = quant_block(x, 256, q);
		int16_t *bs = (int16_t *)(o + 256);
		memset(o + 256, 0, QK_REC - 256);
		memcpy(o, q, 256);
		for (int g = 0; g < 16; g++) {
			int sum = 0;
			for (int i = 0; i < 16; i++)
				sum += q[16 * g + i];
			bs[g] = (int16_t)sum;
		}
		memcpy(o + 256 + 32, &d, 4);
	}
}


static void avx512_xq(uint32_t type, const float *x, int cols, void *out)
{
	switch (type) {
	case SL_Q4_0: case SL_Q8_0: xq_group(x, cols, out, type == SL_Q4_0); break;
	case SL_Q4_K: xq_q4_K(x, cols, out); break;
	case SL_Q6_K: xq_q6_K(x, cols, out); break;
	default: xq_q8_K(x, cols, out); break;
	}
}

/*
 * The sum of v's 16 lanes in a fixed order, whatever the compiler (as GCC's
 * _mm512_reduce_add_ps): lanes i + i+8, then i + i+4, i + i+2, i + i+1.  The Q4_0 prompt
 * path adds 16 vectors at once in the same order (hsum16x16), so that a batch of tokens
 * gives the bits the tokens one at a time give.
 */
INLINE float hsum16(__m512 v)
{
	__m256 a = _mm256_add_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)),
				  _mm512_castps512_ps256(v));
	__m128 b = _mm_add_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
	__m128 c = _mm_add_ps(_mm_movehl_ps(b, b), b);
	return _mm_cvtss_f32(_mm_add_ss(_mm_movehdup_ps(c), c));
}

#define ACC_ZERO                                                                             \
	__m512 acc[MAX_R][MAX_T];                                                            \
	for (int r = 0; r < R; r++)                                                          \
		for (int t = 0; t < T; t++)                                                  \
			acc[r][t] = _mm512_setzero_ps();
#define ACC_STORE                                                                            \
	for (int r = 0; r < R; r++)                                                          \
		for (int t = 0; t < T; t++)                                                  \
			Y[(size_t)t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);

/* ==== Q4_0 and Q8_0 × Q8_0: groups of 16 blocks ==== */

/*
 * Sixteen blocks (a group, 512 values) at a time, one block per 32-bit lane: vpdpbusd sums
 * four products into each lane, so eight of them sum a whole block into its lane exactly,
 * and the block's scales are applied once, by one float multiply and one multiply-add per
 * lane for all 16 blocks.  (Four blocks per register, one lane per 4 values, took a
 * conversion, a multiply and a multiply-add per 128 products instead of per 512.)
 *
 * Both types come to the same operands (group_w): 8 registers of weights, register i lane p
 * = values 4i..4i+3 of block GROUP_BLOCK(p) (Q4_0: Q4_BLOCK(p)), as uint8 (Q4_0: the
 * nibble n, Q8_0: w + 128), and the 16 scales.  vpdpbusd takes them with the activations
 * x as int8 in the same order and starts from −8·Σx (Q4_0) or −128·Σx (Q8_0), so that
 * each lane comes to Σ x·w exactly.  Blocks past the row's end are zero, and so are their activations.
 *
 * The weights go into that order by a 4×4 transpose of 32-bit words within each 128-bit
 * lane (transpose_group): the block in lane m of register k lands in lane 4m+k.  Q8_0's
 * registers hold blocks 4k..4k+3 (GROUP_BLOCK), Q4_0's the even blocks and the odd ones
 * apart (Q4_BLOCK: 0 1 8 9 2 3 10 11 ..), which its 18-byte blocks gather faster in
 * (q4_0_group).
 */
#define GROUP_BLOCK(p) (4 * ((p) % 4) + (p) / 4)
#define Q4_BLOCK(p) (8 * ((p) % 4 / 2) + 2 * ((p) / 4) + (p) % 2)
#define GROUP_X 640      /* a token's group: 8 × 64 int8, 16 floats d, 16 int32 −Σx */
#define GROUP_PACKED 576 /* a packed row's group: 8 × 64 uint8, 16 floats d */

static size_t group_xq_size(int cols)
{
	return (size_t)((cols / 32 + 15) / 16) * GROUP_X;
}

/*
 * a[k] holds four blocks of a group, one per 128-bit lane, 4 words of 4 bytes each (Q8_0:
 * blocks 4k..4k+3); w[j] = word j of every block, the one in lane m of a[k] in lane 4m+k:
 * a 4×4 transpose of 32-bit words within each 128-bit lane.
 */
INLINE void transpose_group(const __m512i a[4], __m512i w[4])
{
	const __m512i t0 = _mm512_unpacklo_epi32(a[0], a[1]), t1 = _mm512_unpackhi_epi32(a[0], a[1]);
	const __m512i t2 = _mm512_unpacklo_epi32(a[2], a[3]), t3 = _mm512_unpackhi_epi32(a[2], a[3]);
	w[0] = _mm512_unpacklo_epi64(t0, t2);
	w[1] = _mm512_unpackhi_epi64(t0, t2);
	w[2] = _mm512_unpacklo_epi64(t1, t3);
	w[3] = _mm512_unpackhi_epi64(t1, t3);
}

#define ORDER_(B) _mm512_setr_epi32(B(0), B(1), B(2), B(3), B(4), B(5), B(6), B(7), B(8), \
	B(9), B(10), B(11), B(12), B(13), B(14), B(15))
static void xq_group(const float *x, int cols, char *out, const int q4)
{
	const int nb = cols / 32, ng = (nb + 15) / 16;
	const __m512i order = q4 ? ORDER_(Q4_BLOCK) : ORDER_(GROUP_BLOCK);
	int at[16]; /* the block for 128-bit lane m of register k, at[4k + m], before the transpose */
	for (int p = 0; p < 16; p++)
		at[4 * (p % 4) + p / 4] = q4 ? Q4_BLOCK(p) : GROUP_BLOCK(p);
	for (int g = 0; g < ng; g++, out += GROUP_X) {
		__m128i lo[16], hi[16];
		_Alignas(64) float d[16];
		__m512i al[4], ah[4], w[8];
		for (int b = 0; b < 16; b++) {
			lo[b] = hi[b] = _mm_setzero_si128();
			d[b] = 16 * g + b < nb ? quant32(x + 32 * (16 * g + b), &lo[b], &hi[b]) : 0.f;
		}
		for (int k = 0; k < 4; k++) {
			const int *b = at + 4 * k;
			al[k] = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(
				_mm512_castsi128_si512(lo[b[0]]), lo[b[1]], 1), lo[b[2]], 2), lo[b[3]], 3);
			ah[k] = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(
				_mm512_castsi128_si512(hi[b[0]]), hi[b[1]], 1), hi[b[2]], 2), hi[b[3]], 3);
		}
		transpose_group(al, w);
		transpose_group(ah, w + 4);
		__m512i sum = _mm512_setzero_si512();
		for (int j = 0; j < 8; j++) {
			sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), w[j]);
			_mm512_store_si512(out + 64 * j, w[j]);
		}
		_mm512_store_ps(out + 512, _mm512_permutexvar_ps(order, _mm512_load_ps(d)));
		_mm512_store_si512(out + 576, _mm512_sub_epi32(_mm512_setzero_si512(), sum));
	}
}

/*
 * A group of Q4_0 blocks (gb, 16 × 18 bytes) as group operands.  Blocks are 18 bytes, so
 * every second block's nibbles start 4-byte aligned from gb + 16 (blocks 1, 3, .. at 36i +
 * 20) and the others' from gb + 2 (at 36i + 2): a 128-byte window of each kind holds four
 * blocks' nibbles as whole 32-bit words, which one vpermt2d gathers a block a 128-bit lane
 * (a word permute took two shuffle slots where this takes one, bench/NOTES.md).  a[0..3]
 * hold blocks 0,2,4,6 / 1,3,5,7 / 8,10,12,14 / 9,11,13,15, so after transpose_group lane p
 * holds block Q4_BLOCK(p), the order xq_group gives Q4_0's activations.  All eleven loads
 * stay within the group.
 */
INLINE void q4_0_group(const char *gb, __m512i w[8], __m512 *dw, const int hi16)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	/* words 9m .. 9m+3 of the even window, 9m+1 .. 9m+4 of the odd one, for lane m */
	const __m512i ie = _mm512_setr_epi32(0, 1, 2, 3, 9, 10, 11, 12, 18, 19, 20, 21, 27, 28, 29, 30);
	const __m512i io = _mm512_setr_epi32(1, 2, 3, 4, 10, 11, 12, 13, 19, 20, 21, 22, 28, 29, 30, 31);
	const __m512i e0 = _mm512_loadu_si512(gb + 2), e1 = _mm512_loadu_si512(gb + 66);
	const __m512i o0 = _mm512_loadu_si512(gb + 16), o1 = _mm512_loadu_si512(gb + 80);
	const __m512i e2 = _mm512_loadu_si512(gb + 146), e3 = _mm512_loadu_si512(gb + 210);
	const __m512i o2 = _mm512_loadu_si512(gb + 160), o3 = _mm512_loadu_si512(gb + 224);
	__m512i a[4], q[4];
	a[0] = _mm512_permutex2var_epi32(e0, ie, e1);
	a[1] = _mm512_permutex2var_epi32(o0, io, o1);
	a[2] = _mm512_permutex2var_epi32(e2, ie, e3);
	a[3] = _mm512_permutex2var_epi32(o2, io, o3);
	/*
	 * The scales, block b's at byte 18b: in loads from gb, gb + 66 (e1), gb + 140 and gb +
	 * 214 block 4r + j (r = 0, 1, 2, 3) falls in 128-bit lane j, word j + 0, 3, 2, 1, so three
	 * blends put all sixteen into one register and one word permute puts them in lane
	 * order, Q4_BLOCK(p) = 4r + j from word 9j + (0, 3, 2, 1)[r].
	 */
	const __m512i sidx = _mm512_setr_epi32(0 | 9 << 16, 2 | 11 << 16, 18 | 27 << 16, 20 | 29 << 16,
		3 | 12 << 16, 1 | 10 << 16, 21 | 30 << 16, 19 | 28 << 16, 0, 0, 0, 0, 0, 0, 0, 0);
	/* words 9j + 1 from gb + 214, 9j + 2 from gb + 140, 9j + 3 from e1 (j = 0..3) */
	__m512i d = _mm512_mask_blend_epi16(0x10080402, _mm512_loadu_si512(gb), _mm512_loadu_si512(gb + 214));
	d = _mm512_mask_blend_epi16(0x20100804, d, _mm512_loadu_si512(gb + 140));
	d = _mm512_mask_blend_epi16(0x40201008, d, e1);
	d = _mm512_permutexvar_epi16(sidx, d);
	*dw = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
	transpose_group(a, q);
	for (int j = 0; j < 4; j++) {
		w[j] = _mm512_and_si512(q[j], m4);
		w[4 + j] = hi16 ? _mm512_andnot_si512(m4, q[j]) : _mm512_and_si512(_mm512_srli_epi16(q[j], 4), m4);
	}
}

/* A group of Q8_0 blocks (16 × 34 bytes): block b's scale is word 17b, its values 17b+1 .. */
INLINE void q8_0_group(const char *gb, __m512i w[8], __m512 *dw)
{
	const __m512i bias = _mm512_set1_epi8((char)0x80);
	/* half h of blocks 4k .. 4k+3 (words 17m+1 .. 17m+8 from byte 136k + 16h), a block a lane */
	const __m512i qidx = _mm512_setr_epi32(1 | 2 << 16, 3 | 4 << 16, 5 | 6 << 16, 7 | 8 << 16,
		18 | 19 << 16, 20 | 21 << 16, 22 | 23 << 16, 24 | 25 << 16, 35 | 36 << 16,
		37 | 38 << 16, 39 | 40 << 16, 41 | 42 << 16, 52 | 53 << 16, 54 | 55 << 16,
		56 | 57 << 16, 58 | 59 << 16);
	/* the scales of blocks 4k+m, words 17m of the pair at byte 136k, for lanes p = 4m + k */
	const __m512i didx = _mm512_setr_epi32(0, 0, 17 | 17 << 16, 17 | 17 << 16, 34 | 34 << 16,
		34 | 34 << 16, 51 | 51 << 16, 51 | 51 << 16, 0, 0, 0, 0, 0, 0, 0, 0);
	__m512i a[2][4], d = _mm512_setzero_si512();
	for (int k = 0; k < 4; k++) {
		const char *p = gb + 136 * k;
		const __m512i t0 = _mm512_loadu_si512(p), t1 = _mm512_loadu_si512(p + 64);
		a[0][k] = _mm512_permutex2var_epi16(t0, qidx, t1);
		/* words up to 59 from byte 16: the last 56 bytes masked, no read past the group */
		a[1][k] = _mm512_permutex2var_epi16(_mm512_loadu_si512(p + 16), qidx,
						    _mm512_maskz_loadu_epi16(0x0FFFFFFF, p + 80));
		d = _mm512_mask_blend_epi16((__mmask32)(0x1111u << k), d, _mm512_permutex2var_epi16(t0, didx, t1));
	}
	transpose_group(a[0], w);
	transpose_group(a[1], w + 4);
	for (int j = 0; j < 8; j++)
		w[j] = _mm512_xor_si512(w[j], bias); /* w + 128 */
	*dw = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
}

/*
 * The K-quants in the same form.  Q4_K: a group is two 256-blocks, 16 sub-blocks of 32,
 * one a lane; the sub-block's scale goes into the float factor, d·s_j (*dw), and its min
 * into a second one, dmin·m_j (*dm), applied to the activations' sub-block sums times
 * their scale (x + 576, a float a lane): Σ x·(d·s·q − dmin·m) = d·s·Σ x·q − dmin·m·Σx.
 * Q6_K: a group is one 256-block, 16 sub-blocks of 16, 4 registers; the scale goes into
 * d·s_j, the −32 comes in as −32·Σx.  Lane p holds sub-block KQ_SUB(p) (Q4_K) or
 * GROUP_BLOCK(p) (Q6_K): the order in which a 128-bit lane shuffle and transpose_group
 * leave them.
 */
#define KQ_SUB(p) (4 * ((p) % 4) + ((p) / 4 == 1 ? 2 : (p) / 4 == 2 ? 1 : (p) / 4))

/* a group of `type`: weight registers, bytes of one token's activations, of a packed row */
INLINE int group_nj(const uint32_t type) { return type == SL_Q6_K ? 4 : 8; }
INLINE size_t group_xb(const uint32_t type)
{
	return type == SL_Q6_K ? 384 : type == SL_Q4_K ? Q4K_X : GROUP_X;
}
INLINE size_t group_pb(const uint32_t type)
{
	return type == SL_Q4_K ? 640 : type == SL_Q6_K ? 320 : GROUP_PACKED;
}

/* bytes of a group of weights in the row */
INLINE size_t group_wb(const uint32_t type)
{
	switch (type) {
	case SL_Q4_0: return 16 * sizeof(sl_block_q4_0);
	case SL_Q8_0: return 16 * sizeof(sl_block_q8_0);
	case SL_Q4_K: return 2 * sizeof(sl_block_q4_K);
	default: return sizeof(sl_block_q6_K);
	}
}
/* groups in a row of cols values */
INLINE int group_n(const uint32_t type, int cols)
{
	switch (type) {
	case SL_Q4_K: return (cols / 256 + 1) / 2;
	case SL_Q6_K: return cols / 256;
	default: return (cols / 32 + 15) / 16;
	}
}

/*
 * A Q4_K group's float factors: d·s_j (*dw) and dmin·m_j (*dm), lane p for sub-block
 * KQ_SUB(p) (both exact: an 11-bit significand times a 6-bit integer).  sl_q4_K_scales4
 * decodes a block's 12 scale bytes q as s_j = q[j] & 63, m_j = q[j+4] & 63 for j < 4, and
 * s_j = (q[j+4] & 15) | (q[j-4] >> 6) << 4, m_j = (q[j+4] >> 4) | (q[j] >> 6) << 4 for j >=
 * 4.  Here one byte shuffle of each block's 16-byte head (in every 128-bit lane) puts in
 * lane p the bytes both need, [q[j] or q[j+4], q[j-4], q[j+4], q[j]], and shifts and masks
 * set by lane finish them: two shuffles a group where widening and ordering the bytes
 * took eight.
 */
INLINE void q4_K_scales(const sl_block_q4_K *b, __m512 *dw, __m512 *dm)
{
	/* lane 4L + k: sub-block 4(k % 2) + f(L) of block k / 2, f = 0, 2, 1, 3 (KQ_SUB) */
#define SB_(i) 4 + (i), 0x80, 8 + (i), 0x80, 12 + (i), 4 + (i), 12 + (i), 8 + (i)
	static const _Alignas(64) unsigned char idx_[64] = {SB_(0), SB_(0), SB_(2), SB_(2), SB_(1), SB_(1), SB_(3), SB_(3)};
#undef SB_
	const __m512i idx = _mm512_load_si512(idx_);
	const __m512i h0 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)&b[0])),
		      h1 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)&b[1]));
	const __m512i v = _mm512_mask_shuffle_epi8(_mm512_shuffle_epi8(h0, idx), 0xFF00FF00FF00FF00ull, h1, idx);
	/* by lane: j < 4, j >= 4 */
	const __m512i MX = _mm512_setr_epi32(63, 15, 63, 15, 63, 15, 63, 15, 63, 15, 63, 15, 63, 15, 63, 15),
		      MY = _mm512_setr_epi32(0, 48, 0, 48, 0, 48, 0, 48, 0, 48, 0, 48, 0, 48, 0, 48),
		      SH = _mm512_setr_epi32(16, 20, 16, 20, 16, 20, 16, 20, 16, 20, 16, 20, 16, 20, 16, 20);
	/* A | (B & C) */
	const __m512i sc = _mm512_ternarylogic_epi32(_mm512_and_si512(v, MX), _mm512_srli_epi32(v, 10), MY, 0xF8);
	const __m512i mn = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srlv_epi32(v, SH), MX),
						     _mm512_srli_epi32(v, 26), MY, 0xF8);
	/* d0, dmin0, d1, dmin1; lanes of the second block: p % 4 >= 2 */
	const __m512 dd = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_unpacklo_epi32(
		_mm_loadu_si32(&b[0]), _mm_loadu_si32(&b[1]))));
	const __m512i di = _mm512_setr_epi32(0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2);
	*dw = _mm512_mul_ps(_mm512_permutexvar_ps(di, dd), _mm512_cvtepi32_ps(sc));
	*dm = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_add_epi32(di, _mm512_set1_epi32(1)), dd),
			    _mm512_cvtepi32_ps(mn));
}

/* A Q4_K group (two blocks) as operands in the registers' order (the prompt path's). */
INLINE void q4_K_group(const sl_block_q4_K *b, __m512i w[8], __m512 *dw, __m512 *dm)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	__m512i a0[4], a1[4];
	for (int h = 0; h < 2; h++) {
		/* qs bytes 32i..32i+31: sub-block 2i in the low nibbles, 2i+1 in the high ones */
		for (int k = 0; k < 2; k++) {
			const __m512i q = _mm512_loadu_si512(b[h].qs + 64 * k);
			const __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
			/* 128-bit lanes: values 0-15 of sub-blocks 4k, 4k+2, 4k+1, 4k+3, then 16-31 */
			a0[2 * h + k] = _mm512_shuffle_i32x4(lo, hi, 0x88);
			a1[2 * h + k] = _mm512_shuffle_i32x4(lo, hi, 0xDD);
		}
	}
	transpose_group(a0, w);
	transpose_group(a1, w + 4);
	q4_K_scales(b, dw, dm);
}

/*
 * One token's integer sums over a Q4_K group with the nibbles in the rows' own order: each
 * 64 bytes as loaded, the low nibbles and the high ones (left in place, 16 times their
 * value) against activations stored in that order (xq_q4_K's second part, Q4K_XN).  Lanes
 * 0-7 of such a product hold one sub-block's sums and lanes 8-15 another's; a tree of
 * unpacks and adds then sums each sub-block's lanes into lane p = KQ_SUB(p) (sub-blocks 4k
 * and 4k+2 of block h are the low nibbles of its bytes 64k.., 4k+1 and 4k+3 the high
 * ones).  Fourteen shuffles a group instead of the 24 that put the weights into the
 * registers' order first, for the same exact integer sums, so the same bits.
 */
INLINE __m512i q4_K_isum1(const sl_block_q4_K *b, const char *xn)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	__m512i r[8]; /* [2h + k]: block h's bytes 64k.. low nibbles; [4 + 2h + k]: high */
	for (int h = 0; h < 2; h++)
		for (int k = 0; k < 2; k++) {
			const int i = 2 * h + k;
			const __m512i q = _mm512_loadu_si512(b[h].qs + 64 * k);
			r[i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(q, m4),
						   _mm512_load_si512(xn + 64 * i));
			r[4 + i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_andnot_si512(m4, q),
						       _mm512_load_si512(xn + 256 + 64 * i));
		}
	/* pairs' lanes 2 apart, then 1 apart (within 128 bits), then 128-bit lanes 1 apart */
	__m512i s[4], u[2];
	for (int i = 0; i < 4; i++)
		s[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]),
					_mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]));
	for (int i = 0; i < 2; i++)
		u[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(s[2 * i], s[2 * i + 1]),
					_mm512_unpackhi_epi64(s[2 * i], s[2 * i + 1]));
	const __m512i sum = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88),
					     _mm512_shuffle_i32x4(u[0], u[1], 0xDD));
	/* lanes 8-15: the odd sub-blocks, from the high nibbles */
	return _mm512_mask_srai_epi32(sum, 0xFF00, sum, 4);
}

INLINE void q6_K_group(const sl_block_q6_K *b, __m512i w[4], __m512 *dw)
{
	const __m512i m4 = _mm512_set1_epi8(15), m3 = _mm512_set1_epi8(3), m30 = _mm512_set1_epi8(0x30);
	const __m512i sh = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
	const __m512i order = _mm512_setr_epi32(GROUP_BLOCK(0), GROUP_BLOCK(1), GROUP_BLOCK(2),
		GROUP_BLOCK(3), GROUP_BLOCK(4), GROUP_BLOCK(5), GROUP_BLOCK(6), GROUP_BLOCK(7),
		GROUP_BLOCK(8), GROUP_BLOCK(9), GROUP_BLOCK(10), GROUP_BLOCK(11), GROUP_BLOCK(12),
		GROUP_BLOCK(13), GROUP_BLOCK(14), GROUP_BLOCK(15));
	/* values 64k .. 64k+63 in q[k], unsigned (0..63): sub-blocks 4k .. 4k+3 a 128-bit lane */
	__m512i q[4];
	for (int h = 0; h < 2; h++) {
		const __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
		const __m512i hb = _mm512_srlv_epi64(_mm512_broadcast_i64x4(
			_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h))), sh);
		q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(_mm512_and_si512(hb, m3), 4));
		q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
					       _mm512_and_si512(hb, m30));
	}
	transpose_group(q, w);
	const __m512i sc = _mm512_permutexvar_epi32(order,
		_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b->scales)));
	*dw = _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(b->d)), _mm512_cvtepi32_ps(sc));
}

/*
 * Activations for Q4_K weights, a group of two 256-blocks (Q4K_X bytes): 8 × 64 int8 in
 * the weights' order (lane p: sub-block KQ_SUB(p)), 16 floats d (the lane's block's), 16
 * floats d·Σx of the lane's sub-block; then at Q4K_XN the same int8 in the rows' own order
 * for one token (q4_K_isum1): 64 bytes for the low nibbles of each block's bytes 64k..
 * 64k+63 (values 128k..128k+31, then 128k+64..128k+95), then 64 for the high ones (the 32
 * values after each of those).  Quantization as Q8_K: one d per 256 values.
 */
static void xq_q4_K(const float *x, int cols, char *out)
{
	const int nsb = cols / 256, ng = (nsb + 1) / 2;
	for (int g = 0; g < ng; g++, out += Q4K_X) {
		int8_t q[2][256];
		float d[2] = {0, 0};
		memset(q, 0, sizeof q);
		for (int h = 0; h < 2 && 2 * g + h < nsb; h++)
			d[h] = quant_block(x + 256 * (2 * g + h), 256, q[h]);
		float dx[16], xs[16];
		for (int p = 0; p < 16; p++) {
			const int sb = KQ_SUB(p), h = sb / 8, j = sb % 8;
			int sum = 0;
			for (int i = 0; i < 8; i++)
				memcpy(out + 64 * i + 4 * p, q[h] + 32 * j + 4 * i, 4);
			for (int i = 0; i < 32; i++)
				sum += q[h][32 * j + i];
			dx[p] = d[h];
			xs[p] = d[h] * (float)sum;
		}
		memcpy(out + 512, dx, 64);
		memcpy(out + 576, xs, 64);
		for (int h = 0; h < 2; h++)
			for (int k = 0; k < 2; k++) {
				char *lo = out + Q4K_XN + 64 * (2 * h + k), *hi = lo + 256;
				memcpy(lo, q[h] + 128 * k, 32);
				memcpy(lo + 32, q[h] + 128 * k + 64, 32);
				memcpy(hi, q[h] + 128 * k + 32, 32);
				memcpy(hi + 32, q[h] + 128 * k + 96, 32);
			}
	}
}

/*
 * Activations for Q6_K weights, per 256-block (384 bytes): 4 × 64 int8 (lane p: the 16
 * values of sub-block GROUP_BLOCK(p)), 16 floats d, 16 int32 −Σx of the lane's sub-block.
 */
static void xq_q6_K(const float *x, int cols, char *out)
{
	for (int s = 0; s < cols / 256; s++, out += 384) {
		_Alignas(64) int8_t q[256];
		const float d = quant_block(x + 256 * s, 256, q);
		__m512i a[4], w[4], sum = _mm512_setzero_si512();
		for (int k = 0; k < 4; k++)
			a[k] = _mm512_load_si512(q + 64 * k);
		transpose_group(a, w);
		for (int j = 0; j < 4; j++) {
			sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), w[j]);
			_mm512_store_si512(out + 64 * j, w[j]);
		}
		_mm512_store_ps(out + 256, _mm512_set1_ps(d));
		_mm512_store_si512(out + 320, _mm512_sub_epi32(_mm512_setzero_si512(), sum));
	}
}

/* Group g's two Q4_K blocks of a row, or a copy in two[] with the missing second as zeros */
INLINE const sl_block_q4_K *q4_K_blocks(const char *row, int cols, int g, sl_block_q4_K two[2])
{
	const sl_block_q4_K *b = (const sl_block_q4_K *)row + 2 * g;
	if (2 * g + 1 < cols / 256)
		return b;
	memcpy(&two[0], b, sizeof two[0]);
	memset(&two[1], 0, sizeof two[1]);
	return two;
}

/*
 * Group g of a row of `type` as operands (*dm: Q4_K's mins); a group past the row's end is
 * padded with zeros.
 */
INLINE void group_w(const uint32_t type, const char *row, int cols, int g, __m512i w[8],
		    __m512 *dw, __m512 *dm, const int hi16)
{
	if (type == SL_Q4_K) {
		sl_block_q4_K two[2];
		q4_K_group(q4_K_blocks(row, cols, g, two), w, dw, dm);
		return;
	}
	if (type == SL_Q6_K) {
		q6_K_group((const sl_block_q6_K *)row + g, w, dw);
		return;
	}
	const int nb = cols / 32;
	const size_t bb = type == SL_Q4_0 ? sizeof(sl_block_q4_0) : sizeof(sl_block_q8_0);
	const char *gb = row + (size_t)16 * g * bb;
	_Alignas(64) char tail[16 * sizeof(sl_block_q8_0)];
	if (nb - 16 * g < 16) {
		memset(tail, 0, sizeof tail);
		memcpy(tail, gb, bb * (size_t)(nb - 16 * g));
		gb = tail;
	}
	if (type == SL_Q4_0)
		q4_0_group(gb, w, dw, hi16);
	else
		q8_0_group(gb, w, dw);
}

/*
 * The start of a lane's integer sum from the activations' −Σx: −8·Σx for Q4_0's nibbles,
 * −128·Σx for Q8_0's w + 128, −32·Σx for Q6_K's q; Q4_K's mins are a float term instead.
 */
INLINE __m512i group_off(const uint32_t type, const char *x)
{
	if (type == SL_Q4_K)
		return _mm512_setzero_si512();
	const __m512i nsum = _mm512_load_si512(x + 64 * group_nj(type) + 64);
	return _mm512_slli_epi32(nsum, type == SL_Q4_0 ? 3 : type == SL_Q8_0 ? 7 : 5);
}

/* acc + the group's float terms, from its integer sums i (the same operations everywhere) */
INLINE __m512 group_acc_add(const uint32_t type, __m512 acc, __m512i i, __m512 dw, __m512 dm,
			    const char *x)
{
	const int nj = group_nj(type);
	acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(dw, _mm512_load_ps((const float *)(x + 64 * nj))), acc);
	if (type == SL_Q4_K)
		acc = _mm512_fnmadd_ps(dm, _mm512_load_ps((const float *)(x + 64 * nj + 64)), acc);
	return acc;
}

/*
 * Bytes between the one-token product's requests for Q8_0 rows: 16, each line four times.
 * With one request a line one core streamed Q8_0 well below the rate it reads the same
 * bytes at, and with two or eight still below; the other types stream as fast with one,
 * and Q4_K slower with four (bench/NOTES.md, bench/tgpair).
 */
#ifndef Q8_0_PREFETCH_STEP
#define Q8_0_PREFETCH_STEP 16
#endif

/* With one token, the row streams from memory: ask for group g's bytes ahead. */
INLINE void group_ask_ahead(const uint32_t type, const int T, const char *W, int g)
{
	sl_prefetch_ahead_by(T, W + (size_t)g * group_wb(type), group_wb(type),
			     type == SL_Q8_0 ? Q8_0_PREFETCH_STEP : 64);
}

/*
 * With one token Q4_0's high nibbles stay where they are, 16 times their value, in
 * registers 4..7, summed apart and divided by 16 (exact: multiples of 16): a shift a group,
 * not one a register (with T tokens it would be T a group).  Q4_K's one-token sums do the
 * same in their own way (q4_K_isum1).
 */
INLINE int group_hi16(const uint32_t type, const int T)
{
	return T == 1 && type == SL_Q4_0;
}

/* A group's integer sums from its weights (group_w, with hi16) and activations at x. */
INLINE __m512i group_isum(const uint32_t type, const int hi16, const __m512i w[8], const char *x)
{
	const int nj = group_nj(type);
	__m512i i0 = group_off(type, x), i1 = _mm512_setzero_si512();
	if (hi16) {
		for (int j = 0; j < 4; j++) {
			i0 = _mm512_dpbusd_epi32(i0, w[j], _mm512_load_si512(x + 64 * j));
			i1 = _mm512_dpbusd_epi32(i1, w[j + 4], _mm512_load_si512(x + 64 * j + 256));
		}
		return _mm512_add_epi32(i0, _mm512_srai_epi32(i1, 4));
	}
	/* two chains (the sum is exact, so the order is free) */
	for (int j = 0; j < nj; j += 2) {
		i0 = _mm512_dpbusd_epi32(i0, w[j], _mm512_load_si512(x + 64 * j));
		i1 = _mm512_dpbusd_epi32(i1, w[j + 1], _mm512_load_si512(x + 64 * j + 64));
	}
	return _mm512_add_epi32(i0, i1);
}

/* One row of Q4_K times one token: group_row_tile's float operations, q4_K_isum1's sums. */
INLINE float q4_K_row1(const char *W, int cols, const char *xq)
{
	const int ng = group_n(SL_Q4_K, cols);
	__m512 acc = _mm512_setzero_ps();
	for (int g = 0; g < ng; g++) {
		sl_block_q4_K two[2];
		__m512 dw, dm;
		const char *x = xq + (size_t)g * Q4K_X;
		group_ask_ahead(SL_Q4_K, 1, W, g);
		const sl_block_q4_K *b = q4_K_blocks(W, cols, g, two);
		const __m512i i = q4_K_isum1(b, x + Q4K_XN);
		q4_K_scales(b, &dw, &dm);
		acc = group_acc_add(SL_Q4_K, acc, i, dw, dm, x);
	}
	return hsum16(acc);
}

/* One row times T tokens, as the packed path's tiles do it (the same operations). */
INLINE void group_row_tile(const uint32_t type, const int T, const char *W, int cols,
			   const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ng = group_n(type, cols);
	__m512 acc[MAX_T];
	if (type == SL_Q4_K && T == 1) {
		*Y = q4_K_row1(W, cols, xq);
		return;
	}
	for (int t = 0; t < T; t++)
		acc[t] = _mm512_setzero_ps();
	for (int g = 0; g < ng; g++) {
		__m512i w[8];
		__m512 dw, dm = _mm512_setzero_ps();
		group_ask_ahead(type, T, W, g);
		group_w(type, W, cols, g, w, &dw, &dm, group_hi16(type, T));
		for (int t = 0; t < T; t++) {
			const char *x = xq + (size_t)t * xs + (size_t)g * group_xb(type);
			acc[t] = group_acc_add(type, acc[t], group_isum(type, group_hi16(type, T), w, x), dw, dm, x);
		}
	}
	for (int t = 0; t < T; t++)
		Y[(size_t)t * ldy] = hsum16(acc[t]);
}

/*
 * Two rows times one token: each row's operations exactly as group_row_tile's, the
 * activations loaded once for both.  Q4_0 only (the sums are Q4_0's, its high nibbles as
 * group_hi16 leaves them): in cache its one-token product is faster so, Q8_0's slower and
 * the K-quants' no faster (bench/NOTES.md).
 */
INLINE void group_pair_1(const uint32_t type, const char *W, size_t ws, int cols, const char *xq,
			 float *Y)
{
	const int ng = group_n(type, cols);
	const char *W1 = W + ws;
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	for (int g = 0; g < ng; g++) {
		__m512i w0[8], w1[8];
		__m512 dw0, dw1, dm0 = _mm512_setzero_ps(), dm1 = _mm512_setzero_ps();
		group_ask_ahead(type, 1, W, g);
		group_ask_ahead(type, 1, W1, g);
		group_w(type, W, cols, g, w0, &dw0, &dm0, 1);
		group_w(type, W1, cols, g, w1, &dw1, &dm1, 1);
		const char *x = xq + (size_t)g * group_xb(type);
		const __m512i off = group_off(type, x);
		/* the low nibbles' chains and the high ones' (16 times their value) */
		__m512i i00 = off, i01 = _mm512_setzero_si512(), i10 = off, i11 = _mm512_setzero_si512();
		for (int j = 0; j < 4; j++) {
			const __m512i x0 = _mm512_load_si512(x + 64 * j), x1 = _mm512_load_si512(x + 64 * j + 256);
			i00 = _mm512_dpbusd_epi32(i00, w0[j], x0);
			i01 = _mm512_dpbusd_epi32(i01, w0[j + 4], x1);
			i10 = _mm512_dpbusd_epi32(i10, w1[j], x0);
			i11 = _mm512_dpbusd_epi32(i11, w1[j + 4], x1);
		}
		acc0 = group_acc_add(type, acc0, _mm512_add_epi32(i00, _mm512_srai_epi32(i01, 4)), dw0, dm0, x);
		acc1 = group_acc_add(type, acc1, _mm512_add_epi32(i10, _mm512_srai_epi32(i11, 4)), dw1, dm1, x);
	}
	Y[0] = hsum16(acc0);
	Y[1] = hsum16(acc1);
}

#define GROUP_TILE_(name, type)                                                              \
	INLINE void name##_tile(const int R, const int T, const char *W, size_t ws, int cols, \
				const char *xq, size_t xs, float *Y, size_t ldy)             \
	{                                                                                    \
		for (int r = 0; r < R; r++)                                                  \
			group_row_tile(type, T, W + (size_t)r * ws, cols, xq, xs, Y + r, ldy); \
	}
#define GROUP_PAIR_(name, type)                                                              \
	static void name##_pair1(const char *W, size_t ws, int cols, const char *xq, size_t xs, \
				 float *Y, size_t ldy)                                          \
	{                                                                                    \
		(void)xs;                                                                    \
		(void)ldy;                                                                   \
		group_pair_1(type, W, ws, cols, xq, Y);                                      \
	}
GROUP_PAIR_(q4_0, SL_Q4_0)
GROUP_TILE_(q4_0, SL_Q4_0)
GROUP_TILE_(q8_0, SL_Q8_0)
GROUP_TILE_(q4_K, SL_Q4_K)
GROUP_TILE_(q6_K, SL_Q6_K)

/*
 * The packed prompt path: rows packed as group_w gives them (group_pb bytes a group),
 * multiplied by the tokens in tiles of PT_R rows × PT_T tokens.  The integer sums of all
 * R·T pairs are built one register of the group at a time, so that each weight register
 * loaded serves T tokens and each activation register R rows (6 loads per 8 vpdpbusd at
 * 2 × 4; a row at a time took a load per vpdpbusd, and loads, not multiply-adds, set the
 * pace; 2 × 4 measured 10-20% faster than 4 × 2, 3 × 3 or 2 × 3).  The float accumulators st[r][t] (16 floats each) are kept
 * between passes, so the float sums run exactly as in group_row_tile.
 */
#define PT_R 2
#define PT_T 4
typedef float group_acc[MAX_T][16];

/* Groups per pass over the rows: 8 tokens' activations for 2048 columns (20 KB) stay in L1. */
INLINE int group_kg(const uint32_t type) { return type == SL_Q6_K ? 8 : 4; }

INLINE void group_pack(const uint32_t type, const char *W, size_t ws, int rows, int cols, char *dst)
{
	const int ng = group_n(type, cols), nj = group_nj(type);
	for (int r = 0; r < rows; r++)
		for (int g = 0; g < ng; g++, dst += group_pb(type)) {
			__m512i w[8];
			__m512 dw, dm;
			group_w(type, W + (size_t)r * ws, cols, g, w, &dw, &dm, 0);
			for (int j = 0; j < nj; j++)
				_mm512_storeu_si512(dst + 64 * j, w[j]);
			_mm512_storeu_ps(dst + 64 * nj, dw);
			if (type == SL_Q4_K)
				_mm512_storeu_ps(dst + 64 * nj + 64, dm);
		}
}

INLINE void group_ptile(const uint32_t type, const int R, const int T, const char *p, size_t ps,
			int g0, int g1, const char *xq, size_t xs, group_acc *st, int t0, int first)
{
	const int nj = group_nj(type);
	__m512 acc[PT_R][PT_T];
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(st[r][t0 + t]);
	for (int g = g0; g < g1; g++) {
		const char *w = p + (size_t)g * group_pb(type), *x = xq + (size_t)g * group_xb(type);
		/* two chains a pair, 16 in all: a vpdpbusd takes 4 cycles, and 2 issue a cycle */
		__m512i i[PT_R][PT_T], i1[PT_R][PT_T];
		for (int t = 0; t < T; t++) {
			const __m512i off = group_off(type, x + (size_t)t * xs);
			for (int r = 0; r < R; r++) {
				i[r][t] = off;
				i1[r][t] = _mm512_setzero_si512();
			}
		}
		for (int j = 0; j < nj; j++) {
			__m512i wr[PT_R], xr[PT_T];
			/* in registers: GCC would fold each use into a load of its own */
			for (int r = 0; r < R; r++) {
				wr[r] = _mm512_loadu_si512(w + (size_t)r * ps + 64 * j);
				__asm__("" : "+v"(wr[r]));
			}
			for (int t = 0; t < T; t++) {
				xr[t] = _mm512_loadu_si512(x + (size_t)t * xs + 64 * j);
				__asm__("" : "+v"(xr[t]));
			}
			for (int r = 0; r < R; r++)
				for (int t = 0; t < T; t++) {
					if (j % 2)
						i1[r][t] = _mm512_dpbusd_epi32(i1[r][t], wr[r], xr[t]);
					else
						i[r][t] = _mm512_dpbusd_epi32(i[r][t], wr[r], xr[t]);
				}
		}
		for (int r = 0; r < R; r++) {
			const char *wp = w + (size_t)r * ps + 64 * nj;
			const __m512 dw = _mm512_loadu_ps((const float *)wp);
			const __m512 dm = type == SL_Q4_K ? _mm512_loadu_ps((const float *)(wp + 64)) : dw;
			for (int t = 0; t < T; t++)
				acc[r][t] = group_acc_add(type, acc[r][t], _mm512_add_epi32(i[r][t], i1[r][t]),
							  dw, dm, x + (size_t)t * xs);
		}
	}
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			_mm512_storeu_ps(st[r][t0 + t], acc[r][t]);
}

typedef void (*group_ptile_fn)(const char *, size_t, int, int, const char *, size_t, group_acc *, int, int);
#define PTILE_(name, type, R, T)                                                              \
	static void name##_ptile##R##T(const char *p, size_t ps, int g0, int g1, const char *xq, \
				       size_t xs, group_acc *st, int t0, int first)           \
	{                                                                                     \
		group_ptile(type, R, T, p, ps, g0, g1, xq, xs, st, t0, first);                \
	}
#define PTILES_(name, type)                                                                   \
	PTILE_(name, type, 1, 1) PTILE_(name, type, 1, 2) PTILE_(name, type, 1, 3)            \
	PTILE_(name, type, 1, 4) PTILE_(name, type, 2, 1) PTILE_(name, type, 2, 2)            \
	PTILE_(name, type, 2, 3) PTILE_(name, type, 2, 4)                                     \
	static const group_ptile_fn name##_ptiles[PT_R + 1][PT_T + 1] = {{0},                 \
		{0, name##_ptile11, name##_ptile12, name##_ptile13, name##_ptile14},          \
		{0, name##_ptile21, name##_ptile22, name##_ptile23, name##_ptile24}};

/*
 * The sums of 16 vectors' lanes, each added up as hsum16 does (the same pairs in the same
 * order), in one vector: the sum of v[4e + l] in lane 4l + e.
 */
INLINE __m512 hsum16x16(const __m512 v[16])
{
	__m512 s[8], q[4], h[2];
	for (int k = 0; k < 8; k++) /* lanes i + i+8 */
		s[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE),
				     _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44));
	for (int k = 0; k < 4; k++) /* i + i+4 */
		q[k] = _mm512_add_ps(_mm512_shuffle_f32x4(s[2 * k], s[2 * k + 1], 0xDD),
				     _mm512_shuffle_f32x4(s[2 * k], s[2 * k + 1], 0x88));
	for (int k = 0; k < 2; k++) /* i + i+2 */
		h[k] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * k], q[2 * k + 1], 0xEE),
				     _mm512_shuffle_ps(q[2 * k], q[2 * k + 1], 0x44));
	/* i + i+1 */
	return _mm512_add_ps(_mm512_shuffle_ps(h[0], h[1], 0xDD), _mm512_shuffle_ps(h[0], h[1], 0x88));
}

INLINE void group_gemm(const uint32_t type, const group_ptile_fn ptile[PT_R + 1][PT_T + 1],
		       const char *P, int rows, int cols, const char *xq, size_t xs, int n,
		       float *Y, size_t ldy)
{
	const __m512i unorder = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
	const int ng = group_n(type, cols), kg = group_kg(type);
	const size_t ps = (size_t)ng * group_pb(type);
	_Alignas(64) group_acc st[SL_PACK_ROWS];

	/* 8 tokens' activations and PT_R rows' weights for kg groups stay in L1 */
	for (int t0 = 0; t0 < n; t0 += MAX_T) {
		const int nt = n - t0 < MAX_T ? n - t0 : MAX_T;
		for (int g0 = 0; g0 < ng; g0 += kg) {
			const int g1 = ng - g0 < kg ? ng : g0 + kg;
			for (int r = 0; r < rows; r += PT_R) {
				const int R = rows - r < PT_R ? rows - r : PT_R;
				for (int t = 0; t < nt; t += PT_T)
					ptile[R][nt - t < PT_T ? nt - t : PT_T](P + (size_t)r * ps, ps, g0, g1,
						xq + (size_t)(t0 + t) * xs, xs, st + r, t, g0 == 0);
			}
		}
		for (int t = 0; t < nt; t++) {
			float *y = Y + (size_t)(t0 + t) * ldy;
			int r = 0;
			for (; r + 16 <= rows; r += 16) {
				__m512 v[16];
				for (int k = 0; k < 16; k++)
					v[k] = _mm512_loadu_ps(st[r + k][t]);
				_mm512_storeu_ps(y + r, _mm512_permutexvar_ps(unorder, hsum16x16(v)));
			}
			for (; r < rows; r++)
				y[r] = hsum16(_mm512_loadu_ps(st[r][t]));
		}
	}
}

/* the sl_ktiles entries of each packed type */
#define GROUP_PACKED_(name, type)                                                             \
	PTILES_(name, type)                                                                   \
	static size_t name##_packed_size(int cols)                                            \
	{                                                                                     \
		return (size_t)group_n(type, cols) * group_pb(type);                          \
	}                                                                                     \
	static void name##_pack(const char *W, size_t ws, int rows, int cols, char *dst)      \
	{                                                                                     \
		group_pack(type, W, ws, rows, cols, dst);                                     \
	}                                                                                     \
	static void name##_gemm(const char *P, int rows, int cols, const char *xq, size_t xs, \
				int n, float *Y, size_t ldy)                                 \
	{                                                                                     \
		group_gemm(type, name##_ptiles, P, rows, cols, xq, xs, n, Y, ldy);            \
	}
GROUP_PACKED_(q4_0, SL_Q4_0)
GROUP_PACKED_(q8_0, SL_Q8_0)
GROUP_PACKED_(q4_K, SL_Q4_K)
GROUP_PACKED_(q6_K, SL_Q6_K)

/* ==== Q3_K, Q2_K × Q8_K ==== */

/* vpermw indices: int16 lane i takes scale k + i/8 */
#define QUAD_IDX(k) _mm512_set_epi16(k + 3, k + 3, k + 3, k + 3, k + 3, k + 3, k + 3, k + 3, \
				     k + 2, k + 2, k + 2, k + 2, k + 2, k + 2, k + 2, k + 2, \
				     k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, \
				     k, k, k, k, k, k, k, k)


/*
 * Both keep their 2-bit fields in qs[32h + l], bits 2j..2j+1 for value 128h + 32j + l.  A
 * register holds 64 values, 128h + 64m .. +63 (j = 2m, 2m+1): the half's 32 qs bytes in
 * both 256-bit lanes, shifted by 4m and 4m + 2 and masked, then the activations in order
 * and the scales as Q6_K's (QUAD_IDX).  Q3_K's third bit is bit 4h + j of hmask[l]: one
 * byte test per register against 1 << (4h + 2m) (low lane) and 1 << (4h + 2m + 1) (high
 * lane) adds 4 where it is set, so u = 0..7 is vpmaddubsw's unsigned operand and the −4 is
 * −4·Σ_g s_g·Σx_g.
 */
INLINE __m512i q2_fields(__m256i q, int shift)
{
	const __m512i sh = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
	__m512i v = _mm512_srlv_epi64(_mm512_broadcast_i64x4(q), _mm512_add_epi64(sh, _mm512_set1_epi64(shift)));
	return _mm512_and_si512(v, _mm512_set1_epi8(3));
}

/* bytes 1 << b in the low 256-bit lane, 1 << (b + 1) in the high one */
#define HBIT(b) _mm512_inserti64x4(_mm512_set1_epi8(1 << (b)), _mm256_set1_epi8(1 << ((b) + 1)), 1)

INLINE void q3_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const __m512i k0 = QUAD_IDX(0), k1 = QUAD_IDX(4), k2 = QUAD_IDX(8), k3 = QUAD_IDX(12);
	const __m512i hbit[4] = {HBIT(0), HBIT(2), HBIT(4), HBIT(6)}, four = _mm512_set1_epi8(4);
	ACC_ZERO
	for (int s = 0; s < ns; s++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q3_K *blk = (const sl_block_q3_K *)(W + (size_t)r * ws) + s;
			uint32_t u4[4];
			sl_q3_K_scales4(blk->scales, u4);
			__m256i sc16 = _mm256_cvtepi8_epi16(_mm_sub_epi8(
				_mm_setr_epi32((int)u4[0], (int)u4[1], (int)u4[2], (int)u4[3]), _mm_set1_epi8(32)));
			__m512i sc = _mm512_castsi256_si512(sc16);
			__m512i S[4] = {_mm512_permutexvar_epi16(k0, sc), _mm512_permutexvar_epi16(k1, sc),
					_mm512_permutexvar_epi16(k2, sc), _mm512_permutexvar_epi16(k3, sc)};
			__m256i sc4 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 2));
			__m512i hm = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)blk->hmask));
			__m512i u[4];
			for (int h = 0; h < 2; h++) {
				__m256i q = _mm256_loadu_si256((const __m256i *)(blk->qs + 32 * h));
				for (int m = 0; m < 2; m++) {
					__m512i lo = q2_fields(q, 4 * m);
					__mmask64 hi = _mm512_test_epi8_mask(hm, hbit[2 * h + m]);
					u[2 * h + m] = _mm512_mask_add_epi8(lo, hi, lo, four);
				}
			}
			float d = _cvtsh_ss(blk->d);
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs + (size_t)s * QK_REC;
				__m512i si = _mm512_zextsi256_si512(
					_mm256_madd_epi16(sc4, _mm256_load_si256((const __m256i *)(x + 256))));
				for (int k = 0; k < 4; k++)
					si = _mm512_dpwssd_epi32(si, _mm512_maddubs_epi16(u[k], _mm512_load_si512(x + 64 * k)),
								 S[k]);
				float dx = *(const float *)(x + 288);
				acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(si), _mm512_set1_ps(d * dx), acc[r][t]);
			}
		}
	}
	ACC_STORE
}

INLINE void q2_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const __m512i k0 = QUAD_IDX(0), k1 = QUAD_IDX(4), k2 = QUAD_IDX(8), k3 = QUAD_IDX(12);
	const __m128i m4 = _mm_set1_epi8(15);
	ACC_ZERO
	for (int s = 0; s < ns; s++) {
		for (int r = 0; r < R; r++) {
			const sl_block_q2_K *blk = (const sl_block_q2_K *)(W + (size_t)r * ws) + s;
			__m128i raw = _mm_loadu_si128((const __m128i *)blk->scales);
			__m512i sc = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(raw, m4)));
			__m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
			__m512i S[4] = {_mm512_permutexvar_epi16(k0, sc), _mm512_permutexvar_epi16(k1, sc),
					_mm512_permutexvar_epi16(k2, sc), _mm512_permutexvar_epi16(k3, sc)};
			__m512i q[4];
			for (int h = 0; h < 2; h++) {
				__m256i v = _mm256_loadu_si256((const __m256i *)(blk->qs + 32 * h));
				q[2 * h] = q2_fields(v, 0);
				q[2 * h + 1] = q2_fields(v, 4);
			}
			float d = _cvtsh_ss(blk->d), dmin = _cvtsh_ss(blk->dmin);
			for (int t = 0; t < T; t++) {
				const char *x = xq + (size_t)t * xs + (size_t)s * QK_REC;
				__m512i si = _mm512_setzero_si512();
				for (int k = 0; k < 4; k++)
					si = _mm512_dpwssd_epi32(si, _mm512_maddubs_epi16(q[k], _mm512_load_si512(x + 64 * k)),
								 S[k]);
				__m256i pm = _mm256_madd_epi16(mins, _mm256_load_si256((const __m256i *)(x + 256)));
				float dx = *(const float *)(x + 288);
				acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(si), _mm512_set1_ps(d * dx), acc[r][t]);
				acc[r][t] = _mm512_fnmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(pm)),
							     _mm512_set1_ps(dmin * dx), acc[r][t]);
			}
		}
	}
	ACC_STORE
}

/* ==== F32 / F16 / BF16 × F32 ==== */

INLINE __m512 load16(uint32_t type, const char *w, int k)
{
	if (type == SL_F32)
		return _mm512_loadu_ps((const float *)w + k);
	__m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + k));
	if (type == SL_F16)
		return _mm512_cvtph_ps(h);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* the first n (< 16) values from k, zeros after */
INLINE __m512 load16_tail(uint32_t type, const char *w, int k, __mmask16 m)
{
	if (type == SL_F32)
		return _mm512_maskz_loadu_ps(m, (const float *)w + k);
	__m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + k);
	if (type == SL_F16)
		return _mm512_cvtph_ps(h);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/*
 * Groups of 64 columns go into the accumulator as one sum, acc += (w0·x0 + w1·x1) +
 * (w2·x2 + w3·x3), so that one token and row (generation) is not a chain of dependent
 * FMAs; then 16-column groups one FMA each; then the last 0-15 columns, masked.
 */
INLINE void fl_tile(const int R, const int T, const uint32_t type, const char *W, size_t ws,
		    int cols, const char *X, size_t xs, float *Y, size_t ldy)
{
	const int c16 = cols & ~15, c64 = cols & ~63;
	int k = 0;
	ACC_ZERO
	for (; k < c64; k += 64) {
		for (int r = 0; r < R; r++) {
			const char *w = W + (size_t)r * ws;
			__m512 w0 = load16(type, w, k), w1 = load16(type, w, k + 16);
			__m512 w2 = load16(type, w, k + 32), w3 = load16(type, w, k + 48);
			for (int t = 0; t < T; t++) {
				const float *x = (const float *)(X + (size_t)t * xs) + k;
				__m512 s01 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + 16), _mm512_mul_ps(w0, _mm512_loadu_ps(x)));
				__m512 s23 = _mm512_fmadd_ps(w3, _mm512_loadu_ps(x + 48), _mm512_mul_ps(w2, _mm512_loadu_ps(x + 32)));
				acc[r][t] = _mm512_add_ps(acc[r][t], _mm512_add_ps(s01, s23));
			}
		}
	}
	for (; k < c16; k += 16) {
		for (int r = 0; r < R; r++) {
			__m512 w = load16(type, W + (size_t)r * ws, k);
			for (int t = 0; t < T; t++)
				acc[r][t] = _mm512_fmadd_ps(w, _mm512_loadu_ps((const float *)(X + (size_t)t * xs) + k), acc[r][t]);
		}
	}
	if (k < cols) {
		__mmask16 m = (__mmask16)((1u << (cols - k)) - 1);
		for (int r = 0; r < R; r++) {
			__m512 w = load16_tail(type, W + (size_t)r * ws, k, m);
			for (int t = 0; t < T; t++)
				acc[r][t] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, (const float *)(X + (size_t)t * xs) + k),
							    acc[r][t]);
		}
	}
	ACC_STORE
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

/* ==== half-precision rows: exact one way, round to nearest even the other ==== */

static void avx512_f16_to_f32(const sl_f16 *src, float *dst, size_t n)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
	}
}

static void avx512_f32_to_f16(const float *src, sl_f16 *dst, size_t n)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(dst + i),
				    _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm256_mask_storeu_epi16(dst + i, m,
					 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT));
	}
}

/* ==== SiLU ==== */

/*
 * e^x as Cephes' expf does it (x = n·ln 2 + r, |r| <= ln 2 / 2, a degree-6 polynomial for
 * e^r, ln 2 in two parts), 16 at a time; scalef gives inf and 0 past the float range.
 */
INLINE __m512 exp16(__m512 x)
{
	/* past ±104 e^x is 0 or inf in float; the reduction would lose r (a NaN becomes 104,
	 * and the caller's own NaN carries through) */
	x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.f)), _mm512_set1_ps(104.f));
	const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
					      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
	__m512 p = _mm512_set1_ps(1.9875691500e-4f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
	p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
	return _mm512_scalef_ps(p, n);
}

static void avx512_silu_mul(float *g, const float *u, size_t n)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		const __m512 v = _mm512_loadu_ps(g + i);
		const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), v));
		_mm512_storeu_ps(g + i, _mm512_mul_ps(_mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.f), e)),
						      _mm512_loadu_ps(u + i)));
	}
	if (i < n) {
		const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		const __m512 v = _mm512_maskz_loadu_ps(m, g + i);
		const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), v));
		_mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(_mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.f), e)),
							      _mm512_maskz_loadu_ps(m, u + i)));
	}
}

/*
 * The attention weights of one query: the scaled scores' maximum, e^(s − max) and their
 * sum in 16 float lanes (hsum16 at the end), then the products by 1/sum.
 */
static void avx512_softmax(float *row, int n, float scale)
{
	const __m512 sc = _mm512_set1_ps(scale);
	__m512 mx = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps();
	int i = 0;
	for (; i + 16 <= n; i += 16) {
		const __m512 s = _mm512_mul_ps(_mm512_loadu_ps(row + i), sc);
		_mm512_storeu_ps(row + i, s);
		mx = _mm512_max_ps(mx, s);
	}
	const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
	if (i < n) {
		const __m512 s = _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + i), sc);
		_mm512_mask_storeu_ps(row + i, tail, s);
		mx = _mm512_mask_max_ps(mx, tail, mx, s);
	}
	const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
	for (i = 0; i + 16 <= n; i += 16) {
		const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + i), m));
		_mm512_storeu_ps(row + i, e);
		sum = _mm512_add_ps(sum, e);
	}
	if (i < n) {
		const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + i), m));
		_mm512_mask_storeu_ps(row + i, tail, e);
		sum = _mm512_mask_add_ps(sum, tail, sum, e);
	}
	const __m512 inv = _mm512_set1_ps(1.0f / hsum16(sum));
	for (i = 0; i + 16 <= n; i += 16)
		_mm512_storeu_ps(row + i, _mm512_mul_ps(_mm512_loadu_ps(row + i), inv));
	if (i < n)
		_mm512_mask_storeu_ps(row + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + i), inv));
}

/* ==== micro-kernels ==== */

/*
 * Prompt tiles (rows, tokens), the best of a bench/kpeak sweep (bench/NOTES.md);
 * -D overrides for tuning.  R × T accumulators plus R rows' unpacked weights must fit the
 * 32 vector registers.
 */
#ifndef Q4_0_TILE
#define Q4_0_TILE 1, 8
#endif
#ifndef Q8_0_TILE
#define Q8_0_TILE 1, 8
#endif
#ifndef Q4_K_TILE
#define Q4_K_TILE 1, 8
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
#ifndef FL_TILE
#define FL_TILE 2, 8
#endif
#define TILE_FNS_(...) SL_TILE_FNS(__VA_ARGS__)
#define TILES_(...) SL_TILES(__VA_ARGS__)
#define TILES_PACKED_(...) SL_TILES_PACKED(__VA_ARGS__)
#define TILES_PACKED_PAIR_(...) SL_TILES_PACKED_PAIR(__VA_ARGS__)
TILE_FNS_(q4_0, q4_0_tile, Q4_0_TILE)
TILE_FNS_(q8_0, q8_0_tile, Q8_0_TILE)
TILE_FNS_(q4_K, q4_K_tile, Q4_K_TILE)
TILE_FNS_(q6_K, q6_K_tile, Q6_K_TILE)
TILE_FNS_(q3_K, q3_K_tile, Q3_K_TILE)
TILE_FNS_(q2_K, q2_K_tile, Q2_K_TILE)
TILE_FNS_(f32, f32_tile, FL_TILE)
TILE_FNS_(f16, f16_tile, FL_TILE)
TILE_FNS_(bf16, bf16_tile, FL_TILE)

/* the first nr of 16 columns by a masked load (no read past them), zeros in the rest */
#define NR_MASK_(nr) ((__mmask16)((1u << (nr)) - 1))
#define LOADP_F32_(v, p, nr)                                                                   \
	do {                                                                                   \
		const __m512 f_ = _mm512_maskz_loadu_ps(NR_MASK_(nr), (p));                    \
		__builtin_memcpy((v), &f_, sizeof f_);                                         \
	} while (0)
SL_GEMM_NN_B(avx512_gemm_nn, 64, float, SL_LOAD_F32_, LOADP_F32_)
#define LOAD_F16_(v, p)                                                                        \
	do {                                                                                   \
		const __m512 f_ = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)));  \
		__builtin_memcpy((v), &f_, sizeof f_);                                         \
	} while (0)
#define LOADP_F16_(v, p, nr)                                                                   \
	do {                                                                                   \
		const __m512 f_ = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(NR_MASK_(nr), (p)));\
		__builtin_memcpy((v), &f_, sizeof f_);                                         \
	} while (0)
SL_GEMM_NN_B(avx512_gemm_f16_nn, 64, sl_f16, LOAD_F16_, LOADP_F16_)

const sl_kset sl_kset_avx512 = {
	.name = "avx512",
	.asks_ahead = 1,
	.xq_size = avx512_xq_size,
	.xq = avx512_xq,
	.tiles = {
		[SL_KT_F32] = TILES_(f32, FL_TILE),
		[SL_KT_F16] = TILES_(f16, FL_TILE),
		[SL_KT_BF16] = TILES_(bf16, FL_TILE),
		[SL_KT_Q4_0] = TILES_PACKED_PAIR_(q4_0, Q4_0_TILE),
		[SL_KT_Q8_0] = TILES_PACKED_(q8_0, Q8_0_TILE),
		[SL_KT_Q4_K] = TILES_PACKED_(q4_K, Q4_K_TILE),
		[SL_KT_Q6_K] = TILES_PACKED_(q6_K, Q6_K_TILE),
		[SL_KT_Q3_K] = TILES_(q3_K, Q3_K_TILE),
		[SL_KT_Q2_K] = TILES_(q2_K, Q2_K_TILE),
	},
	.f16_to_f32 = avx512_f16_to_f32,
	.f32_to_f16 = avx512_f32_to_f16,
	.silu_mul = avx512_silu_mul,
	.softmax = avx512_softmax,
	.gemm_nn = avx512_gemm_nn,
	.gemm_f16_nn = avx512_gemm_f16_nn,
};

#endif /* __x86_64__ */
