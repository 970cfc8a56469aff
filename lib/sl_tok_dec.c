/*
 * sl_tok_dec — ids to text (sl_tok.h decoding API), streaming, with exactly the output of HF's
 * tokenizer.decode(ids, skip_special_tokens):
 *
 *   * byte-level (ByteLevel decoder): every token's characters map back to bytes (a token with
 *     a character outside the map contributes its own UTF-8), and the concatenation is
 *     converted with String::from_utf8_lossy: each maximal ill-formed subpart becomes one
 *     U+FFFD.  Streaming holds back only an incomplete character at the end; at the end of the
 *     ids, a held incomplete character is one U+FFFD.
 *   * SentencePiece (Replace "▁" -> " ", ByteFallback, Fuse, Strip " " start n): a run of
 *     consecutive <0xNN> tokens becomes its bytes if they are valid UTF-8 as a whole, else one
 *     U+FFFD per byte (HF's rule); characters are emitted as soon as they are whole (see
 *     run_commit for the one difference this makes); up to n leading spaces of the whole
 *     output are dropped.
 *
 * Special tokens are filtered out before the decoder when skip_special is set, as HF does (so
 * they do not interrupt a byte run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_tok_int.h"
#include "sl_unicode.h"

struct sl_tok_dec {
	const sl_tok *t;
	int skip_special;
	int strip_left;           /* leading spaces still to drop (SentencePiece Strip) */
	uint8_t pend[8];          /* byte-level: incomplete character held back */
	size_t npend;
	char *run;                /* SentencePiece: bytes of the current <0xNN> run */
	size_t nrun, run_cap;
	char *out;
	size_t nout, out_cap;
	char *work;               /* byte-level: held bytes + the new token */
	size_t work_cap;
};

static int reserve(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 256;
	while (nc < need)
		nc *= 2;
	char *q = realloc(*p, nc);
	if (!q)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	*p = q;
	*cap = nc;
	return 0;
}

/* Append final text, dropping leading spaces while the Strip decoder still wants them. */
static int emit(sl_tok_dec *d, const char *s, size_t n)
{
	while (d->strip_left > 0 && n > 0) {
		if (*s != ' ') {
			d->strip_left = 0;
			break;
		}
		s++;
		n--;
		d->strip_left--;
	}
	if (n && d->strip_left > 0)
		d->strip_left = 0;
	if (reserve(&d->out, &d->out_cap, d->nout + n + 1) < 0)
		return -1;
	memcpy(d->out + d->nout, s, n);
	d->nout += n;
	return 0;
}

static int emit_fffd(sl_tok_dec *d)
{
	return emit(d, "\xef\xbf\xbd", 3);
}

/* Byte-level: add bytes, emit what is decided (valid characters, U+FFFD for bad subparts),
 * hold an incomplete character at the end unless at_end. */
static int bytes_lossy(sl_tok_dec *d, const char *s, size_t n, int at_end)
{
	size_t i = 0, start;

	if (d->npend) {
		if (reserve(&d->work, &d->work_cap, d->npend + n) < 0)
			return -1;
		memcpy(d->work, d->pend, d->npend);
		memcpy(d->work + d->npend, s, n);
		s = d->work;
		n += d->npend;
		d->npend = 0;
	}
	start = 0;
	while (i < n) {
		uint32_t cp;
		if ((uint8_t)s[i] < 0x80) {
			i++;
			continue;
		}
		int l = sl_utf8_decode((const uint8_t *)s + i, n - i, &cp);
		if (l > 0) {
			i += (size_t)l;
			continue;
		}
		if (emit(d, s + start, i - start) < 0)
			return -1;
		if (l == 0 && !at_end) {
			memcpy(d->pend, s + i, n - i);
			d->npend = n - i;
			return 0;
		}
		if (emit_fffd(d) < 0)
			return -1;
		i += sl_utf8_bad_len((const uint8_t *)s + i, n - i);
		start = i;
	}
	return emit(d, s + start, i - start);
}

/*
 * SentencePiece byte runs.  HF decides a whole run at once: its bytes if they are valid UTF-8,
 * else one U+FFFD per byte.  To stream, complete valid characters at the start of the
 * undecided part are emitted as soon as they are whole (d->run keeps only the rest); once the
 * rest starts with a byte that cannot begin a valid character, nothing more is emitted until
 * the run ends.  This equals HF except for a run holding valid characters followed by invalid
 * bytes, where HF also replaces the valid characters' bytes by U+FFFD.
 */
static int run_commit(sl_tok_dec *d)
{
	size_t i = 0;

	while (i < d->nrun) {
		uint32_t cp;
		int l = sl_utf8_decode((const uint8_t *)d->run + i, d->nrun - i, &cp);
		if (l <= 0)
			break;
		i += (size_t)l;
	}
	if (i && emit(d, d->run, i) < 0)
		return -1;
	memmove(d->run, d->run + i, d->nrun - i);
	d->nrun -= i;
	return 0;
}

/* The run is decided (a non-byte token came, or the end). */
static int run_flush(sl_tok_dec *d)
{
	size_t i = 0;

	if (!d->nrun)
		return 0;
	while (i < d->nrun) {
		uint32_t cp;
		int l = sl_utf8_decode((const uint8_t *)d->run + i, d->nrun - i, &cp);
		if (l <= 0)
			break;
		i += (size_t)l;
	}
	int rc = 0;
	if (i == d->nrun) {
		rc = emit(d, d->run, d->nrun);
	} else {
		for (size_t k = 0; k < d->nrun && rc == 0; k++)
			rc = emit_fffd(d);
	}
	d->nrun = 0;
	return rc;
}

