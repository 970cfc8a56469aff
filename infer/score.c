/*
 * score.c — sl-infer --score: each id's log-probability (a scored stream, sl-tokens(5)) and
 * the perplexity; with --kld-base / --kld, the comparison with a base model (sl-kld(5)).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "sl_cli.h"
#include "sl_kld.h"

/* --score: every id's log-probability, in windows of the context; --kld-base / --kld. */
typedef struct {
	const run *r;
	double nll, base_nll, kld_sum;
	size_t n, same_top;
	sl_kld_writer *kw;
	sl_kld_reader *kr;
	double *kld;             /* [n] for the percentiles */
	size_t cap;
} score_sum;

static void on_score(void *ctx, size_t t, int32_t id, double lp, const float *row, int vocab)
{
	score_sum *ss = ctx;
	sl_kld_pos k;

	(void)t, (void)vocab;
	ss->nll -= lp;
	ss->n++;
	if (printf("%d\t%.6f\n", id, lp) < 0)
		sl_die("stdout: %s", strerror(errno));
	if (ss->kw && sl_kld_put(ss->kw, id, row))
		sl_die_lib();
	if (!ss->kr)
		return;
	int rc = sl_kld_next(ss->kr, id, row, &k);
	if (rc < 0)
		sl_die_lib();
	if (rc == 0)
		sl_die("%s: the base scored fewer ids than this text has (%zu)", ss->r->o.kld, ss->n);
	if (ss->n > ss->cap) {
		ss->cap = ss->cap ? 2 * ss->cap : 4096;
		if (!(ss->kld = realloc(ss->kld, ss->cap * sizeof *ss->kld)))
			sl_die("out of memory");
	}
	ss->kld[ss->n - 1] = k.kld;
	ss->kld_sum += k.kld;
	ss->same_top += (size_t)k.same_top;
	ss->base_nll -= k.base_lp;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void kld_summary(score_sum *ss)
{
	size_t n = ss->n;
	double ppl = exp(ss->nll / (double)n), base = exp(ss->base_nll / (double)n);

	if (!sl_kld_at_end(ss->kr))
		sl_die("%s: the base scored more ids than this text has (%zu)", ss->r->o.kld, n);
	qsort(ss->kld, n, sizeof *ss->kld, cmp_double);
#define PCT(p) ss->kld[(size_t)((p) * (double)(n - 1) + 0.5)]
	sl_warn("KL divergence from %s: mean %.6f, median %.6f, p90 %.6f, p99 %.6f, max %.6f; "
		"same most likely id %.2f%%; perplexity %.4f, base %.4f (%+.2f%%)", ss->r->o.kld,
		ss->kld_sum / (double)n, PCT(0.5), PCT(0.9), PCT(0.99), ss->kld[n - 1],
		100.0 * (double)ss->same_top / (double)n, ppl, base, 100.0 * (ppl / base - 1));
#undef PCT
}

void score(run *r)
{
	score_sum ss = { .r = r };
	int vocab = r->m->cfg.n_vocab;

	if (r->o.kld_base && !(ss.kw = sl_kld_create(r->o.kld_base, vocab)))
		sl_die_lib();
	if (ss.kw)
		sl_out_remove_on_failure(r->o.kld_base);
	if (r->o.kld && !(ss.kr = sl_kld_open(r->o.kld, vocab)))
		sl_die_lib();
	if (sl_score_windows(r->ss, r->prompt, r->n_prompt, r->n_ctx, on_score, &ss))
		sl_die("%s: %s", r->in_name, sl_error());
	if (ss.kw && sl_kld_close(ss.kw))
		sl_die_lib();
	if (!r->o.quiet)
		sl_warn("scored %zu ids in windows of %d: mean NLL %.6f, perplexity %.4f", ss.n, r->n_ctx,
			ss.nll / (double)ss.n, exp(ss.nll / (double)ss.n));
	if (ss.kr)
		kld_summary(&ss);
	sl_kld_free(ss.kr);
	free(ss.kld);
}

