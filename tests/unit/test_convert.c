/*
 * test_convert — the conversion engine (lib/sl_convert.c) on a GGUF model built in memory.
 *
 *   1. q4_k_m's types, from llama.cpp's rule written out here for 8 layers: token_embd (tied)
 *      and attn_v / ffn_down of layers 0, 3, 6, 7 in Q6_K, the other matrices Q4_K, norms F32;
 *      general.file_type 15, quantization_version 2, sl.eog_token_ids from the eos.
 *   2. Every output row is sl_quant_row of the input row; the bytes do not depend on threads.
 *   3. Rows that are not whole blocks fall back (with a warning); a missing tensor is refused.
 *   4. Recipes and the default output name.
 *   5. q3_k_m, q2_k_m, q4_k_m_e3 and the pure 3- and 2-bit types, each tensor's type written
 *      out from llama.cpp's rule for these 8 layers (gqa 2: attn_v of q2_k_m stays Q3_K), and
 *      the Q3_K/Q2_K fallback to Q4_0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_convert.h"
#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_llama.h"
#include "sl_quant.h"
#include "sl_types.h"

enum { E = 256, F = 512, HEADS = 4, KV_HEADS = 2, V = 40, L = 8 };

static float *fill(uint64_t n, unsigned seed)
{
	float *x = malloc(n * sizeof *x);

	for (uint64_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		x[i] = ((float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f) * 0.1f;
	}
	return x;
}

/* A tied llama model with every tensor of the schema, F32, in llama.cpp's order; skip one
 * tensor by name (or NULL).  Returns the file's bytes. */
static uint8_t *model(const char *skip, uint64_t ff, size_t *size)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	sl_llama_dims d = sl_llama_dims_of(E, HEADS, KV_HEADS, E / HEADS, ff, V);
	const sl_llama_tensor *order[1 + L * SL_LLAMA_LAYER_TENSORS + 1];
	int layer[1 + L * SL_LLAMA_LAYER_TENSORS + 1], n = 0;
	float *data[1 + L * SL_LLAMA_LAYER_TENSORS + 1];
	char *buf = NULL;
	FILE *f = open_memstream(&buf, size);

	order[n] = &sl_llama_global[SL_LG_EMBD];
	layer[n++] = -1;
	for (int l = 0; l < L; l++)
		for (int i = 0; i < SL_LLAMA_LAYER_TENSORS; i++) {
			order[n] = &sl_llama_layer[i];
			layer[n++] = l;
		}
	order[n] = &sl_llama_global[SL_LG_OUT_NORM];
	layer[n++] = -1;
	CHECK(!sl_gguf_add_str(w, "general.architecture", "llama") && !sl_gguf_add_u32(w, "llama.block_count", L) &&
	      !sl_gguf_add_u32(w, "llama.embedding_length", E) && !sl_gguf_add_u32(w, "llama.feed_forward_length", (uint32_t)ff) &&
	      !sl_gguf_add_u32(w, "llama.attention.head_count", HEADS) &&
	      !sl_gguf_add_u32(w, "llama.attention.head_count_kv", KV_HEADS) &&
	      !sl_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2) && !sl_gguf_add_u32(w, "general.file_type", 0));
	int k = 0;
	for (int i = 0; i < n; i++) {
		char name[64];
		uint64_t ne[2] = {d.d[order[i]->cols], d.d[order[i]->rows]};
		sl_llama_gguf_name(name, sizeof name, order[i], layer[i]);
		if (skip && !strcmp(name, skip))
			continue;
		CHECK(sl_gguf_add_tensor(w, name, order[i]->rows == SL_LD_ONE ? 1 : 2, ne, SL_F32) == k);
		data[k++] = fill(ne[0] * ne[1], (unsigned)i + 1);
	}
	CHECK(f && sl_gguf_write_header(w, f) == 0);
	for (int i = 0; i < k; i++) {
		CHECK(sl_gguf_write_data(w, f, data[i], sl_gguf_tensor_nbytes(w, i)) == 0);
		free(data[i]);
	}
	CHECK(sl_gguf_write_finish(w, f) == 0);
	fclose(f);
	sl_gguf_writer_free(w);
	return (uint8_t *)buf;
}

