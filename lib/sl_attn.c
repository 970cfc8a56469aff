/*
 * sl_attn — attention over the KV cache (sl_attn.h): the blocked version, then the reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl_attn.h"
#include "sl_err.h"
#include "sl_kernels.h"
#include "sl_types.h"

/* floats of one head's share of sc->kv */
static size_t kv_floats(const sl_attn_scratch *sc, int head_dim)
{
	return ((size_t)SL_ATTN_BLOCK + (size_t)sc->rows) * (size_t)head_dim;
}

int sl_attn_scratch_init(sl_attn_scratch *sc, int n_heads, int head_dim, int n_ctx, int n_batch)
{
	memset(sc, 0, sizeof *sc);
	sc->n_ctx = n_ctx;
	sc->ld = (n_ctx + SL_ATTN_BLOCK - 1) / SL_ATTN_BLOCK * SL_ATTN_BLOCK;
	/* The weights of the whole batch, unless that passes 2^18 floats per head (long contexts). */
	sc->rows = (1 << 18) / sc->ld;
	if (sc->rows > n_batch)
		sc->rows = n_batch;
	if (sc->rows < 1)
		sc->rows = 1;
	sc->att = malloc((size_t)n_heads * sc->rows * sc->ld * sizeof(float));
	sc->kv = malloc((size_t)n_heads * kv_floats(sc, head_dim) * sizeof(float));
	if (!sc->att || !sc->kv) {
		sl_attn_scratch_free(sc);
		return sl_seterr("out of memory (attention for %d positions)", n_ctx);
	}
	return 0;
}

void sl_attn_scratch_free(sl_attn_scratch *sc)
{
	free(sc->att);
	free(sc->kv);
	sc->att = sc->kv = NULL;
}

uint64_t sl_attn_scratch_bytes(const sl_attn_scratch *sc, int n_heads, int head_dim)
{
	return sizeof(float) * (uint64_t)n_heads *
	       ((uint64_t)sc->rows * sc->ld + kv_floats(sc, head_dim));
}

/* ==== blocked ==== */

/* pc positions from p0 of KV head kvh's slice (head_dim values each) of the cache, as f32,
 * into rows[pc][head_dim]. */
static void cache_rows(const sl_attn *a, const void *cache, int p0, int kvh, int pc, float *rows)
{
	size_t hd = (size_t)a->head_dim;
	/* p0 starts a block (p0 % SL_ATTN_BLOCK == 0) and the pc positions are in it */
	const char *first = (const char *)cache + sl_kv_at(&a->layout, p0, kvh);

	if (a->kv_type == SL_F16) {
		sl_f16_to_f32_rows((const sl_f16 *)first, a->layout.pos_bytes / sizeof(sl_f16), rows, hd,
				   pc, hd);
		return;
	}
	for (int j = 0; j < pc; j++) {
		const char *src = first + (size_t)j * a->layout.pos_bytes;
		if (a->kv_type == SL_F32)
			memcpy(rows + (size_t)j * hd, src, hd * sizeof(float));
		else /* SL_Q8_0: a head's slice is whole blocks (head_dim % 32 == 0) */
			sl_dequant_row(SL_Q8_0, src, rows + (size_t)j * hd, hd);
	}
}

/*
 * The values of a block of pc cached positions of one KV head, rows[SL_ATTN_BLOCK][head_dim]
 * as they are (zeros past pc): weights·v is a product along the values (sl_gemm_f32_nn), no
 * transposition and no sum across a register.  (q·kᵀ stays a product of dot products along
 * head_dim: along the positions it would need the keys transposed, which for one query
 * costs more than the product.)
 */
static void v_load(const sl_attn *a, float *rows, int p0, int kvh, int pc)
{
	int hd = a->head_dim;

	cache_rows(a, a->v, p0, kvh, pc, rows);
	memset(rows + (size_t)pc * hd, 0, sizeof(float) * (size_t)(SL_ATTN_BLOCK - pc) * hd);
}

