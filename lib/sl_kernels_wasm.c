/*
 * sl_kernels_wasm — the WebAssembly SIMD128 kernel set ("wasm-simd128"), for the browser
 * builds (emcc -msimd128; baseline SIMD128 only, no relaxed SIMD, so Chromium runs it
 * without flags).  Each function computes what its _ref counterpart in sl_kernels.c
 * computes, up to the order of float additions; test_kernels.c checks that.  Native builds
 * compile this file to nothing.
 *
 * SIMD128 has no u8×s8 dot product and no FMA; its fast integer product is
 * i32x4.dot_i16x8_s (8 int16 products summed in pairs, pmaddwd on x86).  So the
 * activations are quantized to int8 values as the reference does but stored as int16, in
 * the order in which the weights unpack, and the weights are widened to int16 once per
 * tile row (shared by the tile's tokens).
 *
 * Activation layouts (per token, 64-byte aligned, private to this file):
 *   Q4_0, Q8_0: blocks in groups of 4 (the last group padded with zero blocks), each group
 *     128 int16 interleaved so that int32 lane m of every dot product belongs to block m
 *     (xq_q8_0 gives the order); then for Q4_0 int32 −8·Σx per block (its −8 offset); then
 *     float d per block.
 *   Q2_K..Q6_K (Q8_K): int16 q[cols], int16 sums of each 16 values, of each 32, float d
 *     per 256.
 * Float weights read X as floats.
 *
 * Sums: Q4_0/Q8_0 weights are transposed 4 blocks at a time to match, so one int32 vector
 * per token collects the 4 blocks' integer sums, which are turned to float, scaled by the
 * 4 blocks' dw·dx and added to the row×token accumulator (4 lanes, summed at the end).
 * K-quants: one int32 vector per token and 256-block, the sub-block scales applied to the
 * widened weights.  The sequence is the same for every tile shape, so results do not
 * depend on the tiling (nor on the threads).
 *
 * Everything has a SIMD version here; the reference set is used by nothing of this file.
 * Speed notes (clang hoisting loads, V8 spilling): bench/NOTES.md.
 */
#if defined(__wasm_simd128__) && !defined(SL_NO_SIMD)

#include <string.h>
#include <wasm_simd128.h>

#include "sl_kernels_impl.h"
#include "sl_types.h"

#define INLINE static inline __attribute__((always_inline))
/* the loops over a tile's rows, tokens and a block's parts must unroll completely: the
 * accumulators then stay in locals and lane indices are constants */
#define UNROLL _Pragma("clang loop unroll(full)")
#define MAX_R 4
#define MAX_T 8

/* ==== helpers ==== */

#define I32(c) wasm_i32x4_splat(c)
#define I16(c) wasm_i16x8_splat(c)
#define I8(c) wasm_i8x16_splat(c)
#define DOT(a, b) wasm_i32x4_dot_i16x8(a, b)

INLINE float hsum_f(v128_t v)
{
	v128_t s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
	return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1);
}

INLINE int hsum_i(v128_t v)
{
	v128_t s = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
	return wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1);
}

/*
 * Halves (in the low 16 bits of 4 int32 lanes) to floats, exactly as sl_f16_to_f32: the
 * exponent and mantissa moved into place and rebased by a multiplication by 2^112 (which
 * also makes subnormals right); exponent 31 becomes 255 (inf, NaN).
 */
INLINE v128_t h2f(v128_t h)
{
	v128_t em = wasm_i32x4_shl(wasm_v128_and(h, I32(0x7fff)), 13);
	v128_t f = wasm_f32x4_mul(em, wasm_f32x4_splat(0x1p112f));
	v128_t inf = wasm_i32x4_eq(wasm_v128_and(h, I32(0x7c00)), I32(0x7c00));
	f = wasm_v128_or(f, wasm_v128_and(inf, I32(0x7f800000)));
	return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, I32(0x8000)), 16));
}

/*
 * Floats to halves (in the low 16 bits of int32 lanes), rounding to nearest even as
 * sl_f32_to_f16: overflow to inf, NaN to a quiet NaN; results below the smallest normal
 * half rounded by adding 0.5f (whose ulp is the half subnormal step); normal ones by adding
 * 0xfff plus the lowest kept bit before dropping 13 bits.
 */
INLINE v128_t f2h(v128_t f)
{
	v128_t sign = wasm_v128_and(f, I32((int)0x80000000u));
	v128_t x = wasm_v128_xor(f, sign);
	v128_t big = wasm_i32x4_ge(x, I32(143 << 23));           /* >= 65536: inf or NaN */
	v128_t nan = wasm_i32x4_gt(x, I32(0x7f800000));
	v128_t o_big = wasm_v128_bitselect(I32(0x7e00), I32(0x7c00), nan);
	v128_t small = wasm_i32x4_lt(x, I32(113 << 23));         /* < 2^-14: subnormal */
	v128_t half = I32(126 << 23);
	v128_t o_small = wasm_i32x4_sub(wasm_f32x4_add(x, half), half);
	v128_t odd = wasm_v128_and(wasm_u32x4_shr(x, 13), I32(1));
	v128_t o_norm = wasm_u32x4_shr(wasm_i32x4_add(wasm_i32x4_add(x, I32(-(112 << 23) + 0xfff)), odd), 13);
	v128_t o = wasm_v128_bitselect(o_small, o_norm, small);
	o = wasm_v128_bitselect(o_big, o, big);
	return wasm_v128_or(o, wasm_u32x4_shr(sign, 16));
}

