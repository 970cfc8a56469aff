/*
 * test_sample — the sampler's semantics (sl_sample.h) on known distributions.
 *
 * Exact checks use sl_sample_dist() (the distribution a draw comes from); statistical
 * checks draw 100,000 ids with a fixed seed and compare each id's frequency with the
 * expected, truncated and renormalized, probability within 5 standard deviations
 * (sqrt(p(1-p)/n)), so a correct sampler fails with probability well under 1e-5.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_sample.h"

#define DRAWS 100000

/* Logits whose softmax is exactly p (up to float rounding). */
static void logits_of(const double *p, int n, float *l)
{
	for (int i = 0; i < n; i++)
		l[i] = (float)log(p[i]);
}

/* Check sl_sample_dist against want[] and the frequencies of DRAWS samples. */
static void check_sampler(const char *what, const double *p, int n, sl_sample_params sp,
			  const double *want)
{
	float l[64], probs[64];
	int count[64] = {0};
	sl_sampler *s = sl_sampler_new(n, &sp, 1234);

	CHECK_MSG(s != NULL, "%s", what);
	if (!s)
		return;
	logits_of(p, n, l);
	sl_sample_dist(s, l, NULL, 0, probs);
	for (int i = 0; i < n; i++)
		CHECK_MSG(fabs(probs[i] - want[i]) < 1e-5, "%s: dist[%d] = %g, want %g", what, i,
			  (double)probs[i], want[i]);
	int out_of_range = 0;
	for (int k = 0; k < DRAWS; k++) {
		logits_of(p, n, l);
		int id = sl_sample(s, l, NULL, 0);
		if (id >= 0 && id < n)
			count[id]++;
		else
			out_of_range++;
	}
	CHECK_MSG(out_of_range == 0, "%s: %d ids out of range", what, out_of_range);
	for (int i = 0; i < n; i++) {
		double f = (double)count[i] / DRAWS, sd = sqrt(want[i] * (1 - want[i]) / DRAWS);
		CHECK_MSG(fabs(f - want[i]) <= 5 * sd + 1e-12, "%s: id %d frequency %.5f, want %.5f",
			  what, i, f, want[i]);
	}
	sl_sampler_free(s);
}

static void renorm(double *w, int n)
{
	double t = 0;

	for (int i = 0; i < n; i++)
		t += w[i];
	for (int i = 0; i < n; i++)
		w[i] /= t;
}

static void test_rng(void)
{
	sl_rng r, r2;

	/* Golden: splitmix64 seeding + xoshiro256** as published, computed in Python. */
	sl_rng_seed(&r, 42);
	CHECK(sl_rng_next(&r) == 0x15780b2e0c2ec716ull);
	CHECK(sl_rng_next(&r) == 0x6104d9866d113a7eull);
	CHECK(sl_rng_next(&r) == 0xae17533239e499a1ull);
	sl_rng_seed(&r, 7);
	sl_rng_seed(&r2, 7);
	double lo = 1, hi = 0, sum = 0;
	int differ = 0;
	for (int i = 0; i < DRAWS; i++) {
		double u = sl_rng_uniform(&r);
		differ += u != sl_rng_uniform(&r2);
		if (u < lo) lo = u;
		if (u > hi) hi = u;
		sum += u;
	}
	CHECK_MSG(differ == 0, "same seed, same stream");
	CHECK(lo >= 0 && hi < 1);
	CHECK_NEAR(sum / DRAWS, 0.5, 5 * sqrt(1.0 / 12 / DRAWS));
}

static const double P6[6] = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};

