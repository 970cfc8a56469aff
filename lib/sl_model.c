/*
 * sl_model — loading, validation and the forward pass of a Llama model (sl_model.h).
 *
 * The forward pass at the bottom reads top to bottom like llama2.c's forward(); each step
 * names the line of Hugging Face's modeling_llama.py (LlamaForCausalLM) it implements.  The
 * one difference of layout: GGUF stores q_proj / k_proj with the rows of each head permuted
 * (llama.cpp's converter), so where HF's rotate_half pairs x[i] with x[i + head_dim/2], we
 * pair x[2i] with x[2i+1]; the two give the same scores q·k.  It is embed → one block per
 * layer → head; each layer's matrices are acquired from the provider (sl_provider.h) just
 * before its block and released after, so a provider may hold only some layers at a time.
 * Every weight product goes through sl_matmul() (sl_kernels.h), attention through sl_attn.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_kernels.h"
#include "sl_model.h"
#include "sl_provider_chunk.h"
#include "sl_quant.h"
#include "sl_sys.h"
#include "sl_types.h"

/* Bounds that keep every size below in int/size_t range with room to spare. */
#define MAX_DIM (1 << 20)
#define MAX_LAYERS 4096
#define MAX_CTX (1 << 24)
#define MAX_VOCAB (1 << 24)

/* ==== hyper-parameters ==== */

static const char *gname(const sl_model *m)
{
	return m->prov->name;
}

/* Read "<arch>.<key>" as a positive int in [1, max]; required unless dflt >= 0. */
static int get_param(sl_model *m, const char *arch, const char *key, int dflt, int max, int *out)
{
	char full[128];
	uint64_t v;
	int rc;

	snprintf(full, sizeof full, "%s.%s", arch, key);
	rc = sl_gguf_get_u64(m->meta, full, &v);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (dflt < 0)
			return sl_seterr("%s: missing key %s", gname(m), full);
		*out = dflt;
		return 0;
	}
	if (v < 1 || v > (uint64_t)max)
		return sl_seterr("%s: %s = %llu is out of range (1..%d)", gname(m), full,
				 (unsigned long long)v, max);
	*out = (int)v;
	return 0;
}

static int get_float(sl_model *m, const char *arch, const char *key, float dflt, float *out)
{
	char full[128];
	int rc;

	snprintf(full, sizeof full, "%s.%s", arch, key);
	rc = sl_gguf_get_f32(m->meta, full, out);
	if (rc < 0)
		return -1;
	if (rc == 0)
		*out = dflt;
	if (!(*out > 0) || !isfinite(*out))
		return sl_seterr("%s: %s = %g must be positive and finite", gname(m), full, (double)*out);
	return 0;
}

static int add_eog(sl_model *m, const char *key, int64_t id)
{
	sl_config *c = &m->cfg;

	if (id < 0 || id >= c->n_vocab)
		return sl_seterr("%s: %s: id %lld is not in the vocabulary (%d)", gname(m), key,
				 (long long)id, c->n_vocab);
	for (int i = 0; i < c->n_eog; i++)
		if (c->eog[i] == id)
			return 0;
	if (c->n_eog == SL_MAX_EOG)
		return sl_seterr("%s: %s: more than %d end-of-generation ids", gname(m), key, SL_MAX_EOG);
	c->eog[c->n_eog++] = (int32_t)id;
	return 0;
}

/*
 * End-of-generation ids: sl.eog_token_ids (sl-quant writes it from generation_config.json)
 * when present; otherwise the tokenizer's eos, eot and eom ids (llama.cpp's fallbacks).
 */
static int read_special_ids(sl_model *m)
{
	static const char *const fallback[] = {
		"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id",
	};
	const sl_gguf_kv *kv = sl_gguf_find(m->meta, "sl.eog_token_ids");
	uint32_t v;
	int rc;

	m->cfg.bos = -1;
	rc = sl_gguf_get_u32(m->meta, "tokenizer.ggml.bos_token_id", &v);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (v >= (uint32_t)m->cfg.n_vocab)
			return sl_seterr("%s: tokenizer.ggml.bos_token_id %u >= vocab %d", gname(m), v,
					 m->cfg.n_vocab);
		m->cfg.bos = (int32_t)v;
	}
	if (kv) {
		if (kv->type != SL_GGUF_ARRAY)
			return sl_seterr("%s: key sl.eog_token_ids has type %s, expected an array",
					 gname(m), sl_gguf_vtype_name(kv->type));
		for (uint64_t i = 0; i < kv->arr_n; i++) {
			int64_t id = -1;
			if (sl_gguf_kv_i64(m->meta, kv, i, &id) || add_eog(m, kv->key, id))
				return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
		rc = sl_gguf_get_u32(m->meta, fallback[i], &v);
		if (rc < 0)
			return -1;
		if (rc == 1 && add_eog(m, fallback[i], v))
			return -1;
	}
	return 0;
}