INLINE v128_t h2f_4(sl_f16 a, sl_f16 b, sl_f16 c, sl_f16 d)
{
	return h2f(wasm_i32x4_make(a, b, c, d));
}

/* one half, inline (sl_f16_to_f32 is a call, and a call makes V8 spill every vector) */
INLINE float h2f_1(sl_f16 h)
{
	return wasm_f32x4_extract_lane(h2f(wasm_i32x4_splat(h)), 0);
}

/* ==== activation quantization ==== */

/* max |x| over n floats (n a multiple of 4); pmax ignores NaN as fmaxf does */
INLINE float absmax(const float *x, int n)
{
	v128_t m0 = wasm_f32x4_splat(0), m1 = m0;
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		m0 = wasm_f32x4_pmax(m0, wasm_f32x4_abs(wasm_v128_load(x + i)));
		m1 = wasm_f32x4_pmax(m1, wasm_f32x4_abs(wasm_v128_load(x + i + 4)));
	}
	for (; i < n; i += 4)
		m0 = wasm_f32x4_pmax(m0, wasm_f32x4_abs(wasm_v128_load(x + i)));
	m0 = wasm_f32x4_pmax(m0, m1);
	m0 = wasm_f32x4_pmax(m0, wasm_i32x4_shuffle(m0, m0, 2, 3, 0, 1));
	m0 = wasm_f32x4_pmax(m0, wasm_i32x4_shuffle(m0, m0, 1, 0, 3, 2));
	return wasm_f32x4_extract_lane(m0, 0);
}

/*
 * 8 floats × id rounded to nearest even (as nearbyintf; |x·id| <= 127) as int16: adding
 * 1.5·2^23 rounds to an integer in the low mantissa bits.
 */
INLINE v128_t round8(const float *x, v128_t id)
{
	const v128_t magic = wasm_f32x4_splat(12582912.f);
	v128_t a = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x), id), magic);
	v128_t b = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + 4), id), magic);
	return wasm_i16x8_narrow_i32x4(wasm_i32x4_sub(a, magic), wasm_i32x4_sub(b, magic));
}

/* the scale of a block (as sl_quant_q8_ref) and its reciprocal, splat */
INLINE v128_t block_scale(const float *x, int n, float *d)
{
	float amax = absmax(x, n);
	float db = amax / 127.f, id = db != 0 ? 1.f / db : 0.f;
	*d = db;
	return wasm_f32x4_splat(id);
}

static size_t wasm_xq_size(uint32_t type, int cols)
{
	size_t ng = (size_t)(cols / 32 + 3) / 4, n;
	switch (type) {
	case SL_Q4_0:
		n = ng * (256 + 16 + 16);
		break;
	case SL_Q8_0:
		n = ng * (256 + 16);
		break;
	case SL_Q4_K: case SL_Q6_K: case SL_Q3_K: case SL_Q2_K:
		n = (size_t)cols * 2 + (size_t)cols / 16 * 2 + (size_t)cols / 32 * 2 + (size_t)cols / 256 * 4;
		break;
	case SL_F32: case SL_F16: case SL_BF16:
		return 0;
	default:
		return (size_t)-1;
	}
	return (n + 63) & ~(size_t)63;
}

/*
 * Q4_0 and Q8_0: a group of 4 blocks is 64 pairs of values, pair p of block m at int16
 * 8p + 2m (so that lane m of every dot product belongs to block m).  Q8_0 pair p is values
 * 2p, 2p+1 of its block.  Q4_0 pair p = 4k + v is what vector v (0-3: low nibbles of even
 * bytes, their high nibbles, low and high nibbles of odd bytes) of 32-bit word k unpacks
 * to: values 4k + (0, 2), (16, 18), (1, 3), (17, 19) for v = 0..3.
 */
