/*
 * sl_hf — Hugging Face Llama directories: config, tokenizer, tensor names, Q/K permutation
 * (sl_hf.h).
 *
 * Everything read from JSON is checked before use; messages name the file and the key.
 * The tokenizer part turns sl_tok's view of tokenizer.json (sl_tok.h) into GGUF's
 * tokenizer.ggml.* arrays the way llama.cpp's converter does; ids past the vocabulary, up to
 * vocab_size, become "[PADn]" with type 5 (unused).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sl_err.h"
#include "sl_hf.h"
#include "sl_json.h"
#include "sl_llama.h"
#include "sl_map.h"
#include "sl_tok.h"

/* ==== small helpers ==== */

/* Parse DIR/NAME as JSON.  *root NULL and 0 if the file is absent and optional. */
static int load_json(const char *dir, const char *name, int optional, cJSON **root)
{
	char *p = sl_path_join(dir, name);
	int rc;

	*root = NULL;
	if (!p)
		return -1;
	rc = sl_json_load(p, optional, root);
	free(p);
	return rc;
}

/* An integer key in [min, max].  1 found, 0 absent (or null), -1 bad. */
static int get_int(const cJSON *o, const char *file, const char *key, long long min, long long max, long long *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j || cJSON_IsNull(j))
		return 0;
	/* The range first: casting a double out of long long's range is undefined. */
	if (!cJSON_IsNumber(j) || !(j->valuedouble >= (double)min && j->valuedouble <= (double)max) ||
	    j->valuedouble != (double)(long long)j->valuedouble)
		return sl_seterr("%s: %s must be an integer in %lld..%lld", file, key, min, max);
	*out = (long long)j->valuedouble;
	return 1;
}

static int need_u32(const cJSON *o, const char *file, const char *key, uint32_t *out)
{
	long long v;
	int r = get_int(o, file, key, 1, 1 << 30, &v);

	if (r == 0)
		return sl_seterr("%s: missing key %s", file, key);
	if (r < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int get_float(const cJSON *o, const char *file, const char *key, float *out, int required)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j || cJSON_IsNull(j))
		return required ? sl_seterr("%s: missing key %s", file, key) : 0;
	if (!cJSON_IsNumber(j) || !(j->valuedouble > 0))
		return sl_seterr("%s: %s must be a positive number", file, key);
	*out = (float)j->valuedouble;
	return 0;
}

/* ==== tokenizer ==== */

/*
 * The vocabulary comes from sl_tok (the tokenizer sl-tok uses), so the GGUF holds exactly what
 * sl_tok_load_gguf() will rebuild; tokenizer_config.json adds what only the converter needs
 * (add_bos_token / add_eos_token as llama.cpp's converter reads them, the chat template).
 */
