/*
 * test_quant — the reference quantizers of lib/sl_quant.c.
 *
 *   1. Known answers: blocks built by hand from ggml's block layouts (ggml-common.h), with
 *      inputs chosen so every scale is a power of two (the expected bytes follow from the
 *      spec with pencil and paper; derivations in the comments).
 *   2. Round trip on seeded Gaussian data: per-type error bounds, and the ordering
 *      q8_0 < q6_k < q4_k < q4_0 that the bit budgets promise.
 *   3. Bit-identity with llama.cpp: every Q8_0 / Q4_0 tensor of stories260K-q8_0.gguf and
 *      -q4_0.gguf (written by llama.cpp's llama-quantize from stories260K-f32.gguf, see
 *      tests/fixtures/stories260K-gguf/SOURCE.md) is requantized here from the F32 file and
 *      compared byte for byte.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_quant.h"
#include "sl_types.h"

/* ==== known answers ==== */

static void test_q8_0_known(void)
{
	/* amax = 127, so d = 1 exactly (f16 0x3C00) and q = roundf(x): ties go away from zero. */
	float x[32] = {127, -127, 3.4f, -2.6f, 2.5f, -2.5f, 0.49f, -0.5f, 100.2f, -99.7f};
	sl_block_q8_0 b;
	static const int8_t want[10] = {127, -127, 3, -3, 3, -3, 0, -1, 100, -100};

	sl_quant_row_q8_0(x, &b, 32);
	CHECK(b.d == 0x3C00);
	for (int i = 0; i < 10; i++)
		CHECK_MSG(b.qs[i] == want[i], "qs[%d] = %d, want %d", i, b.qs[i], want[i]);
	for (int i = 10; i < 32; i++)
		CHECK(b.qs[i] == 0);

	/* all zero: d = 0 and q = 0 (id is 0, not inf) */
	memset(x, 0, sizeof x);
	sl_quant_row_q8_0(x, &b, 32);
	CHECK(b.d == 0);
	for (int i = 0; i < 32; i++)
		CHECK(b.qs[i] == 0);
}

static void test_q4_0_known(void)
{
	/*
	 * The extreme is -8, so d = -8 / -8 = 1 (f16 0x3C00) and q = min(15, trunc(x + 8.5)).
	 * x: -8 → 0, 7.4 → 15, 0.49 → 8, 0.5 → 9, 6.6 → 15 (clipped), -0.6 → 7; the rest 0 → 8.
	 * Value j is the low nibble of qs[j], value j+16 the high nibble.
	 */
	float x[32] = {0};
	sl_block_q4_0 b;
	uint8_t want[16];

	x[0] = -8;
	x[1] = 7.4f;
	x[2] = 0.49f;
	x[16] = 0.5f;
	x[17] = 6.6f;
	x[18] = -0.6f;
	sl_quant_row_q4_0(x, &b, 32);
	CHECK(b.d == 0x3C00);
	for (int j = 0; j < 16; j++)
		want[j] = 8 | 8 << 4;
	want[0] = 0 | 9 << 4;
	want[1] = 15 | 15 << 4;
	want[2] = 8 | 7 << 4;
	for (int j = 0; j < 16; j++)
		CHECK_MSG(b.qs[j] == want[j], "qs[%d] = 0x%02x, want 0x%02x", j, b.qs[j], want[j]);

	/* A positive extreme gives a negative d: x = 8 → d = -1 (0xBC00), q(8) = trunc(0.5) = 0. */
	memset(x, 0, sizeof x);
	x[5] = 8;
	sl_quant_row_q4_0(x, &b, 32);
	CHECK(b.d == 0xBC00);
	CHECK((b.qs[5] & 15) == 0);
	CHECK((b.qs[5] >> 4) == 8);
}