static void xq_q8_0(const float *x, int cols, char *out, int q4)
{
	static const uint8_t q4_off[4][2] = {{0, 2}, {16, 18}, {1, 3}, {17, 19}};
	const int nb = cols / 32, ng = (nb + 3) / 4;
	int32_t *corr = (int32_t *)(out + (size_t)ng * 256);
	float *d = (float *)(out + (size_t)ng * (q4 ? 256 + 16 : 256));
	for (int g = 0; g < ng; g++) {
		int16_t q[4][32], *o = (int16_t *)out + 128 * (size_t)g;
		for (int m = 0; m < 4; m++) {
			int b = 4 * g + m;
			if (b >= nb) {
				memset(q[m], 0, sizeof q[m]);
				d[b] = 0;
				if (q4)
					corr[b] = 0;
				continue;
			}
			const float *xb = x + 32 * b;
			v128_t id = block_scale(xb, 32, &d[b]);
			v128_t v0 = round8(xb, id), v1 = round8(xb + 8, id);
			v128_t v2 = round8(xb + 16, id), v3 = round8(xb + 24, id);
			wasm_v128_store(q[m], v0);
			wasm_v128_store(q[m] + 8, v1);
			wasm_v128_store(q[m] + 16, v2);
			wasm_v128_store(q[m] + 24, v3);
			if (q4) {
				v128_t s = wasm_i16x8_add(wasm_i16x8_add(v0, v1), wasm_i16x8_add(v2, v3));
				corr[b] = -8 * hsum_i(DOT(s, I16(1)));
			}
		}
		for (int p = 0; p < 16; p++)
			for (int m = 0; m < 4; m++)
				for (int j = 0; j < 2; j++)
					o[8 * p + 2 * m + j] = q[m][q4 ? 4 * (p / 4) + q4_off[p % 4][j] : 2 * p + j];
	}
}

static void xq_q8_K(const float *x, int cols, char *out)
{
	const int ns = cols / 256;
	int16_t *q = (int16_t *)out, *bs16 = q + cols, *bs32 = bs16 + cols / 16;
	float *d = (float *)(bs32 + cols / 32);
	for (int s = 0; s < ns; s++, x += 256, q += 256) {
		v128_t id = block_scale(x, 256, &d[s]);
		for (int g = 0; g < 16; g++) {
			v128_t v0 = round8(x + 16 * g, id), v1 = round8(x + 16 * g + 8, id);
			wasm_v128_store(q + 16 * g, v0);
			wasm_v128_store(q + 16 * g + 8, v1);
			bs16[16 * s + g] = (int16_t)hsum_i(DOT(wasm_i16x8_add(v0, v1), I16(1)));
		}
		for (int g = 0; g < 8; g++)
			bs32[8 * s + g] = (int16_t)(bs16[16 * s + 2 * g] + bs16[16 * s + 2 * g + 1]);
	}
}

static void wasm_xq(uint32_t type, const float *x, int cols, void *out)
{
	switch (type) {
	case SL_Q4_0: xq_q8_0(x, cols, out, 1); break;
	case SL_Q8_0: xq_q8_0(x, cols, out, 0); break;
	default: xq_q8_K(x, cols, out); break;
	}
}

/* ==== tile skeleton ==== */

#define ACC_BEGIN                                                                          \
	v128_t acc[MAX_R][MAX_T];                                                          \
	UNROLL for (int r = 0; r < R; r++)                                                        \
		UNROLL for (int t = 0; t < T; t++)                                                \
			acc[r][t] = wasm_f32x4_splat(0);
#define ACC_END                                                                            \
	UNROLL for (int r = 0; r < R; r++)                                                        \
		UNROLL for (int t = 0; t < T; t++)                                                \
			Y[(size_t)t * ldy + r] = hsum_f(acc[r][t]);
#define XT(t) (xq + (size_t)(t) * xs)

/*
 * Q4_0 and Q8_0 tiles: the weights of 4 blocks are transposed (32-bit words for Q4_0,
 * 16-bit for Q8_0) so that lane m of each vector holds block m; then every dot product
 * adds into lane m of one int32 vector per token what belongs to block m: the group's 4
 * integer sums come out together, and a token costs only its loads, dot products and
 * additions.  The loop over the transposed vectors is kept rolled: clang puts an unrolled
 * group's loads all at its start, and 20 live vectors spill on x86's 16 registers under V8.
 */
#define NO_UNROLL _Pragma("clang loop unroll(disable)")

/*
 * One group g of 4 blocks for R rows and T tokens, into acc.  The full groups run in a loop
 * without calls; the last one, when cols/32 is not a multiple of 4 (tail = 1), reads its
 * blocks from a zeroed copy (zero weights, scales and activations: it adds 0).
 */
#define GROUP_BLOCKS(type)                                                                 \
	const type *blk = (const type *)(W + (size_t)r * ws) + 4 * g;                      \
	type pad[4];                                                                       \
	if (tail) {                                                                        \
		memset(pad, 0, sizeof pad);                                                \
		memcpy(pad, blk, (size_t)(nb - 4 * g) * sizeof *blk);                      \
		blk = pad;                                                                 \
	}

/* isum[t] += the 4 dot products of weight vectors qa..qd with token t's part k */
#define GROUP_DOTS(k)                                                                      \
	UNROLL for (int t = 0; t < T; t++) {                                               \
		const v128_t *x = (const v128_t *)(XT(t) + 256 * (size_t)g + 64 * (k));   \
		isum[t] = wasm_i32x4_add(isum[t], wasm_i32x4_add(                          \
			wasm_i32x4_add(DOT(qa, x[0]), DOT(qb, x[1])),                      \
			wasm_i32x4_add(DOT(qc, x[2]), DOT(qd, x[3]))));                    \
	}
