/*
 * sl_tok — loading a tokenizer (sl_tok.h): HF tokenizer.json (cJSON), an HF model directory,
 * or the tokenizer.ggml.* keys of a GGUF file, into one representation (sl_tok_int.h) that
 * the encoder (sl_tok_bpe.c) and decoder (sl_tok_dec.c) share; and the accessors sl-quant
 * uses to write a tokenizer into GGUF.
 *
 * Only what the two supported families need is accepted; every other component of a
 * tokenizer.json is refused by name, so a tokenizer is never silently mis-read.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "sl_err.h"
#include "sl_json.h"
#include "sl_gguf.h"
#include "sl_manifest.h"
#include "sl_tok_int.h"
#include "sl_unicode.h"

/* ==== hashing ==== */

uint64_t sl_tok_hash(const void *s, size_t n)
{
	return XXH3_64bits(s, n);
}

static int strmap_build(sl_tok_strmap *m, int n, char *const *keys, const uint32_t *lens, const uint8_t *skip)
{
	uint32_t cap = 16;

	while (cap < (uint32_t)n * 2 + 16)
		cap *= 2;
	m->slot = calloc(cap, sizeof *m->slot);
	if (!m->slot)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	m->mask = cap - 1;
	for (int id = 0; id < n; id++) {
		if (skip && skip[id])
			continue;
		uint32_t h = (uint32_t)sl_tok_hash(keys[id], lens[id]) & m->mask;
		for (;; h = (h + 1) & m->mask) {
			int32_t o = m->slot[h] - 1;
			if (o < 0) {
				m->slot[h] = id + 1;
				break;
			}
			if (lens[o] == lens[id] && memcmp(keys[o], keys[id], lens[id]) == 0)
				break; /* keep the lowest id */
		}
	}
	return 0;
}

int sl_tok_strmap_get(const sl_tok_strmap *m, char *const *keys, const uint32_t *lens, const char *s, size_t n)
{
	uint32_t h = (uint32_t)sl_tok_hash(s, n) & m->mask;

	for (;; h = (h + 1) & m->mask) {
		int32_t o = m->slot[h] - 1;
		if (o < 0)
			return -1;
		if (lens[o] == n && memcmp(keys[o], s, n) == 0)
			return o;
	}
}

/* ==== the tokenizer object ==== */

static sl_tok *tok_new(int n)
{
	sl_tok *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->n_vocab = n;
	t->piece = calloc((size_t)n, sizeof *t->piece);
	t->piece_len = calloc((size_t)n, sizeof *t->piece_len);
	t->text = calloc((size_t)n, sizeof *t->text);
	t->text_len = calloc((size_t)n, sizeof *t->text_len);
	t->flags = calloc((size_t)n, 1);
	t->byteval = calloc((size_t)n, 1);
	t->type = calloc((size_t)n, 1);
	t->score = calloc((size_t)n, sizeof *t->score);
	t->unk = t->bos = t->eos = t->pad = t->model_unk = -1;
	if (!t->piece || !t->piece_len || !t->text || !t->text_len || !t->flags || !t->byteval ||
	    !t->type || !t->score) {
		sl_tok_free(t);
		return NULL;
	}
	return t;
}

void sl_tok_free(sl_tok *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n_vocab; i++) {
		if (t->piece && t->text && t->text[i] != t->piece[i])
			free(t->text[i]);
		if (t->piece)
			free(t->piece[i]);
	}
	if (t->merge_str)
		for (int i = 0; i < t->n_merges; i++)
			free(t->merge_str[i]);
	for (int i = 0; i < t->n_norm; i++) {
		free(t->norm[i].a);
		free(t->norm[i].b);
	}
	free(t->norm);
	free(t->merge_str);
	free(t->piece);
	free(t->piece_len);
	free(t->text);
	free(t->text_len);
	free(t->flags);
	free(t->byteval);
	free(t->type);
	free(t->score);
	free(t->by_piece.slot);
	free(t->by_text.slot);
	free(t->merge);
	free(t->mm.key);
	free(t->mm.rank);
	free(t->mm.result);
	free(t->added);
	free(t->pre_name);
	free(t->nocut);
	free(t);
}

static int set_piece(sl_tok *t, int id, const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	memcpy(p, s, n);
	p[n] = '\0';
	free(t->piece[id]);
	t->piece[id] = p;
	t->piece_len[id] = (uint32_t)n;
	return 0;
}

/* GPT-2's reversible byte <-> printable character map: bytes 33-126, 161-172 and 174-255 are
 * themselves; the other 68 become U+0100 + k in byte order. */
static void bytelevel_map(uint32_t byte_to_cp[256])
{
	int k = 0;

	for (int b = 0; b < 256; b++) {
		if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))
			byte_to_cp[b] = (uint32_t)b;
		else
			byte_to_cp[b] = 256 + (uint32_t)k++;
	}
}

/* Byte-level text of a piece: each character mapped back to its byte.  -1 if some character
 * is not in the map (HF's decoder then uses the piece's own UTF-8). */
static int bytelevel_unmap(const char *s, size_t n, char *out, size_t *outn)
{
	static int16_t cp_to_byte[324];
	static int init;
	size_t o = 0;

	if (!init) { /* idempotent; a race writes the same values */
		uint32_t m[256];
		bytelevel_map(m);
		for (int i = 0; i < 324; i++)
			cp_to_byte[i] = -1;
		for (int b = 0; b < 256; b++)
			cp_to_byte[m[b]] = (int16_t)b;
		init = 1;
	}
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int l = sl_utf8_decode((const uint8_t *)s + i, n - i, &cp);
		if (l <= 0 || cp >= 324 || cp_to_byte[cp] < 0)
			return -1;
		out[o++] = (char)cp_to_byte[cp];
		i += (size_t)l;
	}
	*outn = o;
	return 0;
}

/* HF's ByteFallback decoder test: 6 bytes, "<0x", two characters u8::from_str_radix(16)
 * accepts ("+F" included), ">". */
