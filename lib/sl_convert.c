/*
 * sl_convert — the conversion engine of sl-quant (sl_convert.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sl_convert.h"
#include "sl_err.h"
#include "sl_llama.h"
#include "sl_pool.h"
#include "sl_types.h"

/* ==== recipes ==== */

static const sl_recipe recipes[] = {
	{"f32", SL_F32, 0, SL_MIX_NONE, -1},
	{"f16", SL_F16, 1, SL_MIX_NONE, -1},
	{"bf16", SL_BF16, 32, SL_MIX_NONE, -1},
	{"q8_0", SL_Q8_0, 7, SL_MIX_NONE, -1},
	{"q4_0", SL_Q4_0, 2, SL_MIX_NONE, -1},
	/* llama.cpp has no "pure" K-quant ftypes (but Q6_K): the nearest _S one names the file */
	{"q4_k", SL_Q4_K, 14, SL_MIX_NONE, -1},
	{"q6_k", SL_Q6_K, 18, SL_MIX_NONE, -1},
	{"q3_k", SL_Q3_K, 11, SL_MIX_NONE, -1},
	{"q2_k", SL_Q2_K, 21, SL_MIX_NONE, -1},
	{"q4_k_m", SL_Q4_K, 15, SL_MIX_Q4_K_M, -1},
	{"q3_k_m", SL_Q3_K, 12, SL_MIX_Q3_K_M, -1},
	{"q2_k_m", SL_Q2_K, 10, SL_MIX_Q2_K_M, -1},
	/* the plan's budget: q4_k_m, but the tied embedding (the core chunk) in Q3_K */
	{"q4_k_m_e3", SL_Q4_K, 15, SL_MIX_Q4_K_M, SL_Q3_K},
};

#define N_RECIPES (sizeof recipes / sizeof recipes[0])

const sl_recipe *sl_recipe_find(const char *name)
{
	for (size_t i = 0; i < N_RECIPES; i++)
		if (!strcmp(recipes[i].name, name))
			return &recipes[i];
	return NULL;
}

const char *sl_ftype_name(uint32_t ft)
{
	for (size_t i = 0; i < N_RECIPES; i++)
		if (recipes[i].ftype == ft)
			return recipes[i].name;
	return "?";
}

static const char *type_name(uint32_t t)
{
	const sl_type_info *ti = sl_type_get(t);

	return ti ? ti->name : "?";
}

char *sl_shape_str(char *buf, size_t n, uint32_t nd, const uint64_t *ne)
{
	size_t k = 0;

	buf[0] = 0;
	for (uint32_t d = 0; d < nd && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? " x " : "", (unsigned long long)ne[d]);
	return buf;
}

