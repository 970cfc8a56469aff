/*
 * sl_llama — the Llama tensor schema: every tensor of a llama model, once.
 *
 * sl-quant (HF names → GGUF names, the Q/K row permutation), sl_hf (finding and
 * shape-checking the HF tensors) and sl_model (finding and shape-checking the GGUF tensors)
 * all read this table.  Shapes are given in the dimensions of the config, rows (ggml ne[1])
 * by cols (ggml ne[0]); a vector has rows SL_LD_ONE.  The order of each table is
 * llama.cpp's converter's order, which is the order sl-quant writes.
 */
#ifndef SL_LLAMA_H
#define SL_LLAMA_H

#include <stddef.h>
#include <stdint.h>

/* The dimensions a shape is written in. */
enum sl_llama_dim {
	SL_LD_ONE,    /* 1: the row count of a vector */
	SL_LD_EMBD,   /* hidden size (embedding_length) */
	SL_LD_Q,      /* n_heads * head_dim */
	SL_LD_KV,     /* n_kv_heads * head_dim */
	SL_LD_FF,     /* intermediate size (feed_forward_length) */
	SL_LD_VOCAB,  /* vocabulary */
	SL_LD_COUNT
};

/* Which heads the rows of a Q/K matrix are permuted by (see sl_hf.h). */
enum sl_llama_permute { SL_LP_NONE, SL_LP_Q, SL_LP_K };

/* Index of a matrix in sl_layer.mat[] (sl_model.h), or -1 for the norms. */
enum sl_llama_mat {
	SL_LM_Q, SL_LM_K, SL_LM_V, SL_LM_O, SL_LM_GATE, SL_LM_UP, SL_LM_DOWN, SL_LM_COUNT
};

typedef struct {
	const char *gguf;       /* "attn_q": blk.N.attn_q.weight (global tensors: the full name) */
	const char *hf;         /* "self_attn.q_proj": model.layers.N.self_attn.q_proj.weight */
	uint8_t rows, cols;     /* enum sl_llama_dim */
	uint8_t permute;        /* enum sl_llama_permute */
	int8_t mat;             /* enum sl_llama_mat, -1 for a norm vector */
} sl_llama_tensor;

/* The nine tensors of every layer, in file order: attn_norm, attn_q, ..., ffn_down. */
#define SL_LLAMA_LAYER_TENSORS 9
extern const sl_llama_tensor sl_llama_layer[SL_LLAMA_LAYER_TENSORS];

/* The tensors outside the layers: token_embd (before the layers), output_norm and output
 * (after them; output is absent when the head is tied to token_embd). */
enum { SL_LG_EMBD, SL_LG_OUT_NORM, SL_LG_OUTPUT, SL_LLAMA_GLOBAL_TENSORS };
extern const sl_llama_tensor sl_llama_global[SL_LLAMA_GLOBAL_TENSORS];

/* Full names: "blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"; layer is
 * ignored for a global tensor (pass -1).  Return buf. */
char *sl_llama_gguf_name(char *buf, size_t n, const sl_llama_tensor *t, int layer);
char *sl_llama_hf_name(char *buf, size_t n, const sl_llama_tensor *t, int layer);

/* Values of the dimensions for one model, indexed by enum sl_llama_dim. */
typedef struct {
	uint64_t d[SL_LD_COUNT];
} sl_llama_dims;

sl_llama_dims sl_llama_dims_of(uint64_t embd, uint64_t n_heads, uint64_t n_kv_heads,
			       uint64_t head_dim, uint64_t ff, uint64_t vocab);

/* 1 if t is one of the global tables' entries (a name without "blk.N."). */
int sl_llama_is_global(const sl_llama_tensor *t);

#endif
