/*
 * sl-quant --info: what a model file holds, on stdout: the hyper-parameters, the tokenizer,
 * and one line per tensor with its shape, type, bytes and bits per weight.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sl_convert.h"
#include "sl_types.h"

#include "info.h"

static const char *type_name(uint32_t t)
{
	const sl_type_info *ti = sl_type_get(t);

	return ti ? ti->name : "?";
}

static void info_row(const char *name, const char *shape, const char *type, uint64_t bytes, uint64_t params,
		     uint64_t *tb, uint64_t *tp)
{
	printf("%-32s %-16s %-6s %12llu %7.3f\n", name, shape, type, (unsigned long long)bytes,
	       params ? 8.0 * bytes / params : 0.0);
	*tb += bytes;
	*tp += params;
}

static void info_total(uint64_t n, uint64_t tb, uint64_t tp)
{
	printf("total: %llu tensors, %llu parameters, %llu bytes, %.3f bits per weight\n", (unsigned long long)n,
	       (unsigned long long)tp, (unsigned long long)tb, tp ? 8.0 * tb / tp : 0.0);
}

void info_hf(const char *in, const sl_hf *m)
{
	const sl_hf_tok *t = &m->tok;
	uint64_t tb = 0, tp = 0;
	char shape[64];

	printf("file:          %s (Hugging Face directory, %d safetensors file%s)\n", in, m->st.n_files,
	       m->st.n_files == 1 ? "" : "s");
	printf("architecture:  llama\nname:          %s\n", m->name);
	printf("context:       %u\nembedding:     %u\nlayers:        %u\nffn:           %u\n", m->n_ctx, m->n_embd,
	       m->n_layer, m->n_ff);
	printf("heads:         %u (key/value heads %u, head dim %u)\n", m->n_head, m->n_head_kv, m->head_dim);
	printf("rope:          freq_base %g\nrms eps:       %g\nvocab:         %u\ntied output:   %s\n",
	       m->rope_theta, m->rms_eps, m->n_vocab, m->tied ? "yes" : "no");
	printf("tokenizer:     %s%s%s, %u tokens, %u merges, bos %d, eos %d, unk %d, pad %d, add_bos %s\n",
	       t->model, t->pre ? " pre " : "", t->pre ? t->pre : "", t->n_tokens, t->n_merges, t->bos, t->eos,
	       t->unk, t->pad, t->add_bos > 0 ? "yes" : "no");
	printf("chat template: %s\n", t->chat_template ? "yes" : "none");
	printf("eog ids:      ");
	for (int i = 0; i < m->n_eog; i++)
		printf(" %d", m->eog[i]);
	printf("\n\n%-32s %-16s %-6s %12s %7s\n", "tensor", "shape", "dtype", "bytes", "bpw");
	for (uint64_t i = 0; i < m->st.n_tensors; i++) {
		const sl_st_tensor *s = &m->st.tensors[i];
		info_row(s->name, sl_shape_str(shape, sizeof shape, s->n_dims, s->shape), sl_st_dtype_name(s->dtype),
			 s->nbytes, s->n_elems, &tb, &tp);
	}
	info_total(m->st.n_tensors, tb, tp);
}

/* A string key, or dflt; valid until the next call. */
static const char *gstr(const sl_gguf *g, const char *key, const char *dflt)
{
	static char *s;

	free(s);
	s = NULL;
	return sl_gguf_get_str(g, key, &s) == 1 ? s : dflt;
}

static uint64_t arr_n(const sl_gguf *g, const char *key)
{
	uint64_t n = 0;

	return sl_gguf_get_arr_n(g, key, &n) == 1 ? n : 0;
}

void info_gguf(const char *in, const sl_gguf *g)
{
	static const struct {
		const char *label, *key;
	} hp[] = {
		{"context:", "llama.context_length"}, {"embedding:", "llama.embedding_length"},
		{"layers:", "llama.block_count"}, {"ffn:", "llama.feed_forward_length"},
		{"heads:", "llama.attention.head_count"}, {"kv heads:", "llama.attention.head_count_kv"},
		{"rope dims:", "llama.rope.dimension_count"}, {"vocab:", "llama.vocab_size"},
	};
	static const char *const ids[][2] = {{"bos", "tokenizer.ggml.bos_token_id"},
		{"eos", "tokenizer.ggml.eos_token_id"}, {"unk", "tokenizer.ggml.unknown_token_id"},
		{"pad", "tokenizer.ggml.padding_token_id"}};
	uint64_t tb = 0, tp = 0;
	int64_t id;
	const char *s;
	char shape[64];
	uint32_t u;
	float fv;
	int b = 0;

	printf("file:          %s (GGUF v%u, %llu bytes, alignment %u)\n", in, g->version,
	       (unsigned long long)g->map.size, g->alignment);
	printf("architecture:  %s\n", gstr(g, "general.architecture", "?"));
	printf("name:          %s\n", gstr(g, "general.name", "-"));
	if (sl_gguf_get_u32(g, "general.file_type", &u) == 1)
		printf("file type:     %u (%s)\n", u, sl_ftype_name(u));
	for (size_t i = 0; i < sizeof hp / sizeof hp[0]; i++)
		if (sl_gguf_get_u32(g, hp[i].key, &u) == 1)
			printf("%-14s %u\n", hp[i].label, u);
	if (sl_gguf_get_f32(g, "llama.rope.freq_base", &fv) == 1)
		printf("rope:          freq_base %g\n", fv);
	if (sl_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &fv) == 1)
		printf("rms eps:       %g\n", fv);
	printf("tied output:   %s\n", sl_gguf_tensor_find(g, "output.weight") ? "no" : "yes");
	printf("tokenizer:     %s", gstr(g, "tokenizer.ggml.model", "none"));
	if ((s = gstr(g, "tokenizer.ggml.pre", NULL)))
		printf(" pre %s", s);
	printf(", %llu tokens", (unsigned long long)arr_n(g, "tokenizer.ggml.tokens"));
	printf(", %llu merges", (unsigned long long)arr_n(g, "tokenizer.ggml.merges"));
	for (size_t i = 0; i < 4; i++)
		if (sl_gguf_get_u32(g, ids[i][1], &u) == 1)
			printf(", %s %u", ids[i][0], u);
		else
			printf(", %s -", ids[i][0]);
	if (sl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 1)
		printf(", add_bos %s", b ? "yes" : "no");
	printf("\nchat template: %s\n", sl_gguf_find(g, "tokenizer.chat_template") ? "yes" : "none");
	printf("eog ids:      ");
	for (uint64_t i = 0; i < arr_n(g, "sl.eog_token_ids"); i++)
		if (sl_gguf_get_arr_i64(g, "sl.eog_token_ids", i, &id) == 1)
			printf(" %lld", (long long)id);
	if (!arr_n(g, "sl.eog_token_ids"))
		printf(" (none)");
	printf("\n\n%-32s %-16s %-6s %12s %7s\n", "tensor", "shape", "type", "bytes", "bpw");
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const sl_gguf_tensor *t = &g->tensors[i];
		info_row(t->name, sl_shape_str(shape, sizeof shape, t->n_dims, t->ne), type_name(t->type), t->nbytes,
			 t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3], &tb, &tp);
	}
	info_total(g->n_tensors, tb, tp);
}

