/*
 * sl_attn — attention over the KV cache (sl_attn.h): the blocked version, then the reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl_attn.h"
#include "sl_err.h"
#include "sl_kernels.h"
#include "sl_quant.h"
#include "sl_types.h"

/* ==== the cache's layout (sl_attn.h) ==== */

sl_kv_layout sl_kv_layout_of(uint32_t type, int n_kv_heads, int head_dim, int n_ctx)
{
	size_t slice = sl_type_row_bytes(type, (uint64_t)head_dim);
	return (sl_kv_layout){ type, n_kv_heads, head_dim, (n_ctx + SL_ATTN_BLOCK - 1) / SL_ATTN_BLOCK,
			       slice, SL_ATTN_BLOCK * slice };
}

size_t sl_kv_bytes(const sl_kv_layout *l)
{
	return (size_t)l->blocks * (size_t)l->n_kv_heads * l->block;
}

/* KV head h's block that holds position p: in span p / SL_KV_SPAN, after the whole spans
 * before it, its heads' runs of as many blocks as it has (SL_KV_SPAN's, fewer in the last). */
static size_t block_at(const sl_kv_layout *l, int p, int h)
{
	const int span_blocks = SL_KV_SPAN / SL_ATTN_BLOCK, s = p / SL_KV_SPAN;
	const int blocks = l->blocks - s * span_blocks < span_blocks ? l->blocks - s * span_blocks : span_blocks;
	return ((size_t)s * span_blocks * l->n_kv_heads + (size_t)h * blocks +
		(size_t)(p % SL_KV_SPAN / SL_ATTN_BLOCK)) * l->block;
}

void sl_kv_put(const sl_kv_layout *l, void *k_cache, void *v_cache, int p, int h, const float *k,
	       const float *v)
{
	const size_t hd = (size_t)l->head_dim, j = (size_t)(p % SL_ATTN_BLOCK), at = block_at(l, p, h);
	char *kb = (char *)k_cache + at, *vd = (char *)v_cache + at + j * l->slice;

	if (l->type == SL_F32) {
		memcpy(vd, v, hd * sizeof(float));
		for (size_t d = 0; d < hd; d++)
			((float *)kb)[d * SL_ATTN_BLOCK + j] = k[d];
	} else if (l->type == SL_F16) {
		sl_f32_to_f16_row(v, (sl_f16 *)vd, hd);
		for (size_t d0 = 0; d0 < hd; d0 += SL_ATTN_BLOCK) { /* converted a piece at a time */
			sl_f16 h16[SL_ATTN_BLOCK];
			size_t n = hd - d0 < SL_ATTN_BLOCK ? hd - d0 : SL_ATTN_BLOCK;
			sl_f32_to_f16_row(k + d0, h16, n);
			for (size_t d = 0; d < n; d++)
				((sl_f16 *)kb)[(d0 + d) * SL_ATTN_BLOCK + j] = h16[d];
		}
	} else { /* SL_Q8_0: each 32 keys quantized as a q8_0 block, then spread out */
		int8_t *qs = (int8_t *)kb;
		sl_f16 *ds = (sl_f16 *)(kb + hd * SL_ATTN_BLOCK);
		sl_quant_row_q8_0(v, (sl_block_q8_0 *)vd, hd);
		for (size_t b = 0; b < hd / SL_QK8_0; b++) {
			sl_block_q8_0 q;
			sl_quant_row_q8_0(k + b * SL_QK8_0, &q, SL_QK8_0);
			for (size_t i = 0; i < SL_QK8_0; i++)
				qs[(b * SL_QK8_0 + i) * SL_ATTN_BLOCK + j] = q.qs[i];
			ds[b * SL_ATTN_BLOCK + j] = q.d;
		}
	}
}

/* key d of the block kb at its position j, as f32 (as sl_dequant_row computes it) */
static float key_at(const sl_kv_layout *l, const char *kb, size_t d, size_t j)
{
	if (l->type == SL_F32)
		return ((const float *)kb)[d * SL_ATTN_BLOCK + j];
	if (l->type == SL_F16)
		return sl_f16_to_f32(((const sl_f16 *)kb)[d * SL_ATTN_BLOCK + j]);
	const sl_f16 *ds = (const sl_f16 *)(kb + (size_t)l->head_dim * SL_ATTN_BLOCK);
	return sl_f16_to_f32(ds[d / SL_QK8_0 * SL_ATTN_BLOCK + j]) *
	       ((const int8_t *)kb)[d * SL_ATTN_BLOCK + j];
}

