/*
 * sl_sample — turning a row of logits into the next token id.
 *
 * sl-infer calls sl_sample() once per generated token.  The steps, in the order Hugging
 * Face's generate() applies its logits processors and warpers:
 *
 *   1. repetition penalty: every id already in the context has its logit divided by R
 *      when positive and multiplied by R when negative (HF RepetitionPenaltyLogitsProcessor);
 *   2. temperature 0 ⇒ greedy: the arg max (lowest id on a tie), nothing else applies;
 *   3. p = softmax(logits / T);
 *   4. top-k: keep the k most probable ids (ties broken by the lower id);
 *   5. top-p: renormalize the survivors and keep the smallest set of them, most probable
 *      first, whose probability reaches P (the id that crosses P is kept);
 *   6. min-p: keep ids with p >= min_p · max p;
 *   7. renormalize what is left and draw one id with a uniform number from the seeded RNG.
 *
 * The RNG is xoshiro256** seeded through splitmix64, so a seed gives the same ids on every
 * machine and thread count.  The sampler owns scratch buffers sized to the vocabulary: no
 * allocation happens per token.
 */
#ifndef SL_SAMPLE_H
#define SL_SAMPLE_H

#include <stdint.h>

/* ==== random numbers ==== */

typedef struct {
	uint64_t s[4];
} sl_rng;

void sl_rng_seed(sl_rng *r, uint64_t seed);
uint64_t sl_rng_next(sl_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double sl_rng_uniform(sl_rng *r);

/* ==== sampler ==== */

typedef struct {
	float temp;            /* 0: greedy */
	int top_k;             /* 0: off */
	float top_p;           /* 1: off */
	float min_p;           /* 0: off */
	float repeat_penalty;  /* 1: off */
} sl_sample_params;

/* The defaults sl-infer documents: temp 1, top-k off, top-p 0.9, min-p off, penalty 1. */
sl_sample_params sl_sample_defaults(void);

typedef struct sl_sampler sl_sampler;

/* NULL with sl_error on out of memory or bad parameters (negative temperature, ...). */
sl_sampler *sl_sampler_new(int vocab, const sl_sample_params *p, uint64_t seed);
void sl_sampler_free(sl_sampler *s);

/*
 * The distribution sl_sample() draws from, written into probs[vocab] (zeros for ids cut
 * by top-k/top-p/min-p; one 1 for greedy).  logits is modified in place by the repetition
 * penalty.  hist/n_hist: the ids in the context so far (may be NULL/0).  For tests and
 * for people checking the semantics; sl_sample() does not call it.
 */
void sl_sample_dist(sl_sampler *s, float *logits, const int32_t *hist, int n_hist, float *probs);

/* Draw the next id.  logits (vocab floats) is used as scratch and modified. */
int32_t sl_sample(sl_sampler *s, float *logits, const int32_t *hist, int n_hist);

/* Greedy arg max of n logits, lowest index on ties (NaN never wins). */
int32_t sl_argmax(const float *logits, int n);

/*
 * The n most probable ids under softmax(logits) (raw: no penalty, no temperature), most
 * probable first (lower id on ties), into ids[n] and probs[n]; n is capped at the
 * vocabulary.  Uses the sampler's scratch, not its parameters or RNG.
 */
void sl_sampler_top_n(sl_sampler *s, const float *logits, int n, int32_t *ids, float *probs);

/* ln Σ exp(logits[i]) over n values, and ln softmax(logits)[id]: sums in double. */
double sl_log_sum_exp(const float *logits, int n);
double sl_logprob(const float *logits, int n, int32_t id);

#endif
