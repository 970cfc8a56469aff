/*
 * sl_session — the engine every front end drives: a model's context, KV cache, thread
 * pool and sampler, and the loop of generation.
 *
 *     sl_session *s = sl_session_new(model, &params);
 *     sl_session_feed(s, prompt, n);               // run in batches (matrix × matrix)
 *     while (sl_session_step(s, &id) == SL_STOP_NONE)
 *             write(id);                           // then: why it stopped
 *
 * Ids fed are run at once; an id the session samples is appended to the context but run
 * only when the next id is asked for, so the last id of a generation is never run (nothing
 * would read its logits).  sl_session_step() is sl_session_next() (is there a next id, and
 * its logits ready) then sl_session_sample(); between the two a caller may look at the
 * distribution (sl_session_top, sl_session_logprob), as sl-infer --top does.
 * sl_session_score() and sl_score_windows() give every id of a text its log-probability
 * (sl-infer --score).  The session also keeps the timings every front end reports.
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include <stdint.h>

#include "sl_model.h"
#include "sl_sample.h"

typedef struct {
	int n_ctx;               /* ids in the context, prompt included; 0: the model's */
	int n_cache;             /* positions the KV cache holds; 0: n_ctx (sl-infer: prompt + n) */
	int n_batch;             /* ids per forward pass when feeding (default 128) */
	uint32_t kv_type;        /* SL_F16 (default), SL_F32 or SL_Q8_0 */
	int threads;             /* 0: every core; the ids do not depend on it */
	int exact;               /* reference products in double (sl_state.exact): slow */
	long long n_predict;     /* generate at most this many ids; < 0: no limit (default 256) */
	int ignore_eos;          /* do not stop at the model's end-of-generation ids */
	sl_sample_params sp;
	uint64_t seed;
	/* Every row of raw logits the model computes, in order of position (the prompt's, then
	 * each generated id's but the last): called when set.  Costs the logits of every prompt
	 * position (sl-infer --logits). */
	void (*on_logits)(void *ctx, const float *rows, int n_rows, int vocab);
	void *ctx;
	int all_logits;          /* room for the logits of a whole batch: sl_session_score needs it */
	int step_times;          /* keep the time of each step of the forward passes
				    (sl_session_info.feed_steps, gen_steps; sl-infer --stats) */
} sl_session_params;

sl_session_params sl_session_defaults(void);

typedef enum {
	SL_STOP_NONE = 0,        /* not stopped: an id was sampled / logits are ready */
	SL_STOP_EOG,             /* the model's end-of-generation id was sampled (not appended) */
	SL_STOP_LENGTH,          /* n_predict ids generated */
	SL_STOP_CONTEXT,         /* the context is full */
	SL_STOP_ERROR,           /* sl_error says why */
	SL_STOP_WAIT,            /* a layer's weights have not arrived (sl_session_waiting):
				    provide them, then call sl_session_next again */
} sl_stop;

typedef struct sl_session sl_session;

/* The model is borrowed: it must outlive the session.  NULL with sl_error. */
sl_session *sl_session_new(const sl_model *m, const sl_session_params *p);
void sl_session_free(sl_session *s);

/* Append ids to the context and run them (and an id sampled before them), in batches.
 * 0, or -1 with sl_error (an id outside the vocabulary, more ids than the context holds). */
int sl_session_feed(sl_session *s, const int32_t *ids, int n);

/* sl_session_feed for a prompt: an empty one starts from the model's BOS id (-1 if it has
 * none). */
int sl_session_start(sl_session *s, const int32_t *ids, int n);

/* Get the logits of the next id ready (running the id sampled last).  SL_STOP_NONE when they
 * are, else why there is no next id (LENGTH, CONTEXT, or ERROR: nothing fed yet, a failed
 * forward pass). */
sl_stop sl_session_next(sl_session *s);
/* The raw logits of the next id [vocab], after sl_session_next() returned SL_STOP_NONE. */
const float *sl_session_logits(const sl_session *s);
/* Draw the next id from the ready logits into *id: SL_STOP_NONE (appended to the context)
 * or SL_STOP_EOG (an end-of-generation id, not appended). */
sl_stop sl_session_sample(sl_session *s, int32_t *id);
/* sl_session_next, then sl_session_sample. */
sl_stop sl_session_step(sl_session *s, int32_t *id);

/* From the ready logits: the n most likely ids and their probabilities (raw softmax, most
 * likely first), n capped at the vocabulary; returns that n.  And ln p(id). */
int sl_session_top(sl_session *s, int n, int32_t *ids, float *probs);
double sl_session_logprob(const sl_session *s, int32_t id);

/*
 * A provider that gets weights later (a page fetching chunks) makes a layer's acquire fail
 * with code SL_E_PENDING.  The session then stops in the middle of the batch, at that layer:
 * sl_session_feed returns -1 with that code and sl_session_next SL_STOP_WAIT, and the next
 * sl_session_next continues from that layer (the ids and results are the same as if the
 * weights had been there).  The layer waited for, or -1 if none.
 */
int sl_session_waiting(const sl_session *s);

/* Forget the context (the cache is overwritten from position 0 on the next feed). */
void sl_session_reset(sl_session *s);

/*
 * Score a text: reset, run ids[0..n) (in batches, n <= the context), and write to lp[t - from]
 * the natural log of the probability of ids[t] given ids[0..t), for from <= t < n (from >= 1).
 * Needs params.all_logits.  0, or -1 with sl_error.
 */
int sl_session_score(sl_session *s, const int32_t *ids, int n, int from, double *lp);

/*
 * Score a text of any length in windows of `window` ids (at most the context), like
 * llama-perplexity's but overlapping so that every id counts once: window k covers ids
 * [k·S, k·S + window) with the stride S = window/2, and scores the ids the window before did
 * not reach, its last S (the first window scores all but its first id), so each id after the
 * first is scored once, given at least window − S ids before it once past the first window.  out(ctx, t, ids[t], lp, row, vocab) is
 * called for t = 1..n-1 in order, with the raw logits that predicted ids[t] (row[vocab],
 * valid during the call: for comparing distributions).  0, or -1 with sl_error.
 */
typedef void (*sl_score_fn)(void *ctx, size_t t, int32_t id, double lp, const float *row, int vocab);
int sl_score_windows(sl_session *s, const int32_t *ids, size_t n, int window, sl_score_fn out, void *ctx);


typedef struct {
	int n_ctx, n_cache, threads;
	int n_ids;               /* in the context: fed and generated */
	long long n_generated;
	uint64_t state_bytes;    /* KV cache + activations */
	uint64_t seed;
	const int32_t *ids;      /* the context [n_ids] */
	/* seconds: spent feeding (the prompt); from the first feed to the first id sampled (-1:
	 * none yet); from the end of the last feed to the end of the last next/sample */
	double feed_s, first_s, gen_s;
	/* with step_times: the seconds of each step (sl_step_times) of the passes that fed or
	 * scored ids, and of those that ran generated ids; NULL without */
	const sl_step_times *feed_steps, *gen_steps;
} sl_session_info;

sl_session_info sl_session_get_info(const sl_session *s);

#endif
