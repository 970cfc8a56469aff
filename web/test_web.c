/*
 * test_web — the page's C API (sl_web.h) driven as web/worker.js drives it: the manifest,
 * the core chunk, then layer chunks put only when slw_run waits for them (and, for a budget,
 * dropped after each id): the text must be what a session on the mapped file generates, and
 * decodes (sl-infer --temp 0 | sl-detok).  A corrupt chunk is refused, naming it.
 * Built natively (make check) and for wasm under node (make wasm-check).
 *
 * Chunks are cut in memory from tests/fixtures/stories260K-gguf/stories260K-q8_0.gguf
 * (llama.cpp's; SOURCE.md), two layers per chunk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_err.h"
#include "sl_manifest.h"
#include "sl_model.h"
#include "sl_session.h"
#include "sl_tok.h"
#include "sl_web.h"

#define SRC "tests/fixtures/stories260K-gguf/stories260K-q8_0.gguf"
#define PROMPT "Once upon a time"
#define N 40

static char *chunk[16];
static size_t chunk_len[16];
static int n_chunks;
static char *manifest;
static size_t manifest_len;

static int make_chunks(void)
{
	sl_gguf src;
	sl_manifest m;
	FILE *f;

	if (sl_gguf_open(&src, SRC) || sl_chunk_plan(&m, &src, SRC, "st", 2, 0, SL_CODEC_NONE, 0))
		return -1;
	n_chunks = m.n_c;
	for (int i = 0; i < m.n_c && i < 16; i++)
		if (!(f = open_memstream(&chunk[i], &chunk_len[i])) || sl_chunk_write(&m, i, &src, f) || fclose(f))
			return -1;
	if (!(f = open_memstream(&manifest, &manifest_len)) || sl_manifest_write(&m, f) || fclose(f))
		return -1;
	sl_manifest_free(&m);
	sl_gguf_close(&src);
	return 0;
}

/* What the CLI gives: sl-tok | sl-infer --temp 0 -n N | sl-detok, on the mapped file. */
static char *expected(void)
{
	sl_model *m = sl_model_open(SRC, 0);
	sl_tok *t = m ? sl_tok_load_gguf(m->meta) : NULL;
	sl_session_params p = sl_session_defaults();
	int32_t *ids = NULL, out[N];
	size_t n = 0, len = 0;
	int k = 0;

	if (!t || sl_tok_encode(t, PROMPT, strlen(PROMPT), SL_TOK_TRIM_NEWLINE, &ids, &n))
		return NULL;
	p.sp.temp = 0;
	p.n_predict = N;
	p.n_ctx = (int)n + N;
	p.threads = 1;
	sl_session *s = sl_session_new(m, &p);
	if (!s || sl_session_start(s, ids, (int)n))
		return NULL;
	while (k < N && sl_session_step(s, &out[k]) == SL_STOP_NONE)
		k++;
	char *text = sl_tok_decode(t, out, (size_t)k, 0, &len);
	sl_session_free(s);
	sl_tok_free(t);
	sl_model_close(m);
	free(ids);
	return text;
}

static void *give(int k)
{
	void *p = slw_alloc(chunk_len[k]);
	memcpy(p, chunk[k], chunk_len[k]);
	return p;
}

/* One generation through the API; returns the text (malloc'ed) and counts the waits. */
static char *generate(int threads, int drop, int *waits)
{
	size_t cap = 4096, len = 0;
	char *text = calloc(1, cap);
	int r;

	*waits = 0;
	CHECK(slw_open(manifest, manifest_len, "http://127.0.0.1/m/manifest.json", threads) == n_chunks);
	CHECK(slw_begin(PROMPT, N, 0, 0, 1, 0) == -1); /* no core yet */
	CHECK(strstr(slw_error(), "core chunk") != NULL);
	CHECK_MSG(slw_put(0, give(0), chunk_len[0]) == 0, "%s", slw_error());
	CHECK_MSG(slw_begin(PROMPT, N, 0, 0, 1, 0) == 0, "%s", slw_error());
	while ((r = slw_run()) != SLW_DONE && r != SLW_ERROR) {
		if (r == SLW_WAIT) {
			int k = slw_wait_chunk();
			(*waits)++;
			CHECK(k > 0 && k < n_chunks && !slw_has(k));
			if (slw_put(k, give(k), chunk_len[k]) != 0) {
				CHECK_MSG(0, "%s", slw_error());
				break;
			}
			continue;
		}
		const char *t = slw_text();
		size_t n = strlen(t);
		if (len + n + 1 > cap)
			text = realloc(text, cap = 2 * (len + n + 1));
		memcpy(text + len, t, n + 1);
		len += n;
		if (drop)
			for (int k = 1; k < n_chunks; k++)
				slw_drop(k);
	}
	CHECK_MSG(r == SLW_DONE, "%s", slw_error());
	const char *tail = slw_tail();
	text = realloc(text, len + strlen(tail) + 1);
	strcpy(text + len, tail);
	return text;
}

int main(void)
{
	char *want, *got;
	int waits;

	CHECK(strstr(slw_build_info(), "\"kernels\":") != NULL);
	if (make_chunks() || !(want = expected())) {
		CHECK_MSG(0, "setup: %s", sl_error());
		return CHECK_DONE();
	}
	CHECK(n_chunks == 4); /* core + 5 layers in chunks of 2, 2, 1 */
	CHECK(strlen(want) > 20);

	got = generate(1, 0, &waits);
	CHECK_MSG(strcmp(got, want) == 0, "got \"%s\"\nwant \"%s\"", got, want);
	CHECK(waits == n_chunks - 1);
	CHECK(strstr(slw_stats(), "\"generated\":40") != NULL);
	free(got);

	got = generate(2, 1, &waits);
	CHECK_MSG(strcmp(got, want) == 0, "2 threads, dropping: got \"%s\"", got);
	CHECK(waits > (n_chunks - 1) * (N - 1)); /* every chunk again for every id */
	free(got);

	/* a corrupt chunk: refused with its name and why; the run can go on once a good copy is in */
	CHECK(slw_open(manifest, manifest_len, "http://127.0.0.1/m/manifest.json", 1) == n_chunks);
	CHECK(slw_put(0, give(0), chunk_len[0]) == 0);
	char *bad = give(2);
	bad[chunk_len[2] / 2] ^= 0x10;
	CHECK(slw_put(2, bad, chunk_len[2]) == -1);
	CHECK_MSG(strstr(slw_error(), "http://127.0.0.1/m/st-00003-of-00004.gguf") && strstr(slw_error(), "corrupt"),
		  "%s", slw_error());
	CHECK(!slw_has(2));
	CHECK(slw_put(2, give(2), chunk_len[2]) == 0 && slw_has(2));
	CHECK(slw_drop(2) == 1 && !slw_has(2) && slw_drop(0) == 0 && slw_has(0));

	/* not a manifest */
	CHECK(slw_open("[1]", 3, "http://x/manifest.json", 1) == -1);
	CHECK_MSG(strstr(slw_error(), "http://x/manifest.json") != NULL, "%s", slw_error());
	CHECK(slw_put(0, give(0), chunk_len[0]) == -1);
	slw_close();
	free(want);
	for (int i = 0; i < n_chunks; i++)
		free(chunk[i]);
	free(manifest);
	return CHECK_DONE();
}