static int read_config(sl_model *m, const char *arch)
{
	sl_config *c = &m->cfg;
	char *scaling = NULL;
	char key[128];
	int n_rot = 0, key_len = 0, val_len = 0, rc;

	if (get_param(m, arch, "embedding_length", -1, MAX_DIM, &c->dim) ||
	    get_param(m, arch, "block_count", -1, MAX_LAYERS, &c->n_layers) ||
	    get_param(m, arch, "attention.head_count", -1, MAX_DIM, &c->n_heads) ||
	    get_param(m, arch, "attention.head_count_kv", c->n_heads, MAX_DIM, &c->n_kv_heads) ||
	    get_param(m, arch, "feed_forward_length", -1, MAX_DIM, &c->hidden_dim) ||
	    get_param(m, arch, "context_length", -1, MAX_CTX, &c->n_ctx_train) ||
	    get_param(m, arch, "attention.key_length", 0, MAX_DIM, &key_len) ||
	    get_param(m, arch, "attention.value_length", 0, MAX_DIM, &val_len) ||
	    get_param(m, arch, "rope.dimension_count", 0, MAX_DIM, &n_rot) ||
	    get_float(m, arch, "rope.freq_base", 10000.0f, &c->rope_base) ||
	    get_float(m, arch, "attention.layer_norm_rms_epsilon", 1e-5f, &c->eps))
		return -1;
	if (c->dim % c->n_heads)
		return sl_seterr("%s: embedding_length %d is not a multiple of head_count %d",
				 gname(m), c->dim, c->n_heads);
	c->head_dim = c->dim / c->n_heads;
	if ((key_len && key_len != c->head_dim) || (val_len && val_len != c->head_dim))
		return sl_seterr("%s: attention key/value length %d/%d differs from embedding_length / "
				 "head_count = %d (not supported)", gname(m), key_len, val_len, c->head_dim);
	if (c->n_heads % c->n_kv_heads)
		return sl_seterr("%s: head_count %d is not a multiple of head_count_kv %d",
				 gname(m), c->n_heads, c->n_kv_heads);
	if (c->head_dim % 2)
		return sl_seterr("%s: head dimension %d is odd (RoPE rotates pairs)", gname(m), c->head_dim);
	if (n_rot && n_rot != c->head_dim)
		return sl_seterr("%s: rope.dimension_count %d differs from the head dimension %d "
				 "(partial RoPE is not supported)", gname(m), n_rot, c->head_dim);
	snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
	rc = sl_gguf_get_str(m->meta, key, &scaling);
	if (rc < 0)
		return -1;
	if (rc == 1 && strcmp(scaling, "none") != 0) {
		sl_seterr("%s: RoPE scaling '%s' is not supported", gname(m), scaling);
		free(scaling);
		return -1;
	}
	free(scaling);
	return 0;
}

/* ==== tensors ==== */

static int is_matmul_type(uint32_t t)
{
	return t == SL_F32 || t == SL_F16 || t == SL_BF16 || t == SL_Q8_0 || t == SL_Q4_0 ||
	       t == SL_Q4_K || t == SL_Q6_K || t == SL_Q3_K || t == SL_Q2_K;
}

static const char *type_name(uint32_t t)
{
	const sl_type_info *ti = sl_type_get(t);
	static _Thread_local char buf[32];

	if (ti && ti->name)
		return ti->name;
	snprintf(buf, sizeof buf, "type %u", t);
	return buf;
}

