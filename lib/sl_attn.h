/*
 * sl_attn — causal grouped-query attention over the KV cache of one layer.
 *
 * HF eager_attention_forward with repeat_kv: query head h reads KV head
 * h / (n_heads / n_kv_heads), and token t of the batch, at position pos + t, sees cache
 * positions 0..pos+t:
 *     attn_weights = softmax(q · kᵀ / sqrt(head_dim));  attn_output = attn_weights · v
 *
 * sl_attention() is the fast one: the cache is read in blocks of positions converted once to
 * f32 for the whole batch, heads in parallel, and both products (q·kᵀ, weights·v) of a block
 * run on the kernel set's float micro-kernels (sl_gemm_f32).  sl_attention_ref() is the specification: one
 * token and one head at a time, sums in double.  test_attn checks one against the other.
 */
#ifndef SL_ATTN_H
#define SL_ATTN_H

#include <stddef.h>
#include <stdint.h>

#include "sl_pool.h"

#define SL_ATTN_BLOCK 64     /* cache positions converted at a time */

/*
 * Where a layer's cache keeps KV head h at position p (head_dim values of the cache's type):
 * byte sl_kv_at(l, p, h).  A cache of rows (a position's heads side by side) has pos_bytes
 * = a row, head_bytes = one head's slice; sl_state keeps each head's positions of a block
 * together instead (pos_bytes = one head's slice, head_bytes = SL_ATTN_BLOCK of them), so
 * that a head reads a block as one run.
 */
typedef struct {
	size_t block_bytes;  /* from a block of SL_ATTN_BLOCK positions to the next */
	size_t head_bytes;   /* from a KV head to the next, within a block */
	size_t pos_bytes;    /* from a position to the next, within a block (whole values) */
} sl_kv_layout;

static inline size_t sl_kv_at(const sl_kv_layout *l, int p, int h)
{
	return (size_t)(p / SL_ATTN_BLOCK) * l->block_bytes + (size_t)h * l->head_bytes +
	       (size_t)(p % SL_ATTN_BLOCK) * l->pos_bytes;
}

typedef struct {
	int n_heads, n_kv_heads, head_dim;
	uint32_t kv_type;        /* SL_F32, SL_F16 or SL_Q8_0 (sl_types.h; q8_0: head_dim % 32 == 0) */
	const void *k, *v;       /* this layer's cache, laid out as `layout` says */
	sl_kv_layout layout;
	const float *q;          /* [n][n_heads*head_dim]: tokens at positions pos..pos+n-1 */
	float *out;              /* [n][n_heads*head_dim] */
	int n, pos;
} sl_attn;

/* Working memory of sl_attention(), for batches of up to n_batch tokens and n_ctx positions. */
typedef struct {
	int n_ctx, rows;         /* rows: tokens whose weights att holds at once, per head */
	int ld;                  /* n_ctx rounded up to whole blocks: att's row stride */
	float *att;              /* [n_heads][rows][ld] attention weights */
	float *kv;               /* [n_heads][SL_ATTN_BLOCK * head_dim + rows * head_dim]: a
	                          * cache block as f32 (if head_dim > 128; else it is on the
	                          * stack), a block's share of out */
} sl_attn_scratch;

/* Allocate / free the scratch; -1 with sl_error on out of memory. */
int sl_attn_scratch_init(sl_attn_scratch *sc, int n_heads, int head_dim, int n_ctx, int n_batch);
void sl_attn_scratch_free(sl_attn_scratch *sc);
uint64_t sl_attn_scratch_bytes(const sl_attn_scratch *sc, int n_heads, int head_dim);

/* pos + n <= sc->n_ctx.  pool may be NULL; the result does not depend on it. */
void sl_attention(sl_pool *pool, const sl_attn *a, sl_attn_scratch *sc);

/* The reference.  0, or -1 with sl_error on out of memory. */
int sl_attention_ref(const sl_attn *a);

#endif