/* Q4_0 part k: 4 int16 vectors from word k of the 4 blocks (u[k]) */
#define Q4_PART(k)                                                                         \
	do {                                                                               \
		v128_t v = u[k];                                                           \
		v128_t qa = wasm_v128_and(v, m4), qb = wasm_v128_and(wasm_u16x8_shr(v, 4), m4); \
		v128_t qc = wasm_v128_and(wasm_u16x8_shr(v, 8), m4), qd = wasm_u16x8_shr(v, 12); \
		GROUP_DOTS(k)                                                              \
	} while (0)
/* Q8_0 part k: words 4k..4k+3 of the 4 blocks (z[2k], z[2k+1]) widened */
#define Q8_PART(k)                                                                         \
	do {                                                                               \
		v128_t za = z[2 * (k)], zb = z[2 * (k) + 1];                                \
		v128_t qa = wasm_i16x8_extend_low_i8x16(za), qb = wasm_i16x8_extend_high_i8x16(za); \
		v128_t qc = wasm_i16x8_extend_low_i8x16(zb), qd = wasm_i16x8_extend_high_i8x16(zb); \
		GROUP_DOTS(k)                                                              \
	} while (0)
/*
 * The 4 parts: two per iteration for up to 2 tokens; one for more, whose loads (hoisted to
 * the top of each iteration by clang) would not fit the registers twice.
 */
#define GROUP_PARTS(PART)                                                                  \
	if (T <= 2) {                                                                      \
		NO_UNROLL for (int k = 0; k < 4; k += 2) {                                 \
			PART(k);                                                           \
			PART(k + 1);                                                       \
		}                                                                          \
	} else {                                                                           \
		NO_UNROLL for (int k = 0; k < 4; k++)                                      \
			PART(k);                                                           \
	}

/*
 * Q4_0: word k of each block (values 4k..4k+3 and 16+4k..) read as 8 int16 lanes gives
 * 4 vectors with one mask or shift each (lane pair m: block m's bytes 4k..4k+3).  The
 * nibbles stay 0..15; the −8 comes from the precomputed −8·Σx.
 */
INLINE void q4_0_group(const int R, const int T, const int tail, const char *W, size_t ws, int nb,
		       int g, const char *xq, size_t xs, v128_t acc[MAX_R][MAX_T])
{
	const int ng = (nb + 3) / 4;
	const size_t oc = (size_t)ng * 256, od = oc + (size_t)ng * 16;
	const v128_t m4 = I16(15);
	UNROLL for (int r = 0; r < R; r++) {
		GROUP_BLOCKS(sl_block_q4_0)
		v128_t dw = h2f_4(blk[0].d, blk[1].d, blk[2].d, blk[3].d);
		v128_t v0 = wasm_v128_load(blk[0].qs), v1 = wasm_v128_load(blk[1].qs);
		v128_t v2 = wasm_v128_load(blk[2].qs), v3 = wasm_v128_load(blk[3].qs);
		v128_t t0 = wasm_i32x4_shuffle(v0, v1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(v2, v3, 0, 4, 1, 5);
		v128_t t2 = wasm_i32x4_shuffle(v0, v1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(v2, v3, 2, 6, 3, 7);
		v128_t u[4] = {wasm_i64x2_shuffle(t0, t1, 0, 2), wasm_i64x2_shuffle(t0, t1, 1, 3),
			       wasm_i64x2_shuffle(t2, t3, 0, 2), wasm_i64x2_shuffle(t2, t3, 1, 3)};
		v128_t isum[MAX_T];
		UNROLL for (int t = 0; t < T; t++)
			isum[t] = wasm_i32x4_splat(0);
		GROUP_PARTS(Q4_PART)
		UNROLL for (int t = 0; t < T; t++) {
			const char *x = XT(t);
			v128_t i = wasm_i32x4_add(isum[t], wasm_v128_load(x + oc + 16 * (size_t)g));
			v128_t d = wasm_f32x4_mul(dw, wasm_v128_load(x + od + 16 * (size_t)g));
			acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(i), d));
		}
	}
}

INLINE void q4_0_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int nb = cols / 32, full = nb / 4;
	ACC_BEGIN
	for (int g = 0; g < full; g++)
		q4_0_group(R, T, 0, W, ws, nb, g, xq, xs, acc);
	if (nb % 4)
		q4_0_group(R, T, 1, W, ws, nb, full, xq, xs, acc);
	ACC_END
}