static void warn(const sl_convert *c, const char *fmt, ...) SL_PRINTF(2, 3);
static void warn(const sl_convert *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->warn(c->ctx, msg);
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
static int use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/*
 * llama.cpp's mixed rules (llama_tensor_get_type in llama-quant.cpp) for a Llama model: no
 * experts, not 70B.  Layer l of n; gqa = n_head / n_head_kv, read off attn_v's shape.
 *   every mix: output.weight (and token_embd.weight when tied: it is the output) in Q6_K.
 *   q4_k_m: attn_v and ffn_down of the use_more_bits layers in Q6_K; the rest Q4_K.
 *   q3_k_m: attn_v Q5_K in layers 0-1, else Q4_K; ffn_down Q5_K in layers < n/16, else Q4_K;
 *           attn_output Q4_K; the rest Q3_K.  sl has no Q5_K: Q6_K stands in.
 *   q2_k_m: attn_v Q4_K if gqa >= 4, else Q3_K; ffn_down and attn_output Q3_K; the rest Q2_K.
 */
static uint32_t mixed_type(const sl_convert *c, const sl_conv_tensor *j, int l, uint32_t t)
{
	int n = c->n_layer;

	if (!strcmp(j->name, "output.weight") || (c->tied && !strcmp(j->name, "token_embd.weight")))
		return SL_Q6_K;
	if (l < 0)
		return t;
	switch (c->rc->mixed) {
	case SL_MIX_Q4_K_M:
		if ((ends_with(j->name, ".attn_v.weight") || ends_with(j->name, ".ffn_down.weight")) &&
		    use_more_bits(l, n))
			return SL_Q6_K;
		break;
	case SL_MIX_Q3_K_M:
		if (ends_with(j->name, ".attn_v.weight"))
			return l < 2 ? SL_Q6_K : SL_Q4_K;
		if (ends_with(j->name, ".ffn_down.weight"))
			return l < n / 16 ? SL_Q6_K : SL_Q4_K;
		if (ends_with(j->name, ".attn_output.weight"))
			return SL_Q4_K;
		break;
	case SL_MIX_Q2_K_M:
		if (ends_with(j->name, ".attn_v.weight"))
			return j->ne[1] && j->ne[0] / j->ne[1] >= 4 ? SL_Q4_K : SL_Q3_K;
		if (ends_with(j->name, ".ffn_down.weight") || ends_with(j->name, ".attn_output.weight"))
			return SL_Q3_K;
		break;
	}
	return t;
}

/*
 * The output type of a tensor: 1-D stays F32; a mixed recipe raises the sensitive tensors; a
 * recipe's core type then overrides token_embd and output.  A row that is not a whole number
 * of blocks falls back as llama.cpp does: Q4_K and Q6_K to a 32-block type (llama.cpp's Q5_0 /
 * Q8_0; here Q8_0 for both since sl has no Q5_0), Q3_K and Q2_K to a 4.5-bit one (llama.cpp's
 * IQ4_NL; here Q4_0, the same size); then F16.
 */
static uint32_t choose_type(const sl_convert *c, const sl_conv_tensor *j)
{
	uint32_t t = c->rc->type;
	const sl_type_info *ti;
	int l = strncmp(j->name, "blk.", 4) == 0 ? atoi(j->name + 4) : -1;

	if (j->n_dims < 2)
		return SL_F32;
	if (c->rc->mixed)
		t = mixed_type(c, j, l, t);
	if (c->rc->core >= 0 && (!strcmp(j->name, "token_embd.weight") || !strcmp(j->name, "output.weight")))
		t = (uint32_t)c->rc->core;
	ti = sl_type_get(t);
	if (j->ne[0] % ti->blck) {
		uint32_t f = SL_F16;
		if (j->ne[0] % SL_QK8_0 == 0) {
			if (t == SL_Q4_K || t == SL_Q6_K)
				f = SL_Q8_0;
			else if (t == SL_Q3_K || t == SL_Q2_K)
				f = SL_Q4_0;
		}
		warn(c, "%s: rows of %llu are not a multiple of the %s block (%u): using %s", j->name,
		     (unsigned long long)j->ne[0], ti->name, ti->blck, type_name(f));
		t = f;
	}
	return t;
}

char *sl_convert_out_name(const char *in, int is_dir, const sl_recipe *rc)
{
	size_t n = strlen(in) + strlen(rc->name) + 32, k = strlen(in);
	char *p = malloc(n);

	if (!p) {
		sl_seterr("out of memory");
		return NULL;
	}
	if (is_dir) {
		while (k > 1 && in[k - 1] == '/')
			k--;
		snprintf(p, n, "%.*s/model-%s.gguf", (int)k, in, rc->name);
	} else {
		if (k >= 5 && !strcmp(in + k - 5, ".gguf"))
			k -= 5;
		snprintf(p, n, "%.*s-%s.gguf", (int)k, in, rc->name);
	}
	return p;
}

/* ==== inputs ==== */

int sl_convert_from_hf(sl_convert *c, sl_hf *hf, const char *in)
{
	int n = sl_hf_tensors(hf, &c->hft);

	c->in = in;
	c->hf = hf;
	if (n < 0)
		return -1;
	c->t = calloc((size_t)n, sizeof *c->t);
	if (!c->t)
		return sl_seterr("out of memory");
	for (int i = 0; i < n; i++) {
		sl_conv_tensor *j = &c->t[i];
		snprintf(j->name, sizeof j->name, "%s", c->hft[i].name);
		j->n_dims = c->hft[i].n_dims;
		j->ne[0] = c->hft[i].ne[0];
		j->ne[1] = c->hft[i].ne[1];
		j->ne[2] = j->ne[3] = 1;
		j->rows = j->ne[1];
		j->hf = &c->hft[i];
	}
	c->n = n;
	c->n_layer = (int)hf->n_layer;
	c->tied = hf->tied;
	return 0;
}

/* One tensor of the schema: present, with the shape the config gives it. */
static int need_tensor(const sl_convert *c, const sl_llama_tensor *s, int layer, const sl_llama_dims *d)
{
	char name[64], got[96], want[64];
	uint64_t a = d->d[s->cols], b = s->rows == SL_LD_ONE ? 0 : d->d[s->rows];
	const sl_gguf_tensor *t = sl_gguf_tensor_find(c->g, sl_llama_gguf_name(name, sizeof name, s, layer));

	if (!t)
		return sl_seterr("%s: missing tensor %s", c->in, name);
	if (b ? (t->n_dims != 2 || t->ne[0] != a || t->ne[1] != b) : (t->n_dims != 1 || t->ne[0] != a)) {
		sl_shape_str(got, sizeof got, t->n_dims, t->ne);
		if (b)
			snprintf(want, sizeof want, "%llu x %llu", (unsigned long long)a, (unsigned long long)b);
		else
			snprintf(want, sizeof want, "%llu", (unsigned long long)a);
		return sl_seterr("%s: tensor %s has shape %s, expected %s", c->in, name, got, want);
	}
	return 0;
}

/* The same checks as for an HF directory (sl_hf_tensors), from the llama.* keys. */
static int check_gguf_tensors(const sl_convert *c)
{
	static const char *const keys[] = {
		"llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
	};
	uint32_t v[3], kv_heads;
	const sl_gguf_tensor *emb = sl_gguf_tensor_find(c->g, "token_embd.weight");
	sl_llama_dims d;

	for (int i = 0; i < 3; i++)
		if (sl_gguf_get_u32(c->g, keys[i], &v[i]) != 1 || v[i] == 0)
			return sl_seterr("%s: missing %s", c->in, keys[i]);
	if (sl_gguf_get_u32(c->g, "llama.attention.head_count_kv", &kv_heads) != 1)
		kv_heads = v[2];
	if (v[0] % v[2] || kv_heads == 0 || v[2] % kv_heads)
		return sl_seterr("%s: %u heads and %u key/value heads do not divide embedding_length %u",
				 c->in, v[2], kv_heads, v[0]);
	if (!emb)
		return sl_seterr("%s: missing tensor token_embd.weight", c->in);
	d = sl_llama_dims_of(v[0], v[2], kv_heads, v[0] / v[2], v[1], (uint32_t)emb->ne[1]);
	for (int i = 0; i < SL_LLAMA_GLOBAL_TENSORS; i++)
		if ((i != SL_LG_OUTPUT || !c->tied) && need_tensor(c, &sl_llama_global[i], -1, &d))
			return -1;
	for (int l = 0; l < c->n_layer; l++)
		for (int i = 0; i < SL_LLAMA_LAYER_TENSORS; i++)
			if (need_tensor(c, &sl_llama_layer[i], l, &d))
				return -1;
	return 0;
}

int sl_convert_from_gguf(sl_convert *c, sl_gguf *g, const char *in)
{
	char *arch = NULL;
	uint32_t nl = 0;
	int r = sl_gguf_get_str(g, "general.architecture", &arch);

	c->in = in;
	c->g = g;
	if (r < 0)
		return -1;
	if (r == 0 || strcmp(arch, "llama") != 0) {
		sl_seterr("%s: unsupported architecture %s (only llama)", in, r ? arch : "(none)");
		free(arch);
		return -1;
	}
	free(arch);
	if (sl_gguf_get_u32(g, "llama.block_count", &nl) != 1)
		return sl_seterr("%s: missing llama.block_count", in);
	if (sl_gguf_find(g, "split.count"))
		return sl_seterr("%s: split GGUF input is not supported (merge the shards first)", in);
	c->n_layer = (int)nl;
	c->tied = !sl_gguf_tensor_find(g, "output.weight");
	if (check_gguf_tensors(c))
		return -1;
	c->t = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *c->t);
	if (!c->t)
		return sl_seterr("out of memory");
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const sl_gguf_tensor *t = &g->tensors[i];
		sl_conv_tensor *j = &c->t[i];
		if (t->type != SL_F32 && t->type != SL_F16 && t->type != SL_BF16)
			return sl_seterr("%s: tensor %s has type %s: re-quantize from f32, f16 or bf16",
					 in, t->name, type_name(t->type));
		snprintf(j->name, sizeof j->name, "%s", t->name);
		j->n_dims = t->n_dims;
		memcpy(j->ne, t->ne, sizeof j->ne);
		j->rows = t->ne[1] * t->ne[2] * t->ne[3];
		j->gt = t;
	}
	c->n = (int)g->n_tensors;
	return 0;
}

