/*
 * sl_quant — reference quantizers (sl_quant.h).
 *
 * Block layouts are in sl_types.h and ../shared/FORMATS.md.  Rounding matters for bit-identity
 * with llama.cpp: Q8_0 rounds x/d half away from zero (roundf), Q4_0 truncates x/d + 8.5, and
 * the K-quants use ggml's nearest_int (round half to even through the 1.5·2^23 trick).
 */
#include <math.h>
#include <string.h>

#include "sl_err.h"
#include "sl_quant.h"

#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Round to nearest, ties to even: adding 1.5·2^23 leaves the integer in the low mantissa bits. */
static inline int nearest_int(float fval)
{
	float val = fval + 12582912.f;
	int i;

	memcpy(&i, &val, sizeof i);
	return (i & 0x007fffff) - 0x00400000;
}

/* ==== Q8_0, Q4_0 ==== */

void sl_quant_row_q8_0(const float *x, sl_block_q8_0 *y, uint64_t n)
{
	for (uint64_t b = 0; b < n / SL_QK8_0; b++, x += SL_QK8_0) {
		float amax = 0.0f;

		for (int j = 0; j < SL_QK8_0; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		/* d maps the largest magnitude to ±127; the f32 d (not its f16 rounding) divides. */
		const float d = amax / 127.0f;
		const float id = d ? 1.0f / d : 0.0f;
		y[b].d = sl_f32_to_f16(d);
		for (int j = 0; j < SL_QK8_0; j++)
			y[b].qs[j] = (int8_t)roundf(x[j] * id);
	}
}

void sl_quant_row_q4_0(const float *x, sl_block_q4_0 *y, uint64_t n)
{
	for (uint64_t b = 0; b < n / SL_QK4_0; b++, x += SL_QK4_0) {
		float amax = 0.0f, max = 0.0f;

		/* The signed extreme maps to -8, the one level the asymmetric range [-8, 7] has spare. */
		for (int j = 0; j < SL_QK4_0; j++) {
			if (amax < fabsf(x[j])) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		const float d = max / -8.0f;
		const float id = d ? 1.0f / d : 0.0f;
		y[b].d = sl_f32_to_f16(d);
		for (int j = 0; j < SL_QK4_0 / 2; j++) {
			const uint8_t q0 = (uint8_t)imin(15, (int8_t)(x[j] * id + 8.5f));
			const uint8_t q1 = (uint8_t)imin(15, (int8_t)(x[j + SL_QK4_0 / 2] * id + 8.5f));
			y[b].qs[j] = q0 | (uint8_t)(q1 << 4);
		}
	}
}

/* ==== K-quant helpers (ggml's make_qkx2_quants / make_qx_quants) ==== */

/*
 * Fit x ≈ scale·L − the_min with L in 0..nmax, minimizing Σ w·(error)² (Σ w·|error| with
 * use_mad, which Q2_K uses).  Start from the plain
 * min/max mapping, then try nstep+1 stretched grids (iscale = (nmax + rmin + rdelta·is) /
 * (max − min)); for each grid, solve the weighted least-squares problem for scale and min in
 * closed form and keep the best.  Returns scale; *the_min is the (positive) offset.
 */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
			      float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep, int use_mad)
{
	float min = x[0], max = x[0];
	float sum_w = weights[0], sum_x = sum_w * x[0];

	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += weights[i];
		sum_x += weights[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.f;
	}
	float iscale = nmax / (max - min);
	float scale = 1 / iscale;
	float best = 0;
	for (int i = 0; i < n; i++) {
		int l = nearest_int(iscale * (x[i] - min));
		L[i] = (uint8_t)imax(0, imin(nmax, l));
		float diff = scale * L[i] + min - x[i];
		/* w·(diff²), not (w·diff)·diff: ggml's rounding, so ties break as llama.cpp's do */
		diff = use_mad ? fabsf(diff) : diff * diff;
		best += weights[i] * diff;
	}
	for (int is = 0; is <= nstep; is++) {
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		iscale = (rmin + rdelta * is + nmax) / (max - min);
		for (int i = 0; i < n; i++) {
			int l = imax(0, imin(nmax, nearest_int(iscale * (x[i] - min))));
			float w = weights[i];
			Laux[i] = (uint8_t)l;
			sum_l += w * l;
			sum_l2 += w * l * l;
			sum_xl += w * l * x[i];
		}
		float D = sum_w * sum_l2 - sum_l * sum_l;
		if (D > 0) {
			float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
			float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
			if (this_min > 0) {
				/* the offset can only move values down: refit the scale alone */
				this_min = 0;
				this_scale = sum_xl / sum_l2;
			}
			float err = 0;
			for (int i = 0; i < n; i++) {
				float diff = this_scale * Laux[i] + this_min - x[i];
				diff = use_mad ? fabsf(diff) : diff * diff;
				err += weights[i] * diff;
			}
			if (err < best) {
				memcpy(L, Laux, (size_t)n);
				best = err;
				scale = this_scale;
				min = this_min;
			}
		}
	}
	*the_min = -min;
	return scale;
}

/*
 * Symmetric fit x ≈ scale·(L − nmax) with L − nmax in [−nmax, nmax−1], weights x² (errors on
 * large values cost most).  The signed extreme sets the first grid; 18 nearby grids are tried
 * and the least-squares scale of the best is returned.
 */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
	float max = 0, amax = 0;

	for (int i = 0; i < n; i++) {
		float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
		float w = x[i] * x[i];
		L[i] = (int8_t)(l + nmax);
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	float scale = suml2 ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		sumlx = suml2 = 0;
		for (int i = 0; i < n; i++) {
			int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
			float w = x[i] * x[i];
			sumlx += w * x[i] * l;
			suml2 += w * l * l;
		}
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (int i = 0; i < n; i++) {
				int l = nearest_int(iscale * x[i]);
				L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
			}
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/*
 * Symmetric fit x ≈ scale·l with l in [−nmax, nmax−1], weights x² (ggml's make_q3_quants with
 * do_rmse, the only form its reference quantizer uses).  Start from the grid that puts the
 * signed extreme at −nmax, then up to 5 passes of coordinate descent: for each value, the
 * level that the least-squares scale of the others asks for is kept if it raises
 * (Σ w·x·l)² / Σ w·l², i.e. lowers the weighted error.  L gets l + nmax.
 */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L)
{
	float max = 0, amax = 0;

	for (int i = 0; i < n; i++) {
		float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
		float w = x[i] * x[i];
		L[i] = (int8_t)l;
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (int itry = 0; itry < 5; itry++) {
		int n_changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * L[i];
			if (slx > 0) {
				float sl2 = suml2 - w * L[i] * L[i];
				int new_l = imax(-nmax, imin(nmax - 1, nearest_int(x[i] * sl2 / slx)));
				if (new_l != L[i]) {
					slx += w * x[i] * new_l;
					sl2 += w * new_l * new_l;
					if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
						L[i] = (int8_t)new_l;
						sumlx = slx;
						suml2 = sl2;
						n_changed++;
					}
				}
			}
		}
		if (!n_changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/*
 * Q3_K and Q2_K pack 2-bit fields alike: value 128h + 32j + l (l < 32) in bits 2j..2j+1 of
 * qs[32h + l].
 */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < SL_QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
						  (L[j + l + 96] << 6));
}

/* ==== Q3_K ==== */

void sl_quant_row_q3_K(const float *x, sl_block_q3_K *y, uint64_t n)
{
	int8_t L[SL_QK_K];
	float scales[SL_QK_K / 16];

	for (uint64_t i = 0; i < n / SL_QK_K; i++, x += SL_QK_K) {
		float max_scale = 0, amax = 0;

		/* 1. A signed scale per sub-block of 16 (levels −4..3). */
		for (int j = 0; j < SL_QK_K / 16; j++) {
			scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}

		/* 2. Scales to 6 bits (stored + 32) against d; the signed extreme maps to −32. */
		memset(y[i].scales, 0, sizeof y[i].scales);
		if (max_scale) {
			float iscale = -32.f / max_scale;
			for (int j = 0; j < SL_QK_K / 16; j++) {
				int8_t l = (int8_t)nearest_int(iscale * scales[j]);
				l = (int8_t)(imax(-32, imin(31, l)) + 32);
				if (j < 8)
					y[i].scales[j] = l & 0xF;
				else
					y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
				y[i].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
			}
			y[i].d = sl_f32_to_f16(1 / iscale);
		} else {
			y[i].d = sl_f32_to_f16(0.f);
		}

		/* 3. Requantize with the stored scales; a sub-block whose scale is 0 keeps step 1's levels. */
		int8_t sc[16];
		sl_q3_K_scales(y[i].scales, sc);
		for (int j = 0; j < SL_QK_K / 16; j++) {
			float d = sl_f16_to_f32(y[i].d) * sc[j];
			if (!d)
				continue;
			for (int ii = 0; ii < 16; ii++) {
				int l = imax(-4, imin(3, nearest_int(x[16 * j + ii] / d)));
				L[16 * j + ii] = (int8_t)(l + 4);
			}
		}

		/* 4. The high bit of value v to bit v/32 of hmask[v%32], the low two to qs. */
		memset(y[i].hmask, 0, sizeof y[i].hmask);
		for (int j = 0; j < SL_QK_K; j++) {
			if (L[j] > 3) {
				y[i].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
				L[j] -= 4;
			}
		}
		pack_2bit((const uint8_t *)L, y[i].qs);
	}
}

/* ==== Q2_K ==== */

void sl_quant_row_q2_K(const float *x, sl_block_q2_K *y, uint64_t n)
{
	uint8_t L[SL_QK_K], Laux[16];
	float weights[16], mins[SL_QK_K / 16], scales[SL_QK_K / 16];
	const float q4scale = 15.f;

	for (uint64_t i = 0; i < n / SL_QK_K; i++, x += SL_QK_K) {
		float max_scale = 0, max_min = 0;

		/* 1. Scale and min per sub-block of 16 (levels 0..3), minimizing Σ |x|·|error|. */
		for (int j = 0; j < SL_QK_K / 16; j++) {
			for (int l = 0; l < 16; l++)
				weights[l] = fabsf(x[16 * j + l]);
			scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
						     -0.5f, 0.1f, 15, 1);
			if (scales[j] > max_scale)
				max_scale = scales[j];
			if (mins[j] > max_min)
				max_min = mins[j];
		}

		/* 2. Scales (low nibble) and mins (high nibble) to 4 bits against d and dmin. */
		if (max_scale > 0) {
			float iscale = q4scale / max_scale;
			for (int j = 0; j < SL_QK_K / 16; j++)
				y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
			y[i].d = sl_f32_to_f16(max_scale / q4scale);
		} else {
			memset(y[i].scales, 0, sizeof y[i].scales);
			y[i].d = sl_f32_to_f16(0.f);
		}
		if (max_min > 0) {
			float iscale = q4scale / max_min;
			for (int j = 0; j < SL_QK_K / 16; j++)
				y[i].scales[j] |= (uint8_t)(nearest_int(iscale * mins[j]) << 4);
			y[i].dmin = sl_f32_to_f16(max_min / q4scale);
		} else {
			y[i].dmin = sl_f32_to_f16(0.f);
		}

		/* 3. Requantize with the stored scales and mins. */
		for (int j = 0; j < SL_QK_K / 16; j++) {
			const float d = sl_f16_to_f32(y[i].d) * (y[i].scales[j] & 0xF);
			if (!d)
				continue;
			const float dm = sl_f16_to_f32(y[i].dmin) * (y[i].scales[j] >> 4);
			for (int ii = 0; ii < 16; ii++) {
				int l = nearest_int((x[16 * j + ii] + dm) / d);
				L[16 * j + ii] = (uint8_t)imax(0, imin(3, l));
			}
		}
		pack_2bit(L, y[i].qs);
	}
}

