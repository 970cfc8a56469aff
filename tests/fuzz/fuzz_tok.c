/*
 * fuzz_tok.c — the tokenizer (sl_tok).  An input starting with '{' is a tokenizer.json,
 * optionally followed by a NUL byte and a text: the file is loaded, and the text (or a fixed
 * one) encoded, decoded, and its bytes decoded as ids.  Any other input is a text, encoded
 * and decoded with both committed tokenizers (stories260K's SentencePiece BPE and SmolLM's
 * byte-level BPE), whole and fed in pieces.
 */
#include "fuzz.h"
#include "sl_tok.h"

#include <stdlib.h>
#include <string.h>

static int count(void *ctx, int32_t id)
{
	(void)id;
	++*(size_t *)ctx;
	return 0;
}

static void exercise(const sl_tok *t, const uint8_t *text, size_t len, unsigned sel)
{
	int32_t *ids = NULL;
	size_t n = 0;
	int flags = (sel & 1 ? SL_TOK_NO_SPECIAL : 0) | (sel & 2 ? SL_TOK_TRIM_NEWLINE : 0) |
		    (sel & 4 ? SL_TOK_NO_BOS : 0);

	if (sl_tok_encode(t, (const char *)text, len, flags, &ids, &n) == 0) {
		size_t out;
		char *s = sl_tok_decode(t, ids, n, sel & 8, &out);
		free(s);
		free(ids);
	}
	/* The same text fed in pieces of 1..16 bytes, as a pipe delivers it. */
	sl_tok_enc *e = sl_tok_enc_new(t, flags);
	if (e) {
		size_t k = 0, step = (sel >> 4) % 16 + 1;
		int rc = 0;
		for (size_t i = 0; i < len && rc == 0; i += step)
			rc = sl_tok_enc_feed(e, text + i, len - i < step ? len - i : step, count, &k);
		if (rc == 0)
			sl_tok_enc_finish(e, count, &k);
		sl_tok_enc_free(e);
	}
	/* The bytes as ids (two per id), some out of range: the decoder must refuse, not read. */
	sl_tok_dec *d = sl_tok_dec_new(t, sel & 8);
	if (d) {
		const char *s;
		size_t sl;
		int nv = sl_tok_n_vocab(t);
		for (size_t i = 0; i + 1 < len && i < 512; i += 2) {
			int32_t id = (int32_t)(text[i] | text[i + 1] << 8);
			if (id >= 0xff00)
				id = nv + (id & 0xff) - 128;
			else if (nv > 0)
				id %= nv;
			sl_tok_dec_push(d, id, &s, &sl);
		}
		sl_tok_dec_finish(d, &s, &sl);
		sl_tok_dec_free(d);
	}
	char show[64];
	for (size_t i = 0; i < len && i < 8; i++)
		sl_tok_show(t, text[i] * 7, show, sizeof show);
}

static sl_tok *fixed[2];

/* Before the first input, so that loading SmolLM's 2 MB tokenizer (seconds under ASan) is
 * not taken for a hang.  Kept to the end: the fuzzer exits without a chance to free. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fixed[0] = sl_tok_load(fuzz_src("models/stories260K-hf/tokenizer.json"));
	fixed[1] = sl_tok_load(fuzz_src("tests/fixtures/smollm-tokenizer/tokenizer.json"));
	if (!fixed[0] || !fixed[1])
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size && data[0] == '{') {
		const uint8_t *nul = memchr(data, 0, size);
		size_t jlen = nul ? (size_t)(nul - data) : size;
		const char *p = fuzz_write("tokenizer.json", data, jlen);
		sl_tok *t = p ? sl_tok_load(p) : NULL;
		if (t) {
			if (nul)
				exercise(t, nul + 1, size - jlen - 1, (unsigned)size);
			else
				exercise(t, (const uint8_t *)"Once upon a time, 12345 <s>\n", 28, 0);
			sl_tok_free(t);
		}
		return 0;
	}
	unsigned sel = size ? data[size - 1] : 0;
	exercise(fixed[0], data, size, sel);
	exercise(fixed[1], data, size, sel >> 1);
	return 0;
}