/* floats of the stack's block of keys or values: head_dim up to 128 */
#define KC_STACK_FLOATS (SL_ATTN_BLOCK * 128)

typedef struct {
	const sl_attn *a;
	sl_attn_scratch *sc;
	int heads_per_task;   /* 1, or all the query heads of a KV head */
} attn_job;

/*
 * Query heads h0..h1-1 (all reading one KV head) for tokens t0..t1-1 of the batch.
 * Token t sees positions 0..pos+t; in each block only the tokens that see part of it take
 * part, and the weights·v product always runs over a whole block (weights past what a
 * token sees are 0), so a token's result is the same bits in any batch.
 */
static void attn_rows(const attn_job *j, int h0, int h1, int t0, int t1)
{
	const sl_attn *a = j->a;
	sl_attn_scratch *sc = j->sc;
	int hd = a->head_dim, q_dim = a->n_heads * hd;
	int kvh = h0 / (a->n_heads / a->n_kv_heads), n_pos = a->pos + t1;
	/* A block of keys or values as f32: on this thread's stack when it fits, where head
	 * after head reuses it in L1.  A slice of the scratch per head is cold in every layer
	 * (the weights streamed since the last evict it) and each write to it cost a read. */
	float kc_stack[KC_STACK_FLOATS];
	float *kc = (size_t)SL_ATTN_BLOCK * hd <= KC_STACK_FLOATS ? kc_stack
			: sc->kv + (size_t)h0 * kv_floats(sc, hd);
	float *pv = sc->kv + (size_t)h0 * kv_floats(sc, hd) + SL_ATTN_BLOCK * hd; /* [t1 - t0][hd] */
	float scale = 1.0f / sqrtf((float)hd);

#define ATT_ROW(h, t) (sc->att + ((size_t)(h) * sc->rows + (size_t)((t) - t0)) * sc->ld)
	/* attn_weights = q · kᵀ / sqrt(head_dim), a block of positions at a time */
	for (int p0 = 0; p0 < n_pos; p0 += SL_ATTN_BLOCK) {
		int pc = n_pos - p0 < SL_ATTN_BLOCK ? n_pos - p0 : SL_ATTN_BLOCK;
		int ts = p0 - a->pos > t0 ? p0 - a->pos : t0; /* the first token that sees p0 */
		cache_rows(a, a->k, p0, kvh, pc, kc);
		for (int h = h0; h < h1; h++) {
			sl_gemm_f32(pc, hd, kc, (size_t)hd, a->q + (size_t)ts * q_dim + (size_t)h * hd,
				    (size_t)q_dim, t1 - ts, ATT_ROW(h, ts) + p0, (size_t)sc->ld);
		}
	}
	/* attn_weights = softmax(attn_weights · scale, dim=-1) over the positions seen
	 * (causal mask), 0 for the others */
	int p_end = (n_pos + SL_ATTN_BLOCK - 1) / SL_ATTN_BLOCK * SL_ATTN_BLOCK;
	for (int h = h0; h < h1; h++) {
		for (int t = t0; t < t1; t++) {
			float *row = ATT_ROW(h, t);
			int np = a->pos + t + 1;
			sl_softmax(row, np, scale);
			for (int p = np; p < p_end; p++)
				row[p] = 0;
			float *out = a->out + (size_t)t * q_dim + (size_t)h * hd;
			for (int i = 0; i < hd; i++)
				out[i] = 0;
		}
	}
	/* attn_output = attn_weights · v */
	for (int p0 = 0; p0 < n_pos; p0 += SL_ATTN_BLOCK) {
		int pc = n_pos - p0 < SL_ATTN_BLOCK ? n_pos - p0 : SL_ATTN_BLOCK;
		int ts = p0 - a->pos > t0 ? p0 - a->pos : t0;
		v_load(a, kc, p0, kvh, pc);
		for (int h = h0; h < h1; h++) {
			sl_gemm_f32_nn(t1 - ts, hd, SL_ATTN_BLOCK, ATT_ROW(h, ts) + p0, (size_t)sc->ld, kc,
				       (size_t)hd, pv, (size_t)hd);
			for (int t = ts; t < t1; t++) {
				float *out = a->out + (size_t)t * q_dim + (size_t)h * hd;
				const float *o = pv + (size_t)(t - ts) * hd;
				for (int i = 0; i < hd; i++)
					out[i] += o[i];
			}
		}
	}
#undef ATT_ROW
}