static void test_q4_K_known(void)
{
	/*
	 * Data on the Q4_K grid: every sub-block j is x = (63·2^-10)·q − 63·2^-9 with q = (i + j) % 16
	 * running through all 16 levels.  Every sub-block then has the same scale and min, so
	 * the 6-bit scale and min are both 63, d = 2^-10 (f16 0x1400), dmin = 2^-9 (0x1800); all
	 * twelve scale bytes are 0xFF (j < 4: 63 | (63 >> 4) << 6; j ≥ 4: (63 & 15) | (63 & 15) << 4).
	 * qs group g (bytes 32g..32g+31): low nibble = q of value 64g + l, high = value 64g + 32 + l.
	 */
	float x[256], y[256];
	sl_block_q4_K b;
	int q[256];

	for (int i = 0; i < 256; i++) {
		q[i] = (i % 32 + i / 32) % 16;
		x[i] = (63.f / 1024) * q[i] - 63.f / 512;
	}
	sl_quant_row_q4_K(x, &b, 256);
	CHECK_MSG(b.d == 0x1400, "d = 0x%04x", b.d);
	CHECK_MSG(b.dmin == 0x1800, "dmin = 0x%04x", b.dmin);
	for (int i = 0; i < 12; i++)
		CHECK_MSG(b.scales[i] == 0xFF, "scales[%d] = 0x%02x", i, b.scales[i]);
	for (int g = 0; g < 4; g++)
		for (int l = 0; l < 32; l++)
			CHECK(b.qs[32 * g + l] == (q[64 * g + l] | q[64 * g + 32 + l] << 4));
	CHECK(sl_dequant_row(SL_Q4_K, &b, y, 256) == 0);
	for (int i = 0; i < 256; i++)
		CHECK_MSG(y[i] == x[i], "y[%d] = %g, want %g", i, y[i], x[i]);
}

static void test_q6_K_known(void)
{
	/*
	 * Data on the Q6_K grid: x = 2^-4 · (q − 32), q = (i·7 + 3·(i/16)) % 64, and each sub-block
	 * of 16 contains q = 0 (x = −2) so its signed extreme is −2 and its scale 2^-4.  All 16
	 * scales equal, so the int8 scale is −128 for all (iscale = −128 / 2^-4) and d = −2^-11
	 * (f16 0x9000): d · −128 · (q − 32) = 2^-4 · (q − 32).
	 * Packing, half h, l < 32: ql[64h+l] = q[128h+l] & 15 | (q[128h+64+l] & 15) << 4,
	 * ql[64h+32+l] = q[128h+32+l] & 15 | (q[128h+96+l] & 15) << 4,
	 * qh[32h+l] = q[128h+l]>>4 | (q[128h+32+l]>>4) << 2 | (q[128h+64+l]>>4) << 4 | (q[128h+96+l]>>4) << 6.
	 */
	float x[256], y[256];
	sl_block_q6_K b;
	int q[256];

	for (int i = 0; i < 256; i++) {
		q[i] = (i * 7 + 3 * (i / 16)) % 64;
		if (i % 16 == 5)
			q[i] = 0;
		x[i] = (q[i] - 32) / 16.f;
	}
	sl_quant_row_q6_K(x, &b, 256);
	CHECK_MSG(b.d == 0x9000, "d = 0x%04x", b.d);
	for (int i = 0; i < 16; i++)
		CHECK_MSG(b.scales[i] == -128, "scales[%d] = %d", i, b.scales[i]);
	for (int h = 0; h < 2; h++) {
		for (int l = 0; l < 32; l++) {
			const int *Q = q + 128 * h;
			CHECK(b.ql[64 * h + l] == ((Q[l] & 15) | (Q[64 + l] & 15) << 4));
			CHECK(b.ql[64 * h + 32 + l] == ((Q[32 + l] & 15) | (Q[96 + l] & 15) << 4));
			CHECK(b.qh[32 * h + l] == (Q[l] >> 4 | (Q[32 + l] >> 4) << 2 | (Q[64 + l] >> 4) << 4 |
						   (Q[96 + l] >> 4) << 6));
		}
	}
	CHECK(sl_dequant_row(SL_Q6_K, &b, y, 256) == 0);
	for (int i = 0; i < 256; i++)
		CHECK_MSG(y[i] == x[i], "y[%d] = %g, want %g", i, y[i], x[i]);

	/* all zero: an all-zero block */
	memset(x, 0, sizeof x);
	sl_quant_row_q6_K(x, &b, 256);
	CHECK(b.d == 0);
	CHECK(sl_dequant_row(SL_Q6_K, &b, y, 256) == 0);
	CHECK(y[0] == 0 && y[255] == 0);
}