/* ==== plan: types, metadata, tensor infos ==== */

static int add_meta(sl_convert *c)
{
	sl_gguf_writer *w = c->w;
	int quantized = 0;

	for (int i = 0; i < c->n; i++)
		if (c->t[i].type != SL_F32 && c->t[i].type != SL_F16 && c->t[i].type != SL_BF16)
			quantized = 1;
	if (c->hf) {
		if (sl_gguf_add_str(w, "general.architecture", "llama") ||
		    sl_gguf_add_str(w, "general.name", c->hf->name) || sl_hf_add_meta(c->hf, w))
			return -1;
	} else {
		for (uint64_t i = 0; i < c->g->n_kv; i++) {
			const char *k = c->g->kv[i].key;
			int r;
			if (!strcmp(k, "general.file_type") || !strcmp(k, "general.quantization_version") ||
			    !strcmp(k, "general.alignment"))
				continue;
			r = sl_gguf_add_kv(w, &c->g->kv[i]);
			if (r < 0)
				return -1;
			if (r > 0)
				warn(c, "%s: key %s: nested arrays are not copied", c->in, k);
		}
		if (!sl_gguf_find(c->g, "sl.eog_token_ids")) {
			/* A foreign GGUF: generation ends at its eos (sl-infer reads sl.eog_token_ids). */
			uint32_t eos;
			if (sl_gguf_get_u32(c->g, "tokenizer.ggml.eos_token_id", &eos) == 1) {
				int32_t e = (int32_t)eos;
				if (sl_gguf_add_arr(w, "sl.eog_token_ids", SL_GGUF_I32, 1, &e))
					return -1;
			}
		}
	}
	if (sl_gguf_add_u32(w, "general.file_type", c->rc->ftype))
		return -1;
	if (quantized && sl_gguf_add_u32(w, "general.quantization_version", 2))
		return -1;
	return 0;
}

