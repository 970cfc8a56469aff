/*
 * sl_model — a Llama model read from GGUF, its KV cache, and the forward pass.
 *
 * sl_model_open() maps the file (weights stay in the mapping, never copied; SL_MODEL_READ
 * reads them into memory instead, see sl_map_read); sl_model_new() takes any provider of
 * weights (sl_provider.h: files, memory buffers, ...).  Either reads the hyper-parameters from
 * the `llama.*` keys and checks every tensor sl_forward() will touch: present, the right
 * shape, a type the kernels read.  sl_state holds what changes per run:
 * the KV cache, sized to the context the caller asks for, and the activations, sized to a
 * batch of tokens, allocated once.  sl_forward() runs a batch of tokens at consecutive
 * positions and returns logits; prompts go through in batches (matrix × matrix products),
 * generation one token at a time.
 *
 * Conventions are llama.cpp's (so GGUF files from the hub load): attn_q / attn_k rows are
 * permuted within each head so that RoPE rotates adjacent pairs (2i, 2i+1) by
 * pos · freq_base^(-2i/head_dim); output.weight absent means the head is tied to
 * token_embd.weight.  tests/ref/llama_ref.py is the HF-side reference.
 */
#ifndef SL_MODEL_H
#define SL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "sl_attn.h"
#include "sl_gguf.h"
#include "sl_llama.h"
#include "sl_pool.h"
#include "sl_provider.h"

#define SL_MAX_EOG 16

typedef struct {
	int n_vocab;       /* rows of token_embd / output */
	int dim;           /* embedding_length: the residual stream width */
	int n_layers;      /* block_count */
	int n_heads;       /* attention.head_count */
	int n_kv_heads;    /* attention.head_count_kv; < n_heads is grouped-query attention */
	int head_dim;      /* embedding_length / head_count (or attention.key_length) */
	int hidden_dim;    /* feed_forward_length: SwiGLU width */
	int n_ctx_train;   /* context_length: the longest context the model supports */
	float rope_base;   /* rope.freq_base (10000 if absent) */
	float eps;         /* attention.layer_norm_rms_epsilon */
	int32_t bos;       /* tokenizer.ggml.bos_token_id, or -1 */
	int n_eog;         /* ids that end generation */
	int32_t eog[SL_MAX_EOG];
	int tied;          /* 1 if output.weight is absent (token_embd used as the head) */
} sl_config;

/*
 * A weight matrix: rows × cols of `type`, row r at data + r*row_bytes.  In the model's layer
 * templates data is NULL and (shard, src) say where the matrix lives; a provider's view of
 * the layer (sl_provider.h) sets data.
 */
typedef struct {
	uint32_t type;
	const void *data;
	int rows, cols;
	size_t row_bytes;
	int shard;
	const sl_gguf_tensor *src;
} sl_weight;

/* A norm's [dim] weights as stored (f32, f16 or bf16): converted as they are used, so that
 * a pinned layer norm is not read before its layer runs (a chunk may arrive later). */
typedef struct {
	const void *data;
	uint32_t type;
} sl_norm;

struct sl_layer {
	union {
		struct {
			sl_weight wq;      /* [n_heads*head_dim][dim], rows RoPE-permuted */
			sl_weight wk;      /* [n_kv_heads*head_dim][dim], rows RoPE-permuted */
			sl_weight wv;      /* [n_kv_heads*head_dim][dim] */
			sl_weight wo;      /* [dim][n_heads*head_dim] */
			sl_weight w_gate;  /* [hidden_dim][dim]  (HF gate_proj, llama2.c w1) */
			sl_weight w_up;    /* [hidden_dim][dim]  (HF up_proj,   llama2.c w3) */
			sl_weight w_down;  /* [dim][hidden_dim]  (HF down_proj, llama2.c w2) */
		};
		sl_weight mat[SL_LM_COUNT];  /* the same, in the order of enum sl_llama_mat */
	};
	sl_norm attn_norm;       /* resident: norms are pinned at open */
	sl_norm ffn_norm;
};

typedef struct {
	sl_config cfg;
	sl_provider *prov;       /* owned: where the weights come from */
	const sl_gguf *meta;     /* the shard whose keys describe the model (prov->shards[0]) */
	sl_weight tok_embd;      /* [n_vocab][dim], pinned */
	sl_norm out_norm;
	sl_weight output;        /* [n_vocab][dim], pinned; == tok_embd when tied */
	sl_layer *layers;        /* [n_layers] templates: types, shapes, where; data NULL */
} sl_model;

/*
 * Open and validate a GGUF model.  NULL with sl_error "path: what is wrong" (bad file,
 * not a llama model, missing tensor, wrong shape, unsupported type, insane parameters).
 * Free with sl_model_close().
 */
enum { SL_MODEL_READ = 1 }; /* flags: read the file into memory instead of mapping it */
sl_model *sl_model_open(const char *path, int flags);
/* The same over any provider, which the model then owns (freed on failure too). */
sl_model *sl_model_new(sl_provider *p);
void sl_model_close(sl_model *m);

/* One line for people: "vocab 512, dim 64, 5 layers, 8 heads (4 kv), ..., tied head".
 * Returns buf. */
const char *sl_model_describe(const sl_model *m, char *buf, size_t n);

/* Bytes of weights one token reads (every matrix once): the memory-bound cost per token. */
uint64_t sl_model_weight_bytes(const sl_model *m);

