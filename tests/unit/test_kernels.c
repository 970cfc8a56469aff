/*
 * test_kernels — every kernel set against the reference, on seeded random data.
 *
 * Three levels, each with a named tolerance:
 *   1. each SIMD set vs the ref set (same quantized activations, so only the order of
 *      float additions differs): TOL_ORDER relative to Σ|w·x|;
 *   2. the ref set vs sl_matmul_ref (float X, double sums): the error of quantizing X to
 *      8 bits, bounded per block by (d/2)·Σ|w| with d = max|x|/127, plus TOL_ORDER;
 *   3. bit-identical results across thread counts (1, 2, 3) and across tilings (a batch
 *      of tokens vs the same tokens one at a time).
 * Weights are random bytes in each block layout (every bit pattern of the quants, scales
 * kept finite and moderate), row lengths include odd block counts and, for float types,
 * lengths that are not multiples of the SIMD width.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "check.h"
#include "sl_kernels.h"
#include "sl_kernels_impl.h"
#include "sl_types.h"

#define TOL_ORDER 2e-5   /* float summation order, relative to Σ|w·x| */
#define TOL_QUANT 0.5001 /* rounding to nearest: half a quantization step */

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static float rndf(void) /* uniform in [-1, 1) */
{
	return (float)(rnd() % 2000000) / 1e6f - 1.f;
}

/*
 * n bytes that end where an inaccessible page begins, so that a kernel reading past the
 * last row faults (where the platform has pages to protect; else plain malloc).
 */
static void *guarded_alloc(size_t n)
{
#if !defined(__EMSCRIPTEN__)
	const size_t ps = (size_t)sysconf(_SC_PAGESIZE), len = (n + ps - 1) / ps * ps + ps;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + len - ps, ps, PROT_NONE) != 0)
		return NULL;
	return p + len - ps - n;
#else
	return malloc(n);
#endif
}

static void guarded_free(void *q, size_t n)
{
#if !defined(__EMSCRIPTEN__)
	const size_t ps = (size_t)sysconf(_SC_PAGESIZE), len = (n + ps - 1) / ps * ps + ps;
	munmap((char *)q + n + ps - len, len);
#else
	(void)n;
	free(q);
#endif
}

/* A random row of `cols` values in `type`: random quants, small positive scales. */
static void random_row(uint32_t type, int cols, uint8_t *dst)
{
	size_t n = sl_type_row_bytes(type, (uint64_t)cols);
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)rnd();
	switch (type) {
	case SL_F32:
		for (int i = 0; i < cols; i++)
			((float *)dst)[i] = rndf();
		break;
	case SL_F16:
		for (int i = 0; i < cols; i++)
			((sl_f16 *)dst)[i] = sl_f32_to_f16(rndf());
		break;
	case SL_BF16:
		for (int i = 0; i < cols; i++)
			((sl_bf16 *)dst)[i] = sl_f32_to_bf16(rndf());
		break;
	case SL_Q4_0:
		for (int b = 0; b < cols / 32; b++)
			((sl_block_q4_0 *)dst)[b].d = sl_f32_to_f16(0.01f + 0.1f * fabsf(rndf()));
		break;
	case SL_Q8_0:
		for (int b = 0; b < cols / 32; b++)
			((sl_block_q8_0 *)dst)[b].d = sl_f32_to_f16(0.001f + 0.01f * fabsf(rndf()));
		break;
	case SL_Q4_K:
		for (int b = 0; b < cols / 256; b++) {
			((sl_block_q4_K *)dst)[b].d = sl_f32_to_f16(0.001f + 0.01f * fabsf(rndf()));
			((sl_block_q4_K *)dst)[b].dmin = sl_f32_to_f16(0.001f + 0.01f * fabsf(rndf()));
		}
		break;
	case SL_Q6_K:
		for (int b = 0; b < cols / 256; b++)
			((sl_block_q6_K *)dst)[b].d = sl_f32_to_f16(0.0001f + 0.001f * fabsf(rndf()));
		break;
	case SL_Q3_K:
		for (int b = 0; b < cols / 256; b++)
			((sl_block_q3_K *)dst)[b].d = sl_f32_to_f16(0.0001f + 0.001f * fabsf(rndf()));
		break;
	case SL_Q2_K:
		for (int b = 0; b < cols / 256; b++) {
			((sl_block_q2_K *)dst)[b].d = sl_f32_to_f16(0.001f + 0.01f * fabsf(rndf()));
			((sl_block_q2_K *)dst)[b].dmin = sl_f32_to_f16(0.001f + 0.01f * fabsf(rndf()));
		}
		break;
	}
}