/* Find `name` with ggml dims {ne0, ne1} (ne1 = 1 for a vector); -1 with sl_error, else its shard. */
static int want(sl_model *m, const char *name, uint64_t ne0, uint64_t ne1, const sl_gguf_tensor **out)
{
	const sl_gguf_tensor *t;
	int shard = sl_provider_find(m->prov, name, &t);

	*out = t;
	if (shard < 0)
		return sl_seterr("%s: missing tensor %s", gname(m), name);
	if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
		return sl_seterr("%s: tensor %s has shape [%llu, %llu, %llu, %llu], expected [%llu, %llu]",
				 gname(m), name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
				 (unsigned long long)t->ne[2], (unsigned long long)t->ne[3],
				 (unsigned long long)ne0, (unsigned long long)ne1);
	return shard;
}

/* A matrix of `rows` output rows over `cols` inputs (ggml dims {cols, rows}); data stays NULL. */
static int want_matrix(sl_model *m, sl_weight *w, const char *name, int rows, int cols)
{
	const sl_gguf_tensor *t;
	int shard = want(m, name, (uint64_t)cols, (uint64_t)rows, &t);

	if (shard < 0)
		return -1;
	if (!is_matmul_type(t->type))
		return sl_seterr("%s: tensor %s has type %s, which sl does not support "
				 "(f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q3_k, q2_k)", gname(m), name, type_name(t->type));
	w->type = t->type;
	w->data = NULL;
	w->rows = rows;
	w->cols = cols;
	w->row_bytes = sl_type_row_bytes(t->type, (uint64_t)cols);
	w->shard = shard;
	w->src = t;
	if (w->row_bytes == 0)
		return sl_preferr("%s: tensor %s", gname(m), name);
	return 0;
}

/* A matrix the model keeps for its whole life (token embedding, head). */
static int pin_matrix(sl_model *m, sl_weight *w, const char *name, int rows, int cols)
{
	if (want_matrix(m, w, name, rows, cols))
		return -1;
	w->data = m->prov->pin(m->prov, w->shard, w->src);
	return w->data ? 0 : -1;
}

/* A norm vector of dim values, pinned; not read here (see sl_norm). */
static int want_norm(sl_model *m, sl_norm *out, const char *name)
{
	const sl_gguf_tensor *t;
	int shard = want(m, name, (uint64_t)m->cfg.dim, 1, &t);

	if (shard < 0)
		return -1;
	if (t->type != SL_F32 && t->type != SL_F16 && t->type != SL_BF16)
		return sl_seterr("%s: tensor %s has type %s; norms must be f32, f16 or bf16",
				 gname(m), name, type_name(t->type));
	out->type = t->type;
	out->data = m->prov->pin(m->prov, shard, t);
	return out->data ? 0 : -1;
}

static int load_tensors(sl_model *m)
{
	const sl_config *c = &m->cfg;
	sl_llama_dims d;
	const sl_gguf_tensor *embd;
	char name[96];

	/* The vocabulary is whatever token_embd holds; llama.vocab_size, if given, must agree. */
	if (sl_provider_find(m->prov, "token_embd.weight", &embd) < 0)
		return sl_seterr("%s: missing tensor token_embd.weight", gname(m));
	if (embd->ne[1] < 1 || embd->ne[1] > MAX_VOCAB)
		return sl_seterr("%s: token_embd.weight has %llu rows (vocabulary out of range)",
				 gname(m), (unsigned long long)embd->ne[1]);
	m->cfg.n_vocab = (int)embd->ne[1];
	d = sl_llama_dims_of((uint64_t)c->dim, (uint64_t)c->n_heads, (uint64_t)c->n_kv_heads,
			     (uint64_t)c->head_dim, (uint64_t)c->hidden_dim, (uint64_t)c->n_vocab);
	if (pin_matrix(m, &m->tok_embd, "token_embd.weight", c->n_vocab, c->dim))
		return -1;
	if (sl_provider_find(m->prov, "output.weight", &embd) >= 0) {
		if (pin_matrix(m, &m->output, "output.weight", c->n_vocab, c->dim))
			return -1;
	} else {
		m->output = m->tok_embd;
		m->cfg.tied = 1;
	}
	m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
	if (!m->layers)
		return sl_seterr("out of memory");
	if (want_norm(m, &m->out_norm, "output_norm.weight"))
		return -1;
	for (int l = 0; l < c->n_layers; l++) {
		sl_layer *L = &m->layers[l];
		for (int i = 0; i < SL_LLAMA_LAYER_TENSORS; i++) {
			const sl_llama_tensor *t = &sl_llama_layer[i];
			sl_llama_gguf_name(name, sizeof name, t, l);
			if (t->mat < 0 ? want_norm(m, i == 0 ? &L->attn_norm : &L->ffn_norm, name) :
			    want_matrix(m, &L->mat[t->mat], name, (int)d.d[t->rows], (int)d.d[t->cols]))
				return -1;
		}
	}
	return 0;
}