void sl_kv_get(const sl_kv_layout *l, const void *k_cache, const void *v_cache, int p, int h,
	       float *k, float *v)
{
	const size_t hd = (size_t)l->head_dim, j = (size_t)(p % SL_ATTN_BLOCK), at = block_at(l, p, h);

	for (size_t d = 0; d < hd; d++)
		k[d] = key_at(l, (const char *)k_cache + at, d, j);
	sl_dequant_row(l->type, (const char *)v_cache + at + j * l->slice, v, hd);
}

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

/*
 * The values of a block of pc cached positions from p0 (a block's first) of KV head kvh, as
 * f32 rows[SL_ATTN_BLOCK][head_dim], zeros past pc: weights·v is a product along the values
 * (sl_gemm_f32_nn) over the whole block, and the weights past what a token sees are 0, so
 * every row must be a number.
 */
static void v_block(const sl_attn *a, int p0, int kvh, int pc, float *rows)
{
	const sl_kv_layout *l = &a->layout;
	const size_t hd = (size_t)l->head_dim;
	const char *blk = (const char *)a->v + block_at(l, p0, kvh);

	if (l->type == SL_F16)
		sl_f16_to_f32_rows((const sl_f16 *)blk, hd, rows, hd, pc, hd);
	else if (l->type == SL_F32)
		memcpy(rows, blk, (size_t)pc * hd * sizeof(float));
	else /* SL_Q8_0: a slice is whole blocks (head_dim % 32 == 0) */
		for (int j = 0; j < pc; j++)
			sl_dequant_row(SL_Q8_0, blk + (size_t)j * l->slice, rows + (size_t)j * hd, hd);
	memset(rows + (size_t)pc * hd, 0, sizeof(float) * (size_t)(SL_ATTN_BLOCK - pc) * hd);
}

/*
 * The keys of the same block as f32 [head_dim][SL_ATTN_BLOCK], columns 0..pc-1 (q·kᵀ reads
 * no others): the cache's own for f32, else converted into kt.
 */
static const float *k_block(const sl_attn *a, int p0, int kvh, int pc, float *kt)
{
	const sl_kv_layout *l = &a->layout;
	const size_t hd = (size_t)l->head_dim;
	const char *blk = (const char *)a->k + block_at(l, p0, kvh);

	if (l->type == SL_F32)
		return (const float *)blk;
	if (l->type == SL_F16) {
		sl_f16_to_f32_rows((const sl_f16 *)blk, SL_ATTN_BLOCK, kt, SL_ATTN_BLOCK, (int)hd, (size_t)pc);
		return kt;
	}
	/* SL_Q8_0: scale × value, as sl_dequant_row */
	const int8_t *qs = (const int8_t *)blk;
	const sl_f16 *ds = (const sl_f16 *)(blk + hd * SL_ATTN_BLOCK);
	float d[SL_ATTN_BLOCK];
	for (size_t b = 0; b < hd / SL_QK8_0; b++) {
		sl_f16_to_f32_rows(ds + b * SL_ATTN_BLOCK, SL_ATTN_BLOCK, d, SL_ATTN_BLOCK, 1, (size_t)pc);
		for (size_t i = b * SL_QK8_0; i < (b + 1) * SL_QK8_0; i++)
			for (int j = 0; j < pc; j++)
				kt[i * SL_ATTN_BLOCK + j] = d[j] * qs[i * SL_ATTN_BLOCK + j];
	}
	return kt;
}

/*
 * Whether a block of an F16 cache goes into the products as it is cached (sl_gemm_f16_nn,
 * converted as read), not converted first: when its values are used by at most 4 rows of
 * queries or weights (one token, say), each is read once either way and the conversion's
 * writes and reads back are saved; the results are the same bits.
 */
static int direct_f16(const sl_attn *a, int heads, int tokens)
{
	return a->layout.type == SL_F16 && heads * tokens <= 4 &&
	       sl_gemm_f16_nn(0, 0, 0, NULL, 0, NULL, 0, NULL, 0); /* an empty product: has the set one? */
}

/*
 * out[i] += o[i] for i < n (a token's output, block by block): the same sums, 4 at a time
 * in the compiler's vectors, which every target has.  As a loop of scalars this was most
 * of attn_rows' own time on long prompts (bench/NOTES.md).
 */
