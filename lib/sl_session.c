/*
 * sl_session — context, cache, pool and sampler around sl_forward (sl_session.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_kernels.h"
#include "sl_session.h"
#include "sl_sys.h"
#include "sl_types.h"

struct sl_session {
	const sl_model *m;
	sl_session_params p;
	int n_ctx;
	sl_state *st;
	sl_pool *pool;
	sl_sampler *smp;
	int32_t *ids;            /* the context: fed and generated ids (also the penalty history) */
	int n_ids, cap;
	int n_run;               /* ids whose keys and values are in the cache */
	int at_layer, at_n;      /* a batch of at_n ids stopped before layer at_layer (SL_E_PENDING); -1 */
	long long n_gen;
	const float *logits;     /* of the next id, once ready; NULL otherwise */
	float *scratch;          /* [vocab] logits the sampler may modify */
	/* sl_time_now() at: the first feed, the end of the last feed, the first id sampled, the
	 * end of the last next/sample; and the seconds spent feeding */
	double t_start, t_fed, t_first, t_last, feed_s;
	sl_step_times steps[2];  /* with p.step_times: of feeding (and scoring), of generating */
	sl_prefetch_tuner tune;  /* its first one-token passes choose how far ahead to ask */
};

/* A batch pays for packing each weight row once (sl_kernels_impl.h): 128 ids make that
 * small, for a few MB of activations more than 64 (bench/NOTES.md). */
#define DEFAULT_BATCH 128

sl_session_params sl_session_defaults(void)
{
	sl_session_params p;

	memset(&p, 0, sizeof p);
	p.n_batch = DEFAULT_BATCH;
	p.kv_type = SL_F16;
	p.n_predict = 256;
	p.sp = sl_sample_defaults();
	return p;
}

sl_session *sl_session_new(const sl_model *m, const sl_session_params *p)
{
	sl_session *s = calloc(1, sizeof *s);
	int n_cache;

	if (!s)
		return sl_seterr("out of memory"), NULL;
	s->m = m;
	s->p = *p;
	s->at_layer = -1;
	s->n_ctx = p->n_ctx ? p->n_ctx : m->cfg.n_ctx_train;
	if (s->n_ctx < 1 || s->n_ctx > m->cfg.n_ctx_train) {
		sl_seterr("context %d is outside the model's 1..%d", s->n_ctx, m->cfg.n_ctx_train);
		goto fail;
	}
	n_cache = p->n_cache > 0 && p->n_cache < s->n_ctx ? p->n_cache : s->n_ctx;
	if (!(s->st = sl_state_new(m, n_cache, p->n_batch > 0 ? p->n_batch : DEFAULT_BATCH, p->kv_type,
				   p->on_logits != NULL || p->all_logits)) ||
	    !(s->pool = sl_pool_new(p->threads)) ||
	    !(s->smp = sl_sampler_new(m->cfg.n_vocab, &p->sp, p->seed)))
		goto fail;
	s->st->exact = p->exact;
	s->scratch = malloc((size_t)m->cfg.n_vocab * sizeof *s->scratch);
	if (!s->scratch) {
		sl_seterr("out of memory");
		goto fail;
	}
	return s;
fail:
	sl_session_free(s);
	return NULL;
}

void sl_session_free(sl_session *s)
{
	if (!s)
		return;
	sl_state_free(s->st);
	sl_pool_free(s->pool);
	sl_sampler_free(s->smp);
	free(s->ids);
	free(s->scratch);
	free(s);
}

/* sl_forward of the batch of n ids from n_run, resumable at the layer whose weights were not
 * there yet (SL_E_PENDING). */
static const float *forward(sl_session *s, int n, int all)
{
	const sl_model *m = s->m;

	if (s->at_layer < 0) {
		if (sl_forward_embed(m, s->st, s->ids + s->n_run, n, s->n_run))
			return NULL;
		s->at_layer = 0;
		s->at_n = n;
	}
	for (; s->at_layer < m->cfg.n_layers; s->at_layer++)
		if (sl_forward_layer(m, s->st, s->pool, s->at_layer, s->at_n, s->n_run)) {
			if (sl_errcode() != SL_E_PENDING)
				s->at_layer = -1;
			return NULL;
		}
	s->at_layer = -1;
	return sl_forward_head(m, s->st, s->pool, s->at_n, all);
}

int sl_session_waiting(const sl_session *s)
{
	return s->at_layer;
}

/* What run() does with each row of logits when scoring: row predicts ids[t]. */
typedef void (*row_fn)(void *ctx, int t, const float *row);

/* Run the ids not yet in the cache, a batch at a time; with fn, hand it the row that
 * predicts each id t >= from (scoring). */