sl_model *sl_model_open(const char *path, int flags)
{
	sl_provider *p = sl_provider_open(path, flags & SL_MODEL_READ);

	return p ? sl_model_new(p) : NULL;
}

sl_model *sl_model_new(sl_provider *p)
{
	sl_model *m;
	char *arch = NULL;
	uint32_t vocab_key;
	int rc;

	if (!p)
		return NULL; /* the provider failed to open: sl_error says why */
	m = calloc(1, sizeof *m);
	if (!m) {
		sl_provider_free(p);
		return sl_seterr("out of memory"), NULL;
	}
	m->prov = p;
	m->meta = &p->shards[0];
	rc = sl_gguf_get_str(m->meta, "general.architecture", &arch);
	if (rc <= 0) {
		if (rc == 0)
			sl_seterr("%s: missing key general.architecture", gname(m));
		goto fail;
	}
	if (strcmp(arch, "llama") != 0) {
		sl_seterr("%s: architecture '%s' is not supported (only llama)", gname(m), arch);
		goto fail;
	}
	if (read_config(m, arch) || load_tensors(m) || read_special_ids(m))
		goto fail;
	rc = sl_gguf_get_u32(m->meta, "llama.vocab_size", &vocab_key);
	if (rc < 0)
		goto fail;
	if (rc == 1 && vocab_key != (uint32_t)m->cfg.n_vocab) {
		sl_seterr("%s: llama.vocab_size %u differs from token_embd.weight's %d rows",
			  gname(m), vocab_key, m->cfg.n_vocab);
		goto fail;
	}
	free(arch);
	return m;
fail:
	free(arch);
	sl_model_close(m);
	return NULL;
}

void sl_model_close(sl_model *m)
{
	if (!m)
		return;
	free(m->layers);
	sl_provider_free(m->prov);
	free(m);
}

const char *sl_model_describe(const sl_model *m, char *buf, size_t n)
{
	const sl_config *c = &m->cfg;

	snprintf(buf, n, "vocab %d, dim %d, %d layers, %d heads (%d kv), head dim %d, ffn %d, "
		 "context %d, rope base %g, eps %g, %s head", c->n_vocab, c->dim, c->n_layers,
		 c->n_heads, c->n_kv_heads, c->head_dim, c->hidden_dim, c->n_ctx_train,
		 (double)c->rope_base, (double)c->eps, c->tied ? "tied" : "separate");
	return buf;
}

static uint64_t wbytes(const sl_weight *w)
{
	return (uint64_t)w->rows * w->row_bytes;
}

uint64_t sl_model_weight_bytes(const sl_model *m)
{
	uint64_t n = wbytes(&m->output);

	for (int l = 0; l < m->cfg.n_layers; l++) {
		const sl_layer *L = &m->layers[l];
		n += wbytes(&L->wq) + wbytes(&L->wk) + wbytes(&L->wv) + wbytes(&L->wo) +
		     wbytes(&L->w_gate) + wbytes(&L->w_up) + wbytes(&L->w_down);
	}
	return n;
}

/* ==== state ==== */

/* A layer's KV cache, laid out as sl_attn.h says: each KV head's positions together. */
static sl_kv_layout kv_layout(const sl_config *c, const sl_state *s)
{
	return sl_kv_layout_of(s->kv_type, c->n_kv_heads, c->head_dim, s->n_ctx);
}

