/*
 * test_attn — sl_attention (blocked, threaded) against sl_attention_ref (one token and one
 * head at a time, sums in double) on random queries and caches: f32, f16 and q8_0 caches,
 * grouped-query and multi-head shapes, batches at several positions, contexts that end
 * inside and on the edge of a block of SL_ATTN_BLOCK positions.  The cache holds what the
 * type's own quantization gives (sl_kv_put, sl_kv_get), positions never stored are never
 * read, and neither the thread count nor batching (the same tokens one at a time) changes
 * a bit, nor storing the batch's keys and values in attention (sl_attn.k_new).
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
	int spare;               /* positions the cache has room for past pos + n */
} shape;

/* Attention over the cache k, v; with k_new, v_new, the batch's own keys and values, which
 * it stores first. */
static float *attend_new(const shape *sh, const sl_kv_layout *l, void *k, void *v, const float *q,
			 int threads, int ref, const float *k_new, const float *v_new)
{
	int q_dim = sh->heads * sh->hd, n_ctx = sh->pos + sh->n;
	float *out = calloc((size_t)sh->n * q_dim, sizeof *out);
	sl_attn a = { sh->heads, *l, k, v, q, out, sh->n, sh->pos, k_new, v_new };

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

static float *attend(const shape *sh, const sl_kv_layout *l, const void *k, const void *v,
		     const float *q, int threads, int ref)
{
	return attend_new(sh, l, (void *)k, (void *)v, q, threads, ref, NULL, NULL);
}

/*
 * The batch's keys and values handed to attention to store (sl_attn.k_new) give the same
 * cache, byte for byte, as storing them before, and the same result, bit for bit: with no
 * pool, 1 or 2 threads, and in the reference.
 */
static void check_store(const shape *sh, const sl_kv_layout *l, const unsigned char *k,
			const unsigned char *v, const float *kf, const float *vf, const float *q)
{
	size_t bytes = sl_kv_bytes(l), hd = (size_t)sh->hd, kv_dim = (size_t)sh->kv_heads * hd;
	size_t nq = (size_t)sh->n * sh->heads * hd;
	unsigned char *k2 = malloc(bytes), *v2 = malloc(bytes);
	float *want = attend(sh, l, k, v, q, 1, 0), *want_ref = attend(sh, l, k, v, q, 0, 1);
	const float *kn = kf + (size_t)sh->pos * kv_dim, *vn = vf + (size_t)sh->pos * kv_dim;

	for (int threads = -1; threads <= 2; threads++) { /* -1: the reference */
		memset(k2, 0xff, bytes);
		memset(v2, 0xff, bytes);
		for (int p = 0; p < sh->pos; p++)
			for (int h = 0; h < sh->kv_heads; h++)
				sl_kv_put(l, k2, v2, p, h, kf + (size_t)p * kv_dim + (size_t)h * hd,
					  vf + (size_t)p * kv_dim + (size_t)h * hd);
		float *got = attend_new(sh, l, k2, v2, q, threads < 0 ? 0 : threads, threads < 0, kn, vn);
		CHECK_MSG(memcmp(k2, k, bytes) == 0 && memcmp(v2, v, bytes) == 0,
			  "heads %d/%d, %d tokens at %d, %d threads: the cache attention stored differs",
			  sh->heads, sh->kv_heads, sh->n, sh->pos, threads);
		CHECK_MSG(memcmp(got, threads < 0 ? want_ref : want, nq * sizeof *got) == 0,
			  "heads %d/%d, %d tokens at %d, %d threads: storing in attention changes the result",
			  sh->heads, sh->kv_heads, sh->n, sh->pos, threads);
		free(got);
	}
	free(want); free(want_ref);
	free(k2); free(v2);
}

/* sl_attention against the reference and itself */
static void check_attention(const shape *sh, const sl_kv_layout *l, const unsigned char *k,
			const unsigned char *v, const float *q, const float *want)
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
	free(one); free(two); free(none);
}