static int run_rows(sl_session *s, int from, row_fn fn, void *ctx)
{
	int vocab = s->m->cfg.n_vocab, all = s->p.on_logits != NULL || fn;

	while (s->n_run < s->n_ids) {
		int n = s->at_layer >= 0 ? s->at_n :
			s->n_ids - s->n_run < s->st->n_batch ? s->n_ids - s->n_run : s->st->n_batch;
		/* a one-token pass from its start (not one resumed), while the prefetch tuner wants it */
		const int timed = n == 1 && s->at_layer < 0 && sl_prefetch_tune_before_pass(&s->tune);
		const double t0 = timed ? sl_time_now() : 0;
		const float *l = forward(s, n, all);
		if (!l) {
			s->logits = NULL;
			return -1;
		}
		if (timed)
			sl_prefetch_tune_after_pass(&s->tune, sl_time_now() - t0);
		for (int j = 0; fn && j < n; j++) {
			int t = s->n_run + j + 1; /* the row of position t-1 predicts id t */
			if (t >= from && t < s->n_ids)
				fn(ctx, t, l + (size_t)j * vocab);
		}
		if (s->p.on_logits)
			s->p.on_logits(s->p.ctx, l, n, vocab);
		if (all)
			l += (size_t)(n - 1) * vocab;
		s->n_run += n;
		s->logits = l;
	}
	return 0;
}

static int run(sl_session *s)
{
	return run_rows(s, 0, NULL, NULL);
}

/* The passes from here on count as feeding (0) or generating (1) in the step times. */
static void count_steps_in(sl_session *s, int which)
{
	s->st->times = s->p.step_times ? &s->steps[which] : NULL;
}

static int append(sl_session *s, const int32_t *ids, int n)
{
	if (n > s->n_ctx - s->n_ids)
		return sl_seterr("%d more ids do not fit in the context (%d of %d used)", n, s->n_ids,
				 s->n_ctx);
	if (s->n_ids + n > s->cap) {
		int cap = s->cap ? s->cap : 256;
		while (cap < s->n_ids + n)
			cap = cap > s->n_ctx / 2 ? s->n_ctx : cap * 2;
		int32_t *p = realloc(s->ids, (size_t)cap * sizeof *p);
		if (!p)
			return sl_seterr("out of memory");
		s->ids = p;
		s->cap = cap;
	}
	memcpy(s->ids + s->n_ids, ids, (size_t)n * sizeof *ids);
	s->n_ids += n;
	return 0;
}

int sl_session_feed(sl_session *s, const int32_t *ids, int n)
{
	double t0 = sl_time_now();
	int rc;

	for (int i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= s->m->cfg.n_vocab)
			return sl_seterr("id %d is outside the vocabulary (%d)", ids[i], s->m->cfg.n_vocab);
	if (n < 0 || append(s, ids, n))
		return -1;
	if (!s->t_start)
		s->t_start = t0;
	count_steps_in(s, 0);
	rc = run(s);
	s->t_fed = s->t_last = sl_time_now();
	s->feed_s += s->t_fed - t0;
	return rc;
}

int sl_session_start(sl_session *s, const int32_t *ids, int n)
{
	int32_t bos = s->m->cfg.bos;

	if (n > 0)
		return sl_session_feed(s, ids, n);
	if (bos < 0)
		return sl_seterr("empty prompt, and the model has no BOS id to start from");
	return sl_session_feed(s, &bos, 1);
}

void sl_session_reset(sl_session *s)
{
	s->n_ids = s->n_run = 0;
	s->n_gen = 0;
	s->at_layer = -1;
	s->logits = NULL;
}

/* Reset, then run ids[0..n) handing fn the rows that predict ids[from..n). */
static int score_rows(sl_session *s, const int32_t *ids, int n, int from, row_fn fn, void *ctx)
{
	double t0 = sl_time_now();
	int rc;

	if (s->st->logits_rows < s->st->n_batch)
		return sl_seterr("scoring needs a session made with all_logits");
	if (from < 1 || from > n)
		return sl_seterr("score: ids %d..%d of %d are out of range", from, n - 1, n);
	if (n > s->st->n_ctx)
		return sl_seterr("score: %d ids do not fit in the cache (%d)", n, s->st->n_ctx);
	for (int i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= s->m->cfg.n_vocab)
			return sl_seterr("id %d is outside the vocabulary (%d)", ids[i], s->m->cfg.n_vocab);
	sl_session_reset(s);
	if (append(s, ids, n))
		return -1;
	if (!s->t_start)
		s->t_start = t0;
	count_steps_in(s, 0);
	rc = run_rows(s, from, fn, ctx);
	s->t_fed = s->t_last = sl_time_now();
	s->feed_s += s->t_fed - t0;
	return rc;
}

typedef struct {
	const sl_session *s;
	int from;
	double *lp;
} lp_ctx;

