/*
 * fuzz_gguf.c — the GGUF reader (sl_gguf) and the model on top of it: the input is a GGUF
 * file, parsed from memory; every key is read back through the typed getters, the tokenizer
 * is built from its metadata, and the model is opened through the memory provider
 * (sl_provider_memory, as a browser would).  When it opens with tiny shapes, one forward
 * pass of a few ids runs.
 */
#include "fuzz.h"
#include "sl_gguf.h"
#include "sl_model.h"
#include "sl_provider.h"
#include "sl_tok.h"
#include "sl_types.h"

#include <stdlib.h>
#include <string.h>

static void keys(const sl_gguf *g)
{
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const sl_gguf_kv *kv = &g->kv[i];
		uint32_t u32;
		uint64_t u64, n;
		float f;
		int b;
		char *s = NULL;
		int64_t iv;
		sl_gguf_str str;

		sl_gguf_get_u32(g, kv->key, &u32);
		sl_gguf_get_u64(g, kv->key, &u64);
		sl_gguf_get_f32(g, kv->key, &f);
		sl_gguf_get_bool(g, kv->key, &b);
		if (sl_gguf_get_str(g, kv->key, &s) > 0) /* 1: found */
			free(s);
		if (sl_gguf_get_arr_n(g, kv->key, &n) > 0 && n > 0) {
			sl_gguf_kv_i64(g, kv, 0, &iv);
			sl_gguf_kv_f32(g, kv, n - 1, &f);
			sl_gguf_kv_str(g, kv, n - 1, &str);
			sl_gguf_kv_i64(g, kv, n, &iv); /* past the end: an error */
		}
	}
	for (uint64_t i = 0; i < g->n_tensors; i++)
		sl_gguf_tensor_find(g, g->tensors[i].name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An aligned copy, as a mapping or a browser's buffer would be. */
	size_t cap = (size + 63) / 64 * 64;
	uint8_t *buf = aligned_alloc(64, cap ? cap : 64);
	sl_gguf g;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&g, 0, sizeof g);
	if (sl_gguf_parse(&g, buf, size, "fuzz.gguf") == 0) {
		keys(&g);
		sl_tok *t = sl_tok_load_gguf(&g);
		if (t) {
			int32_t *ids = NULL;
			size_t n = 0;
			if (sl_tok_encode(t, "Once upon a time", 16, 0, &ids, &n) == 0) {
				char *s = sl_tok_decode(t, ids, n, 0, &n);
				free(s);
				free(ids);
			}
			sl_tok_free(t);
		}
	}
	sl_gguf_close(&g);

	const void *bufs[1] = { buf };
	uint64_t sizes[1] = { size };
	sl_provider *p = sl_provider_memory(bufs, sizes, 1, "fuzz.gguf");
	sl_model *m = p ? sl_model_new(p) : NULL;
	if (m) {
		const sl_config *c = &m->cfg;
		/* Tiny shapes only: a forward pass of a large model would time out, not fail. */
		if ((uint64_t)c->dim * c->hidden_dim * c->n_layers <= (1u << 22) &&
		    (uint64_t)c->n_vocab * c->dim <= (1u << 22)) {
			int n_ctx = c->n_ctx_train < 4 ? c->n_ctx_train : 4;
			sl_state *s = sl_state_new(m, n_ctx, n_ctx, SL_F32, 1);
			if (s) {
				int32_t ids[4];
				for (int i = 0; i < 4; i++)
					ids[i] = (int32_t)(size > (size_t)i ? data[size - 1 - i] : i) % c->n_vocab;
				sl_forward(m, s, NULL, ids, n_ctx, 0, 1);
				sl_state_free(s);
			}
		}
		sl_model_close(m);
	}
	free(buf);
	return 0;
}