int sl_convert_plan(sl_convert *c)
{
	c->w = sl_gguf_writer_new();
	if (!c->w)
		return sl_seterr("out of memory");
	for (int i = 0; i < c->n; i++)
		c->t[i].type = choose_type(c, &c->t[i]);
	if (add_meta(c))
		return sl_preferr("%s", c->out);
	c->total = 0;
	for (int i = 0; i < c->n; i++) {
		const sl_conv_tensor *j = &c->t[i];
		if (sl_gguf_add_tensor(c->w, j->name, j->n_dims, j->ne, j->type) < 0)
			return sl_preferr("%s", c->out);
		c->total += sl_type_row_bytes(j->type, j->ne[0]) * j->rows;
	}
	return 0;
}

/* ==== streaming ==== */

static int read_row(const sl_conv_tensor *j, uint64_t r, float *dst)
{
	size_t rb;

	if (j->hf)
		return sl_hf_read_row(j->hf, r, dst);
	rb = sl_type_row_bytes(j->gt->type, j->ne[0]);
	return sl_dequant_row(j->gt->type, (const uint8_t *)j->gt->data + r * rb, dst, j->ne[0]);
}

/* Drop a finished input tensor's pages. */
static void release(const sl_convert *c, const sl_conv_tensor *j)
{
	if (j->hf)
		sl_st_release(&c->hf->st, j->hf->src);
	else if (c->g->map.data && !c->g->map.copied)
		sl_map_drop(j->gt->data, j->gt->nbytes);
}

/*
 * Rows are independent, so a batch of rows is quantized by the pool's threads into one output
 * buffer, then written in order: the bytes never depend on the thread count.
 */
#define BATCH_BYTES (4u << 20)      /* output bytes per batch */

typedef struct {
	const sl_conv_tensor *j;
	int stats;
	uint64_t r0, n;               /* rows of this batch */
	size_t rb;                    /* output bytes per row */
	uint8_t *out;                 /* [n][rb] */
	float *scratch;               /* per task: [2][ne0] */
	sl_qstats *st;                /* per task */
	int *failed;                  /* per task: 0, or 1 with msg */
	char (*msg)[256];
} batch;

static void batch_task(void *arg, int task, int n_tasks)
{
	batch *b = arg;
	const sl_conv_tensor *j = b->j;
	uint64_t lo = b->n * (uint64_t)task / (uint64_t)n_tasks, hi = b->n * (uint64_t)(task + 1) / (uint64_t)n_tasks;
	float *row = b->scratch + (size_t)task * 2 * j->ne[0], *deq = row + j->ne[0];

	for (uint64_t k = lo; k < hi && !b->failed[task]; k++) {
		uint8_t *q = b->out + k * b->rb;
		if (read_row(j, b->r0 + k, row) || !sl_quant_row(j->type, row, q, j->ne[0]) ||
		    (b->stats && sl_dequant_row(j->type, q, deq, j->ne[0]))) {
			b->failed[task] = 1;
			snprintf(b->msg[task], sizeof b->msg[task], "%s", sl_error());
			break;
		}
		if (b->stats)
			sl_qstats_add(&b->st[task], row, deq, j->ne[0]);
	}
}

