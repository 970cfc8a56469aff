/*
 * test_types — half-precision conversions and the reference dequantizers (lib/sl_types.c).
 *
 * Golden values: IEEE binary16 encodings from the standard (1.0 = 0x3c00, 65504 = 0x7bff,
 * 2^-24 = 0x0001); the hardware F16C conversion (vcvtps2ph, round to nearest even) as an
 * independent reference on 10^6 random floats when the CPU has it; dequantized blocks built
 * by hand from the block layouts of ggml (ggml-common.h).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_types.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_F16C_REF 1

__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f)
{
	return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h)
{
	return _cvtsh_ss(h);
}

static float frombits(uint32_t b)
{
	float f;
	memcpy(&f, &b, 4);
	return f;
}
#endif

static void test_f16(void)
{
	CHECK(sl_f32_to_f16(1.0f) == 0x3c00);
	CHECK(sl_f32_to_f16(-2.0f) == 0xc000);
	CHECK(sl_f32_to_f16(65504.0f) == 0x7bff);
	CHECK(sl_f32_to_f16(65520.0f) == 0x7c00); /* rounds up to inf */
	CHECK(sl_f32_to_f16(0x1p-24f) == 0x0001);
	CHECK(sl_f32_to_f16(0x1p-26f) == 0x0000); /* below half the smallest subnormal */
	CHECK(sl_f16_to_f32(0x3555) == 0x1.554p-2f);
	CHECK(sl_f16_to_f32(0x0001) == 0x1p-24f);
	CHECK(sl_f16_to_f32(0xfc00) == -INFINITY);
	CHECK(isnan(sl_f16_to_f32(0x7e00)));
	CHECK(isnan(sl_f16_to_f32(sl_f32_to_f16(NAN))));

	/* every non-NaN half survives f16 -> f32 -> f16 */
	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = sl_f16_to_f32((sl_f16)h);
		if (!isnan(f) && sl_f32_to_f16(f) != h)
			bad++;
	}
	CHECK_MSG(bad == 0, "%d halves do not round-trip", bad);

#ifdef HAVE_F16C_REF
	if (__builtin_cpu_supports("f16c")) {
		int bad_to = 0, bad_from = 0;
		srand(1);
		for (int i = 0; i < 1000000; i++) {
			/* random bit patterns concentrated on the half range (exponents 100..150) */
			uint32_t b = ((uint32_t)rand() << 16 ^ (uint32_t)rand()) & 0x807fffffu;
			b |= (uint32_t)(100 + rand() % 51) << 23;
			float f = frombits(b);
			if (sl_f32_to_f16(f) != hw_f32_to_f16(f))
				bad_to++;
		}
		for (uint32_t h = 0; h < 65536; h++) {
			float a = sl_f16_to_f32((sl_f16)h), b = hw_f16_to_f32((uint16_t)h);
			if (!(isnan(a) && isnan(b)) && memcmp(&a, &b, 4) != 0)
				bad_from++;
		}
		CHECK_MSG(bad_to == 0, "%d of 10^6 f32->f16 differ from F16C", bad_to);
		CHECK_MSG(bad_from == 0, "%d f16->f32 differ from F16C", bad_from);
	}
#endif
}

static void test_bf16(void)
{
	CHECK(sl_f32_to_bf16(1.0f) == 0x3f80);
	/* 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even -> 1.0 */
	CHECK(sl_f32_to_bf16(1.00390625f) == 0x3f80);
	/* 1 + 3*2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even) -> up */
	CHECK(sl_f32_to_bf16(1.01171875f) == 0x3f82);
	CHECK(sl_bf16_to_f32(0xc040) == -3.0f);
	CHECK(isnan(sl_bf16_to_f32(sl_f32_to_bf16(NAN))));
}

