/*
 * test_tok — the tokenizer (lib/sl_tok*.c) against Hugging Face's own output.
 *
 * Golden ids and decoded text come from HF's Rust core through its official Node binding,
 * npm `tokenizers` 0.23.2: Tokenizer.fromFile(PATH).encode(text) (special tokens added, i.e.
 * the post-processor's BOS) and tokenizer.decode(ids, false), run on
 * tests/fixtures/smollm-tokenizer/tokenizer.json and models/stories260K-hf/tokenizer.json.
 * The GGUF checks use tests/fixtures/stories260K-gguf/stories260K-f32.gguf, written by
 * llama.cpp's own gguf-py from the same llama2.c model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_tok.h"

/* Paths from the project root (tests/run runs every test there). */
#define SMOLLM "tests/fixtures/smollm-tokenizer/tokenizer.json"
#define STORIES "models/stories260K-hf/tokenizer.json"
#define STORIES_DIR "models/stories260K-hf"
#define STORIES_GGUF "tests/fixtures/stories260K-gguf/stories260K-f32.gguf"
#define TINYSTORIES "tests/fixtures/tinystories-sample/tinystories.txt"

typedef struct {
	const char *text;
	int n;
	int32_t ids[20];
	const char *decoded;
} golden;

/* From HF tokenizers 0.23.2 (see the top of the file). */
static const golden smollm_cases[] = {
	{ "Hello world", 2, { 19556, 905 }, "Hello world" },
	{ "In 2026, the weather", 9, { 788, 216, 34, 32, 34, 38, 28, 260, 3947 }, "In 2026, the weather" },
	{ "x\xd9\xa1\xd9\xa2\xd9\xa3y \xc2\xb2", 10, { 104, 164, 111, 164, 112, 164, 113, 105, 216, 19133 }, "x\xd9\xa1\xd9\xa2\xd9\xa3y \xc2\xb2" },
	{ "don't I'll we've they'RE", 9, { 12420, 982, 339, 3060, 392, 3543, 502, 23, 3256 }, "don't I'll we've they'RE" },
	{ "  leading", 2, { 216, 2899 }, "  leading" },
	{ "trailing  \n\n", 4, { 4861, 4966, 256, 1116 }, "trailing  \n\n" },
	{ "a\xc2\xa0\xc2\xa0""b \xe3\x80\x80x\xe1\xa0\x8ey\xe2\x80\x8bz", 15, { 81, 15442, 15442, 82, 216, 12109, 218, 104, 172, 250, 232, 105, 321, 229, 106 }, "a\xc2\xa0\xc2\xa0""b \xe3\x80\x80x\xe1\xa0\x8ey\xe2\x80\x8bz" },
	{ "tab\t\tend\xe2\x80\xa8\xe2\x80\xa9", 8, { 15999, 197, 197, 486, 321, 118, 321, 119 }, "tab\t\tend\xe2\x80\xa8\xe2\x80\xa9" },
	{ "<|im_start|>user\nHi<|im_end|>\n", 6, { 1, 4093, 198, 26843, 2, 198 }, "<|im_start|>user\nHi<|im_end|>\n" },
	{ "<|im_<|im_start|>", 5, { 44, 108, 306, 79, 1 }, "<|im_<|im_start|>" },
	{ "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82", 8, { 83, 1939, 2756, 17097, 241, 115, 40993, 47526 }, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82" },
	{ "\xe2\x85\xa0\xe2\x85\xab \xef\xbc\x90\xef\xbc\x91 \xf0\x9d\x9f\x98", 15, { 173, 223, 250, 173, 223, 121, 216, 8083, 234, 8083, 235, 216, 23159, 249, 242 }, "\xe2\x85\xa0\xe2\x85\xab \xef\xbc\x90\xef\xbc\x91 \xf0\x9d\x9f\x98" },
	{ "\xc2\xbd\xc2\xbc x\xc2\xb3", 4, { 16738, 28151, 1792, 39050 }, "\xc2\xbd\xc2\xbc x\xc2\xb3" },
	{ "ab\x1c\x1d""cd", 3, { 369, 213, 13133 }, "ab\x1c""cd" },
	{ "''s 's", 4, { 3816, 99, 637, 99 }, "''s 's" },
	{ "", 0, { 0 }, "" },
};
static const golden stories_cases[] = {
	{ "Hello world", 7, { 1, 346, 306, 414, 263, 304, 341 }, "<s> Hello world" },
	{ "Once upon a time", 5, { 1, 403, 407, 261, 378 }, "<s> Once upon a time" },
	{ "Hi <s> there </s> and <unk>!", 15, { 1, 320, 417, 410, 1, 410, 383, 410, 2, 410, 269, 410, 0, 410, 443 }, "<s> Hi <s>  there </s>  and <unk> !" },
	{ "a\xe2\x96\x81""b \xe2\x96\x81", 5, { 1, 261, 268, 410, 410 }, "<s> a b  " },
	{ "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82", 17, { 1, 280, 412, 431, 485, 410, 233, 154, 168, 233, 159, 175, 410, 243, 162, 156, 133 }, "<s> caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82" },
	{ "  two\n\nlines\t", 12, { 1, 410, 410, 259, 424, 414, 13, 13, 421, 271, 406, 12 }, "<s>   two\n\nlines\t" },
	{ "", 1, { 1 }, "<s>" },
	{ "\xd9\xa1\xd9\xa2 \xc2\xb2", 9, { 1, 410, 220, 164, 220, 165, 410, 197, 181 }, "<s> \xd9\xa1\xd9\xa2 \xc2\xb2" },
};

static int ids_eq(const int32_t *a, size_t n, const int32_t *b, int m)
{
	return (int)n == m && (n == 0 || memcmp(a, b, n * sizeof *a) == 0);
}

static void check_golden(const sl_tok *t, const golden *g, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		int32_t *ids = NULL;
		size_t k = 0, dl = 0;
		int rc = sl_tok_encode(t, g[i].text, strlen(g[i].text), 0, &ids, &k);
		CHECK_MSG(rc == 0 && ids_eq(ids, k, g[i].ids, g[i].n), "%s: encode case %d (%s)", what, i, sl_error());
		char *d = sl_tok_decode(t, g[i].ids, (size_t)g[i].n, 0, &dl);
		CHECK_MSG(d && dl == strlen(g[i].decoded) && !memcmp(d, g[i].decoded, dl), "%s: decode case %d", what, i);
		free(d);
		free(ids);
	}
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	b = malloc(*n + 1);
	if (b && fread(b, 1, *n, f) != *n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

typedef struct {
	int32_t *v;
	size_t n, cap;
} vec;

static int push(void *ctx, int32_t id)
{
	vec *v = ctx;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 1024;
		v->v = realloc(v->v, v->cap * sizeof *v->v);
	}
	v->v[v->n++] = id;
	return 0;
}

/* Feeding the text in pieces of 1..maxc bytes (cut anywhere, even inside characters) must give
 * the ids of the whole text. */
static void check_streaming(const sl_tok *t, const char *text, size_t n, int maxc, const char *what)
{
	int32_t *whole;
	size_t nw;
	vec v = { 0 };
	sl_tok_enc *e = sl_tok_enc_new(t, 0);
	unsigned seed = 12345;

	CHECK(sl_tok_encode(t, text, n, 0, &whole, &nw) == 0);
	for (size_t i = 0; i < n;) {
		seed = seed * 1103515245 + 12345;
		size_t k = 1 + (seed >> 16) % (unsigned)maxc;
		if (k > n - i)
			k = n - i;
		if (sl_tok_enc_feed(e, text + i, k, push, &v) < 0)
			break;
		i += k;
	}
	CHECK(sl_tok_enc_finish(e, push, &v) == 0);
	CHECK_MSG(v.n == nw && !memcmp(v.v, whole, nw * sizeof *whole), "%s: streamed %zu ids, whole %zu", what, v.n, nw);
	sl_tok_enc_free(e);
	free(v.v);
	free(whole);
}

/* Push ids one at a time, collecting what the decoder releases after each. */
static void dec_steps(const sl_tok *t, const int32_t *ids, int n, size_t *after, char *all)
{
	sl_tok_dec *d = sl_tok_dec_new(t, 0);
	const char *s;
	size_t len, tot = 0;

	for (int i = 0; i <= n; i++) {
		int rc = i < n ? sl_tok_dec_push(d, ids[i], &s, &len) : sl_tok_dec_finish(d, &s, &len);
		CHECK(rc == 0);
		memcpy(all + tot, s, len);
		tot += len;
		after[i] = tot;
	}
	all[tot] = '\0';
	sl_tok_dec_free(d);
}

/* Write t into a tokenizer-only GGUF the way sl-quant does (sl_hf.c), and read it back. */
static sl_tok *via_gguf(const sl_tok *t, const char *name)
{
	char path[256];
	int n = sl_tok_n_vocab(t), nm = sl_tok_n_merges(t);
	const char **toks = malloc((size_t)n * sizeof *toks), **merges = malloc(((size_t)nm + 1) * sizeof *merges);
	uint64_t *lens = malloc((size_t)n * sizeof *lens);
	int32_t *types = malloc((size_t)n * sizeof *types);
	float *scores = malloc((size_t)n * sizeof *scores);
	sl_gguf_writer *w = sl_gguf_writer_new();
	snprintf(path, sizeof path, "/tmp/%s.%d.gguf", name, (int)getpid());
	FILE *f = fopen(path, "wb");
	int rc = 0;

	for (int i = 0; i < n; i++) {
		size_t len;
		toks[i] = sl_tok_piece(t, i, &len);
		lens[i] = len;
		types[i] = sl_tok_token_type(t, i);
		scores[i] = sl_tok_score(t, i);
	}
	for (int i = 0; i < nm; i++)
		merges[i] = sl_tok_merge(t, i);
	rc |= sl_gguf_add_str(w, "general.architecture", "llama");
	rc |= sl_gguf_add_str(w, "tokenizer.ggml.model", sl_tok_gguf_model(t));
	if (sl_tok_gguf_pre(t))
		rc |= sl_gguf_add_str(w, "tokenizer.ggml.pre", sl_tok_gguf_pre(t));
	rc |= sl_gguf_add_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)n, toks, lens);
	rc |= sl_gguf_add_arr(w, "tokenizer.ggml.token_type", SL_GGUF_I32, (uint64_t)n, types);
	rc |= sl_gguf_add_arr(w, "tokenizer.ggml.scores", SL_GGUF_F32, (uint64_t)n, scores);
	if (!strcmp(sl_tok_gguf_model(t), "gpt2")) /* llama files carry scores only */
		rc |= sl_gguf_add_arr_str(w, "tokenizer.ggml.merges", (uint64_t)nm, merges, NULL);
	if (sl_tok_bos(t) >= 0)
		rc |= sl_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)sl_tok_bos(t));
	rc |= sl_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", sl_tok_add_bos(t));
	rc |= sl_gguf_write_header(w, f) | sl_gguf_write_finish(w, f);
	fclose(f);
	sl_gguf_writer_free(w);
	free(toks);
	free(merges);
	free(lens);
	free(types);
	free(scores);
	CHECK_MSG(rc == 0, "%s", sl_error());
	sl_tok *g = sl_tok_load(path);
	CHECK_MSG(g != NULL, "%s", sl_error());
	unlink(path);
	return g;
}