/* ==== Q4_K ==== */

void sl_quant_row_q4_K(const float *x, sl_block_q4_K *y, uint64_t n)
{
	uint8_t L[SL_QK_K], Laux[32];
	float weights[32], mins[SL_QK_K / 32], scales[SL_QK_K / 32];

	for (uint64_t i = 0; i < n / SL_QK_K; i++, x += SL_QK_K) {
		float max_scale = 0, max_min = 0;

		/* 1. Best (scale, min) per sub-block of 32, weighting each value by rms + |x|. */
		for (int j = 0; j < SL_QK_K / 32; j++) {
			float sum_x2 = 0;
			for (int l = 0; l < 32; l++)
				sum_x2 += x[32 * j + l] * x[32 * j + l];
			float av_x = sqrtf(sum_x2 / 32);
			for (int l = 0; l < 32; l++)
				weights[l] = av_x + fabsf(x[32 * j + l]);
			scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
						     -1.f, 0.1f, 20, 0);
			if (scales[j] > max_scale)
				max_scale = scales[j];
			if (mins[j] > max_min)
				max_min = mins[j];
		}

		/* 2. Sub-block scales and mins to 6 bits against the f16 d and dmin. */
		float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
		float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
		memset(y[i].scales, 0, sizeof y[i].scales);
		for (int j = 0; j < SL_QK_K / 32; j++) {
			uint8_t ls = (uint8_t)imin(63, nearest_int(inv_scale * scales[j]));
			uint8_t lm = (uint8_t)imin(63, nearest_int(inv_min * mins[j]));
			if (j < 4) {
				y[i].scales[j] = ls;
				y[i].scales[j + 4] = lm;
			} else {
				y[i].scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
				y[i].scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
				y[i].scales[j] |= (uint8_t)((lm >> 4) << 6);
			}
		}
		y[i].d = sl_f32_to_f16(max_scale / 63.f);
		y[i].dmin = sl_f32_to_f16(max_min / 63.f);

		/* 3. Requantize the values with the scales as stored (rounded), not as computed. */
		uint8_t sm[16];
		sl_q4_K_scales(y[i].scales, sm);
		for (int j = 0; j < SL_QK_K / 32; j++) {
			uint8_t sc = sm[j], m = sm[8 + j];
			const float d = sl_f16_to_f32(y[i].d) * sc;
			if (!d)
				continue;
			const float dm = sl_f16_to_f32(y[i].dmin) * m;
			for (int ii = 0; ii < 32; ii++) {
				int l = nearest_int((x[32 * j + ii] + dm) / d);
				L[32 * j + ii] = (uint8_t)imax(0, imin(15, l));
			}
		}

		/* 4. Pack: group g of 32 bytes holds sub-block 2g in low nibbles, 2g+1 in high. */
		uint8_t *q = y[i].qs;
		for (int j = 0; j < SL_QK_K; j += 64, q += 32)
			for (int l = 0; l < 32; l++)
				q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
	}
}