/* X with a spread of magnitudes per token (and an outlier now and then). */
static void random_x(float *x, int n)
{
	float scale = 0.1f + 3.f * fabsf(rndf());
	for (int i = 0; i < n; i++)
		x[i] = rndf() * scale * (rnd() % 97 == 0 ? 20.f : 1.f);
}

static int act_blck(uint32_t type)
{
	return type == SL_Q4_0 || type == SL_Q8_0 ? 32
		: type == SL_Q4_K || type == SL_Q6_K || type == SL_Q3_K || type == SL_Q2_K ? 256 : 0;
}

static const uint32_t types[] = {SL_F32, SL_F16, SL_BF16, SL_Q4_0, SL_Q8_0, SL_Q4_K, SL_Q6_K, SL_Q3_K, SL_Q2_K};
#define NTYPES (int)(sizeof(types) / sizeof(types[0]))

/*
 * Row lengths per type: odd block counts (and for Q4_0/Q8_0, counts that are and are not
 * multiples of the wasm set's groups of 4), and for floats, non-multiples of 4, 8, 16, 32.
 */
static const int *cols_for(uint32_t type, int *n)
{
	static const int fl[] = {1, 7, 8, 9, 31, 33, 100, 264};
	static const int b32[] = {32, 64, 96, 128, 160, 288, 512, 2048, 2080};
	static const int b256[] = {256, 512, 768, 2304};
	int blck = act_blck(type);
	if (blck == 0) {
		*n = (int)(sizeof(fl) / sizeof(fl[0]));
		return fl;
	}
	if (blck == 32) {
		*n = (int)(sizeof(b32) / sizeof(b32[0]));
		return b32;
	}
	*n = (int)(sizeof(b256) / sizeof(b256[0]));
	return b256;
}

/* Compare one product three ways; returns the number of failed elements. */
static int check_product(const sl_kset *simd, uint32_t type, int rows, int cols, int nt)
{
	size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
	uint8_t *W = guarded_alloc(rb * rows); /* a read past the weights faults */
	float *X = malloc(sizeof(float) * cols * nt), *w = malloc(sizeof(float) * cols);
	float *Yref = malloc(sizeof(float) * rows * nt), *Yr = malloc(sizeof(float) * rows * nt);
	float *Ys = malloc(sizeof(float) * rows * nt);
	int bad = 0, blck = act_blck(type);

	CHECK(W != NULL);
	if (!W)
		return 1;
	for (int r = 0; r < rows; r++)
		random_row(type, cols, W + r * rb);
	for (int t = 0; t < nt; t++)
		random_x(X + (size_t)t * cols, cols);
	sl_matmul_ref(type, W, rows, cols, X, nt, Yref);
	sl_matmul_kset(&sl_kset_ref, NULL, type, W, rows, cols, X, nt, Yr);
	if (simd)
		sl_matmul_kset(simd, NULL, type, W, rows, cols, X, nt, Ys);
	for (int r = 0; r < rows; r++) {
		sl_dequant_row(type, W + r * rb, w, (uint64_t)cols);
		for (int t = 0; t < nt; t++) {
			const float *x = X + (size_t)t * cols;
			double mag = 0, qerr = 0;
			for (int k = 0; k < cols; k++)
				mag += fabs((double)w[k] * x[k]);
			for (int b = 0; blck && b < cols / blck; b++) {
				double amax = 0, sw = 0;
				for (int k = b * blck; k < (b + 1) * blck; k++) {
					amax = fmax(amax, fabs(x[k]));
					sw += fabs(w[k]);
				}
				qerr += TOL_QUANT * (amax / 127) * sw;
			}
			size_t i = (size_t)t * rows + r;
			double tol = qerr + TOL_ORDER * mag + 1e-30;
			if (!(fabs(Yr[i] - Yref[i]) <= tol)) {
				if (bad++ < 3)
					fprintf(stderr, "%s ref set: rows %d cols %d nt %d [%d,%d]: %.9g vs %.9g (tol %g)\n",
						sl_type_get(type)->name, rows, cols, nt, t, r, Yr[i], Yref[i], tol);
			}
			if (simd && !(fabs(Ys[i] - Yr[i]) <= TOL_ORDER * mag + 1e-30)) {
				if (bad++ < 3)
					fprintf(stderr, "%s %s set: rows %d cols %d nt %d [%d,%d]: %.9g vs ref set %.9g\n",
						sl_type_get(type)->name, simd->name, rows, cols, nt, t, r, Ys[i], Yr[i]);
			}
		}
	}
	guarded_free(W, rb * rows);
	free(X), free(w), free(Yref), free(Yr), free(Ys);
	return bad;
}