/* Same ids from both tokenizers on the golden cases and a text. */
static void check_same(const sl_tok *a, const sl_tok *b, const golden *g, int n, const char *text, size_t tn, const char *what)
{
	int32_t *x = NULL, *y = NULL; /* the second encode does not run if the first fails */
	size_t nx = 0, ny = 0;

	check_golden(b, g, n, what);
	CHECK(sl_tok_encode(a, text, tn, 0, &x, &nx) == 0 && sl_tok_encode(b, text, tn, 0, &y, &ny) == 0);
	CHECK_MSG(nx == ny && !memcmp(x, y, nx * sizeof *x), "%s: %zu vs %zu ids", what, nx, ny);
	free(x);
	free(y);
	CHECK(!strcmp(sl_tok_gguf_model(a), sl_tok_gguf_model(b)) && sl_tok_add_bos(a) == sl_tok_add_bos(b));
	CHECK(sl_tok_n_vocab(a) == sl_tok_n_vocab(b) && sl_tok_n_merges(a) == sl_tok_n_merges(b));
}

static void test_smollm(void)
{
	sl_tok *t = sl_tok_load(SMOLLM);
	size_t len;

	CHECK_MSG(t != NULL, "%s", sl_error());
	if (!t)
		return;
	/* the facts of tests/fixtures/smollm-tokenizer/SOURCE.md */
	CHECK(sl_tok_n_vocab(t) == 49152);
	CHECK(sl_tok_n_merges(t) == 48900);
	CHECK(!strcmp(sl_tok_merge(t, 0), "\xc4\xa0 t"));
	CHECK(!strcmp(sl_tok_merge(t, 2), "i n"));
	CHECK(!strcmp(sl_tok_gguf_model(t), "gpt2"));
	CHECK(!strcmp(sl_tok_gguf_pre(t), "smollm"));
	CHECK(!strcmp(sl_tok_piece(t, 17, &len), "!") && len == 1);
	CHECK(!strcmp(sl_tok_piece(t, 0, &len), "<|endoftext|>"));
	CHECK(sl_tok_piece(t, 49152, &len) == NULL);
	CHECK(sl_tok_token_type(t, 0) == 3 && sl_tok_token_type(t, 16) == 3 && sl_tok_token_type(t, 17) == 1);
	CHECK(sl_tok_is_special(t, 2) && !sl_tok_is_special(t, 17));
	CHECK(sl_tok_add_bos(t) == 0 && sl_tok_bos(t) == -1 && sl_tok_unk(t) == -1);
	CHECK(sl_tok_find(t, "\xc4\xa0the", 5) == 260);
	check_golden(t, smollm_cases, (int)(sizeof smollm_cases / sizeof *smollm_cases), "smollm");

	/* --no-special: the text of a special token goes through BPE; HF (tokenizers 0.23.2 with
	 * the added tokens removed) gives 44 108 306 79 486 108 46 for "<|im_end|>". */
	int32_t *ids;
	size_t n;
	static const int32_t im_end[] = { 44, 108, 306, 79, 486, 108, 46 };
	CHECK(sl_tok_encode(t, "<|im_end|>", 10, SL_TOK_NO_SPECIAL, &ids, &n) == 0 && ids_eq(ids, n, im_end, 7));
	free(ids);

	/* invalid UTF-8 is an error with the byte offset */
	CHECK(sl_tok_encode(t, "ab\xff" "cd", 5, 0, &ids, &n) == -1);
	CHECK(!strcmp(sl_error(), "invalid UTF-8 at byte 2"));
	CHECK(sl_tok_encode(t, "abc\xe2\x82", 5, 0, &ids, &n) == -1);
	CHECK(!strcmp(sl_error(), "invalid UTF-8 at byte 3: truncated character"));
	CHECK(sl_tok_encode(t, "\xed\xa0\x80", 3, 0, &ids, &n) == -1); /* a surrogate */
	CHECK(sl_tok_encode(t, "x", 1, SL_TOK_BOS, &ids, &n) == -1);
	CHECK(!strcmp(sl_error(), "the tokenizer has no BOS token"));

	/* streaming decode: "😀" is "ðŁĺĢ" = ids 10813 (f0 9f), 242 (98), 218 (80) in byte-level
	 * text; nothing is released until the character is whole. */
	static const int32_t emoji[] = { 10813, 242, 218, 17 };
	size_t after[5];
	char all[64];
	CHECK(!strcmp(sl_tok_piece(t, 10813, NULL), "\xc3\xb0\xc5\x81"));
	dec_steps(t, emoji, 4, after, all);
	CHECK(after[0] == 0 && after[1] == 0 && after[2] == 4 && after[3] == 5 && after[4] == 5);
	CHECK(!strcmp(all, "\xf0\x9f\x98\x80!"));
	/* a character cut short: one U+FFFD per maximal bad subpart, as String::from_utf8_lossy
	 * (HF: decode([10813, 17]) = "\ufffd!", decode([10813]) = "\ufffd") */
	static const int32_t cut1[] = { 10813, 17 }, cut2[] = { 17, 10813 };
	dec_steps(t, cut1, 2, after, all);
	CHECK(!strcmp(all, "\xef\xbf\xbd!") && after[0] == 0 && after[1] == 4);
	dec_steps(t, cut2, 2, after, all);
	CHECK(!strcmp(all, "!\xef\xbf\xbd") && after[0] == 1 && after[1] == 1 && after[2] == 4);

	/* out of range */
	sl_tok_dec *d = sl_tok_dec_new(t, 0);
	const char *s;
	CHECK(sl_tok_dec_push(d, 49152, &s, &len) == -1 && !strcmp(sl_error(), "id 49152 >= vocab 49152"));
	sl_tok_dec_free(d);
	/* skip_special drops specials */
	static const int32_t chat[] = { 1, 4093, 198, 2 };
	char *txt = sl_tok_decode(t, chat, 4, 1, &len);
	CHECK(txt && !strcmp(txt, "user\n"));
	free(txt);
	char show[64];
	sl_tok_show(t, 198, show, sizeof show);
	CHECK(!strcmp(show, "\\n"));
	sl_tok_show(t, 10813, show, sizeof show);
	CHECK(!strcmp(show, "\\xf0\\x9f"));
	sl_tok_show(t, 260, show, sizeof show);
	CHECK(!strcmp(show, " the"));

	size_t tn;
	char *text = slurp(TINYSTORIES, &tn);
	CHECK(text != NULL);
	if (text) {
		check_streaming(t, text, 60000, 7, "smollm, pieces of 1-7 bytes");
		check_streaming(t, text, tn, 70000, "smollm, pieces of up to 70000 bytes");
		/* round trip */
		int32_t *all_ids;
		size_t na;
		CHECK(sl_tok_encode(t, text, tn, 0, &all_ids, &na) == 0);
		char *back = sl_tok_decode(t, all_ids, na, 0, &len);
		CHECK(back && len == tn && !memcmp(back, text, tn));
		free(back);
		free(all_ids);
		/* the same tokenizer through GGUF (what sl-quant writes) */
		sl_tok *g = via_gguf(t, "test_tok_smollm");
		if (g) {
			check_same(t, g, smollm_cases, (int)(sizeof smollm_cases / sizeof *smollm_cases), text, tn, "smollm gguf");
			CHECK(!strcmp(sl_tok_gguf_pre(g), "smollm") && sl_tok_token_type(g, 0) == 3);
			sl_tok_free(g);
		}
	}
	/* a long word with no cut point and a long digit run */
	char *w = malloc(300001);
	for (int i = 0; i < 300000; i++)
		w[i] = (char)(i < 150000 ? 'a' + i % 7 : '0' + i % 10);
	check_streaming(t, w, 300000, 5000, "smollm, one 150 KB word then 150 KB of digits");
	free(w);
	free(text);
	sl_tok_free(t);
}