static int warnings;
static char last_warning[512];

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	warnings++;
	snprintf(last_warning, sizeof last_warning, "%s", msg);
}

/* Convert in to out (malloc'ed bytes) with recipe name and threads.  0 or -1. */
static int convert(const sl_gguf *in, const char *name, int threads, uint8_t **out, size_t *size)
{
	sl_convert c = {.rc = sl_recipe_find(name), .out = "out", .threads = threads, .warn = on_warn};
	FILE *f = open_memstream((char **)out, size);
	int rc = sl_convert_from_gguf(&c, (sl_gguf *)in, "mem");

	rc = rc ? rc : sl_convert_plan(&c);
	rc = rc ? rc : sl_convert_write(&c, f);
	fclose(f);
	sl_convert_free(&c);
	return rc;
}

static int more_bits(int l)
{
	return l == 0 || l == 3 || l == 6 || l == 7; /* llama.cpp's use_more_bits for 8 layers */
}

static void test_q4_k_m(void)
{
	size_t size, osize, osize2;
	uint8_t *in = model(NULL, F, &size), *out = NULL, *out2 = NULL;
	sl_gguf g, o;
	uint32_t u;
	int64_t eog;

	CHECK_MSG(sl_gguf_parse(&g, in, size, "mem") == 0, "%s", sl_error());
	CHECK_MSG(convert(&g, "q4_k_m", 1, &out, &osize) == 0, "%s", sl_error());
	CHECK_MSG(sl_gguf_parse(&o, out, osize, "out") == 0, "%s", sl_error());
	CHECK(o.n_tensors == g.n_tensors && warnings == 0);
	for (uint64_t i = 0; i < o.n_tensors; i++) {
		const sl_gguf_tensor *t = &o.tensors[i], *s = &g.tensors[i];
		int l = strncmp(t->name, "blk.", 4) ? -1 : atoi(t->name + 4);
		uint32_t want = t->n_dims == 1 ? SL_F32 : SL_Q4_K;
		if (!strcmp(t->name, "token_embd.weight") ||
		    (l >= 0 && more_bits(l) && (strstr(t->name, ".attn_v.") || strstr(t->name, ".ffn_down."))))
			want = SL_Q6_K;
		CHECK_MSG(t->type == want && !strcmp(t->name, s->name), "%s: %s", t->name, sl_type_get(t->type)->name);
		/* every row is the reference quantization of the input row */
		size_t rb = sl_type_row_bytes(t->type, t->ne[0]);
		uint8_t *q = malloc(rb);
		int same = 1;
		for (uint64_t r = 0; r < t->ne[1] && same; r++) {
			sl_quant_row(t->type, (const float *)s->data + r * s->ne[0], q, t->ne[0]);
			same = !memcmp(q, (const uint8_t *)t->data + r * rb, rb);
		}
		CHECK_MSG(same, "%s: rows differ from sl_quant_row", t->name);
		free(q);
	}
	CHECK(sl_gguf_get_u32(&o, "general.file_type", &u) == 1 && u == 15);
	CHECK(sl_gguf_get_u32(&o, "general.quantization_version", &u) == 1 && u == 2);
	CHECK(sl_gguf_get_arr_i64(&o, "sl.eog_token_ids", 0, &eog) == 1 && eog == 2);
	CHECK(sl_gguf_get_u32(&o, "llama.attention.head_count_kv", &u) == 1 && u == KV_HEADS);
	/* threads change nothing */
	CHECK(convert(&g, "q4_k_m", 3, &out2, &osize2) == 0 && osize2 == osize && !memcmp(out, out2, osize));
	sl_gguf_close(&o);
	sl_gguf_close(&g);
	free(in);
	free(out);
	free(out2);
}