sl_tok_dec *sl_tok_dec_new(const sl_tok *t, int skip_special)
{
	sl_tok_dec *d = calloc(1, sizeof *d);

	if (!d) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		return NULL;
	}
	d->t = t;
	d->skip_special = skip_special;
	d->strip_left = t->bytelevel ? 0 : t->dec_strip;
	return d;
}

void sl_tok_dec_free(sl_tok_dec *d)
{
	if (!d)
		return;
	free(d->run);
	free(d->out);
	free(d->work);
	free(d);
}

static int spm_token(sl_tok_dec *d, int32_t id)
{
	const sl_tok *t = d->t;
	const char *s = t->piece[id];
	size_t n = t->piece_len[id];

	if (t->dec_bytefallback && (t->flags[id] & TOKF_BYTE)) {
		if (d->nrun >= SL_TOK_MAX_WORD && run_flush(d) < 0)
			return -1; /* bounded memory: decide a very long invalid run early */
		if (reserve(&d->run, &d->run_cap, d->nrun + 1) < 0)
			return -1;
		d->run[d->nrun++] = (char)t->byteval[id];
		return run_commit(d);
	}
	if (run_flush(d) < 0)
		return -1;
	if (!t->dec_replace)
		return emit(d, s, n);
	/* Replace "▁" -> " " */
	size_t start = 0;
	for (size_t i = 0; i + 3 <= n;) {
		if (memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
			if (emit(d, s + start, i - start) < 0 || emit(d, " ", 1) < 0)
				return -1;
			i += 3;
			start = i;
		} else {
			i++;
		}
	}
	return emit(d, s + start, n - start);
}

int sl_tok_dec_push(sl_tok_dec *d, int32_t id, const char **text, size_t *len)
{
	const sl_tok *t = d->t;

	d->nout = 0;
	*text = "";
	*len = 0;
	if (id < 0 || id >= t->n_vocab)
		return sl_seterr("id %d >= vocab %d", (int)id, t->n_vocab);
	if (d->skip_special && (t->flags[id] & TOKF_SPECIAL))
		return 0;
	int rc = t->bytelevel ? bytes_lossy(d, t->text[id], t->text_len[id], 0) : spm_token(d, id);
	if (rc < 0)
		return -1;
	*text = d->out ? d->out : "";
	*len = d->nout;
	return 0;
}

int sl_tok_dec_finish(sl_tok_dec *d, const char **text, size_t *len)
{
	d->nout = 0;
	*text = "";
	*len = 0;
	int rc = d->t->bytelevel ? bytes_lossy(d, "", 0, 1) : run_flush(d);
	if (rc < 0)
		return -1;
	*text = d->out ? d->out : "";
	*len = d->nout;
	return 0;
}

char *sl_tok_decode(const sl_tok *t, const int32_t *ids, size_t n, int skip_special, size_t *len)
{
	sl_tok_dec *d = sl_tok_dec_new(t, skip_special);
	char *res = NULL;
	size_t rn = 0, rcap = 0;
	const char *s;
	size_t sn;

	if (!d)
		return NULL;
	for (size_t i = 0; i <= n; i++) {
		if ((i < n ? sl_tok_dec_push(d, ids[i], &s, &sn) : sl_tok_dec_finish(d, &s, &sn)) < 0 ||
		    reserve(&res, &rcap, rn + sn + 1) < 0) {
			free(res);
			sl_tok_dec_free(d);
			return NULL;
		}
		memcpy(res + rn, s, sn);
		rn += sn;
	}
	sl_tok_dec_free(d);
	res[rn] = '\0';
	if (len)
		*len = rn;
	return res;
}

/* ==== display ==== */

void sl_tok_show(const sl_tok *t, int id, char *out, size_t cap)
{
	size_t o = 0;
	const char *s;
	size_t n;
	char one[1];

	if (cap == 0)
		return;
	out[0] = '\0';
	if (id < 0 || id >= t->n_vocab)
		return;
	if (t->bytelevel) {
		s = t->text[id];
		n = t->text_len[id];
	} else if (t->dec_bytefallback && (t->flags[id] & TOKF_BYTE)) {
		one[0] = (char)t->byteval[id];
		s = one;
		n = 1;
	} else {
		s = t->piece[id];
		n = t->piece_len[id];
	}
	for (size_t i = 0; i < n;) {
		char tmp[8];
		size_t tn;
		uint8_t c = (uint8_t)s[i];
		uint32_t cp;
		int l;
		if (!t->bytelevel && t->dec_replace && i + 3 <= n && !memcmp(s + i, "\xe2\x96\x81", 3)) {
			tmp[0] = ' ';
			tn = 1;
			l = 3;
		} else if (c == '\n' || c == '\t' || c == '\r' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : '\\';
			tn = 2;
			l = 1;
		} else if (c < 0x20 || c == 0x7f || (l = sl_utf8_decode((const uint8_t *)s + i, n - i, &cp)) <= 0) {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			tn = 4;
			l = 1;
		} else {
			memcpy(tmp, s + i, (size_t)l);
			tn = (size_t)l;
		}
		if (o + tn + 4 > cap) {
			if (cap >= 4)
				memcpy(out + (o + 4 <= cap ? o : cap - 4), "...", 4);
			return;
		}
		memcpy(out + o, tmp, tn);
		o += tn;
		i += (size_t)l;
	}
	out[o] = '\0';
}