static void test_stories(void)
{
	sl_tok *t = sl_tok_load(STORIES);
	sl_tok *dir = sl_tok_load(STORIES_DIR);
	sl_tok *g = sl_tok_load(STORIES_GGUF);
	sl_gguf gg;

	CHECK_MSG(t && dir && g, "%s", sl_error());
	if (!t || !dir || !g)
		return;
	CHECK(sl_tok_n_vocab(t) == 512 && sl_tok_n_merges(t) == 165);
	CHECK(!strcmp(sl_tok_gguf_model(t), "llama") && sl_tok_gguf_pre(t) == NULL);
	CHECK(sl_tok_bos(t) == 1 && sl_tok_eos(dir) == 2 && sl_tok_unk(t) == 0 && sl_tok_add_bos(t) == 1);
	CHECK(!strcmp(sl_tok_piece(t, 13, NULL), "<0x0A>") && sl_tok_token_type(t, 13) == 6);
	CHECK(!strcmp(sl_tok_merge(t, 0), "\xe2\x96\x81 t"));
	check_golden(t, stories_cases, (int)(sizeof stories_cases / sizeof *stories_cases), "stories260K");
	check_golden(dir, stories_cases, (int)(sizeof stories_cases / sizeof *stories_cases), "stories260K dir");
	check_golden(g, stories_cases, (int)(sizeof stories_cases / sizeof *stories_cases), "stories260K gguf");

	/* The GGUF file has no merges: those derived from its scores equal tokenizer.json's. */
	CHECK(sl_tok_n_merges(g) == 165);
	int same = 1;
	for (int i = 0; i < 165 && i < sl_tok_n_merges(g); i++)
		same &= !strcmp(sl_tok_merge(g, i), sl_tok_merge(t, i));
	CHECK(same);
	/* What sl-quant writes from tokenizer.json (types, scores) equals what llama.cpp wrote. */
	CHECK(sl_gguf_open(&gg, STORIES_GGUF) == 0);
	const sl_gguf_kv *sc = sl_gguf_find(&gg, "tokenizer.ggml.scores");
	const sl_gguf_kv *ty = sl_gguf_find(&gg, "tokenizer.ggml.token_type");
	int sc_same = 1, ty_same = 1;
	for (int id = 0; sc && ty && id < 512; id++) {
		float f = 0;
		int64_t k = -1;
		sc_same &= sl_gguf_kv_f32(&gg, sc, (uint64_t)id, &f) == 0;
		ty_same &= sl_gguf_kv_i64(&gg, ty, (uint64_t)id, &k) == 0;
		sc_same &= sl_tok_score(t, id) == f;
		ty_same &= sl_tok_token_type(t, id) == k;
	}
	CHECK(sc && ty && sc_same && ty_same);
	sl_gguf_close(&gg);

	/* Decoder: Strip drops one leading space of the whole output (HF: decode([410, 410, 346])
	 * = "  He", three spaces less one); a byte run invalid as a whole is one U+FFFD per byte
	 * (decode([243, 162, 346]) = "\ufffd\ufffd He"). */
	static const int32_t sp[] = { 410, 410, 346 }, bad[] = { 243, 162, 346 };
	size_t len;
	char *s = sl_tok_decode(t, sp, 3, 0, &len);
	CHECK(s && !strcmp(s, "  He"));
	free(s);
	s = sl_tok_decode(t, bad, 3, 0, &len);
	CHECK(s && !strcmp(s, "\xef\xbf\xbd\xef\xbf\xbd He"));
	free(s);
	/* byte-fallback emoji: released when whole ("😀" = <0xF0> <0x9F> <0x98> <0x80>) */
	static const int32_t emoji[] = { 243, 162, 155, 131, 346 };
	size_t after[6];
	char all[64];
	dec_steps(t, emoji, 5, after, all);
	CHECK(after[0] == 0 && after[2] == 0 && after[3] == 4 && after[5] == 7);
	CHECK(!strcmp(all, "\xf0\x9f\x98\x80 He"));

	size_t tn;
	char *text = slurp(TINYSTORIES, &tn);
	if (text) {
		check_streaming(t, text, 50000, 9, "stories260K, pieces of 1-9 bytes");
		int32_t *a = NULL, *b = NULL;
		size_t na = 0, nb = 0;
		CHECK(sl_tok_encode(t, text, tn, 0, &a, &na) == 0 && sl_tok_encode(g, text, tn, 0, &b, &nb) == 0);
		CHECK(na == 100708 && nb == na && !memcmp(a, b, na * sizeof *a)); /* SOURCE.md: 100,708 ids */
		char *back = sl_tok_decode(t, a, na, 1, &len);
		CHECK(back && len == tn && !memcmp(back, text, tn));
		free(back);
		sl_tok *w = via_gguf(t, "test_tok_stories"); /* merges rebuilt from our scores */
		if (w) {
			check_same(t, w, stories_cases, (int)(sizeof stories_cases / sizeof *stories_cases), text, tn, "stories gguf");
			sl_tok_free(w);
		}
		free(a);
		free(b);
		free(text);
	}
	sl_tok_free(t);
	sl_tok_free(dir);
	sl_tok_free(g);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	fputs(s, f);
	fclose(f);
}