/* One task: heads_per_task query heads, the batch in groups of sc->rows tokens. */
static void attn_task(void *arg, int task, int n_tasks)
{
	const attn_job *j = arg;
	int h0 = task * j->heads_per_task, step = j->sc->rows, n = j->a->n;

	(void)n_tasks;
	for (int t0 = 0; t0 < n; t0 += step)
		attn_rows(j, h0, h0 + j->heads_per_task, t0, t0 + step < n ? t0 + step : n);
}

void sl_attention(sl_pool *pool, const sl_attn *a, sl_attn_scratch *sc)
{
	/* Decoding one token, converting a block of the cache costs about as much as using
	 * it: then one task serves all the query heads of a KV head, if there are enough KV
	 * heads to keep the threads busy.  The split does not change a bit of the result. */
	int n_rep = a->n_heads / a->n_kv_heads;
	attn_job job = { a, sc, a->n == 1 && a->n_kv_heads >= sl_pool_threads(pool) ? n_rep : 1 };

	sl_pool_run(pool, a->n_heads / job.heads_per_task, attn_task, &job);
}

/* ==== reference ==== */

int sl_attention_ref(const sl_attn *a)
{
	int hd = a->head_dim, kv_dim = a->n_kv_heads * hd, q_dim = a->n_heads * hd;
	int n_rep = a->n_heads / a->n_kv_heads, n_ctx = a->pos + a->n;
	double *w = malloc((size_t)n_ctx * sizeof *w);
	float *k = malloc((size_t)n_ctx * kv_dim * sizeof *k), *v = malloc((size_t)n_ctx * kv_dim * sizeof *v);

	if (!w || !k || !v) {
		free(w); free(k); free(v);
		return sl_seterr("out of memory");
	}
	/* the cache as f32, each row by the format's own definition (sl_types.h) */
	for (int p = 0; p < n_ctx; p++)
		for (int h = 0; h < a->n_kv_heads; h++) {
			size_t at = sl_kv_at(&a->layout, p, h);
			float *kd = k + (size_t)p * kv_dim + (size_t)h * hd, *vd = v + (size_t)p * kv_dim + (size_t)h * hd;
			sl_dequant_row(a->kv_type, (const char *)a->k + at, kd, (uint64_t)hd);
			sl_dequant_row(a->kv_type, (const char *)a->v + at, vd, (uint64_t)hd);
		}
	for (int t = 0; t < a->n; t++) {
		int n_pos = a->pos + t + 1;
		for (int h = 0; h < a->n_heads; h++) {
			const float *q = a->q + (size_t)t * q_dim + (size_t)h * hd;
			size_t kvh = (size_t)(h / n_rep) * hd;
			double max = -INFINITY, sum = 0;
			for (int p = 0; p < n_pos; p++) {
				double s = 0;
				for (int i = 0; i < hd; i++)
					s += (double)q[i] * k[(size_t)p * kv_dim + kvh + i];
				w[p] = s / sqrt((double)hd);
				if (w[p] > max)
					max = w[p];
			}
			for (int p = 0; p < n_pos; p++)
				sum += w[p] = exp(w[p] - max);
			for (int i = 0; i < hd; i++) {
				double o = 0;
				for (int p = 0; p < n_pos; p++)
					o += w[p] / sum * v[(size_t)p * kv_dim + kvh + i];
				a->out[(size_t)t * q_dim + (size_t)h * hd + i] = (float)o;
			}
		}
	}
	free(w); free(k); free(v);
	return 0;
}