static int byte_token(const char *s, size_t n, uint8_t *v)
{
	int hi, lo;

	if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
		return 0;
#define HEX(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : (c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 : \
		(c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10 : -1)
	lo = HEX(s[4]);
	if (s[3] == '+')
		hi = lo < 0 ? -1 : 0;
	else
		hi = HEX(s[3]);
#undef HEX
	if (hi < 0 || lo < 0)
		return 0;
	*v = (uint8_t)(hi * 16 + lo);
	return 1;
}

static int merges_build(sl_tok *t, const char *name)
{
	uint32_t cap = 16;
	sl_tok_mergemap *m = &t->mm;

	while (cap < (uint32_t)t->n_merges * 2 + 16)
		cap *= 2;
	m->key = malloc(cap * sizeof *m->key);
	m->rank = malloc(cap * sizeof *m->rank);
	m->result = malloc(cap * sizeof *m->result);
	if (!m->key || !m->rank || !m->result)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	memset(m->key, 0xff, cap * sizeof *m->key);
	m->mask = cap - 1;
	for (int i = 0; i < t->n_merges; i++) {
		int32_t l = t->merge[i][0], r = t->merge[i][1];
		size_t ln = t->piece_len[l], rn = t->piece_len[r];
		char stack[256], *buf = ln + rn <= sizeof stack ? stack : malloc(ln + rn);
		if (!buf)
			return sl_seterr_code(SL_E_NOMEM, "out of memory");
		memcpy(buf, t->piece[l], ln);
		memcpy(buf + ln, t->piece[r], rn);
		int res = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, buf, ln + rn);
		if (buf != stack)
			free(buf);
		if (res < 0)
			return sl_seterr("%s: merge %d '%s %s': '%s%s' is not in the vocabulary", name, i,
					 t->piece[l], t->piece[r], t->piece[l], t->piece[r]);
		uint64_t k = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
		uint32_t h = sl_tok_mix64(k) & m->mask;
		while (m->key[h] != UINT64_MAX && m->key[h] != k)
			h = (h + 1) & m->mask;
		/* HF collects the merges into a HashMap: a repeated pair keeps its last rank. */
		m->key[h] = k;
		m->rank[h] = (uint32_t)i;
		m->result[h] = res;
	}
	return 0;
}

/* Normalize one ASCII character for the char -> id table (SentencePiece family). */
static size_t norm_char(const sl_tok *t, char c, char *out)
{
	size_t n = 1;

	out[0] = c;
	for (int i = 0; i < t->n_norm; i++) {
		const sl_tok_normop *op = &t->norm[i];
		if (op->op == NORM_REPLACE && op->alen == n && memcmp(out, op->a, n) == 0 && op->blen <= 8) {
			memcpy(out, op->b, op->blen);
			n = op->blen;
		}
	}
	return n;
}

/* Does some merge's right operand begin with the text s (or, as a <0xNN> token, with its
 * first byte)?  Then a cut before s could separate a pair BPE would merge. */
static int right_starts_with(const sl_tok *t, const char *s, size_t n)
{
	for (int i = 0; i < t->n_merges; i++) {
		int32_t r = t->merge[i][1];
		if (t->text_len[r] >= n && memcmp(t->text[r], s, n) == 0)
			return 1;
		if ((t->flags[r] & TOKF_BYTE) && t->byteval[r] == (uint8_t)s[0])
			return 1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Add the non-ASCII code points of s (all of them, or only the first) to t->nocut. */
static int nocut_add(sl_tok *t, const char *s, size_t n, int first_only, size_t *cap)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int l = sl_utf8_decode((const uint8_t *)s + i, n - i, &cp);
		if (l <= 0)
			return 0;
		if (cp >= 0x80) {
			if ((size_t)t->n_nocut == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				uint32_t *p = realloc(t->nocut, nc * sizeof *p);
				if (!p)
					return sl_seterr_code(SL_E_NOMEM, "out of memory");
				t->nocut = p;
				*cap = nc;
			}
			t->nocut[t->n_nocut++] = cp;
		}
		if (first_only)
			return 0;
		i += (size_t)l;
	}
	return 0;
}

/*
 * Where streaming may cut the text (sl_tok_bpe.c explains why each rule is exact).  A cut
 * before character c needs: c occurs in no added token (so no match spans the cut) and in no
 * multi-character Replace pattern; and, where no pre-tokenizer split is guaranteed (SentencePiece,
 * or byte-level without the regex), no merge's right operand starts with c as the model sees
 * it (its normalized form; a <0xNN> right operand blocks every character starting with byte
 * NN), so BPE can never join symbols across the cut.  ASCII goes in cut_ok[]; non-ASCII code
 * points that are blocked go in the sorted nocut[] and lead bytes in nocut_lead[].
 */
static int cut_tables(sl_tok *t)
{
	int merges_matter = !(t->bytelevel && t->use_regex);
	size_t cap = 0;

	for (int i = 0; i < t->n_added; i++)
		if (nocut_add(t, t->piece[t->added[i]], t->piece_len[t->added[i]], 0, &cap) < 0)
			return -1;
	for (int i = 0; i < t->n_norm; i++)
		if (t->norm[i].op == NORM_REPLACE && nocut_add(t, t->norm[i].a, t->norm[i].alen, 0, &cap) < 0)
			return -1;
	if (merges_matter)
		for (int i = 0; i < t->n_merges; i++) {
			int32_t r = t->merge[i][1];
			if (t->flags[r] & TOKF_BYTE)
				t->nocut_lead[t->byteval[r]] = 1;
			if (t->text_len[r] == 0)
				continue;
			if (t->bytelevel)
				t->nocut_lead[(uint8_t)t->text[r][0]] = 1;
			else if (nocut_add(t, t->text[r], t->text_len[r], 1, &cap) < 0)
				return -1;
		}
	if (t->n_nocut)
		qsort(t->nocut, (size_t)t->n_nocut, sizeof *t->nocut, cmp_u32);
	for (int c = 1; c < 128; c++) {
		int ok = !t->nocut_lead[c];
		for (int i = 0; i < t->n_added && ok; i++)
			if (memchr(t->piece[t->added[i]], c, t->piece_len[t->added[i]]))
				ok = 0;
		for (int i = 0; i < t->n_norm && ok; i++)
			if (t->norm[i].op == NORM_REPLACE && t->norm[i].alen > 1 && memchr(t->norm[i].a, c, t->norm[i].alen))
				ok = 0;
		if (ok && merges_matter) {
			char s[8];
			size_t n = t->bytelevel ? (s[0] = (char)c, 1) : norm_char(t, (char)c, s);
			if (!t->bytelevel && sl_tok_strmap_get(&t->by_text, t->text, t->text_len, s, n) < 0 &&
			    t->byte_id[(uint8_t)s[0]] < 0)
				ok = 0; /* unk: fuse_unk would join it to a preceding unk */
			if (ok && right_starts_with(t, s, n))
				ok = 0;
			if (ok && n > 1 && t->nocut_lead[(uint8_t)s[0]])
				ok = 0;
		}
		t->cut_ok[c] = (uint8_t)ok;
		/* the same rule for c as it stands in normalized text (SentencePiece word splits) */
		char one[1] = { (char)c };
		t->split_ok[c] = !t->bytelevel && !t->nocut_lead[c] && !right_starts_with(t, one, 1) &&
				 (t->ascii_id[c] >= 0 || t->byte_id[c] >= 0);
	}
	return 0;
}