static void test_refusals(void)
{
	char dir[] = "/tmp/test_tok.XXXXXX", p[256];
	static const char head[] = "{\"added_tokens\": [], \"pre_tokenizer\": null, \"post_processor\": null,"
		" \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"\xe2\x96\x81\"}, \"content\": \" \"}]},"
		" \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]},";
	char buf[2048];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof p, "%s/tokenizer.json", dir);
	snprintf(buf, sizeof buf, "%s \"normalizer\": {\"type\": \"NFKC\"}}", head);
	write_file(p, buf);
	CHECK(sl_tok_load(p) == NULL);
	char want[512];
	snprintf(want, sizeof want, "%s: unsupported normalizer 'NFKC'", p);
	CHECK_MSG(!strcmp(sl_error(), want), "%s", sl_error());
	snprintf(buf, sizeof buf, "%s \"normalizer\": null}", head);
	write_file(p, buf);
	sl_tok *t = sl_tok_load(p);
	CHECK_MSG(t != NULL, "%s", sl_error());
	int32_t *ids;
	size_t n;
	static const int32_t ab[] = { 2, 0 };
	CHECK(t && sl_tok_encode(t, "aba", 3, 0, &ids, &n) == 0 && ids_eq(ids, n, ab, 2));
	if (t)
		free(ids);
	sl_tok_free(t);
	t = sl_tok_load(dir); /* a directory holding a tokenizer.json */
	CHECK_MSG(t != NULL, "%s", sl_error());
	sl_tok_free(t);
	snprintf(buf, sizeof buf, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
	write_file(p, buf);
	CHECK(sl_tok_load(p) == NULL);
	snprintf(want, sizeof want, "%s: unsupported model 'WordPiece'", p);
	CHECK_MSG(!strcmp(sl_error(), want), "%s", sl_error());
	unlink(p);
	rmdir(dir);
	CHECK(sl_tok_load("/nonexistent/tokenizer.json") == NULL);
	CHECK(!strcmp(sl_error(), "/nonexistent/tokenizer.json: No such file or directory"));
}