/* Store every position, check what the cache gives back, then attend. */
static void test_shape(const shape *sh, sl_rng *r)
{
	int kv_dim = sh->kv_heads * sh->hd, q_dim = sh->heads * sh->hd, n_ctx = sh->pos + sh->n;
	size_t nkv = (size_t)n_ctx * kv_dim, nq = (size_t)sh->n * q_dim, hd = (size_t)sh->hd;
	/* a cache for a longer context than the one attended to, as sl_state's */
	sl_kv_layout l = sl_kv_layout_of(sh->kv, sh->kv_heads, sh->hd, n_ctx + sh->spare);
	size_t bytes = sl_kv_bytes(&l), slice = sl_type_row_bytes(sh->kv, hd);
	float *q = malloc(nq * sizeof *q), *kf = malloc(nkv * sizeof *kf), *vf = malloc(nkv * sizeof *vf);
	float *want_k = malloc(hd * sizeof(float)), *want_v = malloc(hd * sizeof(float));
	float *got_k = malloc(hd * sizeof(float)), *got_v = malloc(hd * sizeof(float));
	unsigned char *k = malloc(bytes), *v = malloc(bytes), *row = malloc(slice);
	float *want;

	/* whole blocks of positions, no more */
	CHECK(bytes == (size_t)(n_ctx + sh->spare + SL_ATTN_BLOCK - 1) / SL_ATTN_BLOCK * SL_ATTN_BLOCK *
			       kv_dim / hd * slice);
	for (size_t i = 0; i < nkv; i++) {
		kf[i] = (float)(sl_rng_uniform(r) * 4 - 2);
		vf[i] = (float)(sl_rng_uniform(r) * 2 - 1);
	}
	for (size_t i = 0; i < nq; i++)
		q[i] = (float)(sl_rng_uniform(r) * 4 - 2);
	/* all ones: NaN as f32 and f16, NaN scales for q8_0, where nothing was stored */
	memset(k, 0xff, bytes);
	memset(v, 0xff, bytes);
	for (int p = 0; p < n_ctx; p++)
		for (int h = 0; h < sh->kv_heads; h++) {
			size_t at = (size_t)p * kv_dim + (size_t)h * hd;
			sl_kv_put(&l, k, v, p, h, kf + at, vf + at);
		}
	int same = 1;
	for (int p = 0; p < n_ctx; p++)
		for (int h = 0; h < sh->kv_heads; h++) {
			size_t at = (size_t)p * kv_dim + (size_t)h * hd;
			sl_kv_get(&l, k, v, p, h, got_k, got_v);
			CHECK(sl_quant_row(sh->kv, kf + at, row, hd) == slice);
			CHECK(sl_dequant_row(sh->kv, row, want_k, hd) == 0);
			CHECK(sl_quant_row(sh->kv, vf + at, row, hd) == slice);
			CHECK(sl_dequant_row(sh->kv, row, want_v, hd) == 0);
			same &= memcmp(got_k, want_k, hd * sizeof(float)) == 0 &&
				memcmp(got_v, want_v, hd * sizeof(float)) == 0;
		}
	CHECK_MSG(same, "heads %d, hd %d, %s cache: a position read back is not what %s gives",
		  sh->kv_heads, sh->hd, sl_type_get(sh->kv)->name, "sl_quant_row then sl_dequant_row");
	want = attend(sh, &l, k, v, q, 0, 1);
	check_attention(sh, &l, k, v, q, want);
	check_store(sh, &l, k, v, kf, vf, q);
	free(want);
	free(k); free(v); free(row);
	free(want_k); free(want_v); free(got_k); free(got_v);
	free(q); free(kf); free(vf);
}

int main(void)
{
	static const shape shapes[] = {
		{ 4, 2, 8, 1, 0, SL_F32, 0 },      /* one token, nothing cached before it */
		{ 4, 2, 8, 20, 0, SL_F32, 5 },     /* a prompt batch */
		{ 4, 4, 16, 1, 63, SL_F16, 0 },    /* the context ends on a block edge */
		{ 8, 2, 32, 5, 60, SL_F16, 100 },  /* a batch across a block edge */
		{ 6, 3, 64, 1, 130, SL_F32, 0 },   /* decoding three blocks in */
		{ 32, 32, 64, 3, 200, SL_F16, 1800 }, /* SmolLM-1.7B's heads, in a 2048 context */
		{ 4, 1, 8, 70, 10, SL_F16, 0 },    /* multi-query, a batch longer than a block */
		{ 4, 1, 8, 1, 33, SL_F16, 2 },     /* multi-query decoding: fewer KV heads than threads */
		{ 4, 2, 32, 1, 100, SL_Q8_0, 0 },  /* q8_0 cache, decoding */
		{ 8, 4, 64, 9, 60, SL_Q8_0, 30 },  /* q8_0 cache, a batch across a block edge */
		{ 4, 2, 128, 1, 70, SL_F16, 0 },   /* the largest head whose block is on the stack */
		{ 2, 1, 256, 5, 60, SL_F16, 0 },   /* a head too large for it: the scratch's block */
		{ 4, 2, 16, 12, 505, SL_F16, 700 },/* a batch across a span of SL_KV_SPAN */
		{ 4, 2, 32, 1, 1100, SL_Q8_0, 3 }, /* decoding in a third span, q8_0 */
		{ 2, 2, 8, 1, 1030, SL_F32, 0 },   /* a last span of one block */
		{ 2, 1, 16, 30, 1000, SL_F16, 200 }, /* a batch into a last span of 4 blocks */
		{ 2, 1, 16, 40, 8000, SL_F16, 0 },  /* a batch split into groups of 32 tokens (the
						       scratch holds 2^18 weights a head) */
	};
	sl_rng r;

	sl_rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		test_shape(&shapes[i], &r);
	return CHECK_DONE();
}