static void test_against_reference(const sl_kset *simd)
{
	for (int ti = 0; ti < NTYPES; ti++) {
		int nc, bad = 0;
		const int *cols = cols_for(types[ti], &nc);
		for (int c = 0; c < nc; c++)
			for (int nt = 1; nt <= 17; nt++) {
				int rows = 1 + (nt * 7 + c) % 11 + (nt == 17 ? 33 : 0);
				bad += check_product(simd, types[ti], rows, cols[c], nt);
			}
		CHECK_MSG(bad == 0, "%s: %d elements out of tolerance", sl_type_get(types[ti])->name, bad);
	}
}

/*
 * Bit-identical Y for pools of 1, 2, 3 threads, and for tokens one at a time; nt tokens
 * (9: one 8-token pass of the packed path and one over; 33: four and one, and past any
 * 16-token tile).
 */
static void test_invariance_n(const sl_kset *ks, const int nt)
{
	const int rows = 101;
	sl_pool *pools[3];
	for (int i = 0; i < 3; i++) {
		pools[i] = sl_pool_new(i + 1);
		CHECK(pools[i] != NULL);
		if (!pools[i])
			return;
	}
	for (int ti = 0; ti < NTYPES; ti++) {
		uint32_t type = types[ti];
		int cols = act_blck(type) == 256 ? 512 : act_blck(type) ? 1056 : 300; /* 2 whole groups of 16 blocks + 1 */
		size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
		uint8_t *W = malloc(rb * rows);
		float *X = malloc(sizeof(float) * cols * nt);
		float *Y[3], *Y1 = malloc(sizeof(float) * rows * nt);
		for (int r = 0; r < rows; r++)
			random_row(type, cols, W + r * rb);
		for (int t = 0; t < nt; t++)
			random_x(X + (size_t)t * cols, cols);
		for (int i = 0; i < 3; i++) {
			Y[i] = malloc(sizeof(float) * rows * nt);
			sl_matmul_kset(ks, pools[i], type, W, rows, cols, X, nt, Y[i]);
		}
		for (int t = 0; t < nt; t++)
			sl_matmul_kset(ks, pools[1], type, W, rows, cols, X + (size_t)t * cols, 1, Y1 + (size_t)t * rows);
		size_t n = sizeof(float) * rows * nt;
		CHECK_MSG(memcmp(Y[0], Y[1], n) == 0 && memcmp(Y[0], Y[2], n) == 0,
			  "%s %s: results depend on the thread count", ks->name, sl_type_get(type)->name);
		CHECK_MSG(memcmp(Y[0], Y1, n) == 0,
			  "%s %s: a batch differs from its tokens one at a time", ks->name, sl_type_get(type)->name);
		/* how far ahead a token asks for its rows changes no bit (past the rows' end too) */
		const size_t dist = sl_prefetch_distance;
		for (size_t d = 0; d <= SL_PREFETCH_MAX; d += SL_PREFETCH_MAX) {
			sl_prefetch_distance = d;
			for (int t = 0; t < nt; t++)
				sl_matmul_kset(ks, pools[1], type, W, rows, cols, X + (size_t)t * cols, 1, Y[2] + (size_t)t * rows);
			CHECK_MSG(memcmp(Y[2], Y1, n) == 0, "%s %s: asking %zu bytes ahead changes a result",
				  ks->name, sl_type_get(type)->name, d);
		}
		sl_prefetch_distance = dist;
		for (int i = 0; i < 3; i++)
			free(Y[i]);
		free(W), free(X), free(Y1);
	}
	for (int i = 0; i < 3; i++)
		sl_pool_free(pools[i]);
}

static void test_invariance(const sl_kset *ks)
{
	test_invariance_n(ks, 9);
	test_invariance_n(ks, 33);
}