int sl_tok_cut_before(const sl_tok *t, uint32_t cp)
{
	size_t lo = 0, hi = (size_t)t->n_nocut;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->nocut[mid] == cp)
			return 0;
		if (t->nocut[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 1;
}

/*
 * Everything derived from the vocabulary, merges and pipeline, once they are known: text
 * forms, flags, maps, byte and character tables, merge table, scores and the streaming cut
 * characters.
 */
static int finish(sl_tok *t, const char *name, int scores_given)
{
	uint8_t *skip = calloc((size_t)t->n_vocab + 1, 1);

	if (!skip)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	for (int id = 0; id < t->n_vocab; id++) {
		if (!t->piece[id]) {
			free(skip);
			return sl_seterr("%s: token id %d is missing from the vocabulary", name, id);
		}
		uint8_t v;
		if (byte_token(t->piece[id], t->piece_len[id], &v)) {
			t->flags[id] |= TOKF_BYTE;
			t->byteval[id] = v;
		}
		t->text[id] = t->piece[id];
		t->text_len[id] = t->piece_len[id];
		if (t->bytelevel) {
			char *buf = malloc(t->piece_len[id] + 1);
			size_t n;
			if (!buf) {
				free(skip);
				return sl_seterr_code(SL_E_NOMEM, "out of memory");
			}
			if (bytelevel_unmap(t->piece[id], t->piece_len[id], buf, &n) == 0) {
				t->text[id] = buf;
				t->text_len[id] = (uint32_t)n;
			} else {
				free(buf);
				skip[id] = 1; /* BPE can never produce it from text */
			}
		}
		if (t->flags[id] & TOKF_ADDED)
			skip[id] = 1;
	}
	if (strmap_build(&t->by_piece, t->n_vocab, t->piece, t->piece_len, NULL) < 0 ||
	    strmap_build(&t->by_text, t->n_vocab, t->text, t->text_len, skip) < 0) {
		free(skip);
		return -1;
	}
	free(skip);

	for (int b = 0; b < 256; b++) {
		char s[8];
		if (t->bytelevel) {
			s[0] = (char)b;
			t->byte_id[b] = sl_tok_strmap_get(&t->by_text, t->text, t->text_len, s, 1);
		} else {
			snprintf(s, sizeof s, "<0x%02X>", b);
			t->byte_id[b] = t->byte_fallback ? sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, s, 6) : -1;
		}
	}
	for (int c = 0; c < 128; c++) {
		char s[1] = { (char)c };
		t->ascii_id[c] = t->bytelevel ? -1 : sl_tok_strmap_get(&t->by_text, t->text, t->text_len, s, 1);
	}
	if (merges_build(t, name) < 0)
		return -1;

	/* Token types, as llama.cpp's converter assigns them. */
	for (int id = 0; id < t->n_vocab; id++) {
		if (t->type[id])
			continue; /* from GGUF */
		if (id == t->unk)
			t->type[id] = 2;
		else if (t->flags[id] & TOKF_SPECIAL)
			t->type[id] = 3;
		else if (t->flags[id] & TOKF_ADDED)
			t->type[id] = 4;
		else if (t->byte_fallback && (t->flags[id] & TOKF_BYTE) && t->piece[id][3] != '+' &&
			 strchr("0123456789ABCDEF", t->piece[id][3]) && strchr("0123456789ABCDEF", t->piece[id][4]))
			t->type[id] = 6;
		else
			t->type[id] = 1;
	}
	/* Scores: merged pieces count down from 0 in the order merges first produce them, then the
	 * other normal pieces in id order (for stories260K this is exactly llama2.c's scores). */
	if (!scores_given) {
		int k = 0;
		uint8_t *seen = calloc((size_t)t->n_vocab, 1);
		if (!seen)
			return sl_seterr_code(SL_E_NOMEM, "out of memory");
		for (int i = 0; i < t->n_merges; i++) {
			uint32_t rank;
			int32_t res;
			if (sl_tok_merge_get(&t->mm, t->merge[i][0], t->merge[i][1], &rank, &res) && !seen[res]) {
				seen[res] = 1;
				t->score[res] = (float)-k++;
			}
		}
		for (int id = 0; id < t->n_vocab; id++)
			if (!seen[id] && t->type[id] == 1 && !t->bytelevel)
				t->score[id] = (float)-k++;
		free(seen);
	}

	/* Added tokens, for matching. */
	for (int id = 0; id < t->n_vocab; id++)
		if (t->flags[id] & TOKF_ADDED)
			t->n_added++;
	t->added = malloc(((size_t)t->n_added + 1) * sizeof *t->added);
	if (!t->added)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	t->n_added = 0;
	for (int id = 0; id < t->n_vocab; id++)
		if ((t->flags[id] & TOKF_ADDED) && t->piece_len[id] > 0) {
			t->added[t->n_added++] = id;
			t->added_first[(uint8_t)t->piece[id][0]] |= (t->flags[id] & TOKF_SPECIAL) ? 2 : 1;
		}

	return cut_tables(t);
}