static void test_q3_K_known(void)
{
	/*
	 * Data on the Q3_K grid: sub-block j (16 values) is x = a_j·l, a_j = k_j·2^-8, levels
	 * l = (3i + j) % 8 − 4 (each of −4..3 twice, so the signed extreme is −4·a_j for a_j > 0 and
	 * +4|a_j| for a_j < 0: the first grid is l itself).  Every product and sum below is exact
	 * (|k|³·Σl⁴ < 2^24), so the least-squares scale is a_j exactly.  The largest |a_j|, 32·2^-8
	 * (sub-block 0), maps to −32: iscale = −256, so sub-block j stores −k_j + 32 and
	 * d = 1/iscale = −2^-8 (f16 0x9C00); d·(stored − 32) = a_j again, and L = l + 4.
	 * Expected bytes from the layout (sl_types.h): scale s low 4 bits in scales[s] (s < 8) or the
	 * high nibble of scales[s − 8], high 2 bits at bit 2·(s/4) of scales[8 + s%4]; value
	 * v = 128h + 32j + l: qs[32h + l] bits 2j, hmask[l] bit 4h + j.
	 */
	static const int k[16] = {32, 1, -2, 3, -5, 7, -11, 13, -17, 19, -20, 24, -25, 26, 16, 9};
	float x[256], y[256];
	uint8_t want_sc[12] = {0}, want_qs[64] = {0}, want_hm[32] = {0};
	int L[256];
	sl_block_q3_K b;

	for (int v = 0; v < 256; v++) {
		int j = v / 16, i = v % 16;
		L[v] = (3 * i + j) % 8;
		x[v] = (k[j] / 256.f) * (L[v] - 4);
	}
	for (int s = 0; s < 16; s++) {
		int st = 32 - k[s];
		want_sc[s < 8 ? s : s - 8] |= (uint8_t)((st & 15) << (s < 8 ? 0 : 4));
		want_sc[8 + s % 4] |= (uint8_t)((st >> 4) << (2 * (s / 4)));
	}
	for (int v = 0; v < 256; v++) {
		int h = v / 128, j = v % 128 / 32, l = v % 32;
		want_qs[32 * h + l] |= (uint8_t)((L[v] & 3) << (2 * j));
		want_hm[l] |= (uint8_t)((L[v] >> 2) << (4 * h + j));
	}
	sl_quant_row_q3_K(x, &b, 256);
	CHECK_MSG(b.d == 0x9C00, "d = 0x%04x", b.d);
	CHECK(memcmp(b.scales, want_sc, 12) == 0);
	CHECK(memcmp(b.qs, want_qs, 64) == 0);
	CHECK(memcmp(b.hmask, want_hm, 32) == 0);
	CHECK(sl_dequant_row(SL_Q3_K, &b, y, 256) == 0);
	for (int v = 0; v < 256; v++)
		CHECK_MSG(y[v] == x[v], "y[%d] = %g, want %g", v, y[v], x[v]);

	/* quantize(dequantize(b)) == b: the grid data is its own dequantization */
	{
		sl_block_q3_K b2;
		sl_quant_row_q3_K(y, &b2, 256);
		CHECK(memcmp(&b, &b2, sizeof b) == 0);
	}

	/* all zero: an all-zero block (d = 0, every scale byte 0) */
	memset(x, 0, sizeof x);
	sl_quant_row_q3_K(x, &b, 256);
	CHECK(b.d == 0);
	CHECK(sl_dequant_row(SL_Q3_K, &b, y, 256) == 0);
	CHECK(y[0] == 0 && y[255] == 0);
}