static void add_into(float *restrict out, const float *restrict o, int n)
{
	typedef float v4 __attribute__((vector_size(16)));
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		v4 x, y;
		memcpy(&x, out + i, sizeof x);
		memcpy(&y, o + i, sizeof y);
		x = x + y;
		memcpy(out + i, &x, sizeof x);
	}
	for (; i < n; i++)
		out[i] += o[i];
}

/* floats of the stack's block of keys or values: head_dim up to 128 */
#define KC_STACK_FLOATS (SL_ATTN_BLOCK * 128)

typedef struct {
	const sl_attn *a;
	sl_attn_scratch *sc;
	int heads_per_task;   /* 1, or all the query heads of a KV head */
	int store;            /* each task stores its KV head's k_new, v_new first */
} attn_job;

/* bytes of one key value in the cache (keys are stored by dimension, sl_attn.h) */
static size_t key_size(const sl_kv_layout *l)
{
	return l->type == SL_F32 ? 4 : l->type == SL_F16 ? 2 : 1;
}

/*
 * One token's attention touches each block of its KV head once, after the weights streamed
 * since the last token have evicted them: the key store a line per dimension, the reads a
 * few short runs, too short for the hardware prefetcher to follow in time.  Asking for all
 * those lines at once lets the misses overlap (bench/NOTES.md).  The first blocks only:
 * longer contexts are long runs, which the prefetcher does follow.
 */
#define WANT_BLOCKS 4

static void want_key_lines(const sl_attn *a, int h)
{
	const sl_kv_layout *l = &a->layout;
	const size_t row = SL_ATTN_BLOCK * key_size(l), j = (size_t)(a->pos % SL_ATTN_BLOCK) * key_size(l);
	const char *kb = (const char *)a->k + block_at(l, a->pos, h);

	for (size_t d = 0; d < (size_t)l->head_dim; d++)
		__builtin_prefetch(kb + d * row + j, 1, 3);
}

static void want_blocks(const sl_attn *a, int h)
{
	const sl_kv_layout *l = &a->layout;
	const int n_pos = a->pos + 1;
	const size_t row = SL_ATTN_BLOCK * key_size(l);

	for (int p0 = 0; p0 < n_pos && p0 < WANT_BLOCKS * SL_ATTN_BLOCK; p0 += SL_ATTN_BLOCK) {
		const size_t pc = (size_t)(n_pos - p0 < SL_ATTN_BLOCK ? n_pos - p0 : SL_ATTN_BLOCK);
		const char *kb = (const char *)a->k + block_at(l, p0, h), *vb = (const char *)a->v + block_at(l, p0, h);
		for (size_t d = 0; d < (size_t)l->head_dim; d++) /* the positions' keys of each dimension */
			for (size_t o = 0; o < pc * key_size(l); o += 64)
				__builtin_prefetch(kb + d * row + o);
		for (size_t o = 0; o < pc * l->slice; o += 64) /* their values */
			__builtin_prefetch(vb + o);
	}
}

/* Store the batch's keys and values of KV head h (sl_attn.k_new, v_new). */
static void store_new(const sl_attn *a, int h)
{
	const size_t hd = (size_t)a->layout.head_dim, kv_dim = (size_t)a->layout.n_kv_heads * hd;

	if (a->n == 1)
		want_key_lines(a, h);
	for (size_t t = 0; t < (size_t)a->n; t++)
		sl_kv_put(&a->layout, a->k, a->v, a->pos + (int)t, h, a->k_new + t * kv_dim + (size_t)h * hd,
			  a->v_new + t * kv_dim + (size_t)h * hd);
}

