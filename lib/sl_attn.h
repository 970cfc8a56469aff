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
 * run on the kernel set's float micro-kernels (sl_gemm_f32_nn); for one token, an F16 cache
 * goes into them as it is, converted as read (sl_gemm_f16_nn).  It stores the batch's own
 * keys and values (k_new, v_new) too, each KV head's in the task that then reads them
 * where tasks are by KV head (one token, or no grouped query heads), so that the lines
 * just written are read from that core's cache; by KV head first otherwise.
 * sl_attention_ref() is the specification: one token and one head at a time, sums in
 * double.  test_attn checks one against the other.
 */
#ifndef SL_ATTN_H
#define SL_ATTN_H

#include <stddef.h>
#include <stdint.h>

#include "sl_pool.h"

#define SL_ATTN_BLOCK 64     /* cache positions converted at a time */
#define SL_KV_SPAN 512       /* positions of a head's run in the cache, at most */

/*
 * A layer's KV cache for n_ctx positions, in whole blocks of SL_ATTN_BLOCK: spans of
 * SL_KV_SPAN positions (the last one shorter), and in a span KV head after KV head, each
 * head's positions together as one run, so that attention reads a head's keys, then its
 * values, in long runs (64 KB for 512 positions of 64 f16 values; a run per 64 positions,
 * 256 KB apart, read at half the speed, bench/NOTES.md), while the memory the cache
 * touches still grows with the positions used (a span of SmolLM-1.7B's f16 keys is one
 * 2 MiB page a layer).  A run is blocks of SL_ATTN_BLOCK positions, and a block
 * SL_ATTN_BLOCK slices (one head at one position, head_dim values in the cache's type):
 *   Values: the block's positions in order, a slice each as sl_quant_row writes it.
 *   Keys: the same values by dimension, so that q·kᵀ is a product along the positions
 *   (sl_gemm_f32_nn, no sum across a register): f32 and f16 keys are [head_dim][SL_ATTN_BLOCK];
 *   q8_0 keys are the int8 values [head_dim][SL_ATTN_BLOCK], then the blocks' f16 scales
 *   [head_dim/32][SL_ATTN_BLOCK] (the same numbers as SL_ATTN_BLOCK q8_0 slices, rearranged).
 */
typedef struct {
	uint32_t type;         /* SL_F32, SL_F16 or SL_Q8_0 (sl_types.h; q8_0: head_dim % 32 == 0) */
	int n_kv_heads, head_dim;
	int blocks;            /* n_ctx in whole blocks */
	size_t slice;          /* bytes of one head at one position */
	size_t block;          /* of a head's block: SL_ATTN_BLOCK slices */
} sl_kv_layout;

/* The layout of a cache for contexts of up to n_ctx positions. */
sl_kv_layout sl_kv_layout_of(uint32_t type, int n_kv_heads, int head_dim, int n_ctx);

/* Bytes of a layer's cache in layout l. */
size_t sl_kv_bytes(const sl_kv_layout *l);

/* Store position p of KV head h: its head_dim keys and values, rounded to the cache's type. */
void sl_kv_put(const sl_kv_layout *l, void *k_cache, void *v_cache, int p, int h, const float *k,
	       const float *v);

/* Read them back as f32 (for the reference and tests). */
void sl_kv_get(const sl_kv_layout *l, const void *k_cache, const void *v_cache, int p, int h,
	       float *k, float *v);

typedef struct {
	int n_heads;
	sl_kv_layout layout;     /* the cache's type, KV heads and head_dim */
	void *k, *v;             /* this layer's cache (written only to store k_new, v_new) */
	const float *q;          /* [n][n_heads*head_dim]: tokens at positions pos..pos+n-1 */
	float *out;              /* [n][n_heads*head_dim] */
	int n, pos;
	/* NULL, or the batch's own keys and values, [n][n_kv_heads*head_dim], which are stored
	 * in the cache at positions pos..pos+n-1 (sl_kv_put) before they are read */
	const float *k_new, *v_new;
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

/* The reference (it stores k_new, v_new first, like sl_attention).  0, or -1 with sl_error
 * on out of memory. */
int sl_attention_ref(const sl_attn *a);

#endif
