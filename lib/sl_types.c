/*
 * sl_types — type table, half-precision conversion and reference dequantization (sl_types.h).
 *
 * sl_dequant_row() is the readable specification of every block layout sl reads; the fast
 * paths in sl_kernels*.c are tested against it.
 */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "sl_err.h"
#include "sl_types.h"

static const sl_type_info types[SL_TYPE_COUNT] = {
	[SL_F32] = {"f32", 1, 4, 1},
	[SL_F16] = {"f16", 1, 2, 1},
	[SL_Q4_0] = {"q4_0", 32, 18, 1},
	[SL_Q4_1] = {"q4_1", 32, 20, 0},
	[SL_Q5_0] = {"q5_0", 32, 22, 0},
	[SL_Q5_1] = {"q5_1", 32, 24, 0},
	[SL_Q8_0] = {"q8_0", 32, 34, 1},
	[SL_Q8_1] = {"q8_1", 32, 36, 0},
	[SL_Q2_K] = {"q2_k", 256, 84, 1},
	[SL_Q3_K] = {"q3_k", 256, 110, 1},
	[SL_Q4_K] = {"q4_k", 256, 144, 1},
	[SL_Q5_K] = {"q5_k", 256, 176, 0},
	[SL_Q6_K] = {"q6_k", 256, 210, 1},
	[SL_Q8_K] = {"q8_k", 256, 292, 0},
	[SL_I8] = {"i8", 1, 1, 0},
	[SL_I16] = {"i16", 1, 2, 0},
	[SL_I32] = {"i32", 1, 4, 0},
	[SL_I64] = {"i64", 1, 8, 0},
	[SL_F64] = {"f64", 1, 8, 0},
	[SL_BF16] = {"bf16", 1, 2, 1},
};

const sl_type_info *sl_type_get(uint32_t type)
{
	if (type >= SL_TYPE_COUNT || !types[type].name)
		return NULL;
	return &types[type];
}

int sl_type_from_name(const char *name)
{
	for (int t = 0; t < SL_TYPE_COUNT; t++) {
		if (types[t].name && strcasecmp(types[t].name, name) == 0)
			return t;
	}
	return -1;
}

size_t sl_type_row_bytes(uint32_t type, uint64_t n)
{
	const sl_type_info *ti = sl_type_get(type);

	if (!ti) {
		sl_seterr("unknown tensor type %u", type);
		return 0;
	}
	if (n % ti->blck) {
		sl_seterr("row of %llu values is not a multiple of the %s block size %u",
			  (unsigned long long)n, ti->name, ti->blck);
		return 0;
	}
	return (size_t)(n / ti->blck * ti->bytes);
}

uint64_t sl_type_nbytes(uint32_t type, const uint64_t *ne, uint32_t n_dims)
{
	const uint64_t limit = (uint64_t)1 << 62;
	uint64_t rows = 1, row;

	if (n_dims == 0)
		return sl_type_row_bytes(type, 1);
	row = sl_type_row_bytes(type, ne[0]);
	if (row == 0 && ne[0] != 0)
		return 0;
	for (uint32_t d = 1; d < n_dims; d++) {
		if (ne[d] != 0 && rows > limit / ne[d]) {
			sl_seterr("tensor size overflows");
			return 0;
		}
		rows *= ne[d];
	}
	if (rows != 0 && row > limit / rows) {
		sl_seterr("tensor size overflows");
		return 0;
	}
	return row * rows;
}

/* ==== half precision ==== */

float sl_f16_to_f32(sl_f16 h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
	float f;

	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (man << 13); /* inf / NaN */
	} else if (exp == 0) {
		/* zero or subnormal: man * 2^-24 exactly */
		f = ldexpf((float)man, -24);
		return sign ? -f : f;
	} else {
		bits = sign | ((exp + 112) << 23) | (man << 13);
	}
	memcpy(&f, &bits, 4);
	return f;
}

sl_f16 sl_f32_to_f16(float f)
{
	uint32_t x, sign, man;
	int exp;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	exp = (int)((x >> 23) & 0xff);
	man = x & 0x7fffff;
	if (exp == 0xff)
		return (sl_f16)(sign | 0x7c00 | (man ? 0x200 : 0));
	exp -= 127 - 15;
	if (exp >= 0x1f)
		return (sl_f16)(sign | 0x7c00); /* overflow to inf */
	if (exp <= 0) {
		/* subnormal or zero: shift the implicit-1 mantissa, round to nearest even */
		if (exp < -10)
			return (sl_f16)sign;
		man |= 0x800000;
		uint32_t shift = (uint32_t)(14 - exp);
		uint32_t half = 1u << (shift - 1), rest = man & ((1u << shift) - 1);
		uint32_t h = man >> shift;
		if (rest > half || (rest == half && (h & 1)))
			h++;
		return (sl_f16)(sign | h);
	}
	uint32_t h = ((uint32_t)exp << 10) | (man >> 13), rest = man & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++; /* may carry into the exponent, which is still correct (up to inf) */
	return (sl_f16)(sign | h);
}

float sl_bf16_to_f32(sl_bf16 h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;

	memcpy(&f, &bits, 4);
	return f;
}

sl_bf16 sl_f32_to_bf16(float f)
{
	uint32_t x;

	memcpy(&x, &f, 4);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (sl_bf16)((x >> 16) | 0x40); /* quiet NaN */
	x += 0x7fff + ((x >> 16) & 1);          /* round to nearest even */
	return (sl_bf16)(x >> 16);
}

/* ==== reference dequantization ==== */