/*
 * SL_TOK_TRIM_NEWLINE: the ids of the text less one final "\n" or "\r\n", whole or streamed in
 * pieces of 1-3 bytes (so "\r" and "\n" arrive apart), equal the plain ids of the trimmed text.
 */
static void test_trim_newline(const char *path)
{
	static const char *const texts[] = {
		"Hello world\n", "Hello world\r\n", "Hello world\n\n", "a\r\n\r\n", "x\r", "\n", "\r\n", "",
		"line one\nline two\n", "no newline", "  spaces \n", "\xf0\x9f\x98\x80\n", "<s>\n", "<|im_end|>\r\n",
	};
	sl_tok *t = sl_tok_load(path);

	CHECK_MSG(t != NULL, "%s", sl_error());
	if (!t)
		return;
	for (size_t c = 0; c < sizeof texts / sizeof *texts; c++) {
		const char *x = texts[c];
		size_t n = strlen(x), m = n;
		int32_t *want, *got;
		size_t nw, ng;
		vec v = { 0 };
		unsigned seed = 7 + (unsigned)c;
		sl_tok_enc *e = sl_tok_enc_new(t, SL_TOK_TRIM_NEWLINE);

		if (m && x[m - 1] == '\n')
			m -= m >= 2 && x[m - 2] == '\r' ? 2 : 1;
		CHECK(sl_tok_encode(t, x, m, 0, &want, &nw) == 0);
		CHECK(sl_tok_encode(t, x, n, SL_TOK_TRIM_NEWLINE, &got, &ng) == 0);
		CHECK_MSG(ng == nw && !memcmp(got, want, nw * sizeof *want), "%s: whole %zu ids, want %zu", x, ng, nw);
		for (size_t i = 0; e && i < n;) {
			seed = seed * 1103515245 + 12345;
			size_t k = 1 + (seed >> 16) % 3u;
			if (k > n - i)
				k = n - i;
			CHECK(sl_tok_enc_feed(e, x + i, k, push, &v) == 0);
			i += k;
		}
		CHECK(e && sl_tok_enc_finish(e, push, &v) == 0);
		CHECK_MSG(v.n == nw && (nw == 0 || !memcmp(v.v, want, nw * sizeof *want)), "%s: streamed %zu ids, want %zu", x, v.n, nw);
		sl_tok_enc_free(e);
		free(v.v);
		free(want);
		free(got);
	}
	sl_tok_free(t);
}

int main(void)
{
	test_trim_newline(SMOLLM);
	test_trim_newline(STORIES);
	test_smollm();
	test_stories();
	test_refusals();
	return CHECK_DONE();
}