/* ==== Q6_K ==== */

void sl_quant_row_q6_K(const float *x, sl_block_q6_K *y, uint64_t n)
{
	int8_t L[SL_QK_K];
	float scales[SL_QK_K / 16];

	for (uint64_t i = 0; i < n / SL_QK_K; i++, x += SL_QK_K) {
		float max_scale = 0, max_abs_scale = 0;

		/* 1. A signed scale per sub-block of 16 (values −32..31). */
		for (int ib = 0; ib < SL_QK_K / 16; ib++) {
			const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
			scales[ib] = scale;
			if (fabsf(scale) > max_abs_scale) {
				max_abs_scale = fabsf(scale);
				max_scale = scale;
			}
		}
		if (max_abs_scale < GROUP_MAX_EPS) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}

		/* 2. Scales to int8 against d; the signed extreme maps to −128. */
		float iscale = -128.f / max_scale;
		y[i].d = sl_f32_to_f16(1 / iscale);
		for (int ib = 0; ib < SL_QK_K / 16; ib++)
			y[i].scales[ib] = (int8_t)imin(127, nearest_int(iscale * scales[ib]));

		/* 3. Requantize with the stored scales. */
		for (int j = 0; j < SL_QK_K / 16; j++) {
			float d = sl_f16_to_f32(y[i].d) * y[i].scales[j];
			if (!d)
				continue;
			for (int ii = 0; ii < 16; ii++) {
				int l = imax(-32, imin(31, nearest_int(x[16 * j + ii] / d)));
				L[16 * j + ii] = (int8_t)(l + 32);
			}
		}

		/* 4. Pack low nibbles into ql and the top two bits into qh (layout in sl_types.h). */
		uint8_t *ql = y[i].ql, *qh = y[i].qh;
		for (int j = 0; j < SL_QK_K; j += 128, ql += 64, qh += 32) {
			for (int l = 0; l < 32; l++) {
				const uint8_t q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
				const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
				ql[l] = (uint8_t)(q1 | (q3 << 4));
				ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
				qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
						  ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
			}
		}
	}
}