static void test_dequant(void)
{
	float y[256];

	/* Q8_0: d = 0.5, qs = j - 16 -> x = (j - 16) / 2 */
	sl_block_q8_0 b8;
	b8.d = 0x3800; /* 0.5 */
	for (int j = 0; j < 32; j++)
		b8.qs[j] = (int8_t)(j - 16);
	CHECK(sl_dequant_row(SL_Q8_0, &b8, y, 32) == 0);
	CHECK(y[0] == -8.0f && y[16] == 0.0f && y[31] == 7.5f);

	/* Q4_0: d = 2, qs[j] = lo j%16, hi 15-j%16: value j = 2*(j-8), value j+16 = 2*(7-j) */
	sl_block_q4_0 b4;
	b4.d = 0x4000; /* 2.0 */
	for (int j = 0; j < 16; j++)
		b4.qs[j] = (uint8_t)(j | (15 - j) << 4);
	CHECK(sl_dequant_row(SL_Q4_0, &b4, y, 32) == 0);
	CHECK(y[0] == -16.0f && y[15] == 14.0f && y[16] == 14.0f && y[31] == -16.0f);

	/* Q4_K: d = 1, dmin = 1; sub-block 0 scale 3 min 2; sub-block 5 scale 33 min 17
	 * (j >= 4 packs the high 2 bits in sc[j-4] / sc[j]); all quants 5. */
	sl_block_q4_K bk;
	memset(&bk, 0, sizeof bk);
	bk.d = 0x3c00;
	bk.dmin = 0x3c00;
	bk.scales[0] = 3;          /* s0 = 3 */
	bk.scales[4] = 2;          /* m0 = 2 */
	bk.scales[1] |= 2 << 6;    /* s5 high bits: 33 = 0b10 0001 */
	bk.scales[9] = 1 | 1 << 4; /* s5 low 4 = 1, m5 low 4 = 1 */
	bk.scales[5] |= 1 << 6;    /* m5 high bits: 17 = 0b01 0001 */
	memset(bk.qs, 0x55, sizeof bk.qs);
	CHECK(sl_dequant_row(SL_Q4_K, &bk, y, 256) == 0);
	CHECK(y[0] == 3 * 5 - 2);        /* sub-block 0: values 0..31 */
	CHECK(y[160] == 33 * 5 - 17);    /* sub-block 5: values 160..191 (high nibbles of group 2) */
	CHECK(y[100] == 0.0f);           /* sub-block 3: scale 0, min 0 */

	/* Q6_K: d = 1, scale[i] = i + 1; quant of value 0 = 63, value 100 = 0 */
	sl_block_q6_K b6;
	memset(&b6, 0, sizeof b6);
	b6.d = 0x3c00;
	for (int i = 0; i < 16; i++)
		b6.scales[i] = (int8_t)(i + 1);
	b6.ql[0] = 0x0f;           /* value 0 low 4 bits = 15 */
	b6.qh[0] = 0x03;           /* value 0 high 2 bits = 3 -> q = 63 */
	CHECK(sl_dequant_row(SL_Q6_K, &b6, y, 256) == 0);
	CHECK(y[0] == 1 * (63 - 32));
	CHECK(y[100] == 7 * (0 - 32)); /* value 100 = l 4 + 96: scale index 0 + 6 */
	CHECK(y[200] == 13 * (0 - 32)); /* second half (scales 8..15), value 72 of it = l 8 + 64: scales[8 + 4] = 13 */

	/* Q3_K, d = 0.5.  Stored scales are s + 32, so all-zero bytes mean s = -32 everywhere;
	 * the quants default to low bits 0, high bit clear: q = 0 - 4. */
	sl_block_q3_K b3;
	memset(&b3, 0, sizeof b3);
	b3.d = 0x3800;
	b3.scales[0] = 1;               /* s0: low 4 = 1 */
	b3.scales[8] = 2;               /* s0: high 2 (bits 0-1 of byte 8 + 0%4) -> 33 -> +1 */
	b3.scales[5] = 8 | 10 << 4;     /* s5 low 4 = 8; s13 low 4 (s >= 8: high nibble of 13-8) = 10 */
	b3.scales[9] = 2 << 2;          /* s5 high 2 at bits 2-3 (5/4 = 1) of byte 8 + 5%4 -> 40 -> +8;
	                                   s13 high 2 at bits 6-7 = 0 -> 10 -> -22 */
	b3.scales[6] = 15 << 4;         /* s14 low 4 = 15 */
	b3.scales[10] = 3 << 6;         /* s14 high 2 (byte 8 + 14%4, bits 6-7) -> 63 -> +31 */
	b3.qs[5] = 3 << 2;              /* value 37 = 32*1 + 5: bits 2-3 of qs[5] */
	b3.hmask[5] = 1 << 1;           /*   and bit 1 of hmask[5]: q = 3 */
	b3.qs[21] = 2 << 4;             /* value 85 = 32*2 + 21: q = 2 - 4 (high bit clear) */
	b3.qs[32 + 18] = 1 << 4;        /* value 210 = 128 + 32*2 + 18: second half, qs[32 + l] */
	b3.hmask[18] = 1 << 6;          /*   high bit 4*1 + 2: q = 1 */
	b3.qs[32 + 6] = 3 << 6;         /* value 230 = 128 + 32*3 + 6 */
	b3.hmask[6] = 1 << 7;           /*   high bit 4*1 + 3: q = 3 */
	CHECK(sl_dequant_row(SL_Q3_K, &b3, y, 256) == 0);
	CHECK(y[0] == 0.5f * 1 * -4);
	CHECK(y[37] == 0.5f * -32 * 3);     /* sub-block 2: the default scale -32 */
	CHECK(y[85] == 0.5f * 8 * -2);      /* sub-block 5 */
	CHECK(y[210] == 0.5f * -22 * 1);    /* sub-block 13 */
	CHECK(y[230] == 0.5f * 31 * 3);     /* sub-block 14 */
	CHECK(y[255] == 0.5f * -32 * -4);   /* sub-block 15, defaults */
	{
		int8_t sc[16];
		sl_q3_K_scales(b3.scales, sc);
		CHECK(sc[0] == 1 && sc[5] == 8 && sc[13] == -22 && sc[14] == 31 && sc[1] == -32);
	}

	/* the packed decoder against the layout rule, scale by scale, on pseudo-random bytes */
	for (unsigned seed = 1, k = 0; k < 200; k++) {
		uint8_t raw[12];
		int8_t sc[16];
		for (int i = 0; i < 12; i++) {
			seed = seed * 1103515245 + 12345;
			raw[i] = (uint8_t)(seed >> 16);
		}
		sl_q3_K_scales(raw, sc);
		for (int j = 0; j < 16; j++) {
			int lo = j < 8 ? raw[j] & 15 : raw[j - 8] >> 4, hi = (raw[8 + j % 4] >> (2 * (j / 4))) & 3;
			CHECK(sc[j] == (lo | hi << 4) - 32);
		}
	}

	/* Q2_K, d = 1, dmin = 0.5: scales[s] = scale | min << 4, quants default 0. */
	sl_block_q2_K b2;
	memset(&b2, 0, sizeof b2);
	b2.d = 0x3c00;
	b2.dmin = 0x3800;
	b2.scales[0] = 3 | 2 << 4;
	b2.scales[5] = 15 | 15 << 4;
	b2.scales[13] = 7 | 4 << 4;
	b2.qs[1] = 3;                   /* value 1: bits 0-1 of qs[1] */
	b2.qs[21] = 2 << 4;             /* value 85 = 32*2 + 21 */
	b2.qs[32 + 18] = 1 << 4;        /* value 210 = 128 + 32*2 + 18 */
	b2.qs[32 + 6] = 3 << 6;         /* value 230: sub-block 14 has scale 0, min 0 */
	CHECK(sl_dequant_row(SL_Q2_K, &b2, y, 256) == 0);
	CHECK(y[0] == 3 * 0 - 0.5f * 2);
	CHECK(y[1] == 3 * 3 - 0.5f * 2);
	CHECK(y[85] == 15 * 2 - 0.5f * 15);
	CHECK(y[210] == 7 * 1 - 0.5f * 4);
	CHECK(y[230] == 0.0f && y[100] == 0.0f);

	CHECK(sl_dequant_row(SL_Q4_0, &b4, y, 31) == -1); /* ragged row */
	CHECK(sl_dequant_row(SL_Q5_0, &b4, y, 32) == -1); /* unsupported type */
}

static void test_sizes(void)
{
	uint64_t ne[2] = {2048, 8192};

	CHECK(sl_type_row_bytes(SL_Q4_0, 2048) == 64 * 18);
	CHECK(sl_type_nbytes(SL_Q4_K, ne, 2) == 8ull * 144 * 8192);
	CHECK(sl_type_row_bytes(SL_Q4_K, 172) == 0);
	CHECK(sl_type_row_bytes(SL_Q3_K, 2048) == 8 * 110 && sl_type_row_bytes(SL_Q2_K, 2048) == 8 * 84);
	CHECK(sl_type_get(SL_Q3_K)->supported && sl_type_get(SL_Q2_K)->supported);
	CHECK(sl_type_from_name("q3_k") == SL_Q3_K && sl_type_from_name("Q2_K") == SL_Q2_K);
	CHECK(sl_type_from_name("Q8_0") == SL_Q8_0 && sl_type_from_name("nope") == -1);
	ne[0] = 1ull << 40, ne[1] = 1ull << 40;
	CHECK(sl_type_nbytes(SL_F32, ne, 2) == 0); /* overflow caught */
}

int main(void)
{
	test_f16();
	test_bf16();
	test_dequant();
	test_sizes();
	return CHECK_DONE();
}