/* Q8_0: 16-bit words of 4 blocks interleaved, then widened to int16 (pairs stay together) */
INLINE void q8_0_group(const int R, const int T, const int tail, const char *W, size_t ws, int nb,
		       int g, const char *xq, size_t xs, v128_t acc[MAX_R][MAX_T])
{
	const size_t od = (size_t)(nb + 3) / 4 * 256;
	UNROLL for (int r = 0; r < R; r++) {
		GROUP_BLOCKS(sl_block_q8_0)
		v128_t dw = h2f_4(blk[0].d, blk[1].d, blk[2].d, blk[3].d);
		v128_t z[8];
		UNROLL for (int h = 0; h < 2; h++) {
			v128_t v0 = wasm_v128_load(blk[0].qs + 16 * h), v1 = wasm_v128_load(blk[1].qs + 16 * h);
			v128_t v2 = wasm_v128_load(blk[2].qs + 16 * h), v3 = wasm_v128_load(blk[3].qs + 16 * h);
			v128_t l01 = wasm_i16x8_shuffle(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11);
			v128_t h01 = wasm_i16x8_shuffle(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15);
			v128_t l23 = wasm_i16x8_shuffle(v2, v3, 0, 8, 1, 9, 2, 10, 3, 11);
			v128_t h23 = wasm_i16x8_shuffle(v2, v3, 4, 12, 5, 13, 6, 14, 7, 15);
			z[4 * h + 0] = wasm_i32x4_shuffle(l01, l23, 0, 4, 1, 5);
			z[4 * h + 1] = wasm_i32x4_shuffle(l01, l23, 2, 6, 3, 7);
			z[4 * h + 2] = wasm_i32x4_shuffle(h01, h23, 0, 4, 1, 5);
			z[4 * h + 3] = wasm_i32x4_shuffle(h01, h23, 2, 6, 3, 7);
		}
		v128_t isum[MAX_T];
		UNROLL for (int t = 0; t < T; t++)
			isum[t] = wasm_i32x4_splat(0);
		GROUP_PARTS(Q8_PART)
		UNROLL for (int t = 0; t < T; t++) {
			v128_t d = wasm_f32x4_mul(dw, wasm_v128_load(XT(t) + od + 16 * (size_t)g));
			acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum[t]), d));
		}
	}
}

INLINE void q8_0_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int nb = cols / 32, full = nb / 4;
	ACC_BEGIN
	for (int g = 0; g < full; g++)
		q8_0_group(R, T, 0, W, ws, nb, g, xq, xs, acc);
	if (nb % 4)
		q8_0_group(R, T, 1, W, ws, nb, full, xq, xs, acc);
	ACC_END
}

/* ==== K-quants × Q8_K ==== */

/*
 * Each 256-block's quants are unpacked 16 values at a time into int8 (in order), widened
 * to int16 and multiplied by their sub-block's scale (|q·s| < 2^15), so one int32 vector
 * per token holds Σ_j s_j·(q·x)_j for the block.  Offsets (Q6_K −32, Q3_K −4) are
 * subtracted in int8; mins (Q4_K, Q2_K) come from the precomputed sums of x.
 */
#define K_OFFS(cols) const size_t o16 = (size_t)(cols) * 2, o32 = o16 + (size_t)(cols) / 8, \
	od = o32 + (size_t)(cols) / 16
#define KX(t, s) ((const int16_t *)XT(t) + 256 * (size_t)(s))
#define KD(t, s) (((const float *)(XT(t) + od))[s])

/* isum[t] += (lo16(q)·s) · x[i..i+7] + (hi16(q)·s) · x[i+8..i+15] for the T tokens */
#define K_DOT16(q8, sc, i)                                                                  \
	do {                                                                               \
		v128_t l_ = wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(q8), sc);           \
		v128_t h_ = wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(q8), sc);          \
		UNROLL for (int t = 0; t < T; t++) {                                              \
			const int16_t *x_ = KX(t, s) + (i);                                \
			isum[t] = wasm_i32x4_add(isum[t], wasm_i32x4_add(DOT(l_, wasm_v128_load(x_)), \
					DOT(h_, wasm_v128_load(x_ + 8))));                 \
		}                                                                          \
	} while (0)