/* The type llama.cpp's rule (sl-quant(1)) gives tensor t of the 8-layer model under recipe r. */
static uint32_t want_type(const char *r, const sl_gguf_tensor *t)
{
	int l = strncmp(t->name, "blk.", 4) ? -1 : atoi(t->name + 4);
	int v = strstr(t->name, ".attn_v.") != NULL, o = strstr(t->name, ".attn_output.") != NULL;
	int down = strstr(t->name, ".ffn_down.") != NULL;

	if (t->n_dims == 1)
		return SL_F32;
	if (!strcmp(r, "q3_k"))
		return SL_Q3_K;
	if (!strcmp(r, "q2_k"))
		return SL_Q2_K;
	if (!strcmp(t->name, "token_embd.weight"))   /* tied: the output head */
		return !strcmp(r, "q4_k_m_e3") ? SL_Q3_K : SL_Q6_K;
	if (!strcmp(r, "q3_k_m")) {
		if (v)
			return l < 2 ? SL_Q6_K : SL_Q4_K;
		if (down)
			return SL_Q4_K;                     /* 8 / 16 = 0 layers get Q5_K (Q6_K) */
		return o ? SL_Q4_K : SL_Q3_K;
	}
	if (!strcmp(r, "q2_k_m"))
		return v || o || down ? SL_Q3_K : SL_Q2_K;
	/* q4_k_m_e3 */
	return (v || down) && more_bits(l) ? SL_Q6_K : SL_Q4_K;
}

static void test_low_bit_recipes(void)
{
	static const struct {
		const char *name;
		uint32_t ftype;
	} r[] = {{"q3_k_m", 12}, {"q2_k_m", 10}, {"q4_k_m_e3", 15}, {"q3_k", 11}, {"q2_k", 21}};
	size_t size, osize;
	uint8_t *in = model(NULL, F, &size), *out;
	sl_gguf g, o;
	uint32_t u;

	CHECK(sl_gguf_parse(&g, in, size, "mem") == 0);
	for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) {
		out = NULL;
		warnings = 0;
		CHECK_MSG(convert(&g, r[k].name, 2, &out, &osize) == 0, "%s", sl_error());
		CHECK_MSG(sl_gguf_parse(&o, out, osize, "out") == 0, "%s", sl_error());
		CHECK(warnings == 0);
		for (uint64_t i = 0; i < o.n_tensors; i++) {
			const sl_gguf_tensor *t = &o.tensors[i], *s = &g.tensors[i];
			size_t rb = sl_type_row_bytes(t->type, t->ne[0]);
			uint8_t *q = malloc(rb);
			int same = 1;
			CHECK_MSG(t->type == want_type(r[k].name, t), "%s %s: %s", r[k].name, t->name,
				  sl_type_get(t->type)->name);
			for (uint64_t row = 0; row < t->ne[1] && same; row++) {
				sl_quant_row(t->type, (const float *)s->data + row * s->ne[0], q, t->ne[0]);
				same = !memcmp(q, (const uint8_t *)t->data + row * rb, rb);
			}
			CHECK_MSG(same, "%s %s: rows differ from sl_quant_row", r[k].name, t->name);
			free(q);
		}
		CHECK(sl_gguf_get_u32(&o, "general.file_type", &u) == 1 && u == r[k].ftype);
		sl_gguf_close(&o);
		free(out);
	}
	sl_gguf_close(&g);
	free(in);

	/* ffn 96: Q3_K and Q2_K rows of 96 fall back to Q4_0, as llama.cpp's do to IQ4_NL */
	in = model(NULL, 96, &size);
	CHECK(sl_gguf_parse(&g, in, size, "mem") == 0);
	out = NULL;
	warnings = 0;
	CHECK_MSG(convert(&g, "q2_k", 1, &out, &osize) == 0, "%s", sl_error());
	CHECK(warnings == L);
	CHECK_MSG(!strcmp(last_warning, "blk.7.ffn_down.weight: rows of 96 are not a multiple of the q2_k block (256): using q4_0"),
		  "%s", last_warning);
	CHECK(sl_gguf_parse(&o, out, osize, "out") == 0);
	CHECK(sl_gguf_tensor_find(&o, "blk.0.ffn_down.weight")->type == SL_Q4_0);
	CHECK(sl_gguf_tensor_find(&o, "blk.0.ffn_up.weight")->type == SL_Q2_K);
	sl_gguf_close(&o);
	sl_gguf_close(&g);
	free(in);
	free(out);
}