/* ==== plain types ==== */

void sl_quant_row_f16(const float *x, sl_f16 *y, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		y[i] = sl_f32_to_f16(x[i]);
}

void sl_quant_row_bf16(const float *x, sl_bf16 *y, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		y[i] = sl_f32_to_bf16(x[i]);
}

int sl_quant_supported(uint32_t type)
{
	switch (type) {
	case SL_F32: case SL_F16: case SL_BF16: case SL_Q8_0: case SL_Q4_0: case SL_Q4_K: case SL_Q6_K:
	case SL_Q3_K: case SL_Q2_K:
		return 1;
	default:
		return 0;
	}
}

size_t sl_quant_row(uint32_t type, const float *x, void *dst, uint64_t n)
{
	size_t bytes;

	if (!sl_quant_supported(type)) {
		const sl_type_info *ti = sl_type_get(type);
		sl_seterr("cannot write tensors of type %s", ti ? ti->name : "unknown");
		return 0;
	}
	bytes = sl_type_row_bytes(type, n);
	if (!bytes)
		return 0;
	switch (type) {
	case SL_F32: memcpy(dst, x, n * sizeof *x); break;
	case SL_F16: sl_quant_row_f16(x, dst, n); break;
	case SL_BF16: sl_quant_row_bf16(x, dst, n); break;
	case SL_Q8_0: sl_quant_row_q8_0(x, dst, n); break;
	case SL_Q4_0: sl_quant_row_q4_0(x, dst, n); break;
	case SL_Q4_K: sl_quant_row_q4_K(x, dst, n); break;
	case SL_Q6_K: sl_quant_row_q6_K(x, dst, n); break;
	case SL_Q3_K: sl_quant_row_q3_K(x, dst, n); break;
	case SL_Q2_K: sl_quant_row_q2_K(x, dst, n); break;
	}
	return bytes;
}

/* ==== error statistics ==== */

void sl_qstats_add(sl_qstats *s, const float *ref, const float *got, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		double e = (double)got[i] - (double)ref[i];
		s->sum_sq_err += e * e;
		s->sum_sq_ref += (double)ref[i] * ref[i];
		if (fabs(e) > s->max_abs_err)
			s->max_abs_err = fabs(e);
	}
	s->n += n;
}

double sl_qstats_rmse(const sl_qstats *s)
{
	return s->n ? sqrt(s->sum_sq_err / (double)s->n) : 0.0;
}

double sl_qstats_rel(const sl_qstats *s)
{
	return s->sum_sq_ref > 0 ? sqrt(s->sum_sq_err / s->sum_sq_ref) : 0.0;
}