/* ==== tokenizer.json ==== */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jtrue(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *jtype(const cJSON *o)
{
	const char *s = jstr(o, "type");
	return s ? s : "?";
}

static int is_null(const cJSON *o)
{
	return !o || cJSON_IsNull(o);
}

static int add_norm(sl_tok *t, int op, const char *a, const char *b)
{
	sl_tok_normop *n = realloc(t->norm, ((size_t)t->n_norm + 1) * sizeof *n);

	if (!n)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	t->norm = n;
	n = &t->norm[t->n_norm];
	memset(n, 0, sizeof *n);
	n->op = op;
	n->a = strdup(a);
	n->alen = strlen(a);
	if (b) {
		n->b = strdup(b);
		n->blen = strlen(b);
	}
	t->n_norm++;
	if (!n->a || (b && !n->b))
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	return 0;
}

static int parse_normalizer(sl_tok *t, const cJSON *n, const char *name)
{
	const char *type = jtype(n);

	if (is_null(n))
		return 0;
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers"))
			if (parse_normalizer(t, e, name) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(type, "Prepend") && jstr(n, "prepend"))
		return add_norm(t, NORM_PREPEND, jstr(n, "prepend"), NULL);
	if (!strcmp(type, "Replace")) {
		const char *pat = jstr(cJSON_GetObjectItemCaseSensitive(n, "pattern"), "String");
		const char *content = jstr(n, "content");
		if (!pat || !content || !*pat)
			return sl_seterr("%s: unsupported normalizer 'Replace' with a regex pattern", name);
		return add_norm(t, NORM_REPLACE, pat, content);
	}
	return sl_seterr("%s: unsupported normalizer '%s'", name, type);
}

static int parse_pretok(sl_tok *t, const cJSON *p, const char *name)
{
	const char *type = jtype(p);

	if (is_null(p))
		return 0;
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers"))
			if (parse_pretok(t, e, name) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(type, "Digits")) {
		if (t->bytelevel || t->digits)
			return sl_seterr("%s: unsupported pre_tokenizer order (Digits must come once, before ByteLevel)", name);
		t->digits = jtrue(p, "individual_digits") ? 1 : 2;
		return 0;
	}
	if (!strcmp(type, "ByteLevel")) {
		if (t->bytelevel)
			return sl_seterr("%s: unsupported pre_tokenizer (ByteLevel twice)", name);
		if (jtrue(p, "add_prefix_space"))
			return sl_seterr("%s: unsupported pre_tokenizer 'ByteLevel' with add_prefix_space", name);
		t->bytelevel = 1;
		t->use_regex = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "use_regex"));
		return 0;
	}
	return sl_seterr("%s: unsupported pre_tokenizer '%s'", name, type);
}

static int special_id(const cJSON *pp, const char *tokname, int32_t *id)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pp, "special_tokens"), tokname);
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(st, "ids");

	if (cJSON_GetArraySize(ids) != 1 || !cJSON_IsNumber(cJSON_GetArrayItem(ids, 0)))
		return -1;
	*id = (int32_t)cJSON_GetArrayItem(ids, 0)->valuedouble;
	return 0;
}

static int parse_postproc(sl_tok *t, const cJSON *p, const char *name)
{
	const char *type = jtype(p);

	if (is_null(p) || !strcmp(type, "ByteLevel"))
		return 0; /* ByteLevel only adjusts offsets */
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "processors"))
			if (parse_postproc(t, e, name) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(type, "TemplateProcessing")) {
		const cJSON *e;
		int seen_seq = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "single")) {
			const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
			if (cJSON_GetObjectItemCaseSensitive(e, "Sequence")) {
				seen_seq = 1;
			} else if (sp && jstr(sp, "id")) {
				int32_t id;
				if (special_id(p, jstr(sp, "id"), &id) < 0)
					return sl_seterr("%s: post_processor: special token '%s' has no single id", name, jstr(sp, "id"));
				if (seen_seq ? t->n_suffix >= 4 : t->n_prefix >= 4)
					return sl_seterr("%s: post_processor: too many special tokens", name);
				if (seen_seq)
					t->suffix[t->n_suffix++] = id;
				else
					t->prefix[t->n_prefix++] = id;
			} else {
				return sl_seterr("%s: post_processor: unsupported template item", name);
			}
		}
		return 0;
	}
	return sl_seterr("%s: unsupported post_processor '%s'", name, type);
}

static int parse_decoder(sl_tok *t, const cJSON *d, const char *name)
{
	const char *type = jtype(d);

	if (is_null(d))
		return sl_seterr("%s: unsupported decoder 'null'", name);
	if (t->bytelevel) {
		if (strcmp(type, "ByteLevel") != 0)
			return sl_seterr("%s: unsupported decoder '%s' (with the ByteLevel pre-tokenizer)", name, type);
		return 0;
	}
	if (strcmp(type, "Sequence") != 0)
		return sl_seterr("%s: unsupported decoder '%s'", name, type);
	/* Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", n, 0), each at most once, in this order. */
	int stage = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "decoders")) {
		const char *et = jtype(e);
		if (!strcmp(et, "Replace") && stage < 1) {
			const char *pat = jstr(cJSON_GetObjectItemCaseSensitive(e, "pattern"), "String");
			const char *c = jstr(e, "content");
			if (!pat || !c || strcmp(pat, "\xe2\x96\x81") != 0 || strcmp(c, " ") != 0)
				return sl_seterr("%s: unsupported decoder 'Replace' (only \"\xe2\x96\x81\" -> \" \")", name);
			t->dec_replace = 1;
			stage = 1;
		} else if (!strcmp(et, "ByteFallback") && stage < 2) {
			t->dec_bytefallback = 1;
			stage = 2;
		} else if (!strcmp(et, "Fuse") && stage < 3) {
			stage = 3;
		} else if (!strcmp(et, "Strip") && stage == 3) {
			const char *c = jstr(e, "content");
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "start");
			const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "stop");
			if (!c || strcmp(c, " ") != 0 || !cJSON_IsNumber(st) || st->valuedouble < 0 ||
			    st->valuedouble > 64 || !cJSON_IsNumber(sp) || sp->valuedouble != 0)
				return sl_seterr("%s: unsupported decoder 'Strip' (only content \" \", stop 0)", name);
			t->dec_strip = (int)st->valuedouble;
			stage = 4;
		} else {
			return sl_seterr("%s: unsupported decoder '%s' in this position of the Sequence", name, et);
		}
	}
	return 0;
}

