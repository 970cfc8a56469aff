/*
 * sl_convert — the engine of sl-quant: a Llama model, as a Hugging Face directory (sl_hf.h) or
 * an F32/F16/BF16 GGUF file, into one GGUF v3 file of a type recipe, streamed tensor by tensor.
 *
 * Input rows are read one at a time, converted to float, permuted (HF q_proj/k_proj rows to
 * llama.cpp's RoPE layout), quantized (sl_quant.h) by a pool of threads in batches and written
 * in order, so the bytes never depend on the thread count; each input tensor's pages are dropped
 * once written, so memory stays flat whatever the model size.
 *
 *   sl_convert c = {.rc = sl_recipe_find("q4_k_m"), .out = path};
 *   sl_convert_from_hf(&c, &hf, dir);     (or sl_convert_from_gguf)
 *   sl_convert_plan(&c);                  output types, metadata, tensor infos
 *   sl_convert_write(&c, f);              header, every tensor, padding
 *   sl_convert_free(&c);
 *
 * Errors are returned (-1, sl_error naming the file); warnings, progress and per-tensor results
 * go to the caller's callbacks, if set.
 */
#ifndef SL_CONVERT_H
#define SL_CONVERT_H

#include <stdint.h>
#include <stdio.h>

#include "sl_gguf.h"
#include "sl_hf.h"
#include "sl_quant.h"

/*
 * A recipe is a -t name: a base type for every 2-D weight, a general.file_type value
 * (llama.cpp's llama_ftype numbering), a mixed rule of llama.cpp's (which tensors get more
 * bits; the rules are in sl-quant(1) and mixed_type() in sl_convert.c) and optionally the
 * type of the token embedding and output head (the "core"), overriding the rule.
 */
enum {
	SL_MIX_NONE = 0,
	SL_MIX_Q4_K_M,  /* llama.cpp's Q4_K_M */
	SL_MIX_Q3_K_M,  /* Q3_K_M, with Q6_K where llama.cpp has Q5_K (sl has no Q5_K) */
	SL_MIX_Q2_K_M,  /* llama.cpp's "Q2_K" (itself a mix: attn_v, attn_output, ffn_down in Q3_K) */
};

typedef struct {
	const char *name;
	uint32_t type;
	uint32_t ftype;
	int mixed;          /* SL_MIX_* */
	int core;           /* type of token_embd.weight and output.weight, or -1: the rule's */
} sl_recipe;

#define SL_RECIPE_NAMES "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q3_k, q2_k, q4_k_m, q3_k_m, q2_k_m, q4_k_m_e3"

const sl_recipe *sl_recipe_find(const char *name);   /* NULL if unknown */
const char *sl_ftype_name(uint32_t ftype);           /* the recipe's name, or "?" */

/* The default output name: DIR/model-NAME.gguf for a directory, else IN-NAME.gguf (IN
 * without its .gguf).  malloc'ed, or NULL. */
char *sl_convert_out_name(const char *in, int is_dir, const sl_recipe *rc);

/* One output tensor and where it comes from. */
typedef struct {
	char name[64];
	uint32_t n_dims;
	uint64_t ne[SL_GGUF_MAX_DIMS];
	uint64_t rows;                /* ne[1]·ne[2]·ne[3] */
	const sl_hf_tensor *hf;       /* HF input, or */
	const sl_gguf_tensor *gt;     /* GGUF input */
	uint32_t type;                /* output type (sl_convert_plan) */
	uint64_t nbytes;              /* bytes written (sl_convert_write) */
	sl_qstats st;                 /* its quantization error, if .stats */
} sl_conv_tensor;

typedef struct sl_convert sl_convert;
struct sl_convert {
	/* set by the caller */
	const sl_recipe *rc;
	const char *out;              /* the output's name, for messages */
	int threads;                  /* 0: every core; 1: no pool */
	int stats;                    /* measure each tensor's error (dequantizes every row) */
	void *ctx;                    /* passed to the callbacks */
	void (*warn)(void *ctx, const char *msg);
	/* during tensor i, after each batch: done of .total bytes of tensor data written */
	void (*progress)(void *ctx, const sl_convert *c, int i, uint64_t done);
	/* after tensor i is written */
	void (*tensor_done)(void *ctx, const sl_convert *c, int i);

	/* the input (sl_convert_from_*) */
	const char *in;
	sl_hf *hf;
	sl_gguf *g;
	int n_layer, tied;
	sl_conv_tensor *t;
	int n;
	uint64_t total;               /* bytes of tensor data to write (sl_convert_plan) */

	/* results (sl_convert_write) */
	uint64_t bytes, params;       /* of every tensor */
	sl_qstats all;                /* the 2-D weights' error, if .stats */

	sl_hf_tensor *hft;            /* private */
	sl_gguf_writer *w;
};

/* Take the tensors of an open HF directory (in is its name for messages).  0 or -1. */
int sl_convert_from_hf(sl_convert *c, sl_hf *hf, const char *in);
/* Take the tensors of an open GGUF llama model, after checking every tensor the schema needs
 * (sl_llama.h) against its llama.* keys; they must be F32, F16 or BF16.  0 or -1. */
int sl_convert_from_gguf(sl_convert *c, sl_gguf *g, const char *in);

/* Choose each output type (warning about fallbacks from rows that are not whole blocks),
 * and declare the metadata and the tensors.  0 or -1 ("out: ..."). */
int sl_convert_plan(sl_convert *c);
/* Write the whole file to f.  0 or -1. */
int sl_convert_write(sl_convert *c, FILE *f);
void sl_convert_free(sl_convert *c);

/* "64 x 512": a shape for messages. */
char *sl_shape_str(char *buf, size_t n, uint32_t n_dims, const uint64_t *ne);

#endif