INLINE void q4_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const v128_t m4 = I8(15);
	K_OFFS(cols);
	ACC_BEGIN
	for (int s = 0; s < ns; s++) {
		UNROLL for (int r = 0; r < R; r++) {
			const sl_block_q4_K *blk = (const sl_block_q4_K *)(W + (size_t)r * ws) + s;
			uint32_t u[4];
			sl_q4_K_scales4(blk->scales, u);
			v128_t sm = wasm_i32x4_make((int)u[0], (int)u[1], (int)u[2], (int)u[3]);
			v128_t mins = wasm_u16x8_extend_high_u8x16(sm);
			v128_t isum[MAX_T];
			UNROLL for (int t = 0; t < T; t++)
				isum[t] = wasm_i32x4_splat(0);
			int16_t sc[8];
			wasm_v128_store(sc, wasm_u16x8_extend_low_u8x16(sm));
			NO_UNROLL for (int g = 0; g < 4; g++) { /* rolled: see GROUP_PARTS */
				v128_t s_lo = wasm_i16x8_splat(sc[2 * g]), s_hi = wasm_i16x8_splat(sc[2 * g + 1]);
				UNROLL for (int h = 0; h < 2; h++) {
					v128_t v = wasm_v128_load(blk->qs + 32 * g + 16 * h);
					v128_t lo = wasm_v128_and(v, m4), hi = wasm_v128_and(wasm_u16x8_shr(v, 4), m4);
					K_DOT16(lo, s_lo, 64 * g + 16 * h);
					K_DOT16(hi, s_hi, 64 * g + 32 + 16 * h);
				}
			}
			float d = h2f_1(blk->d), dmin = h2f_1(blk->dmin);
			UNROLL for (int t = 0; t < T; t++) {
				float dx = KD(t, s);
				v128_t pm = DOT(mins, wasm_v128_load(XT(t) + o32 + 16 * (size_t)s));
				v128_t a = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum[t]), wasm_f32x4_splat(d * dx));
				v128_t b = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(pm), wasm_f32x4_splat(dmin * dx));
				acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_sub(a, b));
			}
		}
	}
	ACC_END
}

/* Q6_K: the low 4 bits from ql, bits 4-5 from qh, each moved into place by 16-bit shifts */
INLINE void q6_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const v128_t m4 = I8(15), m30 = I8(0x30), k32 = I8(32);
	K_OFFS(cols);
	(void)o32;
	ACC_BEGIN
	for (int s = 0; s < ns; s++) {
		UNROLL for (int r = 0; r < R; r++) {
			const sl_block_q6_K *blk = (const sl_block_q6_K *)(W + (size_t)r * ws) + s;
			v128_t isum[MAX_T];
			UNROLL for (int t = 0; t < T; t++)
				isum[t] = wasm_i32x4_splat(0);
			NO_UNROLL for (int i = 0; i < 4; i++) { /* rolled: see GROUP_PARTS */
				const int h = i / 2, c = i % 2;
				const int8_t *sc = blk->scales + 8 * h; /* groups 8h .. 8h+7 */
				v128_t qa = wasm_v128_load(blk->ql + 64 * h + 16 * c);
				v128_t qb = wasm_v128_load(blk->ql + 64 * h + 32 + 16 * c);
				v128_t qh = wasm_v128_load(blk->qh + 32 * h + 16 * c);
				v128_t q0 = wasm_v128_or(wasm_v128_and(qa, m4), wasm_v128_and(wasm_i16x8_shl(qh, 4), m30));
				v128_t q1 = wasm_v128_or(wasm_v128_and(qb, m4), wasm_v128_and(wasm_i16x8_shl(qh, 2), m30));
				v128_t q2 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(qa, 4), m4), wasm_v128_and(qh, m30));
				v128_t q3 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(qb, 4), m4),
							 wasm_v128_and(wasm_u16x8_shr(qh, 2), m30));
				const int base = 128 * h + 16 * c;
				K_DOT16(wasm_i8x16_sub(q0, k32), wasm_i16x8_splat(sc[c]), base);
				K_DOT16(wasm_i8x16_sub(q1, k32), wasm_i16x8_splat(sc[2 + c]), base + 32);
				K_DOT16(wasm_i8x16_sub(q2, k32), wasm_i16x8_splat(sc[4 + c]), base + 64);
				K_DOT16(wasm_i8x16_sub(q3, k32), wasm_i16x8_splat(sc[6 + c]), base + 96);
			}
			float d = h2f_1(blk->d);
			UNROLL for (int t = 0; t < T; t++)
				acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum[t]),
										   wasm_f32x4_splat(d * KD(t, s))));
		}
	}
	ACC_END
}

/*
 * Q3_K and Q2_K: value 128h + 32j + l has its 2 low bits at bits 2j of qs[32h + l]; Q3_K's
 * third bit is bit 4h + j of hmask[l].  Sub-block (of 16) 8h + 2j + c for l in 16c..16c+15.
 */
INLINE v128_t hbit4(v128_t hm, int k) /* bit k of each byte, moved to bit 2 */
{
	v128_t v = k >= 2 ? wasm_u16x8_shr(hm, k - 2) : wasm_i16x8_shl(hm, 2 - k);
	return wasm_v128_and(v, I8(4));
}