/*
 * Several products of one X (sl_matmul_n) give each product's own Y bit for bit, with
 * rows that put the threads' pieces and the prompt's chunks across the products' edges.
 */
static void test_matmul_n(const sl_kset *ks)
{
	static const int part_rows[3] = { 37, 200, 101 };
	sl_pool *pool = sl_pool_new(2);
	CHECK(pool != NULL);
	for (int ti = 0; pool && ti < NTYPES; ti++) {
		uint32_t type = types[ti];
		int cols = act_blck(type) == 256 ? 512 : act_blck(type) ? 1056 : 300; /* 2 whole groups of 16 blocks + 1 */
		size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
		for (int nt = 1; nt <= 9; nt += 8) {
			float *X = malloc(sizeof(float) * cols * nt);
			uint8_t *W[3];
			float *Y[3], *Yn[3];
			sl_mm_out outs[3];
			for (int t = 0; t < nt; t++)
				random_x(X + (size_t)t * cols, cols);
			for (int i = 0; i < 3; i++) {
				W[i] = malloc(rb * part_rows[i]);
				for (int r = 0; r < part_rows[i]; r++)
					random_row(type, cols, W[i] + r * rb);
				Y[i] = malloc(sizeof(float) * part_rows[i] * nt);
				Yn[i] = malloc(sizeof(float) * part_rows[i] * nt);
				sl_matmul_kset(ks, pool, type, W[i], part_rows[i], cols, X, nt, Y[i]);
				outs[i] = (sl_mm_out){ W[i], part_rows[i], Yn[i] };
			}
			sl_matmul_n_kset(ks, pool, type, outs, 3, cols, X, nt);
			for (int i = 0; i < 3; i++) {
				CHECK_MSG(memcmp(Y[i], Yn[i], sizeof(float) * part_rows[i] * nt) == 0,
					  "%s %s, %d tokens: product %d of three differs from its own sl_matmul",
					  ks->name, sl_type_get(type)->name, nt, i);
				free(W[i]), free(Y[i]), free(Yn[i]);
			}
			free(X);
		}
	}
	sl_pool_free(pool);
}

/* Two SIMD sets that differ only in how they form integer sums give identical Y. */
static void test_sets_agree(const sl_kset *a, const sl_kset *b)
{
	const int rows = 37, nt = 13;
	for (int ti = 0; ti < NTYPES; ti++) {
		uint32_t type = types[ti];
		int cols = act_blck(type) == 256 ? 768 : act_blck(type) ? 416 : 300;
		size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
		uint8_t *W = malloc(rb * rows);
		float *X = malloc(sizeof(float) * cols * nt);
		float *Ya = malloc(sizeof(float) * rows * nt), *Yb = malloc(sizeof(float) * rows * nt);
		for (int r = 0; r < rows; r++)
			random_row(type, cols, W + r * rb);
		for (int t = 0; t < nt; t++)
			random_x(X + (size_t)t * cols, cols);
		sl_matmul_kset(a, NULL, type, W, rows, cols, X, nt, Ya);
		sl_matmul_kset(b, NULL, type, W, rows, cols, X, nt, Yb);
		CHECK_MSG(memcmp(Ya, Yb, sizeof(float) * rows * nt) == 0, "%s vs %s on %s: not identical",
			  a->name, b->name, sl_type_get(type)->name);
		free(W), free(X), free(Ya), free(Yb);
	}
}

/* Hand-computed: Q8_0 row of one block, all quants 1, d = 0.5; x = 0..31. */
static void test_golden(void)
{
	sl_block_q8_0 b;
	float x[32], y;
	b.d = sl_f32_to_f16(0.5f);
	for (int i = 0; i < 32; i++) {
		b.qs[i] = 1;
		x[i] = (float)i;
	}
	/*
	 * 0.5 · Σ i = 0.5 · 496 = 248 exactly (sl_matmul_ref); sl_matmul rounds each x to a
	 * step of 31/127, so it may be off by 32 · 0.5 · (half a step).
	 */
	sl_matmul(NULL, SL_Q8_0, &b, 1, 32, x, 1, &y);
	CHECK_NEAR(y, 248.0, 0.5 * 0.5 * 32 * (31.0 / 127) * TOL_QUANT);
	sl_matmul_ref(SL_Q8_0, &b, 1, 32, x, 1, &y);
	CHECK_NEAR(y, 248.0, 0);
}