sl_state *sl_state_new(const sl_model *m, int n_ctx, int n_batch, uint32_t kv_type, int all_logits)
{
	const sl_config *c = &m->cfg;
	size_t q_dim = (size_t)c->n_heads * c->head_dim, kv_dim = (size_t)c->n_kv_heads * c->head_dim;
	sl_state *s;

	if (n_ctx < 1 || n_ctx > c->n_ctx_train || n_batch < 1 ||
	    (kv_type != SL_F16 && kv_type != SL_F32 && kv_type != SL_Q8_0))
		return sl_seterr("state: context %d / batch %d / kv type %u out of range", n_ctx, n_batch,
				 kv_type), NULL;
	if (kv_type == SL_Q8_0 && c->head_dim % 32)
		return sl_seterr("a q8_0 KV cache needs a head dimension that is a multiple of 32 "
				 "(this model's is %d)", c->head_dim), NULL;
	if (n_batch > n_ctx)
		n_batch = n_ctx;
	s = calloc(1, sizeof *s);
	if (!s)
		return sl_seterr("out of memory"), NULL;
	s->n_ctx = n_ctx;
	s->n_batch = n_batch;
	s->kv_type = kv_type;
	const sl_kv_layout kl = kv_layout(c, s);
	s->kv_bytes = (size_t)c->n_layers * sl_kv_bytes(&kl);
	s->k_cache = sl_huge_alloc(s->kv_bytes);
	s->v_cache = sl_huge_alloc(s->kv_bytes);
	s->x = malloc((size_t)n_batch * c->dim * sizeof(float));
	s->xb = malloc((size_t)n_batch * c->dim * sizeof(float));
	s->q = malloc((size_t)n_batch * q_dim * sizeof(float));
	s->k = malloc((size_t)n_batch * kv_dim * sizeof(float));
	s->v = malloc((size_t)n_batch * kv_dim * sizeof(float));
	s->att_out = malloc((size_t)n_batch * q_dim * sizeof(float));
	s->hb = malloc((size_t)n_batch * c->hidden_dim * sizeof(float));
	s->hb2 = malloc((size_t)n_batch * c->hidden_dim * sizeof(float));
	s->logits_rows = all_logits ? n_batch : 1;
	s->logits = malloc((size_t)s->logits_rows * c->n_vocab * sizeof(float));
	s->rope_inv_freq = malloc((size_t)c->head_dim / 2 * sizeof(float));
	s->rope_cs = malloc((size_t)n_batch * c->head_dim * sizeof(float));
	if (!s->k_cache || !s->v_cache || !s->x || !s->xb || !s->q || !s->k || !s->v || !s->att_out ||
	    !s->hb || !s->hb2 || !s->logits || !s->rope_inv_freq || !s->rope_cs ||
	    sl_attn_scratch_init(&s->att, c->n_heads, c->head_dim, n_ctx, n_batch)) {
		sl_state_free(s);
		return sl_seterr("out of memory (KV cache and activations for %d positions)", n_ctx), NULL;
	}
	s->bytes = 2 * s->kv_bytes + sizeof(float) *
		   ((size_t)n_batch * (2 * c->dim + 2 * q_dim + 2 * kv_dim + 2 * c->hidden_dim + c->head_dim) +
		    (size_t)s->logits_rows * c->n_vocab +
		    (size_t)c->head_dim / 2) + sl_attn_scratch_bytes(&s->att, c->n_heads, c->head_dim);
	/* HF LlamaRotaryEmbedding: inv_freq = 1 / base^(arange(0, head_dim, 2) / head_dim) */
	for (int i = 0; i < c->head_dim / 2; i++)
		s->rope_inv_freq[i] = (float)pow(c->rope_base, -2.0 * i / c->head_dim);
	return s;
}

void sl_state_free(sl_state *s)
{
	if (!s)
		return;
	sl_huge_free(s->k_cache, s->kv_bytes);
	sl_huge_free(s->v_cache, s->kv_bytes);
	free(s->x);
	free(s->xb);
	free(s->q);
	free(s->k);
	free(s->v);
	free(s->att_out);
	free(s->hb);
	free(s->hb2);
	sl_attn_scratch_free(&s->att);
	free(s->logits);
	free(s->rope_inv_freq);
	free(s->rope_cs);
	free(s);
}

uint64_t sl_state_bytes(const sl_state *s)
{
	return s->bytes;
}

/* ==== the pieces of a layer ==== */