static int load_tokenizer(sl_hf *m)
{
	sl_hf_tok *t = &m->tok;
	sl_tok *tok = NULL;
	cJSON *tc = NULL;
	const cJSON *it;
	int n, rc = -1;

	if (load_json(m->dir, "tokenizer_config.json", 1, &tc) != 0)
		return -1;
	tok = sl_tok_load(m->dir);
	if (!tok)
		goto out;
	n = sl_tok_n_vocab(tok);
	if (n <= 0 || (uint32_t)n > m->n_vocab) {
		sl_seterr("%s/tokenizer.json: %d tokens but config.json vocab_size is %u", m->dir, n, m->n_vocab);
		goto out;
	}
	t->model = strcmp(sl_tok_gguf_model(tok), "gpt2") == 0 ? "gpt2" : "llama";
	t->pre = sl_tok_gguf_pre(tok) ? (strcmp(sl_tok_gguf_pre(tok), "smollm") == 0 ? "smollm" : "default") : NULL;
	t->n_tokens = m->n_vocab;
	t->tokens = calloc(t->n_tokens, sizeof *t->tokens);
	t->token_len = calloc(t->n_tokens, sizeof *t->token_len);
	t->token_type = calloc(t->n_tokens, sizeof *t->token_type);
	t->scores = strcmp(t->model, "llama") == 0 ? calloc(t->n_tokens, sizeof *t->scores) : NULL;
	t->n_merges = t->model[0] == 'g' ? (uint32_t)sl_tok_n_merges(tok) : 0;
	t->merges = calloc(t->n_merges + 1, sizeof *t->merges);
	if (!t->tokens || !t->token_len || !t->token_type || (t->model[0] == 'l' && !t->scores) || !t->merges) {
		sl_seterr("out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < t->n_tokens; i++) {
		size_t len = 0;
		const char *p = (int)i < n ? sl_tok_piece(tok, (int)i, &len) : NULL;
		char buf[32];
		if (!p) {
			/* ids past the vocabulary, up to vocab_size: llama.cpp's converter pads them so */
			len = (size_t)snprintf(buf, sizeof buf, "[PAD%u]", i);
			p = buf;
			t->token_type[i] = 5;
		} else {
			t->token_type[i] = sl_tok_token_type(tok, (int)i);
			if (t->scores)
				t->scores[i] = sl_tok_score(tok, (int)i);
		}
		t->tokens[i] = malloc(len + 1);
		if (!t->tokens[i]) {
			sl_seterr("out of memory");
			goto out;
		}
		memcpy(t->tokens[i], p, len);
		t->tokens[i][len] = 0;
		t->token_len[i] = len;
	}
	for (uint32_t i = 0; i < t->n_merges; i++)
		if (!(t->merges[i] = strdup(sl_tok_merge(tok, (int)i)))) {
			sl_seterr("out of memory");
			goto out;
		}
	t->bos = sl_tok_bos(tok);
	t->eos = sl_tok_eos(tok);
	t->unk = sl_tok_unk(tok);
	t->pad = sl_tok_pad(tok);
	it = tc ? cJSON_GetObjectItemCaseSensitive(tc, "add_bos_token") : NULL;
	t->add_bos = cJSON_IsBool(it) ? cJSON_IsTrue(it) : sl_tok_add_bos(tok);
	it = tc ? cJSON_GetObjectItemCaseSensitive(tc, "add_eos_token") : NULL;
	t->add_eos = cJSON_IsBool(it) ? cJSON_IsTrue(it) : -1;
	it = tc ? cJSON_GetObjectItemCaseSensitive(tc, "chat_template") : NULL;
	if (cJSON_IsArray(it)) {
		/* [{"name": ..., "template": ...}]: llama.cpp's tokenizer.chat_template is the default one */
		const cJSON *e;
		const cJSON *found = NULL;
		cJSON_ArrayForEach(e, it) {
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
			if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "default"))
				found = cJSON_GetObjectItemCaseSensitive(e, "template");
		}
		it = found;
	}
	if (cJSON_IsString(it) && !(t->chat_template = strdup(it->valuestring))) {
		sl_seterr("out of memory");
		goto out;
	}
	rc = 0;
out:
	sl_tok_free(tok);
	cJSON_Delete(tc);
	return rc;
}

/* ==== config ==== */

static int parse_eog(sl_hf *m, const cJSON *j, const char *file)
{
	const cJSON *it;

	if (!j || cJSON_IsNull(j))
		return 0;
	m->n_eog = 0;
	if (cJSON_IsNumber(j)) {
		if (j->valuedouble < 0 || j->valuedouble >= m->n_vocab || j->valuedouble != (int32_t)j->valuedouble)
			return sl_seterr("%s: eos_token_id %g is not a token id below %u", file, j->valuedouble, m->n_vocab);
		m->eog[m->n_eog++] = (int32_t)j->valuedouble;
		return 1;
	}
	if (!cJSON_IsArray(j))
		return sl_seterr("%s: eos_token_id must be an integer or a list of integers", file);
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= m->n_vocab ||
		    it->valuedouble != (int32_t)it->valuedouble)
			return sl_seterr("%s: eos_token_id holds something other than a token id below %u", file, m->n_vocab);
		if (m->n_eog == SL_HF_MAX_EOG)
			return sl_seterr("%s: more than %d eos_token_id values", file, SL_HF_MAX_EOG);
		m->eog[m->n_eog++] = (int32_t)it->valuedouble;
	}
	return 1;
}

int sl_hf_is_dir(const char *path)
{
	struct stat sb;
	char *p;
	int r;

	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	p = sl_path_join(path, "config.json");
	r = p && access(p, F_OK) == 0;
	free(p);
	return r;
}