/* Split "a b" (or ["a", "b"]) and look both up. */
static int parse_merge(sl_tok *t, const cJSON *m, int i, const char *name)
{
	const char *a, *b;
	size_t an, bn;
	char *sp = NULL;

	if (cJSON_IsString(m)) {
		a = m->valuestring;
		sp = strchr(a, ' ');
		if (!sp || strchr(sp + 1, ' '))
			return sl_seterr("%s: merge %d '%s' is not two tokens", name, i, a);
		an = (size_t)(sp - a);
		b = sp + 1;
		bn = strlen(b);
	} else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
		   cJSON_IsString(cJSON_GetArrayItem(m, 1))) {
		a = cJSON_GetArrayItem(m, 0)->valuestring;
		b = cJSON_GetArrayItem(m, 1)->valuestring;
		an = strlen(a);
		bn = strlen(b);
	} else {
		return sl_seterr("%s: merge %d is neither \"a b\" nor [\"a\", \"b\"]", name, i);
	}
	int l = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, a, an);
	int r = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, b, bn);
	if (l < 0 || r < 0)
		return sl_seterr("%s: merge %d: '%.*s' is not in the vocabulary", name, i,
				 (int)(l < 0 ? an : bn), l < 0 ? a : b);
	t->merge[i][0] = l;
	t->merge[i][1] = r;
	return 0;
}

/* bos_token etc. in tokenizer_config.json: a string or {"content": ...}. */
static int config_token(const sl_tok *t, const cJSON *cfg, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	const char *s = cJSON_IsString(v) ? v->valuestring : jstr(v, "content");

	return s ? sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, s, strlen(s)) : -1;
}

static int config_id(const cJSON *cfg, const char *key, int n_vocab)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);

	if (cJSON_IsArray(v))
		v = cJSON_GetArrayItem(v, 0);
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < n_vocab)
		return (int)v->valuedouble;
	return -1;
}

/* Parse a JSON file; optional ones may be absent or unreadable (NULL either way). */
static cJSON *load_json(const char *path, int optional)
{
	cJSON *j = NULL;

	if (sl_json_load(path, optional, &j) != 0 && optional)
		return NULL;
	return j;
}

static sl_tok *load_json_tok(const char *path, const char *dir)
{
	cJSON *j = load_json(path, 0), *cfg = NULL, *mcfg = NULL;
	sl_tok *t = NULL;

	if (!j)
		return NULL;
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens"), *e;
	const char *mtype = jstr(model, "type");
	int n = 0;

	if (!cJSON_IsObject(model)) {
		sl_seterr("%s: no \"model\" object (not a tokenizer.json?)", path);
		goto fail;
	}
	if (!mtype || strcmp(mtype, "BPE") != 0) {
		sl_seterr("%s: unsupported model '%s'", path, mtype ? mtype : "?");
		goto fail;
	}
	if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
		sl_seterr("%s: model has no vocab object or merges array", path);
		goto fail;
	}
	if (!is_null(cJSON_GetObjectItemCaseSensitive(model, "dropout")) &&
	    cJSON_GetObjectItemCaseSensitive(model, "dropout")->valuedouble != 0) {
		sl_seterr("%s: unsupported model option 'dropout'", path);
		goto fail;
	}
	if (!is_null(cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix")) ||
	    !is_null(cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix"))) {
		sl_seterr("%s: unsupported model option 'continuing_subword_prefix'/'end_of_word_suffix'", path);
		goto fail;
	}
	cJSON_ArrayForEach(e, vocab) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= 1 << 30) {
			sl_seterr("%s: vocab entry '%s' has a bad id", path, e->string);
			goto fail;
		}
		if ((int)e->valuedouble + 1 > n)
			n = (int)e->valuedouble + 1;
	}
	cJSON_ArrayForEach(e, added) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= 1 << 30 || !jstr(e, "content")) {
			sl_seterr("%s: added_tokens entry without a valid id and content", path);
			goto fail;
		}
		if ((int)id->valuedouble + 1 > n)
			n = (int)id->valuedouble + 1;
	}
	t = tok_new(n);
	if (!t) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		goto fail;
	}
	cJSON_ArrayForEach(e, vocab) {
		int id = (int)e->valuedouble;
		if (t->piece[id]) {
			sl_seterr("%s: vocab id %d appears twice", path, id);
			goto fail;
		}
		if (set_piece(t, id, e->string, strlen(e->string)) < 0)
			goto fail;
	}
	cJSON_ArrayForEach(e, added) {
		int id = (int)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
		const char *c = jstr(e, "content");
		static const char *const opts[] = { "lstrip", "rstrip", "single_word" };
		for (int k = 0; k < 3; k++)
			if (jtrue(e, opts[k])) {
				sl_seterr("%s: unsupported added token option '%s' (token '%s')", path, opts[k], c);
				goto fail;
			}
		if (!t->piece[id] && set_piece(t, id, c, strlen(c)) < 0)
			goto fail;
		t->flags[id] |= TOKF_ADDED | (jtrue(e, "special") ? TOKF_SPECIAL : 0);
		if (strcmp(t->piece[id], c) != 0) {
			/* HF's added vocabulary wins for this id. */
			if (set_piece(t, id, c, strlen(c)) < 0)
				goto fail;
		}
	}
	for (int id = 0; id < n; id++)
		if (!t->piece[id]) {
			sl_seterr("%s: token id %d is missing from the vocabulary", path, id);
			goto fail;
		}

	if (parse_pretok(t, cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer"), path) < 0 ||
	    parse_normalizer(t, cJSON_GetObjectItemCaseSensitive(j, "normalizer"), path) < 0 ||
	    parse_postproc(t, cJSON_GetObjectItemCaseSensitive(j, "post_processor"), path) < 0 ||
	    parse_decoder(t, cJSON_GetObjectItemCaseSensitive(j, "decoder"), path) < 0)
		goto fail;
	if (t->bytelevel && t->n_norm) {
		sl_seterr("%s: unsupported normalizer '%s' with the ByteLevel pre-tokenizer", path,
			  jtype(cJSON_GetObjectItemCaseSensitive(j, "normalizer")));
		goto fail;
	}
	if (!t->bytelevel && t->digits) {
		sl_seterr("%s: unsupported pre_tokenizer 'Digits' without ByteLevel", path);
		goto fail;
	}
	t->byte_fallback = jtrue(model, "byte_fallback");
	t->fuse_unk = jtrue(model, "fuse_unk");
	t->ignore_merges = jtrue(model, "ignore_merges");
	if (jstr(model, "unk_token")) {
		const char *u = jstr(model, "unk_token");
		/* strmap not built yet: linear scan once */
		for (int id = 0; id < n && t->unk < 0; id++)
			if (!strcmp(t->piece[id], u))
				t->unk = id;
		if (t->unk < 0) {
			sl_seterr("%s: unk_token '%s' is not in the vocabulary", path, u);
			goto fail;
		}
		t->model_unk = t->unk;
	}

	/* Merges need the piece map, which finish() builds; build it early here. */
	if (strmap_build(&t->by_piece, n, t->piece, t->piece_len, NULL) < 0)
		goto fail;
	t->n_merges = cJSON_GetArraySize(merges);
	t->merge = malloc(((size_t)t->n_merges + 1) * sizeof *t->merge);
	if (!t->merge) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		goto fail;
	}
	{
		int i = 0;
		cJSON_ArrayForEach(e, merges)
			if (parse_merge(t, e, i++, path) < 0)
				goto fail;
	}
	free(t->by_piece.slot);
	t->by_piece.slot = NULL;

	/* BOS/EOS/PAD: the post-processor, then tokenizer_config.json and config.json. */
	if (t->n_prefix == 1) {
		t->bos = t->prefix[0];
		t->add_bos = 1;
	}
	if (t->n_suffix == 1)
		t->eos = t->suffix[0];
	if (finish(t, path, 0) < 0)
		goto fail;
	if (dir) {
		char p[4096];
		snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
		cfg = load_json(p, 1);
		snprintf(p, sizeof p, "%s/config.json", dir);
		mcfg = load_json(p, 1);
	}
	if (cfg) {
		int v;
		if ((v = config_token(t, cfg, "bos_token")) >= 0)
			t->bos = v;
		if ((v = config_token(t, cfg, "eos_token")) >= 0)
			t->eos = v;
		if ((v = config_token(t, cfg, "pad_token")) >= 0)
			t->pad = v;
		if (t->unk < 0 && (v = config_token(t, cfg, "unk_token")) >= 0)
			t->unk = v;
	}
	if (mcfg) {
		int v;
		if (t->bos < 0 && (v = config_id(mcfg, "bos_token_id", n)) >= 0)
			t->bos = v;
		if (t->eos < 0 && (v = config_id(mcfg, "eos_token_id", n)) >= 0)
			t->eos = v;
		if (t->pad < 0 && (v = config_id(mcfg, "pad_token_id", n)) >= 0)
			t->pad = v;
	}
	cJSON_Delete(j);
	cJSON_Delete(cfg);
	cJSON_Delete(mcfg);
	return t;