static void test_unsupported(void)
{
	uint8_t w[20] = {0};
	float x[32] = {0}, y = 0;
	sl_matmul(NULL, SL_Q4_1, w, 1, 32, x, 1, &y);
	CHECK(isnan(y));
	sl_matmul(NULL, SL_Q8_0, w, 1, 31, x, 1, &y); /* not a whole block */
	CHECK(isnan(y));
}

/*
 * Half-precision rows: every one of the 65536 halves to float, bit for bit against the
 * reference; floats to half on random values of every magnitude (normal, subnormal, over-
 * and underflowing) and the ties, equal to sl_f32_to_f16 except that a NaN need only stay
 * a NaN.  Lengths 0-17 cover the SIMD tails.
 */
static void test_f16_rows(const sl_kset *ks)
{
	static sl_f16 h[65536], h2[65536];
	static float f[65536], f2[65536];
	int bad = 0;

	for (int i = 0; i < 65536; i++)
		h[i] = (sl_f16)i;
	ks->f16_to_f32(h, f, 65536);
	for (int i = 0; i < 65536; i++) {
		float r = sl_f16_to_f32(h[i]);
		bad += isnan(r) ? !isnan(f[i]) : memcmp(&r, &f[i], 4) != 0;
	}
	CHECK_MSG(bad == 0, "%s: %d halves convert differently", ks->name, bad);

	for (int i = 0; i < 65536; i++) {
		uint32_t u = rnd() << 16 ^ rnd();
		if (i % 4 == 0) /* exponents in and around the half range */
			u = (u & 0x807fffffu) | (uint32_t)(101 + rnd() % 45) << 23;
		if (i % 8 == 1) /* exact ties between two halves */
			u &= ~0xfffu, u |= 0x1000u;
		memcpy(&f2[i], &u, 4);
	}
	f2[0] = 65520.f; /* rounds to inf */
	f2[1] = 65519.f; /* rounds to 65504 */
	f2[2] = 0x1p-25f; /* tie with zero: stays 0 */
	f2[3] = 0x1.8p-25f; /* above the tie: smallest subnormal */
	ks->f32_to_f16(f2, h2, 65536);
	bad = 0;
	for (int i = 0; i < 65536; i++) {
		sl_f16 r = sl_f32_to_f16(f2[i]);
		bad += isnan(f2[i]) ? (h2[i] & 0x7fff) <= 0x7c00 : h2[i] != r;
	}
	CHECK_MSG(bad == 0, "%s: %d floats round to a different half", ks->name, bad);

	for (size_t n = 0; n <= 17; n++) {
		sl_f16 out[18] = {0};
		float back[18] = {0};
		ks->f32_to_f16(f2 + 100, out, n);
		ks->f16_to_f32(out, back, n);
		CHECK(out[n] == 0 && back[n] == 0); /* nothing past n written */
		for (size_t i = 0; i < n; i++)
			CHECK(out[i] == sl_f32_to_f16(f2[100 + i]) || isnan(f2[100 + i]));
	}
}

/* Distance in units in the last place between two floats of the same sign (or both 0). */
static long ulps(float a, float b)
{
	int32_t ia, ib;
	memcpy(&ia, &a, 4);
	memcpy(&ib, &b, 4);
	if ((ia < 0) != (ib < 0))
		return a == b ? 0 : 1L << 30;
	return labs((long)ia - (long)ib);
}

/*
 * A set's SiLU(g)·u against the reference expression with expf, within 4 ulp (its
 * exponential differs from libm's by an ulp or so, and 1 + e, the quotient and the product
 * round after it): a sweep over [−100, 100], random
 * values, ±0, ±inf, NaN, values past e^x's float range; every length 0..17 for the tails,
 * nothing written past n.
 */