int sl_hf_open(sl_hf *m, const char *dir)
{
	cJSON *cfg = NULL, *gen = NULL;
	const cJSON *j;
	char *file = NULL, *gfile = NULL;
	long long v;
	int rc = -1;
	size_t n;

	memset(m, 0, sizeof *m);
	m->tok.bos = m->tok.eos = m->tok.unk = m->tok.pad = -1;
	m->dir = strdup(dir);
	if (!m->dir)
		return sl_seterr("out of memory");
	n = strlen(m->dir);
	while (n > 1 && m->dir[n - 1] == '/')
		m->dir[--n] = 0;
	{
		const char *b = strrchr(m->dir, '/');
		b = b ? b + 1 : m->dir;
		m->name = strdup(b);
		if (!m->name)
			return sl_seterr("out of memory");
		n = strlen(m->name);
		if (n > 3 && strcmp(m->name + n - 3, "-hf") == 0)
			m->name[n - 3] = 0;
	}
	file = sl_path_join(m->dir, "config.json");
	gfile = sl_path_join(m->dir, "generation_config.json");
	if (!file || !gfile) {
		sl_seterr("out of memory");
		goto out;
	}
	if (load_json(m->dir, "config.json", 0, &cfg) != 0)
		goto out;

	/* Architecture: plain Llama only (no biases, no RoPE scaling, SiLU). */
	j = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
	if (cJSON_IsString(j)) {
		if (strcmp(j->valuestring, "llama") != 0) {
			sl_seterr("%s: unsupported architecture %s (only llama)", file, j->valuestring);
			goto out;
		}
	} else {
		j = cJSON_GetObjectItemCaseSensitive(cfg, "architectures");
		if (!cJSON_IsArray(j) || !cJSON_IsString(j->child) ||
		    strcmp(j->child->valuestring, "LlamaForCausalLM") != 0) {
			sl_seterr("%s: unsupported architecture (model_type llama or LlamaForCausalLM needed)", file);
			goto out;
		}
	}
	j = cJSON_GetObjectItemCaseSensitive(cfg, "hidden_act");
	if (j && (!cJSON_IsString(j) || strcmp(j->valuestring, "silu") != 0)) {
		sl_seterr("%s: unsupported hidden_act (only silu)", file);
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "attention_bias")) ||
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "mlp_bias"))) {
		sl_seterr("%s: unsupported attention_bias/mlp_bias (Llama has no biases)", file);
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling");
	if (j && !cJSON_IsNull(j)) {
		sl_seterr("%s: unsupported rope_scaling (only null)", file);
		goto out;
	}
	if (need_u32(cfg, file, "hidden_size", &m->n_embd) || need_u32(cfg, file, "num_hidden_layers", &m->n_layer) ||
	    need_u32(cfg, file, "num_attention_heads", &m->n_head) ||
	    need_u32(cfg, file, "intermediate_size", &m->n_ff) || need_u32(cfg, file, "vocab_size", &m->n_vocab) ||
	    need_u32(cfg, file, "max_position_embeddings", &m->n_ctx))
		goto out;
	if (m->n_layer > 4096) {
		sl_seterr("%s: num_hidden_layers %u is implausible", file, m->n_layer);
		goto out;
	}
	m->n_head_kv = m->n_head;
	if (get_int(cfg, file, "num_key_value_heads", 1, 1 << 30, &v) < 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(cfg, "num_key_value_heads") && v > 0)
		m->n_head_kv = (uint32_t)v;
	if (m->n_embd % m->n_head || m->n_head % m->n_head_kv || (m->n_embd / m->n_head) % 2) {
		sl_seterr("%s: hidden_size %u, %u heads and %u key/value heads do not divide into even-sized heads",
			  file, m->n_embd, m->n_head, m->n_head_kv);
		goto out;
	}
	m->head_dim = m->n_embd / m->n_head;
	if (get_int(cfg, file, "head_dim", 1, 1 << 20, &v) < 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(cfg, "head_dim") && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cfg, "head_dim")) &&
	    (uint32_t)v != m->head_dim) {
		sl_seterr("%s: unsupported head_dim %lld (must be hidden_size / num_attention_heads = %u)", file, v, m->head_dim);
		goto out;
	}
	m->rope_theta = 10000.0f;
	if (get_float(cfg, file, "rope_theta", &m->rope_theta, 0) || get_float(cfg, file, "rms_norm_eps", &m->rms_eps, 1))
		goto out;
	j = cJSON_GetObjectItemCaseSensitive(cfg, "tie_word_embeddings");
	if (j && !cJSON_IsBool(j)) {
		sl_seterr("%s: tie_word_embeddings must be true or false", file);
		goto out;
	}
	m->tied = cJSON_IsTrue(j);

	/* The weights before the tokenizer: vocab_size sizes its arrays, so it must be what the
	 * embedding holds (a config.json saying 51 million would have them allocated first). */
	if (sl_st_open(&m->st, m->dir) != 0)
		goto out;
	const sl_st_tensor *emb = sl_st_find(&m->st, "model.embed_tokens.weight");
	if (emb && emb->n_dims == 2 && emb->shape[0] != m->n_vocab) {
		sl_seterr("%s: vocab_size %u, but model.embed_tokens.weight has %llu rows", file, m->n_vocab,
			  (unsigned long long)emb->shape[0]);
		goto out;
	}
	if (load_tokenizer(m) != 0)
		goto out;

	/* End of generation: generation_config.json, else config.json, else the tokenizer's eos. */
	if (load_json(m->dir, "generation_config.json", 1, &gen) != 0)
		goto out;
	rc = gen ? parse_eog(m, cJSON_GetObjectItemCaseSensitive(gen, "eos_token_id"), gfile) : 0;
	if (rc == 0)
		rc = parse_eog(m, cJSON_GetObjectItemCaseSensitive(cfg, "eos_token_id"), file);
	if (rc < 0)
		goto out;
	if (rc == 0 && m->tok.eos >= 0)
		m->eog[m->n_eog++] = m->tok.eos;
	rc = -1;
	if (!m->tied && !sl_st_find(&m->st, "lm_head.weight") && !j)
		m->tied = 1;    /* HF's LlamaConfig default is untied, but a missing head can only be tied */
	rc = 0;