static void store_lp(void *ctx, int t, const float *row)
{
	lp_ctx *c = ctx;
	c->lp[t - c->from] = sl_logprob(row, c->s->m->cfg.n_vocab, c->s->ids[t]);
}

int sl_session_score(sl_session *s, const int32_t *ids, int n, int from, double *lp)
{
	lp_ctx c = { s, from, lp };
	return score_rows(s, ids, n, from, store_lp, &c);
}

typedef struct {
	const sl_session *s;
	size_t start;
	sl_score_fn out;
	void *ctx;
} win_ctx;

static void forward_row(void *ctx, int t, const float *row)
{
	win_ctx *c = ctx;
	int vocab = c->s->m->cfg.n_vocab;
	int32_t id = c->s->ids[t];

	c->out(c->ctx, c->start + (size_t)t, id, sl_logprob(row, vocab, id), row, vocab);
}

int sl_score_windows(sl_session *s, const int32_t *ids, size_t n, int window, sl_score_fn out, void *ctx)
{
	size_t stride = (size_t)window / 2, start = 0;

	if (window < 2)
		return sl_seterr("score: a window of %d ids is too small", window);
	for (;;) {
		size_t len = n - start < (size_t)window ? n - start : (size_t)window;
		/* within the window: the ids the window before did not reach */
		size_t from = start == 0 ? 1 : (size_t)window - stride;
		win_ctx c = { s, start, out, ctx };
		if (score_rows(s, ids + start, (int)len, (int)from, forward_row, &c))
			return -1;
		if (start + len >= n)
			return 0;
		start += stride;
	}
}

sl_stop sl_session_next(sl_session *s)
{
	if (s->p.n_predict >= 0 && s->n_gen >= s->p.n_predict)
		return SL_STOP_LENGTH;
	if (s->n_ids >= s->n_ctx || s->n_ids > s->st->n_ctx)
		return SL_STOP_CONTEXT;
	count_steps_in(s, 1);
	if (s->n_run < s->n_ids && run(s))
		return sl_errcode() == SL_E_PENDING ? SL_STOP_WAIT : SL_STOP_ERROR;
	s->t_last = sl_time_now();
	if (!s->logits) {
		sl_seterr("nothing to continue: no ids were fed");
		return SL_STOP_ERROR;
	}
	return SL_STOP_NONE;
}

const float *sl_session_logits(const sl_session *s)
{
	return s->logits;
}

static int is_eog(const sl_config *c, int32_t id)
{
	for (int i = 0; i < c->n_eog; i++)
		if (id == c->eog[i])
			return 1;
	return 0;
}

sl_stop sl_session_sample(sl_session *s, int32_t *out)
{
	int32_t id;

	if (!s->logits) {
		sl_seterr("no logits ready: call sl_session_next first");
		return SL_STOP_ERROR;
	}
	memcpy(s->scratch, s->logits, (size_t)s->m->cfg.n_vocab * sizeof *s->scratch);
	id = sl_sample(s->smp, s->scratch, s->ids, s->n_ids);
	*out = id;
	s->t_last = sl_time_now();
	if (!s->t_first)
		s->t_first = s->t_last;
	if (is_eog(&s->m->cfg, id) && !s->p.ignore_eos)
		return SL_STOP_EOG;
	if (append(s, &id, 1))
		return SL_STOP_ERROR;
	s->n_gen++;
	s->logits = NULL;
	return SL_STOP_NONE;
}

sl_stop sl_session_step(sl_session *s, int32_t *id)
{
	sl_stop why = sl_session_next(s);

	return why != SL_STOP_NONE ? why : sl_session_sample(s, id);
}

int sl_session_top(sl_session *s, int n, int32_t *ids, float *probs)
{
	if (n > s->m->cfg.n_vocab)
		n = s->m->cfg.n_vocab;
	if (!s->logits || n < 1)
		return 0;
	sl_sampler_top_n(s->smp, s->logits, n, ids, probs);
	return n;
}

double sl_session_logprob(const sl_session *s, int32_t id)
{
	if (!s->logits || id < 0 || id >= s->m->cfg.n_vocab)
		return NAN;
	return sl_logprob(s->logits, s->m->cfg.n_vocab, id);
}

sl_session_info sl_session_get_info(const sl_session *s)
{
	sl_session_info i = { s->n_ctx, s->st->n_ctx, sl_pool_threads(s->pool), s->n_ids, s->n_gen,
			      sl_state_bytes(s->st), s->p.seed, s->ids, s->feed_s,
			      s->t_first ? s->t_first - s->t_start : -1, s->t_last - s->t_fed,
			      s->p.step_times ? &s->steps[0] : NULL, s->p.step_times ? &s->steps[1] : NULL };
	return i;
}