/* HF LlamaRMSNorm: weight * x / sqrt(mean(x^2) + eps), the sum in double. */
static void rmsnorm(float *out, const float *x, const sl_norm *w, int n, float eps)
{
	double ss = 0;

	for (int i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	float scale = (float)(1.0 / sqrt(ss / n + eps));
	if (w->type == SL_F32) {
		const float *wf = w->data;
		for (int i = 0; i < n; i++)
			out[i] = wf[i] * (x[i] * scale);
		return;
	}
	/* f16 / bf16: two bytes a value, converted a piece at a time */
	float buf[256];
	for (int i0 = 0; i0 < n; i0 += 256) {
		int k = n - i0 < 256 ? n - i0 : 256;
		sl_dequant_row(w->type, (const uint8_t *)w->data + (size_t)i0 * 2, buf, (uint64_t)k);
		for (int i = 0; i < k; i++)
			out[i0 + i] = buf[i] * (x[i0 + i] * scale);
	}
}

/* HF LlamaRotaryEmbedding: cs[2i], cs[2i+1] = cos, sin of the angle pos · inv_freq[i]. */
static void rope_angles(float *cs, int head_dim, int pos, const float *inv_freq)
{
	for (int i = 0; i < head_dim / 2; i++) {
		double a = (double)pos * inv_freq[i];
		cs[2 * i] = (float)cos(a);
		cs[2 * i + 1] = (float)sin(a);
	}
}

/*
 * HF apply_rotary_pos_emb: q·cos + rotate_half(q)·sin, on pairs (2i, 2i+1) in GGUF's row
 * order, with a position's cos and sin from rope_angles.
 */
static void rope(float *v, int n_heads, int head_dim, const float *cs_sn)
{
	for (int i = 0; i < head_dim / 2; i++) {
		float cs = cs_sn[2 * i], sn = cs_sn[2 * i + 1];
		for (int h = 0; h < n_heads; h++) {
			float *p = v + h * head_dim + 2 * i;
			float x0 = p[0], x1 = p[1];
			p[0] = x0 * cs - x1 * sn;
			p[1] = x0 * sn + x1 * cs;
		}
	}
}

static void matmul(sl_pool *pool, const sl_state *s, const sl_weight *w, const float *x, int n, float *y)
{
	if (s->exact)
		sl_matmul_ref(w->type, w->data, w->rows, w->cols, x, n, y);
	else
		sl_matmul(pool, w->type, w->data, w->rows, w->cols, x, n, y);
}

/* y[i] = w[i] · x for i < k <= 3 (q, k, v; gate, up): one job where the types agree. */
static void matmuls(sl_pool *pool, const sl_state *s, const sl_weight *const *w, float *const *y,
		    int k, const float *x, int n)
{
	sl_mm_out outs[3];
	int same = !s->exact;

	for (int i = 0; i < k; i++) {
		outs[i] = (sl_mm_out){ w[i]->data, w[i]->rows, y[i] };
		same = same && w[i]->type == w[0]->type && w[i]->cols == w[0]->cols;
	}
	if (same) {
		sl_matmul_n(pool, w[0]->type, outs, k, w[0]->cols, x, n);
		return;
	}
	for (int i = 0; i < k; i++)
		matmul(pool, s, w[i], x, n, y[i]);
}

/* ==== the forward pass ==== */

const char *sl_step_name(int step)
{
	static const char *const names[SL_N_STEPS] = {
		"embed", "attn_norm", "qkv", "rope", "attention", "o",
		"ffn_norm", "gate_up", "silu", "down", "residual", "head",
	};
	return step >= 0 && step < SL_N_STEPS ? names[step] : NULL;
}

/* The clock for sl_state.times, read only when they are kept. */
static double step_clock(const sl_state *s)
{
	return s->times ? sl_time_now() : 0;
}

/* Step `step` ended: its time since *t is added, and *t is now. */
static void step_done(sl_state *s, int step, double *t)
{
	if (s->times) {
		double now = sl_time_now();
		s->times->s[step] += now - *t;
		*t = now;
	}
}

static int embed(const sl_model *m, sl_state *s, const int32_t *tokens, int n, int pos, int all_logits)
{
	const sl_config *c = &m->cfg;

	if (all_logits && n > s->logits_rows)
		return sl_seterr("forward: the logits of %d tokens asked for, the state holds %d rows",
				 n, s->logits_rows);
	if (n < 1 || n > s->n_batch || pos < 0 || pos > s->n_ctx - n)
		return sl_seterr("forward: %d tokens at position %d do not fit (batch %d, context %d)",
				 n, pos, s->n_batch, s->n_ctx);
	for (int t = 0; t < n; t++)
		if (tokens[t] < 0 || tokens[t] >= c->n_vocab)
			return sl_seterr("forward: id %d >= vocab %d", tokens[t], c->n_vocab);

	/* inputs_embeds = self.embed_tokens(input_ids) */
	double t0 = step_clock(s);
	for (int t = 0; t < n; t++)
		sl_dequant_row(m->tok_embd.type,
			       (const char *)m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes,
			       s->x + (size_t)t * c->dim, (uint64_t)c->dim);
	step_done(s, SL_STEP_EMBED, &t0);
	/* the batch's rotary angles, once for all the layers */
	for (int t = 0; t < n; t++)
		rope_angles(s->rope_cs + (size_t)t * c->head_dim, c->head_dim, pos + t, s->rope_inv_freq);
	step_done(s, SL_STEP_ROPE, &t0);
	return 0;
}

int sl_forward_embed(const sl_model *m, sl_state *s, const int32_t *tokens, int n, int pos)
{
	return embed(m, s, tokens, n, pos, 0);
}

/*
 * The element-wise steps of a layer, split across the pool: by token for the norms, the
 * rotary embedding and the residual sums, by pieces of SILU_PIECE values for SiLU (so that
 * one token's 8192 also go to every thread).  Each value is computed by the same
 * operations whichever thread takes it.
 */
#define SILU_PIECE 1024
typedef struct {
	int step;
	const sl_config *c;
	sl_state *s;
	const sl_layer *L;
	int n, pos;
} layer_step;

static void step_task(void *arg, int task, int n_tasks)
{
	const layer_step *j = arg;
	const sl_config *c = j->c;
	sl_state *s = j->s;
	const int dim = c->dim, hd = c->head_dim;
	const size_t t = (size_t)task; /* a token, or for SiLU a piece */
	(void)n_tasks;
	/* token t's rows (not formed for SiLU, whose tasks are not tokens) */
	const int by_token = j->step != SL_STEP_SILU;
	float *x = by_token ? s->x + t * dim : NULL;
	float *xb = by_token ? s->xb + t * dim : NULL;

	switch (j->step) {
	case SL_STEP_ATTN_NORM: /* hidden_states = self.input_layernorm(hidden_states) */
		rmsnorm(xb, x, &j->L->attn_norm, dim, c->eps);
		break;
	case SL_STEP_ROPE: /* apply_rotary_pos_emb(q, k, cos, sin) */
		rope(s->q + t * c->n_heads * hd, c->n_heads, hd, s->rope_cs + t * hd);
		rope(s->k + t * c->n_kv_heads * hd, c->n_kv_heads, hd, s->rope_cs + t * hd);
		break;
	case SL_STEP_FFN_NORM: /* residual + attn_output; self.post_attention_layernorm */
		for (int i = 0; i < dim; i++)
			x[i] += xb[i];
		rmsnorm(xb, x, &j->L->ffn_norm, dim, c->eps);
		break;
	case SL_STEP_SILU: { /* act_fn(gate_proj(x)) * up_proj(x), act_fn = SiLU */
		float *g = s->hb + t * SILU_PIECE, *u = s->hb2 + t * SILU_PIECE;
		size_t k = (size_t)j->n * c->hidden_dim - t * SILU_PIECE;
		sl_silu_mul(g, u, k < SILU_PIECE ? k : SILU_PIECE);
		break;
	}
	case SL_STEP_RESIDUAL: /* hidden_states = residual + hidden_states */
		for (int i = 0; i < dim; i++)
			x[i] += xb[i];
		break;
	}
}

static void layer_steps(sl_pool *pool, layer_step *j, int step, double *t)
{
	const size_t n_silu = (size_t)j->n * j->c->hidden_dim;

	j->step = step;
	int n_tasks = step == SL_STEP_SILU ? (int)((n_silu + SILU_PIECE - 1) / SILU_PIECE) : j->n;
	sl_pool_run(pool, n_tasks, step_task, j);
	step_done(j->s, step, t);
}

/* LlamaDecoderLayer.forward for the batch in s->x, with the layer's weights in L. */
static void block(const sl_config *c, sl_state *s, sl_pool *pool, const sl_layer *L, int l,
		  int n, int pos)
{
	float *xb = s->xb;
	layer_step j = { 0, c, s, L, n, pos };
	double t = step_clock(s);

	/* hidden_states = self.input_layernorm(hidden_states) */
	layer_steps(pool, &j, SL_STEP_ATTN_NORM, &t);

	/* query_states = self.q_proj(hidden_states), and k_proj, v_proj */
	const sl_weight *qkv[3] = { &L->wq, &L->wk, &L->wv };
	float *qkv_y[3] = { s->q, s->k, s->v };
	matmuls(pool, s, qkv, qkv_y, 3, xb, n);
	step_done(s, SL_STEP_QKV, &t);

	/* apply_rotary_pos_emb(q, k, cos, sin) */
	layer_steps(pool, &j, SL_STEP_ROPE, &t);

	/* past_key_value.update(k, v, layer_idx); attn_output = eager_attention_forward(...):
	 * the heads in parallel, each KV head's store beside the reads of it (sl_attn.h) */
	const sl_kv_layout kl = kv_layout(c, s);
	size_t layer_at = (size_t)l * sl_kv_bytes(&kl);
	sl_attn a = { c->n_heads, kl, (char *)s->k_cache + layer_at, (char *)s->v_cache + layer_at,
		      s->q, s->att_out, n, pos, s->k, s->v };
	sl_attention(pool, &a, &s->att);
	step_done(s, SL_STEP_ATTENTION, &t);

	/* attn_output = self.o_proj(attn_output); residual + attn_output; post_attention_layernorm */
	matmul(pool, s, &L->wo, s->att_out, n, xb);
	step_done(s, SL_STEP_O, &t);
	layer_steps(pool, &j, SL_STEP_FFN_NORM, &t);

	/* LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = SiLU */
	const sl_weight *gate_up[2] = { &L->w_gate, &L->w_up };
	float *gate_up_y[2] = { s->hb, s->hb2 };
	matmuls(pool, s, gate_up, gate_up_y, 2, xb, n);
	step_done(s, SL_STEP_GATE_UP, &t);
	layer_steps(pool, &j, SL_STEP_SILU, &t);
	matmul(pool, s, &L->w_down, s->hb, n, xb);
	step_done(s, SL_STEP_DOWN, &t);

	/* hidden_states = residual + hidden_states */
	layer_steps(pool, &j, SL_STEP_RESIDUAL, &t);
}

int sl_forward_layer(const sl_model *m, sl_state *s, sl_pool *pool, int l, int n, int pos)
{
	sl_provider *p = m->prov;
	const sl_layer *L = p->acquire(p, &m->layers[l], l);

	if (!L)
		return -1;
	block(&m->cfg, s, pool, L, l, n, pos);
	p->release(p, l);
	return 0;
}

const float *sl_forward_head(const sl_model *m, sl_state *s, sl_pool *pool, int n, int all_logits)
{
	const sl_config *c = &m->cfg;
	int dim = c->dim;

	/* hidden_states = self.norm(hidden_states);  logits = self.lm_head(hidden_states) */
	if (all_logits && n > s->logits_rows)
		return sl_seterr("forward: the logits of %d tokens asked for, the state holds %d rows",
				 n, s->logits_rows), NULL;
	double t0 = step_clock(s);
	if (all_logits) {
		for (int t = 0; t < n; t++)
			rmsnorm(s->xb + (size_t)t * dim, s->x + (size_t)t * dim, &m->out_norm, dim, c->eps);
		matmul(pool, s, &m->output, s->xb, n, s->logits);
	} else {
		rmsnorm(s->xb, s->x + (size_t)(n - 1) * dim, &m->out_norm, dim, c->eps);
		matmul(pool, s, &m->output, s->xb, 1, s->logits);
	}
	step_done(s, SL_STEP_HEAD, &t0);
	return s->logits;
}

const float *sl_forward(const sl_model *m, sl_state *s, sl_pool *pool,
			const int32_t *tokens, int n, int pos, int all_logits)
{
	if (embed(m, s, tokens, n, pos, all_logits))
		return NULL;
	for (int l = 0; l < m->cfg.n_layers; l++)
		if (sl_forward_layer(m, s, pool, l, n, pos))
			return NULL;
	return sl_forward_head(m, s, pool, n, all_logits);
}