out:
	cJSON_Delete(cfg);
	cJSON_Delete(gen);
	free(file);
	free(gfile);
	return rc;
}

void sl_hf_close(sl_hf *m)
{
	sl_hf_tok *t = &m->tok;

	if (t->tokens)
		for (uint32_t i = 0; i < t->n_tokens; i++)
			free(t->tokens[i]);
	if (t->merges)
		for (uint32_t i = 0; i < t->n_merges; i++)
			free(t->merges[i]);
	free(t->tokens);
	free(t->token_len);
	free(t->token_type);
	free(t->scores);
	free(t->merges);
	free(t->chat_template);
	sl_st_close(&m->st);
	free(m->dir);
	free(m->name);
	memset(m, 0, sizeof *m);
}

/* ==== metadata ==== */

int sl_hf_add_meta(const sl_hf *m, sl_gguf_writer *w)
{
	const sl_hf_tok *t = &m->tok;

	if (sl_gguf_add_u32(w, "llama.context_length", m->n_ctx) ||
	    sl_gguf_add_u32(w, "llama.embedding_length", m->n_embd) ||
	    sl_gguf_add_u32(w, "llama.block_count", m->n_layer) ||
	    sl_gguf_add_u32(w, "llama.feed_forward_length", m->n_ff) ||
	    sl_gguf_add_u32(w, "llama.rope.dimension_count", m->head_dim) ||
	    sl_gguf_add_u32(w, "llama.attention.head_count", m->n_head) ||
	    sl_gguf_add_u32(w, "llama.attention.head_count_kv", m->n_head_kv) ||
	    sl_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", m->rms_eps) ||
	    sl_gguf_add_f32(w, "llama.rope.freq_base", m->rope_theta) ||
	    sl_gguf_add_u32(w, "llama.vocab_size", m->n_vocab))
		return -1;
	if (sl_gguf_add_str(w, "tokenizer.ggml.model", t->model) ||
	    (t->pre && sl_gguf_add_str(w, "tokenizer.ggml.pre", t->pre)) ||
	    sl_gguf_add_arr_str(w, "tokenizer.ggml.tokens", t->n_tokens, (const char *const *)t->tokens, t->token_len) ||
	    (t->scores && sl_gguf_add_arr(w, "tokenizer.ggml.scores", SL_GGUF_F32, t->n_tokens, t->scores)) ||
	    sl_gguf_add_arr(w, "tokenizer.ggml.token_type", SL_GGUF_I32, t->n_tokens, t->token_type) ||
	    (!strcmp(t->model, "gpt2") &&
	     sl_gguf_add_arr_str(w, "tokenizer.ggml.merges", t->n_merges, (const char *const *)t->merges, NULL)))
		return -1;
	if ((t->bos >= 0 && sl_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos)) ||
	    (t->eos >= 0 && sl_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos)) ||
	    (t->unk >= 0 && sl_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk)) ||
	    (t->pad >= 0 && sl_gguf_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)t->pad)) ||
	    sl_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos > 0) ||
	    (t->add_eos >= 0 && sl_gguf_add_bool(w, "tokenizer.ggml.add_eos_token", t->add_eos)) ||
	    (t->chat_template && sl_gguf_add_str(w, "tokenizer.chat_template", t->chat_template)))
		return -1;
	if (m->n_eog && sl_gguf_add_arr(w, "sl.eog_token_ids", SL_GGUF_I32, (uint64_t)m->n_eog, m->eog))
		return -1;
	return 0;
}