static void stats_merge(sl_qstats *to, const sl_qstats *s)
{
	to->n += s->n;
	to->sum_sq_err += s->sum_sq_err;
	to->sum_sq_ref += s->sum_sq_ref;
	if (s->max_abs_err > to->max_abs_err)
		to->max_abs_err = s->max_abs_err;
}

/* Every tensor's rows, batch by batch, into f. */
static int stream(sl_convert *c, FILE *f, sl_pool *pool, batch *b, int nt)
{
	uint64_t done = 0;

	for (int i = 0; i < c->n; i++) {
		sl_conv_tensor *j = &c->t[i];
		uint64_t per;

		b->j = j;
		b->rb = sl_type_row_bytes(j->type, j->ne[0]);
		per = BATCH_BYTES / b->rb ? BATCH_BYTES / b->rb : 1;
		memset(b->st, 0, (size_t)nt * sizeof *b->st);
		for (b->r0 = 0; b->r0 < j->rows; b->r0 += b->n) {
			b->n = j->rows - b->r0 < per ? j->rows - b->r0 : per;
			/* as many tasks as threads, but never an empty one */
			sl_pool_run(pool, b->n < (uint64_t)nt ? (int)b->n : nt, batch_task, b);
			for (int k = 0; k < nt; k++)
				if (b->failed[k])
					return sl_seterr("%s: %s", j->hf ? c->in : j->name, b->msg[k]);
			if (sl_gguf_write_data(c->w, f, b->out, b->n * b->rb))
				return sl_preferr("%s", c->out);
			j->nbytes += b->n * b->rb;
			done += b->n * b->rb;
			if (c->progress)
				c->progress(c->ctx, c, i, done);
		}
		for (int k = 0; k < nt; k++)
			stats_merge(&j->st, &b->st[k]);
		release(c, j);
		c->bytes += j->nbytes;
		c->params += j->ne[0] * j->rows;
		if (c->stats && j->n_dims >= 2)
			stats_merge(&c->all, &j->st);   /* over the weight matrices: norms stay exact */
		if (c->tensor_done)
			c->tensor_done(c->ctx, c, i);
	}
	return 0;
}

int sl_convert_write(sl_convert *c, FILE *f)
{
	uint64_t max_ne0 = 0, max_rb = 0;
	sl_pool *pool = NULL;
	batch b;
	int nt, rc = -1;

	for (int i = 0; i < c->n; i++) {
		const sl_conv_tensor *j = &c->t[i];
		if (j->ne[0] > max_ne0)
			max_ne0 = j->ne[0];
		if (sl_type_row_bytes(j->type, j->ne[0]) > max_rb)
			max_rb = sl_type_row_bytes(j->type, j->ne[0]);
	}
	if (c->threads != 1 && !(pool = sl_pool_new(c->threads)))
		return -1;
	nt = sl_pool_threads(pool);
	memset(&b, 0, sizeof b);
	b.stats = c->stats;
	b.out = malloc(max_rb > BATCH_BYTES ? max_rb : BATCH_BYTES);
	b.scratch = malloc((size_t)nt * 2 * (max_ne0 ? max_ne0 : 1) * sizeof *b.scratch);
	b.st = calloc((size_t)nt, sizeof *b.st);
	b.failed = calloc((size_t)nt, sizeof *b.failed);
	b.msg = calloc((size_t)nt, sizeof *b.msg);
	if (!b.out || !b.scratch || !b.st || !b.failed || !b.msg)
		sl_seterr("out of memory");
	else if (sl_gguf_write_header(c->w, f))
		sl_preferr("%s", c->out);
	else if (stream(c, f, pool, &b, nt) == 0)
		rc = sl_gguf_write_finish(c->w, f) ? sl_preferr("%s", c->out) : 0;
	sl_pool_free(pool);
	free(b.out);
	free(b.scratch);
	free(b.st);
	free(b.failed);
	free(b.msg);
	return rc;
}

void sl_convert_free(sl_convert *c)
{
	sl_gguf_writer_free(c->w);
	free(c->hft);
	free(c->t);
	c->w = NULL;
	c->hft = NULL;
	c->t = NULL;
}
