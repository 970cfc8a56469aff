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
	};
	double rel[6], m;

	for (int i = 0; i < N; i++)
		x[i] = 0.02f * gauss();
	for (int k = 0; k < 6; k++) {
		rel[k] = rel_err(b[k].type, x, N, &m);
		CHECK_MSG(rel[k] < b[k].max_rel, "%s: relative RMSE %g >= %g", sl_type_get(b[k].type)->name, rel[k],
			  b[k].max_rel);
		CHECK_MSG(m < b[k].max_abs_over_amax, "%s: max error / amax %g >= %g", sl_type_get(b[k].type)->name, m,
			  b[k].max_abs_over_amax);
	}
	/* More bits, less error. */
	CHECK(rel[2] < rel[3] && rel[3] < rel[4] && rel[4] < rel[5]);

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
	test_plain();
	test_round_trip();
	test_llamacpp(SL_Q8_0, "stories260K-q8_0.gguf", 31);
	test_llamacpp(SL_Q4_0, "stories260K-q4_0.gguf", 31);
	return CHECK_DONE();
}