/* ==== tensors ==== */

static int want(const sl_hf *m, sl_hf_tensor *o, const char *gguf, const char *hf, uint64_t rows,
		uint64_t cols, uint32_t permute)
{
	const sl_st_tensor *s = sl_st_find(&m->st, hf);

	if (!s)
		return sl_seterr("%s: missing tensor %s", m->dir, hf);
	if (s->dtype != SL_ST_F32 && s->dtype != SL_ST_F16 && s->dtype != SL_ST_BF16)
		return sl_seterr("%s: tensor %s has dtype %s (only F32, F16, BF16)", m->dir, hf,
				 sl_st_dtype_name(s->dtype));
	if (rows ? (s->n_dims != 2 || s->shape[0] != rows || s->shape[1] != cols)
		 : (s->n_dims != 1 || s->shape[0] != cols)) {
		char got[128] = "", exp[64];
		size_t n = 0;
		for (uint32_t i = 0; i < s->n_dims && n < sizeof got - 24; i++)
			n += (size_t)snprintf(got + n, sizeof got - n, "%s%llu", i ? ", " : "", (unsigned long long)s->shape[i]);
		if (rows)
			snprintf(exp, sizeof exp, "%llu, %llu", (unsigned long long)rows, (unsigned long long)cols);
		else
			snprintf(exp, sizeof exp, "%llu", (unsigned long long)cols);
		return sl_seterr("%s: tensor %s has shape [%s], expected [%s]", m->dir, hf, got, exp);
	}
	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", gguf);
	o->n_dims = rows ? 2 : 1;
	o->ne[0] = cols;
	o->ne[1] = rows ? rows : 1;
	o->src = s;
	o->permute_heads = permute;
	return 0;
}

/* One tensor of the schema: its names for layer l, its shape from the config, its permutation. */
static int want_llama(const sl_hf *m, sl_hf_tensor *o, const sl_llama_tensor *t, int l, const sl_llama_dims *d)
{
	char g[64], h[128];

	sl_llama_gguf_name(g, sizeof g, t, l);
	sl_llama_hf_name(h, sizeof h, t, l);
	return want(m, o, g, h, t->rows == SL_LD_ONE ? 0 : d->d[t->rows], d->d[t->cols],
		    t->permute == SL_LP_Q ? m->n_head : t->permute == SL_LP_K ? m->n_head_kv : 0);
}

int sl_hf_tensors(const sl_hf *m, sl_hf_tensor **out)
{
	sl_llama_dims d = sl_llama_dims_of(m->n_embd, m->n_head, m->n_head_kv, m->head_dim, m->n_ff, m->n_vocab);
	int n = 0, cap = SL_LLAMA_GLOBAL_TENSORS + SL_LLAMA_LAYER_TENSORS * (int)m->n_layer;
	sl_hf_tensor *t = calloc((size_t)cap, sizeof *t);

	*out = NULL;
	if (!t)
		return sl_seterr("out of memory");
	/* llama.cpp's order: token_embd, the layers, output_norm, output (absent when tied) */
	if (want_llama(m, &t[n++], &sl_llama_global[SL_LG_EMBD], -1, &d))
		goto fail;
	for (int l = 0; l < (int)m->n_layer; l++)
		for (int i = 0; i < SL_LLAMA_LAYER_TENSORS; i++)
			if (want_llama(m, &t[n++], &sl_llama_layer[i], l, &d))
				goto fail;
	if (want_llama(m, &t[n++], &sl_llama_global[SL_LG_OUT_NORM], -1, &d))
		goto fail;
	if (!m->tied && want_llama(m, &t[n++], &sl_llama_global[SL_LG_OUTPUT], -1, &d))
		goto fail;
	*out = t;
	return n;
fail:
	free(t);
	return -1;
}

uint64_t sl_hf_permuted_row(uint64_t r, uint32_t head_dim)
{
	uint64_t h = r / head_dim, k = r % head_dim, half = head_dim / 2;

	/* GGUF row h·hd + 2i + j  ←  HF row h·hd + j·hd/2 + i */
	return h * head_dim + (k % 2) * half + k / 2;
}

int sl_hf_read_row(const sl_hf_tensor *t, uint64_t r, float *dst)
{
	uint64_t src = r;

	if (t->permute_heads)
		src = sl_hf_permuted_row(r, (uint32_t)(t->ne[1] / t->permute_heads));
	return sl_st_read_f32(t->src, src * t->ne[0], t->ne[0], dst);
}