static void test_q2_K_known(void)
{
	/*
	 * Data on the Q2_K grid: sub-block j is x = k_j·2^-8·q − n_j·2^-9 with q = (i + j) % 4
	 * (each of 0..3 four times), k_j in 1..15 with max 15, n_j in 0..15 with max 15.  The fit of
	 * step 1 recovers scale k_j·2^-8 and min n_j·2^-9 up to rounding of its float arithmetic,
	 * far less than the half step that would move a 4-bit value, so the stored 4-bit scale is
	 * k_j (against d = max/15 = 2^-8, f16 0x1C00) and the min n_j (dmin = 2^-9, 0x1800); the
	 * requantization then gives q exactly.  qs: value 128h + 32j + l in bits 2j of qs[32h + l].
	 */
	static const int k[16] = {15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 7};
	static const int m[16] = {0, 15, 3, 9, 1, 2, 4, 8, 14, 6, 11, 5, 13, 12, 10, 7};
	float x[256], y[256];
	uint8_t want_qs[64] = {0};
	int q[256];
	sl_block_q2_K b;

	for (int v = 0; v < 256; v++) {
		int j = v / 16;
		q[v] = (v % 16 + j) % 4;
		x[v] = (k[j] / 256.f) * q[v] - m[j] / 512.f;
	}
	for (int v = 0; v < 256; v++)
		want_qs[32 * (v / 128) + v % 32] |= (uint8_t)(q[v] << (2 * (v % 128 / 32)));
	sl_quant_row_q2_K(x, &b, 256);
	CHECK_MSG(b.d == 0x1C00, "d = 0x%04x", b.d);
	CHECK_MSG(b.dmin == 0x1800, "dmin = 0x%04x", b.dmin);
	for (int j = 0; j < 16; j++)
		CHECK_MSG(b.scales[j] == (k[j] | m[j] << 4), "scales[%d] = 0x%02x", j, b.scales[j]);
	CHECK(memcmp(b.qs, want_qs, 64) == 0);
	CHECK(sl_dequant_row(SL_Q2_K, &b, y, 256) == 0);
	for (int v = 0; v < 256; v++)
		CHECK_MSG(y[v] == x[v], "y[%d] = %g, want %g", v, y[v], x[v]);
	{
		sl_block_q2_K b2;
		sl_quant_row_q2_K(y, &b2, 256);
		CHECK(memcmp(&b, &b2, sizeof b) == 0);
	}

	/* all zero, and a constant row: one level, all in the min (scale 0) */
	memset(x, 0, sizeof x);
	sl_quant_row_q2_K(x, &b, 256);
	CHECK(b.d == 0 && b.dmin == 0);
	CHECK(sl_dequant_row(SL_Q2_K, &b, y, 256) == 0);
	CHECK(y[0] == 0 && y[255] == 0);
}

static void test_plain(void)
{
	float x[4] = {1.0f, -2.0f, 65504.0f, 1.0f + 1.0f / 2048}, back[4];
	sl_f16 h[4];
	sl_bf16 b[4];

	sl_quant_row_f16(x, h, 4);
	CHECK(h[0] == 0x3C00 && h[1] == 0xC000 && h[2] == 0x7BFF);
	CHECK(h[3] == 0x3C00);                  /* 1 + 2^-11 is a tie: to even */
	sl_quant_row_bf16(x, b, 4);
	CHECK(b[0] == 0x3F80 && b[1] == 0xC000);
	CHECK(sl_dequant_row(SL_BF16, b, back, 2) == 0 && back[1] == -2.0f);
}

/* ==== round trip ==== */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

static float gauss(void)
{
	return (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()));
}

