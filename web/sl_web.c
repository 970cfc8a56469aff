/*
 * sl_web — the C API of the page's Worker (sl_web.h): a chunked model handed over in memory
 * (sl_provider_given), its tokenizer from the core chunk, and one sl_session driven a step
 * at a time, stopping where a layer's chunk has not arrived.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_kernels.h"
#include "sl_manifest.h"
#include "sl_model.h"
#include "sl_provider_chunk.h"
#include "sl_session.h"
#include "sl_tok.h"
#include "sl_web.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define API EMSCRIPTEN_KEEPALIVE
#else
#define API
#endif

static struct {
	sl_provider *prov;       /* until the model takes it */
	const sl_manifest *man;  /* the provider's */
	sl_model *model;         /* owns prov once made */
	sl_tok *tok;
	int threads;
	sl_session *sess;
	sl_tok_dec *dec;
	int n_prompt;
	int done, token, wait_chunk;
	char *text;              /* of the last token, NUL-terminated */
	size_t text_cap;
	char err[1024];
	char json[512];
} W;

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(W.err, sizeof W.err, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_lib(void)
{
	return fail("%s", sl_error());
}

API const char *slw_error(void)
{
	return W.err;
}

API const char *slw_build_info(void)
{
#ifdef __wasm_simd128__
	const char *simd = "true";
#else
	const char *simd = "false";
#endif
#ifdef SL_NO_THREADS
	int tmax = 1;
#else
	int tmax = 64;
#endif
	snprintf(W.json, sizeof W.json, "{\"version\":\"%s\",\"kernels\":\"%s\",\"simd\":%s,\"threads_max\":%d}",
		 SL_VERSION, sl_kernels_name(), simd, tmax);
	return W.json;
}

API void *slw_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

API void slw_free(void *p)
{
	free(p);
}

static void end_generation(void)
{
	sl_session_free(W.sess);
	sl_tok_dec_free(W.dec);
	W.sess = NULL;
	W.dec = NULL;
}

API void slw_close(void)
{
	end_generation();
	sl_tok_free(W.tok);
	if (W.model)
		sl_model_close(W.model);
	else
		sl_provider_free(W.prov);
	W.tok = NULL;
	W.model = NULL;
	W.prov = NULL;
	W.man = NULL;
}

API int slw_open(const char *manifest, size_t len, const char *name, int threads)
{
	slw_close();
	W.err[0] = '\0';
	if (!(W.prov = sl_provider_given(manifest, len, name && *name ? name : "manifest.json")))
		return fail_lib();
	W.man = sl_provider_given_manifest(W.prov);
	W.threads = threads > 0 ? threads : 1;
	return W.man->n_c;
}

static const sl_manifest_chunk *chunk(int k)
{
	return W.man && k >= 0 && k < W.man->n_c ? &W.man->c[k] : NULL;
}

API const char *slw_chunk_file(int k)
{
	return chunk(k) ? chunk(k)->file : "";
}

API int slw_chunk_first_layer(int k)
{
	return chunk(k) ? chunk(k)->first_layer : -1;
}

API int slw_chunk_n_layers(int k)
{
	return chunk(k) ? chunk(k)->n_layers : -1;
}

API double slw_chunk_size(int k)
{
	return chunk(k) ? (double)chunk(k)->size : -1;
}

/* The model and tokenizer, once the core chunk is in. */
static int make_model(void)
{
	sl_provider *p = W.prov;

	W.prov = NULL; /* the model owns it now, and frees it on failure */
	if ((W.model = sl_model_new(p)) && (W.tok = sl_tok_load_gguf(W.model->meta)))
		return 0;
	fail_lib();
	slw_close(); /* nothing half made: the manifest went with the provider */
	return -1;
}

static sl_provider *provider(void)
{
	return W.model ? W.model->prov : W.prov;
}

API int slw_put(int k, void *buf, size_t n)
{
	sl_provider *p = provider();

	if (!p) {
		free(buf);
		return fail("no model open (slw_open first)");
	}
	if (sl_provider_given_put(p, k, buf, n, free))
		return fail_lib();
	if (k == 0 && !W.model && make_model())
		return -1;
	return 0;
}

API int slw_drop(int k)
{
	sl_provider *p = provider();

	return p ? sl_provider_given_drop(p, k) : 0;
}

API int slw_has(int k)
{
	sl_provider *p = provider();

	return p ? sl_provider_given_has(p, k) : 0;
}

API double slw_bytes_held(void)
{
	sl_provider *p = provider();
	double b = p ? (double)p->resident_bytes : 0;

	if (W.sess)
		b += (double)sl_session_get_info(W.sess).state_bytes;
	return b;
}

static int put_text(const char *s, size_t n)
{
	if (n + 1 > W.text_cap) {
		char *t = realloc(W.text, n + 1);
		if (!t)
			return fail("out of memory");
		W.text = t;
		W.text_cap = n + 1;
	}
	memcpy(W.text, s, n);
	W.text[n] = '\0';
	return 0;
}

API int slw_begin(const char *prompt, int n_predict, float temp, int top_k, float top_p, double seed)
{
	sl_session_params sp = sl_session_defaults();
	int32_t *ids = NULL;
	size_t n = 0;

	end_generation();
	W.done = 0;
	if (!W.model)
		return fail("the core chunk has not been put yet");
	/* as sl-tok does: BOS as the tokenizer says, one final newline dropped */
	if (sl_tok_encode(W.tok, prompt, strlen(prompt), SL_TOK_TRIM_NEWLINE, &ids, &n))
		return fail_lib();
	if (n_predict < 0)
		n_predict = 0;
	long long ctx = (long long)(n ? n : 1) + n_predict;
	sp.n_ctx = ctx < W.model->cfg.n_ctx_train ? (int)ctx : W.model->cfg.n_ctx_train;
	sp.n_predict = n_predict;
	sp.threads = W.threads;
	sp.sp.temp = temp;
	sp.sp.top_k = top_k;
	sp.sp.top_p = top_p > 0 && top_p <= 1 ? top_p : 1;
	sp.seed = (uint64_t)seed;
	W.n_prompt = (int)n;
	if (!(W.sess = sl_session_new(W.model, &sp)) || !(W.dec = sl_tok_dec_new(W.tok, 0))) {
		free(ids);
		end_generation();
		return fail_lib();
	}
	int rc = sl_session_start(W.sess, ids, (int)n);
	free(ids);
	if (rc && sl_errcode() != SL_E_PENDING) {
		end_generation();
		return fail_lib();
	}
	return 0;
}

/* The chunk that holds layer l. */
static int chunk_of_layer(int l)
{
	for (int k = 1; W.man && k < W.man->n_c; k++)
		if (l >= W.man->c[k].first_layer && l < W.man->c[k].first_layer + W.man->c[k].n_layers)
			return k;
	return -1;
}

API int slw_run(void)
{
	int32_t id;
	const char *t;
	size_t len;

	if (!W.sess)
		return fail("no generation (slw_begin first)"), SLW_ERROR;
	if (W.done)
		return SLW_DONE;
	switch (sl_session_next(W.sess)) {
	case SL_STOP_NONE:
		break;
	case SL_STOP_WAIT:
		W.wait_chunk = chunk_of_layer(sl_session_waiting(W.sess));
		return SLW_WAIT;
	case SL_STOP_ERROR:
		return fail_lib(), SLW_ERROR;
	default: /* length, context */
		W.done = 1;
		return SLW_DONE;
	}
	if (sl_session_sample(W.sess, &id) != SL_STOP_NONE) {
		W.done = 1;
		return SLW_DONE;
	}
	if (sl_tok_dec_push(W.dec, id, &t, &len) || put_text(t, len))
		return fail_lib(), SLW_ERROR;
	W.token = id;
	return SLW_TOKEN;
}

API int slw_token(void)
{
	return W.token;
}

API const char *slw_text(void)
{
	return W.text ? W.text : "";
}

API int slw_wait_chunk(void)
{
	return W.wait_chunk;
}

API const char *slw_tail(void)
{
	const char *t;
	size_t len;

	if (!W.dec || sl_tok_dec_finish(W.dec, &t, &len) || put_text(t, len))
		return "";
	return W.text;
}

API const char *slw_stats(void)
{
	if (!W.sess)
		return "{}";
	sl_session_info in = sl_session_get_info(W.sess);
	snprintf(W.json, sizeof W.json,
		 "{\"prompt_ids\":%d,\"generated\":%lld,\"prompt_s\":%.6f,\"first_s\":%.6f,\"gen_s\":%.6f,"
		 "\"threads\":%d,\"kernels\":\"%s\",\"state_bytes\":%llu}",
		 W.n_prompt, in.n_generated, in.feed_s, in.first_s, in.gen_s, in.threads, sl_kernels_name(),
		 (unsigned long long)in.state_bytes);
	return W.json;
}
