/*
 * test_given — a chunked model whose chunks arrive in memory (sl_provider_given, what the
 * page has), driven through a session that stops at a missing layer and resumes
 * (SL_STOP_WAIT): the same ids and bit-identical logits as the whole file mapped, whatever
 * the order the chunks come in, with chunks dropped and put again (a budget); corrupt,
 * misplaced and doubled chunks refused, naming the chunk, their bytes freed.
 *
 * The chunks are cut from tests/fixtures/stories260K-gguf/stories260K-q8_0.gguf (llama.cpp's,
 * SOURCE.md) by sl_chunk_plan/sl_chunk_write into memory, one layer per chunk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_err.h"
#include "sl_manifest.h"
#include "sl_model.h"
#include "sl_provider_chunk.h"
#include "sl_session.h"

#define SRC "tests/fixtures/stories260K-gguf/stories260K-q8_0.gguf"
#define URL "http://127.0.0.1/m/manifest.json"
#define N_GEN 24
#define MAX_CHUNKS 16

static char *chunk[MAX_CHUNKS];
static size_t chunk_len[MAX_CHUNKS];
static int n_chunks;
static char *manifest;
static size_t manifest_len;
static int frees;

static void count_free(void *p)
{
	frees++;
	free(p);
}

static void *copy_of(int k)
{
	void *p = malloc(chunk_len[k]);
	memcpy(p, chunk[k], chunk_len[k]);
	return p;
}

static int make_chunks(void)
{
	sl_gguf src;
	sl_manifest m;
	FILE *f;

	if (sl_gguf_open(&src, SRC) || sl_chunk_plan(&m, &src, SRC, "s", 1, 0, SL_CODEC_NONE, 0))
		return fprintf(stderr, "%s\n", sl_error()), -1;
	n_chunks = m.n_c;
	for (int i = 0; i < m.n_c && i < MAX_CHUNKS; i++) {
		f = open_memstream(&chunk[i], &chunk_len[i]);
		if (!f || sl_chunk_write(&m, i, &src, f) || fclose(f))
			return fprintf(stderr, "%s\n", sl_error()), -1;
	}
	f = open_memstream(&manifest, &manifest_len);
	if (!f || sl_manifest_write(&m, f) || fclose(f))
		return -1;
	sl_manifest_free(&m);
	sl_gguf_close(&src);
	return 0;
}

static sl_session_params params(void)
{
	sl_session_params p = sl_session_defaults();
	p.n_predict = N_GEN;
	p.threads = 2;
	p.sp.temp = 0;
	p.n_ctx = 64;
	return p;
}

/* Greedy ids and the logits of each, from the mapped file. */
static int32_t want_ids[N_GEN];
static float *want_logits;
static int vocab;

static void reference(const int32_t *prompt, int n)
{
	sl_model *m = sl_model_open(SRC, 0);
	sl_session_params p = params();
	sl_session *s = m ? sl_session_new(m, &p) : NULL;

	CHECK(s && sl_session_feed(s, prompt, n) == 0);
	if (!s)
		return;
	vocab = m->cfg.n_vocab;
	want_logits = malloc((size_t)N_GEN * vocab * sizeof(float));
	for (int i = 0; i < N_GEN; i++) {
		CHECK(sl_session_next(s) == SL_STOP_NONE);
		memcpy(want_logits + (size_t)i * vocab, sl_session_logits(s), (size_t)vocab * sizeof(float));
		CHECK(sl_session_sample(s, &want_ids[i]) == SL_STOP_NONE);
	}
	sl_session_free(s);
	sl_model_close(m);
}

/*
 * Run the generation on the given provider; chunks are put only when the session waits for
 * them, in the order `order` says when it asks (order[layer chunk] = the one to put instead
 * first, to put others early), and with drop set every layer chunk is dropped after each id.
 */