static void store_task(void *arg, int task, int n_tasks)
{
	(void)n_tasks;
	store_new(((const attn_job *)arg)->a, task);
}

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
	int hd = a->layout.head_dim, q_dim = a->n_heads * hd;
	int kvh = h0 / (a->n_heads / a->layout.n_kv_heads), n_pos = a->pos + t1;
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
		if (direct_f16(a, h1 - h0, t1 - ts)) {
			const sl_f16 *kb = (const sl_f16 *)((const char *)a->k + block_at(&a->layout, p0, kvh));
			for (int h = h0; h < h1; h++)
				sl_gemm_f16_nn(t1 - ts, pc, hd, a->q + (size_t)ts * q_dim + (size_t)h * hd,
					       (size_t)q_dim, kb, SL_ATTN_BLOCK, ATT_ROW(h, ts) + p0, (size_t)sc->ld);
			continue;
		}
		const float *kt = k_block(a, p0, kvh, pc, kc);
		for (int h = h0; h < h1; h++)
			sl_gemm_f32_nn(t1 - ts, pc, hd, a->q + (size_t)ts * q_dim + (size_t)h * hd,
				       (size_t)q_dim, kt, SL_ATTN_BLOCK, ATT_ROW(h, ts) + p0, (size_t)sc->ld);
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
		const int direct = direct_f16(a, h1 - h0, t1 - ts);
		const sl_f16 *vb = (const sl_f16 *)((const char *)a->v + block_at(&a->layout, p0, kvh));
		if (!direct)
			v_block(a, p0, kvh, pc, kc);
		for (int h = h0; h < h1; h++) {
			/* straight from the cache, over the pc positions stored: the weights and
			 * values past them would add zeros (0 · 0 = +0), which change no sum */
			if (direct)
				sl_gemm_f16_nn(t1 - ts, hd, pc, ATT_ROW(h, ts) + p0, (size_t)sc->ld, vb,
					       (size_t)hd, pv, (size_t)hd);
			else
				sl_gemm_f32_nn(t1 - ts, hd, SL_ATTN_BLOCK, ATT_ROW(h, ts) + p0, (size_t)sc->ld, kc,
					       (size_t)hd, pv, (size_t)hd);
			for (int t = ts; t < t1; t++)
				add_into(a->out + (size_t)t * q_dim + (size_t)h * hd, pv + (size_t)(t - ts) * hd, hd);
		}
	}
#undef ATT_ROW
}

/* One task: heads_per_task query heads, the batch in groups of sc->rows tokens. */
static void attn_task(void *arg, int task, int n_tasks)
{
	const attn_job *j = arg;
	int h0 = task * j->heads_per_task, step = j->sc->rows, n = j->a->n;
	int kvh = h0 / (j->a->n_heads / j->a->layout.n_kv_heads); /* the task's query heads read */

	(void)n_tasks;
	if (n == 1)
		want_blocks(j->a, kvh);
	if (j->store)
		store_new(j->a, kvh);
	for (int t0 = 0; t0 < n; t0 += step)
		attn_rows(j, h0, h0 + j->heads_per_task, t0, t0 + step < n ? t0 + step : n);
}

void sl_attention(sl_pool *pool, const sl_attn *a, sl_attn_scratch *sc)
{
	/* Decoding one token, converting a block of the cache costs about as much as using
	 * it: then one task serves all the query heads of a KV head, if there are enough KV
	 * heads to keep the threads busy.  The split does not change a bit of the result. */
	int n_kv = a->layout.n_kv_heads, n_rep = a->n_heads / n_kv;
	attn_job job = { a, sc, a->n == 1 && n_kv >= sl_pool_threads(pool) ? n_rep : 1, 0 };

	/* Tasks by KV head store their own head (a token's keys are a cache line a value, all
	 * evicted by the weights since the last token); else the heads are stored first, a task
	 * each (a block holds SL_ATTN_BLOCK positions side by side: not by token). */
	if (a->k_new && job.heads_per_task == n_rep)
		job.store = 1;
	else if (a->k_new)
		sl_pool_run(pool, n_kv, store_task, &job);
	sl_pool_run(pool, a->n_heads / job.heads_per_task, attn_task, &job);
}

/* ==== reference ==== */

int sl_attention_ref(const sl_attn *a)
{
	int hd = a->layout.head_dim, n_kv = a->layout.n_kv_heads, kv_dim = n_kv * hd;
	int q_dim = a->n_heads * hd, n_rep = a->n_heads / n_kv, n_ctx = a->pos + a->n;
	double *w = malloc((size_t)n_ctx * sizeof *w);
	float *k = malloc((size_t)n_ctx * kv_dim * sizeof *k), *v = malloc((size_t)n_ctx * kv_dim * sizeof *v);

	if (!w || !k || !v) {
		free(w); free(k); free(v);
		return sl_seterr("out of memory");
	}
	for (int h = 0; a->k_new && h < n_kv; h++)
		store_new(a, h);
	/* the cache as f32, each row by the format's own definition (sl_types.h) */
	for (int p = 0; p < n_ctx; p++)
		for (int h = 0; h < n_kv; h++)
			sl_kv_get(&a->layout, a->k, a->v, p, h, k + (size_t)p * kv_dim + (size_t)h * hd,
				  v + (size_t)p * kv_dim + (size_t)h * hd);
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