static void test_fallback_and_errors(void)
{
	size_t size, osize;
	uint8_t *in = model(NULL, 96, &size), *out = NULL;
	sl_gguf g, o;

	/* ffn 96: the gate/up rows (256) are whole Q4_K blocks, ffn_down's (96) fall back to Q8_0 */
	CHECK(sl_gguf_parse(&g, in, size, "mem") == 0);
	warnings = 0;
	CHECK_MSG(convert(&g, "q4_k", 1, &out, &osize) == 0, "%s", sl_error());
	CHECK(warnings == L);
	CHECK_MSG(!strcmp(last_warning, "blk.7.ffn_down.weight: rows of 96 are not a multiple of the q4_k block (256): using q8_0"),
		  "%s", last_warning);
	CHECK(sl_gguf_parse(&o, out, osize, "out") == 0);
	CHECK(sl_gguf_tensor_find(&o, "blk.0.ffn_down.weight")->type == SL_Q8_0);
	CHECK(sl_gguf_tensor_find(&o, "blk.0.ffn_up.weight")->type == SL_Q4_K);
	sl_gguf_close(&o);
	sl_gguf_close(&g);
	free(in);
	free(out);
	out = NULL;

	in = model("blk.3.attn_k.weight", F, &size);
	CHECK(sl_gguf_parse(&g, in, size, "mem") == 0);
	CHECK(convert(&g, "q8_0", 1, &out, &osize) == -1);
	CHECK_MSG(!strcmp(sl_error(), "mem: missing tensor blk.3.attn_k.weight"), "%s", sl_error());
	sl_gguf_close(&g);
	free(in);
	free(out);
}

static void test_names(void)
{
	char *p;

	CHECK(sl_recipe_find("q4_k_m") && sl_recipe_find("q4_k_m")->type == SL_Q4_K && sl_recipe_find("q4_k_m")->mixed);
	CHECK(sl_recipe_find("q8_0")->ftype == 7 && sl_recipe_find("f16")->ftype == 1);
	CHECK(sl_recipe_find("q5_0") == NULL && sl_recipe_find("") == NULL);
	CHECK(!strcmp(sl_ftype_name(15), "q4_k_m") && !strcmp(sl_ftype_name(99), "?"));
	CHECK(!strcmp(sl_ftype_name(10), "q2_k_m") && !strcmp(sl_ftype_name(12), "q3_k_m"));
	CHECK(sl_recipe_find("q4_k_m_e3")->core == SL_Q3_K && sl_recipe_find("q3_k")->core == -1);
	p = sl_convert_out_name("models/x//", 1, sl_recipe_find("q4_0"));
	CHECK(p && !strcmp(p, "models/x/model-q4_0.gguf"));
	free(p);
	p = sl_convert_out_name("a/b.gguf", 0, sl_recipe_find("q6_k"));
	CHECK(p && !strcmp(p, "a/b-q6_k.gguf"));
	free(p);
	p = sl_convert_out_name("model.bin", 0, sl_recipe_find("f32"));
	CHECK(p && !strcmp(p, "model.bin-f32.gguf"));
	free(p);
}

int main(void)
{
	test_names();
	test_q4_k_m();
	test_fallback_and_errors();
	test_low_bit_recipes();
	return CHECK_DONE();
}