static void given_run(const int32_t *prompt, int n, int early, int drop, const char *what)
{
	sl_provider *p = sl_provider_given(manifest, manifest_len, URL);
	sl_model *m = NULL;
	sl_session *s = NULL;
	sl_session_params sp = params();
	int waits = 0, ok = 1;

	CHECK_MSG(p != NULL, "%s: %s", what, sl_error());
	if (!p)
		return;
	CHECK(sl_provider_given_put(p, 0, copy_of(0), chunk_len[0], free) == 0);
	if (early) /* the last chunk before anything asks for it */
		CHECK(sl_provider_given_put(p, n_chunks - 1, copy_of(n_chunks - 1), chunk_len[n_chunks - 1], free) == 0);
	m = sl_model_new(p);
	CHECK_MSG(m != NULL, "%s: %s", what, sl_error());
	if (!m) {
		sl_provider_free(p);
		return;
	}
	s = sl_session_new(m, &sp);
	CHECK(s != NULL);
	if (sl_session_feed(s, prompt, n) != 0)
		CHECK_MSG(sl_errcode() == SL_E_PENDING && sl_session_waiting(s) == 0, "%s: %s", what, sl_error());
	for (int i = 0; i < N_GEN && ok; i++) {
		sl_stop st;
		while ((st = sl_session_next(s)) == SL_STOP_WAIT) {
			int l = sl_session_waiting(s), k = l + 1; /* one layer per chunk */
			waits++;
			ok &= sl_provider_given_has(p, k) == 0 && strstr(sl_error(), "not here yet") != NULL;
			CHECK(sl_provider_given_put(p, k, copy_of(k), chunk_len[k], free) == 0);
		}
		CHECK_MSG(st == SL_STOP_NONE, "%s: id %d: %s", what, i, sl_error());
		if (st != SL_STOP_NONE)
			break;
		ok &= memcmp(sl_session_logits(s), want_logits + (size_t)i * vocab, (size_t)vocab * sizeof(float)) == 0;
		int32_t id;
		CHECK(sl_session_sample(s, &id) == SL_STOP_NONE);
		ok &= id == want_ids[i];
		if (drop)
			for (int k = 1; k < n_chunks; k++)
				sl_provider_given_drop(p, k);
	}
	CHECK_MSG(ok, "%s: ids or logits differ from the mapped file", what);
	int layers = n_chunks - 1;
	/* without drops: one wait per chunk not put early; with drops: every layer of every id */
	int want_waits = drop ? layers * N_GEN - (early ? 1 : 0) : layers - (early ? 1 : 0);
	CHECK_MSG(waits == want_waits, "%s: %d waits, expected %d", what, waits, want_waits);
	sl_session_free(s);
	sl_model_close(m); /* frees the provider */
}

static void refusals(void)
{
	sl_provider *p = sl_provider_given(manifest, manifest_len, URL);
	char *bad;

	CHECK(p != NULL);
	if (!p)
		return;
	/* a layer chunk before the core is fine; the model needs the core */
	frees = 0;
	bad = copy_of(1);
	bad[chunk_len[1] - 1] ^= 1;
	CHECK(sl_provider_given_put(p, 1, bad, chunk_len[1], count_free) == -1);
	CHECK(frees == 1);
	CHECK_MSG(strstr(sl_error(), "http://127.0.0.1/m/s-00002-of-") && strstr(sl_error(), "XXH3-128") &&
		  strstr(sl_error(), "corrupt"), "%s", sl_error());
	CHECK(!sl_provider_given_has(p, 1));
	/* chunk 2's bytes given as chunk 1 (same size when layers are alike): refused */
	CHECK(sl_provider_given_put(p, 1, copy_of(2), chunk_len[2], count_free) == -1);
	CHECK(frees == 2);
	/* short */
	CHECK(sl_provider_given_put(p, 1, copy_of(1), chunk_len[1] - 1, count_free) == -1);
	CHECK(frees == 3);
	CHECK(sl_provider_given_put(p, 1, copy_of(1), chunk_len[1], count_free) == 0);
	CHECK(frees == 3);
	CHECK(sl_provider_given_put(p, 1, copy_of(1), chunk_len[1], count_free) == -1);
	CHECK(frees == 4 && strstr(sl_error(), "put twice"));
	CHECK(sl_provider_given_put(p, n_chunks, copy_of(1), chunk_len[1], count_free) == -1);
	CHECK(frees == 5);
	CHECK(sl_provider_given_drop(p, 1) == 1 && frees == 6);
	CHECK(sl_provider_given_drop(p, 1) == 0);
	CHECK(sl_provider_given_drop(p, 0) == 0);
	sl_provider_free(p);

	/* not a manifest */
	CHECK(sl_provider_given("{}", 2, URL) == NULL);
	CHECK_MSG(strstr(sl_error(), URL) != NULL, "%s", sl_error());
	CHECK(sl_provider_given("{\"format\":", 10, URL) == NULL);
}

int main(void)
{
	static const int32_t prompt[] = { 1, 403, 407, 261, 378 }; /* BOS and four ids of the vocabulary */

	if (make_chunks() != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	CHECK(n_chunks == 1 + 5); /* core + 5 blocks */
	reference(prompt, 5);
	given_run(prompt, 5, 0, 0, "chunks as asked");
	given_run(prompt, 5, 1, 0, "the last chunk first");
	given_run(prompt, 5, 0, 1, "every chunk dropped after each id");
	given_run(prompt, 5, 1, 1, "dropped, the last one put early");
	refusals();
	for (int i = 0; i < n_chunks; i++)
		free(chunk[i]);
	free(manifest);
	free(want_logits);
	return CHECK_DONE();
}