/* ==== per-run state ==== */

/*
 * The steps of a forward pass, in the order they run (the layer's steps once a layer), as
 * sl_state.times counts them: for people who want to see where a token's time goes.
 */
enum {
	SL_STEP_EMBED,           /* inputs_embeds = embed_tokens(input_ids) */
	SL_STEP_ATTN_NORM,       /* input_layernorm */
	SL_STEP_QKV,             /* q_proj, k_proj, v_proj */
	SL_STEP_ROPE,            /* apply_rotary_pos_emb */
	SL_STEP_ATTENTION,       /* the KV cache store; softmax(q·kᵀ/√d)·v over the cache */
	SL_STEP_O,               /* o_proj */
	SL_STEP_FFN_NORM,        /* the residual sum; post_attention_layernorm */
	SL_STEP_GATE_UP,         /* gate_proj, up_proj */
	SL_STEP_SILU,            /* act_fn(gate)·up */
	SL_STEP_DOWN,            /* down_proj */
	SL_STEP_RESIDUAL,        /* the residual sum */
	SL_STEP_HEAD,            /* norm, lm_head */
	SL_N_STEPS
};
/* "embed", "attn_norm", "qkv", ..., "head"; NULL outside 0..SL_N_STEPS-1 */
const char *sl_step_name(int step);
/* Seconds of each step, summed over forward passes: the wall clock of the calling thread,
 * so a step's time includes waiting for the pool's other threads to finish it. */
typedef struct {
	double s[SL_N_STEPS];
} sl_step_times;

typedef struct {
	int n_ctx;               /* positions the KV cache holds */
	int n_batch;             /* tokens per sl_forward() call at most */
	uint32_t kv_type;        /* SL_F16 (default), SL_F32 or SL_Q8_0 */
	void *k_cache;           /* n_layers caches of sl_kv_bytes, kv_type, laid out as sl_attn.h
	                          * says (sl_attention stores them) */
	size_t kv_bytes;         /* of each of k_cache, v_cache (sl_huge_alloc) */
	void *v_cache;           /* same */
	/* activations for a batch of n_batch tokens */
	float *x;                /* [n_batch][dim] the residual stream */
	float *xb;               /* [n_batch][dim] normalized input of a sub-layer / its output */
	float *q;                /* [n_batch][n_heads*head_dim] */
	float *k, *v;            /* [n_batch][n_kv_heads*head_dim] */
	float *att_out;          /* [n_batch][n_heads*head_dim] */
	float *hb, *hb2;         /* [n_batch][hidden_dim] */
	sl_attn_scratch att;     /* attention weights and cache blocks */
	int logits_rows;         /* n_batch if made for all_logits, else 1 */
	float *logits;           /* [logits_rows][n_vocab] */
	float *rope_inv_freq;    /* [head_dim/2] freq_base^(-2i/head_dim) */
	float *rope_cs;          /* [n_batch][head_dim/2][2] cos, sin of the batch's angles: once
				    a pass (sl_forward_embed), for every layer */
	uint64_t bytes;          /* all of the above */
	int exact;               /* 1: every product through sl_matmul_ref (weights dequantized,
				    sums in double, activations never quantized): slow, for tests */
	sl_step_times *times;    /* NULL (sl_state_new), or where forward passes add the time of
				    each step: a clock read a step */
} sl_state;

/*
 * KV cache for n_ctx positions (1 <= n_ctx <= n_ctx_train) and activations for batches of
 * up to n_batch tokens; kv_type SL_F16, SL_F32 or SL_Q8_0 (head_dim a multiple of 32);
 * all_logits: room for the logits of a whole batch (sl_forward's all_logits), else of one
 * token.  NULL with sl_error on out of memory or a bad argument.
 */
sl_state *sl_state_new(const sl_model *m, int n_ctx, int n_batch, uint32_t kv_type, int all_logits);
void sl_state_free(sl_state *s);
/* Bytes the state allocated (KV cache + activations). */
uint64_t sl_state_bytes(const sl_state *s);

/*
 * Run tokens[0..n) at positions pos..pos+n-1 (each attends to positions 0..itself, so the
 * cache must hold positions 0..pos-1 from earlier calls).  Requires 1 <= n <= n_batch,
 * pos + n <= n_ctx and every id < n_vocab.  Returns the logits: n rows of n_vocab if
 * all_logits, else only the last token's row; they live in s->logits until the next call.
 * NULL with sl_error if an argument is out of range or a layer's weights cannot be had.
 * pool may be NULL.
 */
const float *sl_forward(const sl_model *m, sl_state *s, sl_pool *pool,
			const int32_t *tokens, int n, int pos, int all_logits);

/*
 * sl_forward in its three steps, for a caller that runs each layer when its weights arrive
 * (a page loading chunks): embed (checks the arguments as sl_forward does; 0 or -1), then
 * every layer in order (0 or -1), then the head.  sl_forward is exactly these calls.
 */
int sl_forward_embed(const sl_model *m, sl_state *s, const int32_t *tokens, int n, int pos);
int sl_forward_layer(const sl_model *m, sl_state *s, sl_pool *pool, int layer, int n, int pos);
const float *sl_forward_head(const sl_model *m, sl_state *s, sl_pool *pool, int n, int all_logits);

#endif
