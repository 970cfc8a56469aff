/*
 * sl_hf — a Hugging Face Llama model directory, seen the way a GGUF file presents it.
 *
 * sl-quant's input side: config.json gives the hyper-parameters (read with cJSON, every key
 * checked), generation_config.json the ids that end generation, tokenizer_config.json the chat
 * template and add_bos_token, tokenizer.json the vocabulary (through sl_tok.h, the tokenizer
 * sl-tok uses, so the GGUF holds exactly what it will read back), and the safetensors files
 * (sl_safetensors.h) the weights.  This module also applies the two conventions that make the
 * output a llama.cpp file, both given by the schema table (sl_llama.h): HF tensor names → GGUF
 * names (model.layers.N.self_attn.q_proj.weight → blk.N.attn_q.weight), and the row permutation
 * of q_proj / k_proj.
 *
 * The permutation: HF's Llama applies RoPE to pairs (i, i + head_dim/2) of each head ("rotate
 * half"); llama.cpp (and llama2.c) rotate adjacent pairs (2i, 2i+1).  Both are the same model if
 * the rows of W_q and W_k are reordered within each head: viewing the rows as
 * [n_head][2][head_dim/2] and swapping the last two axes puts HF row h·hd + j·hd/2 + i at GGUF
 * row h·hd + 2i + j.  K uses n_head_kv.  Since q and k get the same reordering, q·k is unchanged.
 */
#ifndef SL_HF_H
#define SL_HF_H

#include <stdint.h>

#include "sl_gguf.h"
#include "sl_safetensors.h"

#define SL_HF_MAX_EOG 16

/* The tokenizer as GGUF stores it (tokenizer.ggml.*). */
typedef struct {
	const char *model;        /* "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE) */
	const char *pre;          /* "smollm", "default"; NULL for llama */
	uint32_t n_tokens;
	char **tokens;            /* [n_tokens], NUL-terminated */
	uint64_t *token_len;      /* [n_tokens] byte lengths */
	int32_t *token_type;      /* [n_tokens] 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte */
	float *scores;            /* [n_tokens] for llama, else NULL */
	uint32_t n_merges;
	char **merges;            /* "left right"; gpt2 only */
	int32_t bos, eos, unk, pad; /* -1 if none */
	int add_bos;              /* -1 unknown */
	int add_eos;              /* -1 unknown */
	char *chat_template;      /* NULL if none */
} sl_hf_tok;

typedef struct {
	char *dir;
	char *name;               /* general.name: the directory's base name */
	/* config.json */
	uint32_t n_vocab;         /* vocab_size */
	uint32_t n_embd;          /* hidden_size */
	uint32_t n_layer;         /* num_hidden_layers */
	uint32_t n_ff;            /* intermediate_size */
	uint32_t n_head;          /* num_attention_heads */
	uint32_t n_head_kv;       /* num_key_value_heads (n_head if absent) */
	uint32_t head_dim;        /* n_embd / n_head */
	uint32_t n_ctx;           /* max_position_embeddings */
	float rope_theta;         /* 10000 if absent */
	float rms_eps;            /* rms_norm_eps */
	int tied;                 /* tie_word_embeddings, or lm_head.weight absent */
	/* generation_config.json eos_token_id (int or list), else config.json's */
	int n_eog;
	int32_t eog[SL_HF_MAX_EOG];
	sl_hf_tok tok;
	sl_safetensors st;
} sl_hf;

/*
 * Open an HF directory: read and check config.json, generation_config.json (optional),
 * tokenizer.json, tokenizer_config.json (optional), and open the weights.  Returns 0, or -1
 * with sl_error "file: what is wrong" (unsupported architecture, missing or bad keys...).
 * Call sl_hf_close even after a failure.
 */
int sl_hf_open(sl_hf *m, const char *dir);
void sl_hf_close(sl_hf *m);

/* 1 if path is a directory with a config.json. */
int sl_hf_is_dir(const char *path);

/* The llama.* hyper-parameter keys, tokenizer.* keys and sl.eog_token_ids.  0 or -1. */
int sl_hf_add_meta(const sl_hf *m, sl_gguf_writer *w);

/*
 * One output tensor: the GGUF name, shape in ggml order (ne[0] contiguous), the HF tensor it
 * comes from, and the row permutation to apply (0 none, else the head count to permute with).
 */
typedef struct {
	char name[64];
	uint32_t n_dims;
	uint64_t ne[2];
	const sl_st_tensor *src;
	uint32_t permute_heads;
} sl_hf_tensor;

/*
 * The tensors of the GGUF file in llama.cpp's order, every one found and shape-checked
 * against the config.  *out is malloc'ed (caller frees).  Returns the count, or -1 with
 * sl_error "dir: missing tensor X" / "dir: tensor X has shape [..], expected [..]".
 */
int sl_hf_tensors(const sl_hf *m, sl_hf_tensor **out);

/*
 * The HF source row of GGUF row r of a permuted Q/K matrix whose rows form n_head heads
 * of head_dim (see above).
 */
uint64_t sl_hf_permuted_row(uint64_t r, uint32_t head_dim);

/* Read GGUF row r (n values) of t as floats, applying the permutation.  0 or -1. */
int sl_hf_read_row(const sl_hf_tensor *t, uint64_t r, float *dst);

#endif