static void test_semantics(void)
{
	sl_sample_params sp;
	double w[6];

	/* Plain temperature 1: the model's own distribution. */
	sp = (sl_sample_params){ .temp = 1, .top_k = 0, .top_p = 1, .min_p = 0, .repeat_penalty = 1 };
	check_sampler("temp 1", P6, 6, sp, P6);

	/* Temperature 2: p^(1/2), renormalized. */
	sp.temp = 2;
	for (int i = 0; i < 6; i++)
		w[i] = sqrt(P6[i]);
	renorm(w, 6);
	check_sampler("temp 2", P6, 6, sp, w);

	/* Temperature 0.5: p^2, renormalized. */
	sp.temp = 0.5f;
	for (int i = 0; i < 6; i++)
		w[i] = P6[i] * P6[i];
	renorm(w, 6);
	check_sampler("temp 0.5", P6, 6, sp, w);

	/* top-k 3: the three most likely, renormalized. */
	sp.temp = 1;
	sp.top_k = 3;
	memset(w, 0, sizeof w);
	w[0] = 0.4 / 0.8; w[1] = 0.25 / 0.8; w[2] = 0.15 / 0.8;
	check_sampler("top-k 3", P6, 6, sp, w);

	/* top-p 0.7: mass before id 2 is 0.65 < 0.7, so id 2 (which crosses 0.7) stays. */
	sp.top_k = 0;
	sp.top_p = 0.7f;
	check_sampler("top-p 0.7", P6, 6, sp, w);

	/* top-p 0.6: 0.4 < 0.6 keeps id 1; mass before id 2 is 0.65: cut. */
	sp.top_p = 0.6f;
	memset(w, 0, sizeof w);
	w[0] = 0.4 / 0.65; w[1] = 0.25 / 0.65;
	check_sampler("top-p 0.6", P6, 6, sp, w);

	/* min-p 0.3: floor 0.12 keeps 0.4, 0.25, 0.15. */
	sp.top_p = 1;
	sp.min_p = 0.3f;
	memset(w, 0, sizeof w);
	w[0] = 0.4 / 0.8; w[1] = 0.25 / 0.8; w[2] = 0.15 / 0.8;
	check_sampler("min-p 0.3", P6, 6, sp, w);

	/* top-k 4 then top-p 0.8 on the renormalized four (HF order): 0.444 0.278 | 0.167 0.111;
	 * mass before id 2 is 0.722 < 0.8 (kept), before id 3 is 0.889 (cut). */
	sp.min_p = 0;
	sp.top_k = 4;
	sp.top_p = 0.8f;
	memset(w, 0, sizeof w);
	w[0] = 0.4 / 0.8; w[1] = 0.25 / 0.8; w[2] = 0.15 / 0.8;
	check_sampler("top-k 4 + top-p 0.8", P6, 6, sp, w);

	/* top-k 1 is greedy at any temperature. */
	sp = (sl_sample_params){ .temp = 5, .top_k = 1, .top_p = 1, .min_p = 0, .repeat_penalty = 1 };
	memset(w, 0, sizeof w);
	w[0] = 1;
	check_sampler("top-k 1", P6, 6, sp, w);
}

static void test_greedy_and_penalty(void)
{
	sl_sample_params sp = sl_sample_defaults();
	float l[5] = {1, 3, 3, -2, 0.5f}, probs[5];
	int32_t hist[3] = {0, 3, 3};
	sl_sampler *s;

	sp.temp = 0;
	s = sl_sampler_new(5, &sp, 1);
	CHECK(sl_sample(s, l, NULL, 0) == 1);      /* tie between 1 and 2: the lower id */
	CHECK(sl_argmax(l, 5) == 1);
	sl_sampler_free(s);

	/* HF RepetitionPenaltyLogitsProcessor, penalty 2: positive logits halve, negative
	 * double, each id in the history once (id 3 appears twice, penalized once). */
	sp = (sl_sample_params){ .temp = 1, .top_k = 0, .top_p = 1, .min_p = 0, .repeat_penalty = 2 };
	s = sl_sampler_new(5, &sp, 1);
	float pen[5] = {0.5f, 3, 3, -4, 0.5f};
	double z = 0;
	for (int i = 0; i < 5; i++)
		z += exp(pen[i]);
	sl_sample_dist(s, l, hist, 3, probs);
	CHECK_NEAR(l[0], 0.5, 1e-7);
	CHECK_NEAR(l[3], -4, 1e-7);
	CHECK_NEAR(l[1], 3, 0);
	for (int i = 0; i < 5; i++)
		CHECK_NEAR(probs[i], exp(pen[i]) / z, 1e-6);
	sl_sampler_free(s);

	/* With the penalty, greedy can change its mind: 2.0 vs 2.5/2 = 1.25. */
	sp.temp = 0;
	s = sl_sampler_new(3, &sp, 1);
	float g[3] = {2.5f, 2.0f, -1};
	int32_t h1[1] = {0};
	CHECK(sl_sample(s, g, h1, 1) == 1);
	sl_sampler_free(s);

	sp = sl_sample_defaults();
	sp.temp = -1;
	CHECK(sl_sampler_new(5, &sp, 1) == NULL);
	sp = sl_sample_defaults();
	sp.top_p = 0;
	CHECK(sl_sampler_new(5, &sp, 1) == NULL);
}