fail:
	cJSON_Delete(j);
	cJSON_Delete(cfg);
	cJSON_Delete(mcfg);
	sl_tok_free(t);
	return NULL;
}

/* ==== GGUF ==== */

static const sl_gguf_kv *gkv(const sl_gguf *g, const char *key, uint32_t arr_type, uint64_t n)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	if (!kv)
		return NULL;
	if (kv->type != SL_GGUF_ARRAY || kv->arr_type != arr_type || (n && kv->arr_n != n)) {
		sl_seterr("%s: %s has the wrong type or length", g->map.path ? g->map.path : "gguf", key);
		return (const sl_gguf_kv *)-1;
	}
	return kv;
}

static int gid(const sl_gguf *g, const char *key, int n, int *out)
{
	uint32_t v;
	int rc = sl_gguf_get_u32(g, key, &v);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		if ((int64_t)v >= n)
			return sl_seterr("%s: %s = %u is not a token id (vocab %d)", g->map.path, key, v, n);
		*out = (int)v;
	}
	return 0;
}

typedef struct {
	int32_t l, r;
	float score;
	int ll, rl;   /* lengths in characters */
	int order;
} cand;

static int cand_cmp(const void *a, const void *b)
{
	const cand *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->ll != y->ll)
		return x->ll > y->ll ? -1 : 1;
	if (x->rl != y->rl)
		return x->rl > y->rl ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int nchars(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((uint8_t)s[i] & 0xC0) != 0x80;
	return c;
}

/*
 * SentencePiece GGUF files carry scores, not merges.  Derive the merges the way transformers'
 * converter does (generate_merges): every split of every piece into two vocabulary pieces,
 * ordered by (piece score, left length, right length) descending, stably over pieces in id
 * order and splits sorted by (left id, right id).  This reproduces tokenizer.json's merges.
 */
static int merges_from_scores(sl_tok *t)
{
	size_t cap = 1024, n = 0;
	cand *c = malloc(cap * sizeof *c);

	if (!c)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	for (int id = 0; id < t->n_vocab; id++) {
		const char *p = t->piece[id];
		size_t len = t->piece_len[id];
		size_t first = n;
		for (size_t k = 1; k < len; k++) {
			if (((uint8_t)p[k] & 0xC0) == 0x80)
				continue;
			int l = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, p, k);
			int r = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, p + k, len - k);
			if (l < 0 || r < 0)
				continue;
			if (n == cap) {
				cand *nc = realloc(c, 2 * cap * sizeof *c);
				if (!nc) {
					free(c);
					return sl_seterr_code(SL_E_NOMEM, "out of memory");
				}
				c = nc;
				cap *= 2;
			}
			c[n++] = (cand){ l, r, t->score[id], nchars(p, k), nchars(p + k, len - k), 0 };
		}
		/* within a piece: by (left id, right id) */
		for (size_t i = first + 1; i < n; i++)
			for (size_t j = i; j > first && (c[j].l < c[j - 1].l || (c[j].l == c[j - 1].l && c[j].r < c[j - 1].r)); j--) {
				cand tmp = c[j];
				c[j] = c[j - 1];
				c[j - 1] = tmp;
			}
	}
	for (size_t i = 0; i < n; i++)
		c[i].order = (int)i;
	qsort(c, n, sizeof *c, cand_cmp);
	t->merge = malloc((n + 1) * sizeof *t->merge);
	if (!t->merge) {
		free(c);
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		t->merge[i][0] = c[i].l;
		t->merge[i][1] = c[i].r;
	}
	t->n_merges = (int)n;
	free(c);
	return 0;
}

