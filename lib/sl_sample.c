/*
 * sl_sample — repetition penalty, temperature, top-k, top-p, min-p and a seeded draw
 * (sl_sample.h has the exact semantics and their order).
 *
 * The candidates are kept as (probability, id) pairs.  Sorting the whole vocabulary on
 * every token would cost more than a small model's forward pass, so top-k selects with a
 * k-sized heap and top-p first drops ids that cannot be in the nucleus (llama2.c's trick:
 * ids with p < (1 - P) / (n - 1) together hold less than 1 - P, so the nucleus is complete
 * before any of them is reached).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_sample.h"

/* ==== random numbers ==== */

/* splitmix64 spreads one 64-bit seed over xoshiro's 256-bit state (its authors' advice). */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sl_rng_seed(sl_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna, 2018). */
uint64_t sl_rng_next(sl_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double sl_rng_uniform(sl_rng *r)
{
	return (double)(sl_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ==== candidates ==== */

typedef struct {
	float p;
	int32_t id;
} cand;

struct sl_sampler {
	sl_sample_params p;
	sl_rng rng;
	int vocab;
	cand *c;           /* [vocab] */
	cand *top;         /* [vocab] scratch for the nucleus search */
	uint8_t *seen;     /* [vocab] repetition penalty: each id once */
};

/* a ranks before b: more probable, or as probable with a lower id. */
static int better(const cand *a, const cand *b)
{
	return a->p > b->p || (a->p == b->p && a->id < b->id);
}

static int cmp_cand(const void *a, const void *b)
{
	return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Min-heap on "better": the root is the worst of the k kept so far. */
static void sift_down(cand *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && better(&h[w], &h[l]))
			w = l;
		if (r < n && better(&h[w], &h[r]))
			w = r;
		if (w == i)
			return;
		cand t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/* Move the k best of c[0..n) to c[0..k), sorted best first.  Returns k (or n if smaller). */
static int select_top(cand *c, int n, int k)
{
	if (k >= n) {
		qsort(c, n, sizeof *c, cmp_cand);
		return n;
	}
	for (int i = k / 2 - 1; i >= 0; i--)
		sift_down(c, k, i);
	for (int i = k; i < n; i++) {
		if (better(&c[i], &c[0])) {
			c[0] = c[i];
			sift_down(c, k, 0);
		}
	}
	qsort(c, k, sizeof *c, cmp_cand);
	return k;
}

/* The k best of src[0..n) into dst[0..k), sorted best first; src is left alone. */
static void select_top_into(cand *dst, const cand *src, int n, int k)
{
	memcpy(dst, src, (size_t)k * sizeof *dst);
	for (int i = k / 2 - 1; i >= 0; i--)
		sift_down(dst, k, i);
	for (int i = k; i < n; i++) {
		if (better(&src[i], &dst[0])) {
			dst[0] = src[i];
			sift_down(dst, k, 0);
		}
	}
	qsort(dst, k, sizeof *dst, cmp_cand);
}

/* ==== sampler ==== */

sl_sample_params sl_sample_defaults(void)
{
	sl_sample_params p = { .temp = 1.0f, .top_k = 0, .top_p = 0.9f, .min_p = 0.0f,
			       .repeat_penalty = 1.0f };
	return p;
}

sl_sampler *sl_sampler_new(int vocab, const sl_sample_params *p, uint64_t seed)
{
	sl_sampler *s;

	if (vocab <= 0)
		return sl_seterr("sampler: vocabulary is empty"), NULL;
	if (!(p->temp >= 0) || p->top_k < 0 || !(p->top_p > 0 && p->top_p <= 1) ||
	    !(p->min_p >= 0 && p->min_p <= 1) || !(p->repeat_penalty > 0))
		return sl_seterr("sampler: parameter out of range"), NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return sl_seterr_code(SL_E_NOMEM, "out of memory"), NULL;
	s->p = *p;
	s->vocab = vocab;
	s->c = malloc((size_t)vocab * sizeof *s->c);
	s->top = malloc((size_t)vocab * sizeof *s->top);
	s->seen = calloc((size_t)vocab, 1);
	if (!s->c || !s->top || !s->seen) {
		sl_sampler_free(s);
		return sl_seterr_code(SL_E_NOMEM, "out of memory"), NULL;
	}
	sl_rng_seed(&s->rng, seed);
	return s;
}

void sl_sampler_free(sl_sampler *s)
{
	if (!s)
		return;
	free(s->c);
	free(s->top);
	free(s->seen);
	free(s);
}

int32_t sl_argmax(const float *logits, int n)
{
	int32_t best = 0;

	for (int i = 1; i < n; i++)
		if (logits[i] > logits[best] || (logits[best] != logits[best] && logits[i] == logits[i]))
			best = i;
	return best;
}

/* HF's RepetitionPenaltyLogitsProcessor: each id in the context once, whatever its count. */
static void penalize(sl_sampler *s, float *logits, const int32_t *hist, int n_hist)
{
	float r = s->p.repeat_penalty;

	if (r == 1.0f)
		return;
	for (int i = 0; i < n_hist; i++) {
		int32_t id = hist[i];
		if (id < 0 || id >= s->vocab || s->seen[id])
			continue;
		s->seen[id] = 1;
		logits[id] = logits[id] > 0 ? logits[id] / r : logits[id] * r;
	}
	for (int i = 0; i < n_hist; i++)
		if (hist[i] >= 0 && hist[i] < s->vocab)
			s->seen[hist[i]] = 0;
}

/*
 * Fill s->c with the surviving candidates and unnormalized probabilities; return how many.
 * For temperature 0, the one greedy id with p = 1.
 */
static int prepare(sl_sampler *s, float *logits, const int32_t *hist, int n_hist)
{
	const sl_sample_params *p = &s->p;
	int n = s->vocab, sorted = 0;
	cand *c = s->c;
	float m;
	double total;

	penalize(s, logits, hist, n_hist);
	if (p->temp == 0.0f) {
		c[0].id = sl_argmax(logits, n);
		c[0].p = 1.0f;
		return 1;
	}
	/* p_i = exp((l_i - max) / T): the softmax numerator, safe from overflow. */
	m = logits[sl_argmax(logits, n)];
	total = 0;
	for (int i = 0; i < n; i++) {
		c[i].id = i;
		c[i].p = expf((logits[i] - m) / p->temp);
		total += c[i].p;
	}
	if (p->top_k > 0 && p->top_k < n) {
		n = select_top(c, n, p->top_k);
		sorted = 1;
	}
	if (p->top_p < 1.0f) {
		if (!sorted) {
			/* Ids below the cutoff together weigh < (1 - P) · total: never needed. */
			double cut = n > 1 ? (1.0 - p->top_p) * total / (n - 1) : 0;
			int k = 0;
			for (int i = 0; i < n; i++)
				if (c[i].p >= cut)
					c[k++] = c[i];
			n = k;
			/* The nucleus is a prefix of the sorted order: if the best few already
			 * reach P, sorting the rest is wasted.  Try 64, 512, ... first. */
			for (int best = 64; !sorted; best *= 8) {
				if (best >= n) {
					qsort(c, n, sizeof *c, cmp_cand);
					break;
				}
				double mass = 0;
				select_top_into(s->top, c, n, best);
				for (int i = 0; i < best; i++)
					mass += s->top[i].p;
				if (mass >= (double)p->top_p * total) {
					memcpy(c, s->top, (size_t)best * sizeof *c);
					n = best;
					break;
				}
			}
			sorted = 1;
		} else {
			total = 0;
			for (int i = 0; i < n; i++)
				total += c[i].p;
		}
		/* Keep id i while the mass before it is below P of the (renormalized) total. */
		double before = 0, need = (double)p->top_p * total;
		int k = 0;
		while (k < n && (k == 0 || before < need))
			before += c[k++].p;
		n = k;
	}
	if (p->min_p > 0.0f) {
		float pmax = 0;
		for (int i = 0; i < n; i++)
			if (c[i].p > pmax)
				pmax = c[i].p;
		float floor_p = p->min_p * pmax;
		int k = 0;
		for (int i = 0; i < n; i++)
			if (c[i].p >= floor_p)
				c[k++] = c[i];
		n = k;
	}
	return n;
}

void sl_sample_dist(sl_sampler *s, float *logits, const int32_t *hist, int n_hist, float *probs)
{
	int n = prepare(s, logits, hist, n_hist);
	double total = 0;

	for (int i = 0; i < n; i++)
		total += s->c[i].p;
	memset(probs, 0, (size_t)s->vocab * sizeof *probs);
	for (int i = 0; i < n; i++)
		probs[s->c[i].id] = (float)(s->c[i].p / total);
}

int32_t sl_sample(sl_sampler *s, float *logits, const int32_t *hist, int n_hist)
{
	int n = prepare(s, logits, hist, n_hist);
	double total = 0, r, acc = 0;

	if (n == 1)
		return s->c[0].id;
	for (int i = 0; i < n; i++)
		total += s->c[i].p;
	r = sl_rng_uniform(&s->rng) * total;
	for (int i = 0; i < n; i++) {
		acc += s->c[i].p;
		if (r < acc)
			return s->c[i].id;
	}
	return s->c[n - 1].id; /* r landed in the rounding gap at the very end */
}

void sl_sampler_top_n(sl_sampler *s, const float *logits, int n, int32_t *ids, float *probs)
{
	int vocab = s->vocab;
	float m = logits[sl_argmax(logits, vocab)];
	double total = 0;
	cand *c = s->c;

	if (n > vocab)
		n = vocab;
	for (int i = 0; i < vocab; i++)
		total += exp((double)logits[i] - m);
	/* Select on the logits themselves: softmax is monotonic. */
	for (int i = 0; i < vocab; i++) {
		c[i].id = i;
		c[i].p = logits[i];
	}
	select_top(c, vocab, n);
	for (int i = 0; i < n; i++) {
		ids[i] = c[i].id;
		probs[i] = (float)(exp((double)c[i].p - m) / total);
	}
}

double sl_log_sum_exp(const float *logits, int n)
{
	double max = -INFINITY, sum = 0;

	for (int i = 0; i < n; i++)
		if (logits[i] > max)
			max = logits[i];
	for (int i = 0; i < n; i++)
		sum += exp((double)logits[i] - max);
	return max + log(sum);
}

double sl_logprob(const float *logits, int n, int32_t id)
{
	return (double)logits[id] - sl_log_sum_exp(logits, n);
}
