/*
 * test_kld — sl_kld: the KL divergence over the base's top ids plus the rest against the full
 * one computed here (equal when the top is the whole vocabulary, a lower bound otherwise),
 * the file written and read back, and its errors (another text, a truncated file, another
 * vocabulary, not a file of this kind).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sl_err.h"
#include "sl_kld.h"
#include "sl_sample.h"

static void logsoftmax(const float *row, int n, double *out)
{
	double max = -INFINITY, sum = 0;

	for (int i = 0; i < n; i++)
		if (row[i] > max)
			max = row[i];
	for (int i = 0; i < n; i++)
		sum += exp(row[i] - max);
	for (int i = 0; i < n; i++)
		out[i] = row[i] - max - log(sum);
}

static void random_row(sl_rng *r, float *row, int n, double scale)
{
	for (int i = 0; i < n; i++)
		row[i] = (float)((sl_rng_uniform(r) - 0.5) * scale);
}

/* full KL(P ‖ Q) of two rows of logits */
static double full_kl(const float *p, const float *q, int n)
{
	double *lp = malloc(n * sizeof *lp), *lq = malloc(n * sizeof *lq), kl = 0;

	logsoftmax(p, n, lp);
	logsoftmax(q, n, lq);
	for (int i = 0; i < n; i++)
		kl += exp(lp[i]) * (lp[i] - lq[i]);
	free(lp);
	free(lq);
	return kl;
}

static void test_file(int vocab, const char *path)
{
	enum { N = 40 };
	sl_rng r;
	float *base = malloc((size_t)N * vocab * sizeof *base), *model = malloc((size_t)N * vocab * sizeof *model);
	int32_t ids[N];
	sl_kld_writer *w = sl_kld_create(path, vocab);
	sl_kld_pos k;

	sl_rng_seed(&r, (uint64_t)vocab);
	CHECK_MSG(w != NULL, "%s", sl_error());
	for (int t = 0; t < N; t++) {
		random_row(&r, base + (size_t)t * vocab, vocab, 12);
		/* the model: the base plus noise, sometimes much noise */
		for (int i = 0; i < vocab; i++)
			model[(size_t)t * vocab + i] = base[(size_t)t * vocab + i] +
				(float)((sl_rng_uniform(&r) - 0.5) * (t % 5 == 0 ? 8 : 0.5));
		ids[t] = (int32_t)(sl_rng_next(&r) % (uint64_t)vocab);
		CHECK(sl_kld_put(w, ids[t], base + (size_t)t * vocab) == 0);
	}
	CHECK(sl_kld_close(w) == 0);

	sl_kld_reader *rd = sl_kld_open(path, vocab);
	CHECK_MSG(rd != NULL, "%s", sl_error());
	double worst = 0;
	for (int t = 0; rd && t < N; t++) {
		const float *b = base + (size_t)t * vocab, *m = model + (size_t)t * vocab;
		CHECK(sl_kld_next(rd, ids[t], m, &k) == 1);
		double want = full_kl(b, m, vocab);
		if (vocab <= SL_KLD_TOP) {
			/* the whole vocabulary is kept: the exact KL divergence (the file stores f32) */
			if (fabs(k.kld - want) > worst)
				worst = fabs(k.kld - want);
		} else {
			CHECK_MSG(k.kld <= want + 1e-6, "position %d: %g is not a lower bound of %g", t, k.kld, want);
		}
		int best = 0, mbest = 0;
		for (int i = 1; i < vocab; i++) {
			if (b[i] > b[best])
				best = i;
			if (m[i] > m[mbest])
				mbest = i;
		}
		CHECK(k.same_top == (best == mbest));
		double lb[1];
		double *l = malloc(vocab * sizeof *l);
		logsoftmax(b, vocab, l);
		lb[0] = l[ids[t]];
		CHECK_NEAR(k.base_lp, lb[0], 1e-5);
		logsoftmax(m, vocab, l);
		CHECK_NEAR(k.lp, l[ids[t]], 1e-9);
		free(l);
	}
	if (vocab <= SL_KLD_TOP)
		CHECK_MSG(worst < 1e-5, "vocab %d: max error %g against the full KL divergence", vocab, worst);
	CHECK(rd && sl_kld_next(rd, 0, model, &k) == 0 && sl_kld_at_end(rd));
	sl_kld_free(rd);

	/* another text: the ids differ at the first position */
	rd = sl_kld_open(path, vocab);
	CHECK(rd && sl_kld_next(rd, (ids[0] + 1) % vocab, model, &k) == -1);
	CHECK_MSG(strstr(sl_error(), "not the same text") != NULL, "%s", sl_error());
	sl_kld_free(rd);
	/* another vocabulary */
	CHECK(sl_kld_open(path, vocab + 1) == NULL);
	CHECK_MSG(strstr(sl_error(), "written for a vocabulary of") != NULL, "%s", sl_error());
	/* truncated: the last bytes cut */
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	CHECK(truncate(path, size / 2) == 0);
	rd = sl_kld_open(path, vocab);
	int rc = rd ? 1 : -1; /* the header may be what is cut */
	for (int t = 0; rd && t < N && rc == 1; t++)
		rc = sl_kld_next(rd, ids[t], model + (size_t)t * vocab, &k);
	CHECK_MSG(rc == -1 && strstr(sl_error(), "truncated"), "rc %d: %s", rc, sl_error());
	sl_kld_free(rd);
	free(base);
	free(model);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[256];

	snprintf(path, sizeof path, "%s/test_kld.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	test_file(50, path);    /* all ids kept: exact */
	test_file(1000, path);  /* the top 64 and the rest: a lower bound */
	/* not an sl-kld file */
	FILE *f = fopen(path, "wb");
	fputs("hello", f);
	fclose(f);
	CHECK(sl_kld_open(path, 50) == NULL);
	CHECK_MSG(strstr(sl_error(), "not an sl-kld file") != NULL, "%s", sl_error());
	unlink(path);
	return CHECK_DONE();
}
