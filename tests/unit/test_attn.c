/*
 * test_attn — sl_attention (blocked, threaded) against sl_attention_ref (one token and one
 * head at a time, sums in double) on random queries and caches: f32, f16 and q8_0 caches,
 * grouped-query and multi-head shapes, batches at several positions, contexts that end
 * inside and on the edge of a block of SL_ATTN_BLOCK positions.  And neither the thread
 * count nor batching (the same tokens one at a time) changes a bit.
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

static float *attend(const shape *sh, const void *k, const void *v, const float *q, int threads,
		     int ref)
{
	int q_dim = sh->heads * sh->hd, n_ctx = sh->pos + sh->n;
	float *out = calloc((size_t)sh->n * q_dim, sizeof *out);
	sl_attn a = { sh->heads, sh->kv_heads, sh->hd, sh->kv, k, v, q, out, sh->n, sh->pos };

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

static void test_shape(const shape *sh, sl_rng *r)
{
	int kv_dim = sh->kv_heads * sh->hd, q_dim = sh->heads * sh->hd, n_ctx = sh->pos + sh->n;
	size_t nkv = (size_t)n_ctx * kv_dim, nq = (size_t)sh->n * q_dim;
	size_t row = sl_type_row_bytes(sh->kv, (uint64_t)kv_dim);
	unsigned char *k = malloc((size_t)n_ctx * row), *v = malloc((size_t)n_ctx * row);
	float *q = malloc(nq * sizeof *q), *kf = malloc(nkv * sizeof *kf), *vf = malloc(nkv * sizeof *vf);

	for (size_t i = 0; i < nkv; i++) {
		kf[i] = (float)(sl_rng_uniform(r) * 4 - 2);
		vf[i] = (float)(sl_rng_uniform(r) * 2 - 1);
	}
	for (int p = 0; p < n_ctx; p++) {
		CHECK(sl_quant_row(sh->kv, kf + (size_t)p * kv_dim, k + (size_t)p * row, (uint64_t)kv_dim) == row);
		CHECK(sl_quant_row(sh->kv, vf + (size_t)p * kv_dim, v + (size_t)p * row, (uint64_t)kv_dim) == row);
	}
	for (size_t i = 0; i < nq; i++)
		q[i] = (float)(sl_rng_uniform(r) * 4 - 2);

	float *want = attend(sh, k, v, q, 0, 1), *one = attend(sh, k, v, q, 1, 0);
	float *two = attend(sh, k, v, q, 2, 0), *none = attend(sh, k, v, q, 0, 0);
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
		float *o = attend(&s1, k, v, q + (size_t)t * q_dim, 1, 0);
		memcpy(seq + (size_t)t * q_dim, o, (size_t)q_dim * sizeof *o);
		free(o);
	}
	CHECK_MSG(memcmp(one, seq, nq * sizeof *one) == 0,
		  "heads %d/%d, %d tokens at %d: a batch differs from its tokens one at a time",
		  sh->heads, sh->kv_heads, sh->n, sh->pos);
	free(seq);
	free(want); free(one); free(two); free(none);
	free(k); free(v); free(q); free(kf); free(vf);
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
	};
	sl_rng r;

	sl_rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		test_shape(&shapes[i], &r);
	return CHECK_DONE();
}