sl_tok *sl_tok_load_gguf(const void *gguf)
{
	const sl_gguf *g = gguf;
	const char *name = g->map.path ? g->map.path : "gguf";
	char *model = NULL, *pre = NULL;
	sl_tok *t = NULL;
	const sl_gguf_kv *toks, *types, *scores, *merges;
	int rc;

	if ((rc = sl_gguf_get_str(g, "tokenizer.ggml.model", &model)) <= 0) {
		if (rc == 0)
			sl_seterr("%s: no tokenizer (tokenizer.ggml.model missing)", name);
		return NULL;
	}
	if (strcmp(model, "gpt2") != 0 && strcmp(model, "llama") != 0) {
		sl_seterr("%s: unsupported tokenizer.ggml.model '%s'", name, model);
		goto fail;
	}
	toks = gkv(g, "tokenizer.ggml.tokens", SL_GGUF_STRING, 0);
	if (!toks) {
		sl_seterr("%s: tokenizer.ggml.tokens missing", name);
		goto fail;
	}
	if (toks == (void *)-1 || toks->arr_n == 0 || toks->arr_n >= 1 << 30)
		goto fail_msg;
	int n = (int)toks->arr_n;
	types = gkv(g, "tokenizer.ggml.token_type", SL_GGUF_I32, (uint64_t)n);
	scores = gkv(g, "tokenizer.ggml.scores", SL_GGUF_F32, (uint64_t)n);
	merges = gkv(g, "tokenizer.ggml.merges", SL_GGUF_STRING, 0);
	if (types == (void *)-1 || scores == (void *)-1 || merges == (void *)-1)
		goto fail;
	t = tok_new(n);
	if (!t) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		goto fail;
	}
	t->bytelevel = !strcmp(model, "gpt2");
	for (int id = 0; id < n; id++) {
		sl_gguf_str piece;
		if (sl_gguf_kv_str(g, toks, (uint64_t)id, &piece) || set_piece(t, id, piece.ptr, piece.len) < 0)
			goto fail;
		int64_t ty = 1;
		float sc = 0;
		if ((types && sl_gguf_kv_i64(g, types, (uint64_t)id, &ty)) ||
		    (scores && sl_gguf_kv_f32(g, scores, (uint64_t)id, &sc)))
			goto fail;
		t->type[id] = (uint8_t)(ty >= 0 && ty <= 6 ? ty : 1);
		t->score[id] = sc;
		/* llama.cpp matches control, user-defined and unknown tokens in text as specials */
		if (ty == 2 || ty == 3)
			t->flags[id] |= TOKF_ADDED | TOKF_SPECIAL;
		else if (ty == 4)
			t->flags[id] |= TOKF_ADDED;
	}
	if (sl_gguf_get_str(g, "tokenizer.ggml.pre", &pre) < 0)
		goto fail;
	if (t->bytelevel) {
		t->use_regex = 1;
		if (pre && !strcmp(pre, "smollm"))
			t->digits = 1;
		else if (pre && strcmp(pre, "default") != 0 && strcmp(pre, "gpt2") != 0) {
			sl_seterr("%s: unsupported tokenizer.ggml.pre '%s'", name, pre);
			goto fail;
		}
	} else {
		t->byte_fallback = 1;
		t->fuse_unk = 1;
		t->dec_replace = 1;
		t->dec_bytefallback = 1;
		t->dec_strip = 1;
		if (add_norm(t, NORM_PREPEND, "\xe2\x96\x81", NULL) < 0 || add_norm(t, NORM_REPLACE, " ", "\xe2\x96\x81") < 0)
			goto fail;
	}
	if (gid(g, "tokenizer.ggml.bos_token_id", n, &t->bos) < 0 || gid(g, "tokenizer.ggml.eos_token_id", n, &t->eos) < 0 ||
	    gid(g, "tokenizer.ggml.unknown_token_id", n, &t->unk) < 0 ||
	    gid(g, "tokenizer.ggml.padding_token_id", n, &t->pad) < 0)
		goto fail;
	if (t->unk < 0 && !t->bytelevel)
		for (int id = 0; id < n; id++)
			if (t->type[id] == 2) {
				t->unk = id;
				break;
			}
	/* GGUF keeps one unk id.  SentencePiece models encode with it; byte-level ones came from
	 * tokenizer.json files whose BPE has no unk_token (SmolLM's, GPT-2's) and drop what they
	 * cannot spell, so a GGUF gives the ids of the tokenizer.json it was made from. */
	t->model_unk = t->bytelevel ? -1 : t->unk;
	t->add_bos = !t->bytelevel; /* llama.cpp's default when the key is absent */
	if (sl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos) < 0)
		goto fail;
	if (t->add_bos && t->bos < 0)
		t->add_bos = 0;
	if (t->add_bos) {
		t->prefix[0] = t->bos;
		t->n_prefix = 1;
	}
	if (strmap_build(&t->by_piece, n, t->piece, t->piece_len, NULL) < 0)
		goto fail;
	if (merges) {
		t->n_merges = (int)merges->arr_n;
		t->merge = malloc(((size_t)t->n_merges + 1) * sizeof *t->merge);
		if (!t->merge) {
			sl_seterr_code(SL_E_NOMEM, "out of memory");
			goto fail;
		}
		for (int i = 0; i < t->n_merges; i++) {
			sl_gguf_str ms;
			if (sl_gguf_kv_str(g, merges, (uint64_t)i, &ms))
				goto fail;
			const char *s = ms.ptr;
			size_t len = (size_t)ms.len;
			const char *sp = memchr(s, ' ', len);
			int l = -1, r = -1;
			if (sp && !memchr(sp + 1, ' ', len - (size_t)(sp - s) - 1)) {
				l = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, s, (size_t)(sp - s));
				r = sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, sp + 1, len - (size_t)(sp - s) - 1);
			}
			if (l < 0 || r < 0) {
				sl_seterr("%s: tokenizer.ggml.merges[%d] '%.*s' is not two vocabulary tokens", name, i, (int)len, s);
				goto fail;
			}
			t->merge[i][0] = l;
			t->merge[i][1] = r;
		}
	} else if (t->bytelevel) {
		sl_seterr("%s: tokenizer.ggml.merges missing", name);
		goto fail;
	} else if (merges_from_scores(t) < 0) {
		goto fail;
	}
	free(t->by_piece.slot);
	t->by_piece.slot = NULL;
	if (finish(t, name, 1) < 0)
		goto fail;
	free(model);
	free(pre);
	return t;