/* Same seed, same ids; another seed, other ids. */
static void test_reproducible(void)
{
	sl_sample_params sp = sl_sample_defaults();
	enum { N = 200, V = 50 };
	float base[V], l[V];
	int32_t a[N], b[N], c[N];
	sl_rng r;

	sl_rng_seed(&r, 3);
	for (int i = 0; i < V; i++)
		base[i] = (float)(sl_rng_uniform(&r) * 4);
	for (int run = 0; run < 3; run++) {
		sl_sampler *s = sl_sampler_new(V, &sp, run == 2 ? 100 : 99);
		int32_t *out = run == 0 ? a : run == 1 ? b : c;
		for (int i = 0; i < N; i++) {
			memcpy(l, base, sizeof l);
			out[i] = sl_sample(s, l, NULL, 0);
		}
		sl_sampler_free(s);
	}
	CHECK(memcmp(a, b, sizeof a) == 0);
	CHECK(memcmp(a, c, sizeof a) != 0);
}

static int cmp_desc(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? 1 : a > b ? -1 : 0;
}

/* A larger vocabulary exercises the top-p pre-filter, the growing nucleus search and the
 * top-k heap: compare with a brute-force sort of the whole distribution.  spread: logits
 * are U(0, spread), so a small spread makes the nucleus hold most of the vocabulary. */
static void test_large_vocab(double spread, float top_p)
{
	enum { V = 3000 };
	static float l[V], probs[V];
	static double p[V], sorted[V];
	sl_rng r;
	double z = 0;

	sl_rng_seed(&r, 11);
	for (int i = 0; i < V; i++) {
		l[i] = (float)(sl_rng_uniform(&r) * spread);
		z += exp(l[i]);
	}
	for (int i = 0; i < V; i++)
		p[i] = exp(l[i]) / z;
	memcpy(sorted, p, sizeof p);
	qsort(sorted, V, sizeof *sorted, cmp_desc);

	for (int mode = 0; mode < 2; mode++) {
		sl_sample_params sp = { .temp = 1, .top_k = mode ? 100 : 0, .top_p = top_p, .min_p = 0,
					.repeat_penalty = 1 };
		/* Brute force: top-k prefix, renormalize, nucleus of top_p. */
		int k = mode ? 100 : V, keep = 0;
		double tot = 0, before = 0;
		for (int i = 0; i < k; i++)
			tot += sorted[i];
		while (keep < k && (keep == 0 || before < (double)top_p * tot))
			before += sorted[keep++];
		double thresh = sorted[keep - 1];
		sl_sampler *s = sl_sampler_new(V, &sp, 5);
		float lc[V];
		memcpy(lc, l, sizeof lc);
		sl_sample_dist(s, lc, NULL, 0, probs);
		int kept = 0, wrong = 0;
		for (int i = 0; i < V; i++) {
			if (probs[i] > 0) {
				kept++;
				if (p[i] < thresh || fabs(probs[i] - p[i] / before) > 1e-5)
					wrong++;
			}
		}
		CHECK_MSG(kept == keep && wrong == 0, "spread %g top-p %g mode %d: kept %d want %d, %d wrong",
			  spread, (double)top_p, mode, kept, keep, wrong);
		/* top-n (raw softmax) lists the most likely first. */
		int32_t ids[5];
		float pr[5];
		sl_sampler_top_n(s, l, 5, ids, pr);
		for (int i = 0; i < 5; i++)
			CHECK_NEAR(pr[i], sorted[i], 1e-6);
		CHECK(p[ids[0]] == sorted[0]);
		sl_sampler_free(s);
	}
}

int main(void)
{
	test_rng();
	test_semantics();
	test_greedy_and_penalty();
	test_reproducible();
	test_large_vocab(40, 0.5f);   /* a nucleus of ~50 ids: found among the best 64 */
	test_large_vocab(8, 0.5f);    /* ~260 ids: among the best 512 */
	test_large_vocab(0.1, 0.9f);  /* nearly flat, ~2700 ids: the full sort */
	return CHECK_DONE();
}