INLINE void q3_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const v128_t m3 = I8(3), k4 = I8(4);
	K_OFFS(cols);
	(void)o32;
	ACC_BEGIN
	for (int s = 0; s < ns; s++) {
		UNROLL for (int r = 0; r < R; r++) {
			const sl_block_q3_K *blk = (const sl_block_q3_K *)(W + (size_t)r * ws) + s;
			uint32_t u[4];
			sl_q3_K_scales4(blk->scales, u);
			v128_t sc8 = wasm_i8x16_sub(wasm_i32x4_make((int)u[0], (int)u[1], (int)u[2], (int)u[3]), I8(32));
			v128_t isum[MAX_T];
			UNROLL for (int t = 0; t < T; t++)
				isum[t] = wasm_i32x4_splat(0);
			int8_t sc[16];
			wasm_v128_store(sc, sc8);
			NO_UNROLL for (int i = 0; i < 4; i++) { /* rolled: see GROUP_PARTS */
				const int c = i / 2, h = i % 2;
				v128_t hm = wasm_v128_load(blk->hmask + 16 * c);
				v128_t qv = wasm_v128_load(blk->qs + 32 * h + 16 * c);
				UNROLL for (int j = 0; j < 4; j++) {
					v128_t lo = wasm_v128_and(j ? wasm_u16x8_shr(qv, 2 * j) : qv, m3);
					v128_t q = wasm_i8x16_sub(wasm_v128_or(lo, hbit4(hm, 4 * h + j)), k4);
					K_DOT16(q, wasm_i16x8_splat(sc[8 * h + 2 * j + c]), 128 * h + 32 * j + 16 * c);
				}
			}
			float d = h2f_1(blk->d);
			UNROLL for (int t = 0; t < T; t++)
				acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum[t]),
										   wasm_f32x4_splat(d * KD(t, s))));
		}
	}
	ACC_END
}

INLINE void q2_K_tile(const int R, const int T, const char *W, size_t ws, int cols,
		      const char *xq, size_t xs, float *Y, size_t ldy)
{
	const int ns = cols / 256;
	const v128_t m3 = I8(3), m4 = I8(15);
	K_OFFS(cols);
	(void)o32;
	ACC_BEGIN
	for (int s = 0; s < ns; s++) {
		UNROLL for (int r = 0; r < R; r++) {
			const sl_block_q2_K *blk = (const sl_block_q2_K *)(W + (size_t)r * ws) + s;
			v128_t raw = wasm_v128_load(blk->scales);
			v128_t mb = wasm_v128_and(wasm_u16x8_shr(raw, 4), m4);
			v128_t ml = wasm_u16x8_extend_low_u8x16(mb), mh = wasm_u16x8_extend_high_u8x16(mb);
			v128_t isum[MAX_T];
			UNROLL for (int t = 0; t < T; t++)
				isum[t] = wasm_i32x4_splat(0);
			NO_UNROLL for (int i = 0; i < 4; i++) { /* rolled: see GROUP_PARTS */
				const int h = i / 2, c = i % 2;
				v128_t qv = wasm_v128_load(blk->qs + 32 * h + 16 * c);
				UNROLL for (int j = 0; j < 4; j++) {
					v128_t q = wasm_v128_and(j ? wasm_u16x8_shr(qv, 2 * j) : qv, m3);
					int sj = blk->scales[8 * h + 2 * j + c] & 15;
					K_DOT16(q, wasm_i16x8_splat((int16_t)sj), 128 * h + 32 * j + 16 * c);
				}
			}
			float d = h2f_1(blk->d), dmin = h2f_1(blk->dmin);
			UNROLL for (int t = 0; t < T; t++) {
				float dx = KD(t, s);
				const v128_t *b16 = (const v128_t *)(XT(t) + o16 + 32 * (size_t)s);
				v128_t pm = wasm_i32x4_add(DOT(ml, wasm_v128_load(b16)), DOT(mh, wasm_v128_load(b16 + 1)));
				v128_t a = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum[t]), wasm_f32x4_splat(d * dx));
				v128_t b = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(pm), wasm_f32x4_splat(dmin * dx));
				acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_sub(a, b));
			}
		}
	}
	ACC_END
}

/* ==== F32 / F16 / BF16 × F32 ==== */

INLINE v128_t load4(uint32_t type, const char *w, int k)
{
	if (type == SL_F32)
		return wasm_v128_load((const float *)w + k);
	v128_t h = wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero((const uint16_t *)w + k));
	if (type == SL_F16)
		return h2f(h);
	return wasm_i32x4_shl(h, 16);
}

INLINE float load1(uint32_t type, const char *w, int k)
{
	if (type == SL_F32)
		return ((const float *)w)[k];
	if (type == SL_F16)
		return h2f_1(((const uint16_t *)w)[k]);
	return sl_bf16_to_f32(((const uint16_t *)w)[k]);
}

/*
 * 16 columns at a time as one sum into the accumulator, acc += (w0·x0 + w1·x1) +
 * (w2·x2 + w3·x3) (no FMA in SIMD128: 4 independent products, then a short tree), then
 * 4 columns one product each, then the last 0-3 columns one by one.
 */