fail_msg:
	sl_seterr("%s: tokenizer.ggml.tokens has the wrong type or length", name);
fail:
	free(model);
	free(pre);
	sl_tok_free(t);
	return NULL;
}

/* ==== loading by path ==== */

sl_tok *sl_tok_load(const char *path)
{
	struct stat st;
	char p[4096];

	if (stat(path, &st) != 0) {
		sl_seterr_sys(errno, "%s", path);
		return NULL;
	}
	/* A chunk directory (sl-chunk): the tokenizer is in the core chunk.  (An HF directory
	 * that happens to hold a manifest.json stays an HF directory.) */
	snprintf(p, sizeof p, "%s/tokenizer.json", path);
	if (sl_manifest_is(path) && !(S_ISDIR(st.st_mode) && access(p, F_OK) == 0)) {
		sl_gguf g;
		void *buf;
		if (sl_chunk_open_core(path, &g, &buf) < 0)
			return NULL;
		sl_tok *t = sl_tok_load_gguf(&g);
		sl_gguf_close(&g);
		free(buf);
		return t;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(p, sizeof p, "%s/tokenizer.json", path);
		if (stat(p, &st) != 0) {
			sl_seterr("%s: no tokenizer.json in this directory", path);
			return NULL;
		}
		return load_json_tok(p, path);
	}
	FILE *f = fopen(path, "rb");
	unsigned char magic[4] = { 0 };
	if (!f) {
		sl_seterr_sys(errno, "%s", path);
		return NULL;
	}
	size_t got = fread(magic, 1, 4, f);
	fclose(f);
	if (got == 4 && !memcmp(magic, "GGUF", 4)) {
		sl_gguf g;
		if (sl_gguf_open(&g, path) < 0)
			return NULL;
		sl_tok *t = sl_tok_load_gguf(&g);
		sl_gguf_close(&g);
		return t;
	}
	/* A tokenizer.json: take BOS/EOS from the files beside it if they are there. */
	snprintf(p, sizeof p, "%s", path);
	char *slash = strrchr(p, '/');
	const char *dir = ".";
	if (slash) {
		*slash = '\0';
		dir = p;
	}
	char cfgp[4200];
	snprintf(cfgp, sizeof cfgp, "%s/tokenizer_config.json", dir);
	int has_cfg = stat(cfgp, &st) == 0;
	snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
	has_cfg |= stat(cfgp, &st) == 0;
	return load_json_tok(path, has_cfg ? dir : NULL);
}

/* ==== accessors ==== */

int sl_tok_n_vocab(const sl_tok *t) { return t->n_vocab; }
const char *sl_tok_gguf_model(const sl_tok *t) { return t->bytelevel ? "gpt2" : "llama"; }

const char *sl_tok_gguf_pre(const sl_tok *t)
{
	if (!t->bytelevel)
		return NULL;
	return t->digits == 1 ? "smollm" : "default";
}

const char *sl_tok_piece(const sl_tok *t, int id, size_t *len)
{
	if (id < 0 || id >= t->n_vocab)
		return NULL;
	if (len)
		*len = t->piece_len[id];
	return t->piece[id];
}

int sl_tok_token_type(const sl_tok *t, int id) { return id < 0 || id >= t->n_vocab ? 0 : t->type[id]; }
float sl_tok_score(const sl_tok *t, int id) { return id < 0 || id >= t->n_vocab ? 0 : t->score[id]; }
int sl_tok_n_merges(const sl_tok *t) { return t->n_merges; }

const char *sl_tok_merge(const sl_tok *t, int i)
{
	sl_tok *m = (sl_tok *)t; /* the strings are a cache */

	if (i < 0 || i >= t->n_merges)
		return NULL;
	if (!m->merge_str) {
		m->merge_str = calloc((size_t)t->n_merges, sizeof *m->merge_str);
		if (!m->merge_str)
			return NULL;
	}
	if (!m->merge_str[i]) {
		int l = t->merge[i][0], r = t->merge[i][1];
		char *s = malloc(t->piece_len[l] + t->piece_len[r] + 2);
		if (!s)
			return NULL;
		memcpy(s, t->piece[l], t->piece_len[l]);
		s[t->piece_len[l]] = ' ';
		memcpy(s + t->piece_len[l] + 1, t->piece[r], t->piece_len[r] + 1);
		m->merge_str[i] = s;
	}
	return m->merge_str[i];
}

int sl_tok_bos(const sl_tok *t) { return t->bos; }
int sl_tok_eos(const sl_tok *t) { return t->eos; }
int sl_tok_unk(const sl_tok *t) { return t->unk; }
int sl_tok_pad(const sl_tok *t) { return t->pad; }
int sl_tok_add_bos(const sl_tok *t) { return t->add_bos; }
int sl_tok_is_special(const sl_tok *t, int id) { return id >= 0 && id < t->n_vocab && (t->flags[id] & TOKF_SPECIAL); }

int sl_tok_find(const sl_tok *t, const char *piece, size_t len)
{
	return sl_tok_strmap_get(&t->by_piece, t->piece, t->piece_len, piece, len);
}
