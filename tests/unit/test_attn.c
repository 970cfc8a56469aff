/*
 * test_attn — sl_attention (blocked, threaded) against sl_attention_ref (one token and one
 * head at a time, sums in double) on random queries and caches: f32, f16 and q8_0 caches,
 * grouped-query and multi-head shapes, batches at several positions, contexts that end
 * inside and on the edge of a block of SL_ATTN_BLOCK positions, caches with a position's
 * heads together and with a head's positions together.  And neither the thread count,
 * batching (the same tokens one at a time) nor the layout changes a bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_attn.h"
#include "sl_quant.h"
#include "sl_sample.h"
#include "sl_types.h"

typedef struct {
	int heads, kv_heads, hd, n, pos;
	uint32_t kv;
} shape;

/* A cache layout (sl_attn.h) for this shape: a position's heads together (rows), or a
 * head's positions of a block together (as sl_state keeps them). */
static sl_kv_layout layout_of(const shape *sh, int heads_together)
{
	size_t slice = sl_type_row_bytes(sh->kv, (uint64_t)sh->hd);
	size_t row = (size_t)sh->kv_heads * slice;
	if (heads_together)
		return (sl_kv_layout){ SL_ATTN_BLOCK * row, slice, row };
	return (sl_kv_layout){ SL_ATTN_BLOCK * row, SL_ATTN_BLOCK * slice, slice };
}

static float *attend(const shape *sh, const sl_kv_layout *l, const void *k, const void *v,
		     const float *q, int threads, int ref)
{
	int q_dim = sh->heads * sh->hd, n_ctx = sh->pos + sh->n;
	float *out = calloc((size_t)sh->n * q_dim, sizeof *out);
	sl_attn a = { sh->heads, sh->kv_heads, sh->hd, sh->kv, k, v, *l, q, out, sh->n, sh->pos };

	if (ref) {
		CHECK(sl_attention_ref(&a) == 0);
		return out;
	}
	sl_attn_scratch sc;
	sl_pool *pool = threads ? sl_pool_new(threads) : NULL;
	CHECK(sl_attn_scratch_init(&sc, sh->heads, sh->hd, n_ctx, sh->n) == 0);
	sl_attention(pool, &a, &sc);
	sl_attn_scratch_free(&sc);
	sl_pool_free(pool);
	return out;
}

/* sl_attention with the cache in layout l, against the reference and itself */
static void test_layout(const shape *sh, const sl_kv_layout *l, const unsigned char *k,
			const unsigned char *v, const float *q, const float *want, float **result)
{
	int q_dim = sh->heads * sh->hd;
	size_t nq = (size_t)sh->n * q_dim;
	float *one = attend(sh, l, k, v, q, 1, 0), *two = attend(sh, l, k, v, q, 2, 0);
	float *none = attend(sh, l, k, v, q, 0, 0);
	double worst = 0;

	for (size_t i = 0; i < nq; i++)
		if (!(fabs(one[i] - want[i]) <= worst))
			worst = fabs(one[i] - want[i]);
	CHECK_MSG(worst < 2e-6, "heads %d/%d hd %d, %d tokens at %d, %s cache: max error %g",
		  sh->heads, sh->kv_heads, sh->hd, sh->n, sh->pos, sl_type_get(sh->kv)->name, worst);
	CHECK_MSG(memcmp(one, two, nq * sizeof *one) == 0 && memcmp(one, none, nq * sizeof *one) == 0,
		  "heads %d/%d, %d tokens at %d: the thread count changes the result", sh->heads,
		  sh->kv_heads, sh->n, sh->pos);
	/* the same tokens one at a time, each at its position: the same bits */
	float *seq = malloc(nq * sizeof *seq);
	for (int t = 0; t < sh->n; t++) {
		shape s1 = *sh;
		s1.n = 1;
		s1.pos = sh->pos + t;
		float *o = attend(&s1, l, k, v, q + (size_t)t * q_dim, 1, 0);
		memcpy(seq + (size_t)t * q_dim, o, (size_t)q_dim * sizeof *o);
		free(o);
	}
	CHECK_MSG(memcmp(one, seq, nq * sizeof *one) == 0,
		  "heads %d/%d, %d tokens at %d: a batch differs from its tokens one at a time",
		  sh->heads, sh->kv_heads, sh->n, sh->pos);
	free(seq);
	free(two); free(none);
	*result = one;
}