static double rel_err(uint32_t type, const float *x, uint64_t n, double *max_over_amax)
{
	void *q = malloc(sl_type_row_bytes(type, n));
	float *y = malloc(n * sizeof *y);
	sl_qstats st = {0};
	float amax = 0;

	CHECK(sl_quant_row(type, x, q, n) == sl_type_row_bytes(type, n));
	CHECK(sl_dequant_row(type, q, y, n) == 0);
	sl_qstats_add(&st, x, y, n);
	for (uint64_t i = 0; i < n; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	*max_over_amax = st.max_abs_err / amax;
	free(q);
	free(y);
	return sl_qstats_rel(&st);
}

static void test_round_trip(void)
{
	enum { N = 256 * 64 };
	static float x[N];
	/* Relative RMSE bounds for Gaussian data.  Uniform quantizer theory: step Δ, error Δ/√12;
	 * q8_0 Δ ≈ amax/127 ≈ 3σ/127 → 0.7%; q4_0 Δ ≈ 2·amax/15 → ~11%; the K-quants fit better. */
	static const struct {
		uint32_t type;
		double max_rel, max_abs_over_amax;
	} b[] = {
		{SL_F16, 0.0005, 0.001}, {SL_BF16, 0.004, 0.005}, {SL_Q8_0, 0.01, 0.01},
		{SL_Q6_K, 0.03, 0.05}, {SL_Q4_K, 0.10, 0.12}, {SL_Q4_0, 0.13, 0.16},
		/* 8 and 4 levels per 16 values: the range of 16 Gaussian samples (≈ 3.5σ) over 7.5
		 * or 3.5 steps, Δ/√12 ≈ 0.13σ and 0.29σ before the fit improves them */
		{SL_Q3_K, 0.18, 0.25}, {SL_Q2_K, 0.34, 0.45},
	};
	double rel[8], m;

	for (int i = 0; i < N; i++)
		x[i] = 0.02f * gauss();
	for (int k = 0; k < 8; k++) {
		rel[k] = rel_err(b[k].type, x, N, &m);
		CHECK_MSG(rel[k] < b[k].max_rel, "%s: relative RMSE %g >= %g", sl_type_get(b[k].type)->name, rel[k],
			  b[k].max_rel);
		CHECK_MSG(m < b[k].max_abs_over_amax, "%s: max error / amax %g >= %g", sl_type_get(b[k].type)->name, m,
			  b[k].max_abs_over_amax);
	}
	/* More bits, less error. */
	CHECK(rel[2] < rel[3] && rel[3] < rel[4] && rel[4] < rel[5]);
	CHECK(rel[4] < rel[6] && rel[6] < rel[7]);   /* q4_k < q3_k < q2_k */

	/*
	 * quantize(dequantize(q)): the dequantized row lies on a grid of the format, so the second
	 * pass finds one at least nearly as good (exact idempotence holds for Q4_K, and on the
	 * known-answer grids above, but Q3_K/Q2_K's search may move to another grid of similar
	 * error): its error against the first dequantization is well under the first error.
	 */
	for (int k = 6; k < 8; k++) {
		size_t rb = sl_type_row_bytes(b[k].type, N);
		uint8_t *q1 = malloc(rb), *q2 = malloc(rb);
		float *y1 = malloc(N * sizeof *y1), *y2 = malloc(N * sizeof *y2);
		sl_qstats s1 = {0}, s2 = {0};
		sl_quant_row(b[k].type, x, q1, N);
		sl_dequant_row(b[k].type, q1, y1, N);
		sl_quant_row(b[k].type, y1, q2, N);
		sl_dequant_row(b[k].type, q2, y2, N);
		sl_qstats_add(&s1, x, y1, N);
		sl_qstats_add(&s2, y1, y2, N);
		CHECK_MSG(sl_qstats_rmse(&s2) < 0.5 * sl_qstats_rmse(&s1), "%s: requantized RMSE %g vs %g",
			  sl_type_get(b[k].type)->name, sl_qstats_rmse(&s2), sl_qstats_rmse(&s1));
		/* Same input, same bytes. */
		sl_quant_row(b[k].type, x, q2, N);
		CHECK(memcmp(q1, q2, rb) == 0);
		free(q1);
		free(q2);
		free(y1);
		free(y2);
	}

	/* Constant rows, either sign: one level carries the whole row, to f16 precision. */
	for (int k = 6; k < 8; k++) {
		for (int sign = -1; sign <= 1; sign += 2) {
			float c[256], y[256];
			uint8_t q[128];
			for (int i = 0; i < 256; i++)
				c[i] = sign * 0.37f;
			sl_quant_row(b[k].type, c, q, 256);
			sl_dequant_row(b[k].type, q, y, 256);
			for (int i = 0; i < 256; i += 51)
				CHECK_NEAR(y[i], c[i], 0.37 * 2e-3);
		}
	}

	/* Same input, same bytes. */
	{
		static sl_block_q4_K a[N / 256], c[N / 256];
		sl_quant_row_q4_K(x, a, N);
		sl_quant_row_q4_K(x, c, N);
		CHECK(memcmp(a, c, sizeof a) == 0);
	}

	/* Errors: an unsupported type, a ragged row. */
	{
		uint8_t buf[64];
		CHECK(sl_quant_row(SL_Q5_0, x, buf, 32) == 0);
		CHECK(strstr(sl_error(), "cannot write tensors of type") != NULL);
		CHECK(sl_quant_row(SL_Q8_0, x, buf, 33) == 0);
		CHECK(!sl_quant_supported(SL_Q4_1) && sl_quant_supported(SL_Q6_K));
	}
}

/* ==== bit-identity with llama.cpp ==== */

/* llama.cpp's files, from the project root (tests/run runs every test there). */
static const char *fixture(const char *file)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "tests/fixtures/stories260K-gguf/%s", file);
	return buf[k];
}