INLINE void fl_tile(const int R, const int T, const uint32_t type, const char *W, size_t ws,
		    int cols, const char *X, size_t xs, float *Y, size_t ldy)
{
	const int c4 = cols & ~3, c16 = cols & ~15;
	const char *xq = X;
	int k = 0;
	ACC_BEGIN
	for (; k < c16; k += 16) {
		UNROLL for (int r = 0; r < R; r++) {
			const char *w = W + (size_t)r * ws;
			v128_t w0 = load4(type, w, k), w1 = load4(type, w, k + 4);
			v128_t w2 = load4(type, w, k + 8), w3 = load4(type, w, k + 12);
			UNROLL for (int t = 0; t < T; t++) {
				const float *x = (const float *)XT(t) + k;
				v128_t s01 = wasm_f32x4_add(wasm_f32x4_mul(w0, wasm_v128_load(x)),
							    wasm_f32x4_mul(w1, wasm_v128_load(x + 4)));
				v128_t s23 = wasm_f32x4_add(wasm_f32x4_mul(w2, wasm_v128_load(x + 8)),
							    wasm_f32x4_mul(w3, wasm_v128_load(x + 12)));
				acc[r][t] = wasm_f32x4_add(acc[r][t], wasm_f32x4_add(s01, s23));
			}
		}
	}
	for (; k < c4; k += 4) {
		UNROLL for (int r = 0; r < R; r++) {
			v128_t w = load4(type, W + (size_t)r * ws, k);
			UNROLL for (int t = 0; t < T; t++)
				acc[r][t] = wasm_f32x4_add(acc[r][t],
							   wasm_f32x4_mul(w, wasm_v128_load((const float *)XT(t) + k)));
		}
	}
	UNROLL for (int r = 0; r < R; r++)
		UNROLL for (int t = 0; t < T; t++) {
			float s = hsum_f(acc[r][t]);
			const float *x = (const float *)XT(t);
			for (int c = c4; c < cols; c++)
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

/* ==== half-precision rows ==== */

static void wasm_f16_to_f32(const sl_f16 *src, float *dst, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		v128_t h = wasm_v128_load(src + i);
		wasm_v128_store(dst + i, h2f(wasm_u32x4_extend_low_u16x8(h)));
		wasm_v128_store(dst + i + 4, h2f(wasm_u32x4_extend_high_u16x8(h)));
	}
	for (; i < n; i++)
		dst[i] = sl_f16_to_f32(src[i]);
}

static void wasm_f32_to_f16(const float *src, sl_f16 *dst, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		v128_t a = f2h(wasm_v128_load(src + i)), b = f2h(wasm_v128_load(src + i + 4));
		/* the values are 0..0xffff: narrow as unsigned */
		wasm_v128_store(dst + i, wasm_u16x8_narrow_i32x4(a, b));
	}
	for (; i < n; i++)
		dst[i] = sl_f32_to_f16(src[i]);
}

/* ==== micro-kernels ==== */

/* Prompt tiles (rows, tokens); -D overrides for tuning (bench/wasm-kernels.sh). */
#ifndef Q4_0_TILE
#define Q4_0_TILE 1, 4
#endif
#ifndef Q8_0_TILE
#define Q8_0_TILE 1, 4
#endif
#ifndef QK_TILE
#define QK_TILE 1, 4
#endif
#ifndef FL_TILE
#define FL_TILE 2, 4
#endif
#define TILE_FNS_(...) SL_TILE_FNS(__VA_ARGS__)
#define TILES_(...) SL_TILES(__VA_ARGS__)
TILE_FNS_(q4_0, q4_0_tile, Q4_0_TILE)
TILE_FNS_(q8_0, q8_0_tile, Q8_0_TILE)
TILE_FNS_(q4_K, q4_K_tile, QK_TILE)
TILE_FNS_(q6_K, q6_K_tile, QK_TILE)
TILE_FNS_(q3_K, q3_K_tile, QK_TILE)
TILE_FNS_(q2_K, q2_K_tile, QK_TILE)
TILE_FNS_(f32, f32_tile, FL_TILE)
TILE_FNS_(f16, f16_tile, FL_TILE)
TILE_FNS_(bf16, bf16_tile, FL_TILE)

SL_GEMM_NN(wasm_gemm_nn, 16)

const sl_kset sl_kset_wasm = {
	.name = "wasm-simd128",
	.xq_size = wasm_xq_size,
	.xq = wasm_xq,
	.tiles = {
		[SL_KT_F32] = TILES_(f32, FL_TILE),
		[SL_KT_F16] = TILES_(f16, FL_TILE),
		[SL_KT_BF16] = TILES_(bf16, FL_TILE),
		[SL_KT_Q4_0] = TILES_(q4_0, Q4_0_TILE),
		[SL_KT_Q8_0] = TILES_(q8_0, Q8_0_TILE),
		[SL_KT_Q4_K] = TILES_(q4_K, QK_TILE),
		[SL_KT_Q6_K] = TILES_(q6_K, QK_TILE),
		[SL_KT_Q3_K] = TILES_(q3_K, QK_TILE),
		[SL_KT_Q2_K] = TILES_(q2_K, QK_TILE),
	},
	.f16_to_f32 = wasm_f16_to_f32,
	.f32_to_f16 = wasm_f32_to_f16,
	.gemm_nn = wasm_gemm_nn,
};

#endif /* __wasm_simd128__ */