static void test_shape(const shape *sh, sl_rng *r)
{
	int kv_dim = sh->kv_heads * sh->hd, q_dim = sh->heads * sh->hd, n_ctx = sh->pos + sh->n;
	size_t nkv = (size_t)n_ctx * kv_dim, nq = (size_t)sh->n * q_dim;
	size_t slice = sl_type_row_bytes(sh->kv, (uint64_t)sh->hd);
	size_t bytes = (size_t)(n_ctx + SL_ATTN_BLOCK - 1) / SL_ATTN_BLOCK * SL_ATTN_BLOCK * kv_dim /
		       sh->hd * slice;
	float *q = malloc(nq * sizeof *q), *kf = malloc(nkv * sizeof *kf), *vf = malloc(nkv * sizeof *vf);
	float *got[2] = { NULL, NULL }, *want = NULL;

	for (size_t i = 0; i < nkv; i++) {
		kf[i] = (float)(sl_rng_uniform(r) * 4 - 2);
		vf[i] = (float)(sl_rng_uniform(r) * 2 - 1);
	}
	for (size_t i = 0; i < nq; i++)
		q[i] = (float)(sl_rng_uniform(r) * 4 - 2);
	for (int heads_together = 1; heads_together >= 0; heads_together--) {
		sl_kv_layout l = layout_of(sh, heads_together);
		unsigned char *k = calloc(1, bytes), *v = calloc(1, bytes);
		for (int p = 0; p < n_ctx; p++)
			for (int h = 0; h < sh->kv_heads; h++) {
				size_t at = (size_t)p * kv_dim + (size_t)h * sh->hd;
				CHECK(sl_quant_row(sh->kv, kf + at, k + sl_kv_at(&l, p, h), (uint64_t)sh->hd) == slice);
				CHECK(sl_quant_row(sh->kv, vf + at, v + sl_kv_at(&l, p, h), (uint64_t)sh->hd) == slice);
			}
		float *ref = attend(sh, &l, k, v, q, 0, 1);
		if (!want)
			want = ref;
		else {
			CHECK_MSG(memcmp(ref, want, nq * sizeof *ref) == 0,
				  "heads %d/%d: the reference depends on the cache's layout", sh->heads, sh->kv_heads);
			free(ref);
		}
		test_layout(sh, &l, k, v, q, want, &got[heads_together]);
		free(k); free(v);
	}
	CHECK_MSG(memcmp(got[0], got[1], nq * sizeof *got[0]) == 0,
		  "heads %d/%d, %d tokens at %d: the cache's layout changes the result", sh->heads,
		  sh->kv_heads, sh->n, sh->pos);
	free(got[0]); free(got[1]); free(want);
	free(q); free(kf); free(vf);
}

int main(void)
{
	static const shape shapes[] = {
		{ 4, 2, 8, 1, 0, SL_F32 },     /* one token, nothing cached before it */
		{ 4, 2, 8, 20, 0, SL_F32 },    /* a prompt batch */
		{ 4, 4, 16, 1, 63, SL_F16 },   /* the context ends on a block edge */
		{ 8, 2, 32, 5, 60, SL_F16 },   /* a batch across a block edge */
		{ 6, 3, 64, 1, 130, SL_F32 },  /* decoding three blocks in */
		{ 32, 32, 64, 3, 200, SL_F16 },/* SmolLM-1.7B's heads */
		{ 4, 1, 8, 70, 10, SL_F16 },   /* multi-query, a batch longer than a block */
		{ 4, 2, 32, 1, 100, SL_Q8_0 }, /* q8_0 cache, decoding */
		{ 8, 4, 64, 9, 60, SL_Q8_0 },  /* q8_0 cache, a batch across a block edge */
		{ 4, 2, 128, 1, 70, SL_F16 },  /* the largest head whose block is on the stack */
		{ 2, 1, 256, 5, 60, SL_F16 },  /* a head too large for it: the scratch's block */
	};
	sl_rng r;

	sl_rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		test_shape(&shapes[i], &r);
	return CHECK_DONE();
}