static void dequant_q8_0(const sl_block_q8_0 *b, float *y, uint64_t nb)
{
	for (uint64_t i = 0; i < nb; i++) {
		float d = sl_f16_to_f32(b[i].d);
		for (int j = 0; j < SL_QK8_0; j++)
			y[i * SL_QK8_0 + j] = d * b[i].qs[j];
	}
}

static void dequant_q4_0(const sl_block_q4_0 *b, float *y, uint64_t nb)
{
	for (uint64_t i = 0; i < nb; i++) {
		float d = sl_f16_to_f32(b[i].d);
		for (int j = 0; j < SL_QK4_0 / 2; j++) {
			y[i * SL_QK4_0 + j] = d * ((b[i].qs[j] & 15) - 8);
			y[i * SL_QK4_0 + j + 16] = d * ((b[i].qs[j] >> 4) - 8);
		}
	}
}

static void dequant_q4_K(const sl_block_q4_K *b, float *y, uint64_t nb)
{
	for (uint64_t i = 0; i < nb; i++, y += SL_QK_K) {
		float d = sl_f16_to_f32(b[i].d), dmin = sl_f16_to_f32(b[i].dmin);
		uint8_t sm[16];
		sl_q4_K_scales(b[i].scales, sm);
		/* 4 groups of 64 values: low nibbles are sub-block 2g, high nibbles 2g+1 */
		for (int g = 0; g < 4; g++) {
			const uint8_t *q = b[i].qs + 32 * g;
			int s0 = sm[2 * g], m0 = sm[8 + 2 * g], s1 = sm[2 * g + 1], m1 = sm[8 + 2 * g + 1];
			for (int l = 0; l < 32; l++) {
				y[64 * g + l] = d * s0 * (q[l] & 15) - dmin * m0;
				y[64 * g + 32 + l] = d * s1 * (q[l] >> 4) - dmin * m1;
			}
		}
	}
}

static void dequant_q6_K(const sl_block_q6_K *b, float *y, uint64_t nb)
{
	for (uint64_t i = 0; i < nb; i++) {
		float d = sl_f16_to_f32(b[i].d);
		for (int h = 0; h < 2; h++, y += 128) {
			const uint8_t *ql = b[i].ql + 64 * h, *qh = b[i].qh + 32 * h;
			const int8_t *sc = b[i].scales + 8 * h;
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				y[l] = d * sc[is] * q1;
				y[l + 32] = d * sc[is + 2] * q2;
				y[l + 64] = d * sc[is + 4] * q3;
				y[l + 96] = d * sc[is + 6] * q4;
			}
		}
	}
}

/*
 * Q3_K and Q2_K share the order of the 2-bit fields: value v = 128h + 32j + l (l < 32) is bits
 * 2j..2j+1 of qs[32h + l]; Q3_K's third bit is bit 4h + j of hmask[l].
 */
static void dequant_q3_K(const sl_block_q3_K *b, float *y, uint64_t nb)
{
	for (uint64_t i = 0; i < nb; i++, y += SL_QK_K) {
		float d = sl_f16_to_f32(b[i].d);
		int8_t sc[16];
		sl_q3_K_scales(b[i].scales, sc);
		for (int v = 0; v < SL_QK_K; v++) {
			int h = v / 128, j = v % 128 / 32, l = v % 32;
			int q = (b[i].qs[32 * h + l] >> (2 * j)) & 3;
			if (!((b[i].hmask[l] >> (4 * h + j)) & 1))
				q -= 4;
			y[v] = d * sc[v / 16] * q;
		}
	}
}

static void dequant_q2_K(const sl_block_q2_K *b, float *y, uint64_t nb)
{
	for (uint64_t i = 0; i < nb; i++, y += SL_QK_K) {
		float d = sl_f16_to_f32(b[i].d), dmin = sl_f16_to_f32(b[i].dmin);
		for (int v = 0; v < SL_QK_K; v++) {
			int h = v / 128, j = v % 128 / 32, l = v % 32;
			int q = (b[i].qs[32 * h + l] >> (2 * j)) & 3;
			uint8_t sc = b[i].scales[v / 16];
			y[v] = d * (sc & 15) * q - dmin * (sc >> 4);
		}
	}
}

int sl_dequant_row(uint32_t type, const void *src, float *dst, uint64_t n)
{
	const sl_type_info *ti = sl_type_get(type);

	if (!ti || !ti->supported)
		return sl_seterr("cannot read tensors of type %s", ti ? ti->name : "unknown");
	if (n % ti->blck)
		return sl_seterr("row of %llu values is not a multiple of the %s block size %u",
				 (unsigned long long)n, ti->name, ti->blck);
	switch (type) {
	case SL_F32:
		memcpy(dst, src, n * sizeof(float));
		break;
	case SL_F16:
		for (uint64_t i = 0; i < n; i++)
			dst[i] = sl_f16_to_f32(((const sl_f16 *)src)[i]);
		break;
	case SL_BF16:
		for (uint64_t i = 0; i < n; i++)
			dst[i] = sl_bf16_to_f32(((const sl_bf16 *)src)[i]);
		break;
	case SL_Q8_0:
		dequant_q8_0(src, dst, n / SL_QK8_0);
		break;
	case SL_Q4_0:
		dequant_q4_0(src, dst, n / SL_QK4_0);
		break;
	case SL_Q4_K:
		dequant_q4_K(src, dst, n / SL_QK_K);
		break;
	case SL_Q6_K:
		dequant_q6_K(src, dst, n / SL_QK_K);
		break;
	case SL_Q3_K:
		dequant_q3_K(src, dst, n / SL_QK_K);
		break;
	case SL_Q2_K:
		dequant_q2_K(src, dst, n / SL_QK_K);
		break;
	default:
		return sl_seterr("cannot read tensors of type %s", ti->name);
	}
	return 0;
}