static void test_silu(const sl_kset *ks)
{
	enum { N = 4096 };
	static float g[N + 1], u[N], want[N];
	long worst = 0;
	int bad = 0;

	if (!ks->silu_mul)
		return;
	for (int i = 0; i < N; i++) {
		g[i] = i < 2000 ? -100.f + 0.1f * (float)i : 20.f * rndf();
		u[i] = i % 7 == 0 ? 1.f : 3.f * rndf();
	}
	g[2000] = 0.f, g[2001] = -0.f, g[2002] = INFINITY, g[2003] = -INFINITY, g[2004] = NAN;
	g[2005] = 1e30f, g[2006] = -1e30f, g[2007] = 88.8f, g[2008] = -88.8f, g[2009] = -104.f;
	for (int i = 0; i < N; i++)
		want[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
	g[N] = 12345.f;
	ks->silu_mul(g, u, N);
	for (int i = 0; i < N; i++) {
		if (isnan(want[i]) || isnan(g[i])) {
			bad += isnan(want[i]) != isnan(g[i]);
			continue;
		}
		long d = fabsf(want[i]) < 1e-30f ? (fabsf(g[i]) < 1e-30f ? 0 : 1L << 30) : ulps(want[i], g[i]);
		if (d > worst)
			worst = d;
		bad += d > 4;
	}
	CHECK_MSG(bad == 0 && g[N] == 12345.f, "%s: SiLU off by up to %ld ulp in %d values", ks->name, worst, bad);
	for (size_t n = 0; n <= 17; n++) {
		float a[18], b[18];
		for (int i = 0; i < 18; i++)
			a[i] = b[i] = 0.5f * (float)i - 3.f;
		ks->silu_mul(a, b, n);
		for (size_t i = 0; i < 18; i++) {
			float w = b[i] / (1.0f + expf(-b[i])) * b[i];
			CHECK(i < n ? ulps(a[i], w) <= 4 : a[i] == b[i]);
		}
	}
}

/*
 * A set's softmax of scaled scores against double arithmetic: within 1e-6 relative (8 ulp;
 * 1e-9 absolute for the smallest weights) for every length 1..100 (the tails), scores up
 * to ±40 after scaling, nothing written past n.
 */
static void test_softmax(const sl_kset *ks)
{
	float row[101];
	double want[100];
	int bad = 0, odd = 0;

	if (!ks->softmax)
		return;
	for (int n = 1; n <= 100; n++) {
		const float scale = 0.125f;
		double max = -INFINITY, sum = 0;
		for (int i = 0; i < n; i++)
			row[i] = 320.f * rndf();
		row[n] = 99.f;
		for (int i = 0; i < n; i++)
			if ((double)row[i] * scale > max)
				max = (double)row[i] * scale;
		for (int i = 0; i < n; i++)
			sum += want[i] = exp((double)row[i] * scale - max);
		ks->softmax(row, n, scale);
		for (int i = 0; i < n; i++)
			bad += fabs(row[i] - want[i] / sum) > 1e-6 * want[i] / sum + 1e-9;
		odd += row[n] != 99.f;
	}
	CHECK_MSG(bad == 0 && odd == 0, "%s: softmax off in %d weights, %d written past n", ks->name, bad, odd);
}

/* SL_PREFETCH_AHEAD: whole numbers of bytes up to SL_PREFETCH_MAX, nothing else. */
static void test_prefetch_parse(void)
{
	static const struct { const char *s; long want; } cases[] = {
		{ "0", 0 }, { "2048", 2048 }, { "1048576", 1048576 }, { "007", 7 },
		{ "1048577", -1 }, { "-1", -1 }, { "+5", -1 }, { " 5", -1 }, { "5 ", -1 },
		{ "2k", -1 }, { "", -1 }, { "99999999999999999999999", -1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		CHECK_MSG(sl_kernels_prefetch_parse(cases[i].s) == cases[i].want, "SL_PREFETCH_AHEAD=\"%s\"",
			  cases[i].s);
	CHECK(sl_kernels_prefetch_parse(NULL) == -1);
	const long env = sl_kernels_prefetch_parse(getenv("SL_PREFETCH_AHEAD"));
	CHECK(sl_kernels_prefetch() == (env >= 0 ? env : SL_PREFETCH_DEFAULT));
}

/*
 * The tuner alternates 8192 and 2048 for 2 × SL_TUNE_ROUNDS passes and keeps the faster by
 * median (one slow outlier does not decide), then leaves the distance alone; it does
 * nothing where SL_PREFETCH_AHEAD fixed it or the set in use does not ask ahead.
 */
static void test_prefetch_tuner(void)
{
	const size_t dist = sl_prefetch_distance;
	const int active = sl_kset_get()->asks_ahead && sl_kernels_prefetch_parse(getenv("SL_PREFETCH_AHEAD")) < 0;
	for (int faster = 0; faster < 2; faster++) {
		sl_prefetch_tuner t = { 0 };
		sl_prefetch_distance = 12345;
		for (int i = 0; i < 2 * SL_TUNE_ROUNDS; i++) {
			CHECK(sl_prefetch_tune_before_pass(&t) == active);
			const long d = sl_kernels_prefetch();
			CHECK_MSG(d == (active ? (i % 2 ? 2048 : 8192) : 12345), "pass %d asks %ld ahead", i, d);
			/* the faster distance's passes take 1 s but its first 9 s, the other's 2 s */
			const int is_faster = (i % 2) == faster;
			sl_prefetch_tune_after_pass(&t, i == faster ? 9.0 : is_faster ? 1.0 : 2.0);
		}
		CHECK_MSG(sl_kernels_prefetch() == (active ? (faster ? 2048 : 8192) : 12345),
			  "kept %ld with %s faster", sl_kernels_prefetch(), faster ? "2048" : "8192");
		sl_prefetch_distance = 777;
		CHECK_MSG(sl_prefetch_tune_before_pass(&t) == 0, "a tuner that is done asks for a timing");
		sl_prefetch_tune_after_pass(&t, 0.1);
		CHECK_MSG(sl_kernels_prefetch() == 777, "a tuner that is done moved the distance");
	}
	sl_prefetch_distance = dist;
}

/*
 * A set's C = A·B with B's rows along j (sl_gemm_f32_nn): against double sums (TOL_ORDER of
 * Σ|a·b|), the same bits as the chain c = c + a·b in k order in every column (whole vectors
 * and the last, partial one alike: a position's score must not depend on how many follow
 * it), the same bits for each row computed alone, and nothing written outside C.
 */
static void test_gemm_nn(const sl_kset *ks)
{
	enum { M = 7, K = 70, N = 77, LDA = 71, LDB = 80, LDC = 81 };
	static float A[M * LDA], B[K * LDB], C[M * LDC], C1[LDC];
	int bad = 0, odd = 0, chain = 0;

	for (int i = 0; i < M * LDA; i++)
		A[i] = rndf();
	for (int i = 0; i < K * LDB; i++)
		B[i] = rndf();
	for (int n = 1; n <= N; n += n < 20 ? 1 : 19) {
		for (int i = 0; i < M * LDC; i++)
			C[i] = 7.f;
		ks->gemm_nn(M, n, K, A, LDA, B, LDB, C, LDC);
		for (int t = 0; t < M; t++) {
			for (int j = 0; j < LDC; j++) {
				if (j >= n) {
					odd += C[t * LDC + j] != 7.f;
					continue;
				}
				double want = 0, mag = 0;
				float c = 0;
				for (int k = 0; k < K; k++) {
					want += (double)A[t * LDA + k] * B[k * LDB + j];
					mag += fabs((double)A[t * LDA + k] * B[k * LDB + j]);
					c = c + A[t * LDA + k] * B[k * LDB + j];
				}
				bad += fabs(C[t * LDC + j] - want) > TOL_ORDER * mag;
				chain += C[t * LDC + j] != c;
			}
			ks->gemm_nn(1, n, K, A + t * LDA, LDA, B, LDB, C1, LDC);
			odd += memcmp(C1, C + t * LDC, sizeof(float) * (size_t)n) != 0;
		}
	}
	CHECK_MSG(bad == 0, "%s: gemm_nn off in %d values", ks->name, bad);
	CHECK_MSG(chain == 0, "%s: gemm_nn not the k-order chain in %d values", ks->name, chain);
	CHECK_MSG(odd == 0, "%s: gemm_nn wrote outside C or a row alone differs (%d)", ks->name, odd);
}

/*
 * A set's C = A·B with B in half precision (sl_gemm_f16_nn): bit for bit its gemm_nn on B
 * converted, for 1..7 rows and widths across the vector and tile boundaries, nothing
 * written outside C, and B read only within its k rows and n columns (NaN halves past them).
 */
static void test_gemm_f16_nn(const sl_kset *ks)
{
	enum { M = 7, K = 70, N = 77, LDA = 71, LDB = 80, LDC = 81 };
	static float A[M * LDA], Bf[(K + 1) * LDB], C[M * LDC], Cf[M * LDC];
	static sl_f16 B[(K + 1) * LDB];
	int bad = 0, odd = 0;

	if (!ks->gemm_f16_nn)
		return;
	for (int i = 0; i < M * LDA; i++)
		A[i] = rndf();
	for (int m = 1; m <= M; m++)
		for (int n = 1; n <= N; n += n < 20 ? 1 : 19) {
			for (int i = 0; i < (K + 1) * LDB; i++) {
				int inside = i / LDB < K && i % LDB < n;
				B[i] = inside ? sl_f32_to_f16(rndf()) : (sl_f16)0x7e01; /* NaN outside */
				Bf[i] = inside ? sl_f16_to_f32(B[i]) : 0; /* a NaN read shows in C */
			}
			for (int i = 0; i < M * LDC; i++)
				C[i] = Cf[i] = 7.f;
			ks->gemm_f16_nn(m, n, K, A, LDA, B, LDB, C, LDC);
			ks->gemm_nn(m, n, K, A, LDA, Bf, LDB, Cf, LDC);
			bad += memcmp(C, Cf, sizeof C) != 0;
			for (int i = 0; i < M * LDC; i++)
				odd += (i / LDC >= m || i % LDC >= n) && C[i] != 7.f;
		}
	CHECK_MSG(bad == 0, "%s: gemm_f16_nn differs from gemm_nn on B converted (%d shapes)", ks->name, bad);
	CHECK_MSG(odd == 0, "%s: gemm_f16_nn wrote outside C (%d)", ks->name, odd);
}

/* sl_f16_to_f32_rows: 3 rows of 5 out of rows of 7, into rows of 6; the gaps untouched. */
static void test_f16_strided(void)
{
	sl_f16 src[21];
	float dst[18];
	int bad = 0;

	for (int i = 0; i < 21; i++)
		src[i] = sl_f32_to_f16((float)i);
	for (int i = 0; i < 18; i++)
		dst[i] = -1;
	sl_f16_to_f32_rows(src, 7, dst, 6, 3, 5);
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 6; i++)
			bad += dst[6 * r + i] != (i < 5 ? (float)(7 * r + i) : -1.f);
	CHECK(bad == 0);
}

int main(void)
{
	const sl_kset *const *all = sl_kset_all();
	const char *e = getenv("SL_KERNELS");

	/* SL_KERNELS names the set in use if this CPU has it; otherwise the best is used */
	const char *want = all[0]->name;
	for (int i = 0; e && all[i]; i++)
		if (strcmp(e, all[i]->name) == 0)
			want = e;
	CHECK(strcmp(sl_kernels_name(), want) == 0);
	fprintf(stderr, "test_kernels: in use: %s (SL_KERNELS %s)\n", sl_kernels_name(), e ? e : "unset");
	test_golden();
	test_unsupported();
	test_prefetch_parse();
	test_prefetch_tuner();
	test_invariance(&sl_kset_ref);
	test_matmul_n(&sl_kset_ref);
	test_gemm_nn(&sl_kset_ref);
	test_gemm_f16_nn(&sl_kset_ref);
	test_silu(&sl_kset_ref);
	test_softmax(&sl_kset_ref);
	test_f16_rows(&sl_kset_ref);
	test_f16_strided();
	for (int i = 0; all[i] != &sl_kset_ref; i++) {
		fprintf(stderr, "test_kernels: %s vs ref\n", all[i]->name);
		test_against_reference(all[i]);
		test_invariance(all[i]);
		test_matmul_n(all[i]);
		test_f16_rows(all[i]);
		test_silu(all[i]);
		test_gemm_nn(all[i]);
		test_gemm_f16_nn(all[i]);
		test_softmax(all[i]);
	}
	/* avx2 and avx2-vnni differ only in how they form the same integer sums */
	const sl_kset *avx2 = NULL, *vnni = NULL;
	for (int i = 0; all[i]; i++) {
		if (strcmp(all[i]->name, "avx2") == 0)
			avx2 = all[i];
		if (strcmp(all[i]->name, "avx2-vnni") == 0)
			vnni = all[i];
	}
	if (avx2 && vnni)
		test_sets_agree(vnni, avx2);
	if (all[0] == &sl_kset_ref) {
		fprintf(stderr, "test_kernels: no SIMD kernel set on this CPU; ref only\n");
		test_against_reference(NULL);
	}
	return CHECK_DONE();
}