static void test_llamacpp(uint32_t type, const char *file, int want_tensors)
{
	sl_gguf f32, q;
	int n = 0;

	if (sl_gguf_open(&f32, fixture("stories260K-f32.gguf")) || sl_gguf_open(&q, fixture(file))) {
		CHECK_MSG(0, "%s", sl_error());
		return;
	}
	for (uint64_t i = 0; i < q.n_tensors; i++) {
		const sl_gguf_tensor *tq = &q.tensors[i], *tf = sl_gguf_tensor_find(&f32, tq->name);
		uint64_t rows, rb;
		uint8_t *out;
		int same = 1;

		if (tq->type != type)
			continue;
		CHECK(tf && tf->type == SL_F32 && tf->ne[0] == tq->ne[0] && tf->ne[1] == tq->ne[1]);
		if (!tf)
			continue;
		rows = tq->ne[1] * tq->ne[2] * tq->ne[3];
		rb = sl_type_row_bytes(type, tq->ne[0]);
		out = malloc(rb);
		for (uint64_t r = 0; r < rows && same; r++) {
			sl_quant_row(type, (const float *)tf->data + r * tq->ne[0], out, tq->ne[0]);
			same = memcmp(out, (const uint8_t *)tq->data + r * rb, rb) == 0;
		}
		CHECK_MSG(same, "%s %s differs from llama.cpp's", file, tq->name);
		free(out);
		n++;
	}
	/* 31 quantized 2-D weights: token_embd and 6 per layer × 5 (ffn_down was kept F32) */
	CHECK_MSG(n == want_tensors, "%s: %d %s tensors compared", file, n, sl_type_get(type)->name);
	sl_gguf_close(&f32);
	sl_gguf_close(&q);
}

int main(void)
{
	test_q8_0_known();
	test_q4_0_known();
	test_q4_K_known();
	test_q6_K_known();
	test_q3_K_known();
	test_q2_K_known();
	test_plain();
	test_round_trip();
	test_llamacpp(SL_Q8_0, "stories260K-q8_0.gguf", 31);
	test_llamacpp(SL_Q4_0, "stories260K-q4_0.gguf", 31);
	return CHECK_DONE();
}
