/*
 * sl_tok_bpe — text to ids (sl_tok.h encoding API), as HF's tokenizers does it:
 *
 *   1. added tokens are cut out of the raw text (leftmost, longest match);
 *   2. each remaining segment is normalized (SentencePiece: Prepend "▁" at the segment's
 *      start, then " " -> "▁");
 *   3. pre-tokenized (byte-level: Digits isolates every Unicode number, then the GPT-2 regex
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ splits words;
 *      SentencePiece: none, the segment is one word);
 *   4. each word goes through BPE: start from one symbol per byte (byte-level) or per
 *      character (SentencePiece: unknown characters become <0xNN> byte tokens, or unk, fused),
 *      then repeatedly merge the adjacent pair with the lowest merge rank, leftmost first.
 *
 * Streaming.  Text is held until a cut point that provably gives the same ids as the whole
 * text, then everything before the cut is encoded and emitted.  In every case the character
 * after the cut occurs in no added token, so no added-token match spans the cut (and the
 * leftmost-longest scan restarts at the same place); a segment continued after a cut gets no
 * second Prepend.  Then:
 *   * byte-level with the regex, cut before character c at position p, where b is the
 *     character before it, if
 *       - c is white space and b is not: only \s+ matches contain white space after their
 *         first character, and they start with white space, so a match ends at p; matching
 *         never looks behind, and the one look-ahead (?!\S) only follows white space;
 *       - or neither is white space, their classes (letter, number, other) differ and b is
 *         not an apostrophe: every match but the contractions ('s 't 're 've 'm 'll 'd) is a
 *         run of one class, with at most a leading space;
 *       - or Digits(individual_digits) is on and b or c is a number: Digits makes each
 *         number its own piece, and the regex runs on each piece separately.
 *   * SentencePiece (one BPE word per segment), and byte-level without the regex: before c if
 *     no merge's right operand starts with what c becomes (its normalized form, e.g. "▁" for
 *     " "; a <0xNN> right operand blocks every character that starts with byte NN) and c is
 *     not unknown: BPE can then never join two symbols across the cut, and merges on the two
 *     sides do not interact (each merge only changes its own pair's neighbours).  For Llama
 *     vocabularies, where ▁ only starts pieces, every space is such a point.
 * Text with no such point for SL_TOK_MAX_WORD bytes (one 1 MiB word) is cut there anyway: the
 * one place where the ids can differ from HF's.
 *
 * Speed: words of byte-level text repeat, so a direct-mapped cache maps short words to their
 * ids; BPE itself keeps the rank of each adjacent pair in an array and scans for the minimum
 * (short words) or uses a heap over (rank, position) (long words, e.g. SentencePiece lines).
 */
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_tok_int.h"
#include "sl_unicode.h"

#define CACHE_SLOTS 32768          /* power of two */
#define CACHE_WORD 22
#define CACHE_IDS 8
#define HEAP_MIN 48                /* words with more symbols use the heap */

typedef struct {
	uint64_t h;
	uint8_t wlen, nids;
	char w[CACHE_WORD];
	int32_t ids[CACHE_IDS];
} cache_slot;

typedef struct {
	int32_t id;
	int32_t prev, next;            /* -1 at the ends */
	uint32_t rank;                 /* rank of the pair (this, next); UINT32_MAX if none */
	int32_t result;
	uint8_t dead;
} sym;

typedef struct {
	uint32_t rank;
	int32_t pos;
	int32_t left, right;           /* the pair it was made for, to detect stale entries */
	int32_t result;
} hent;

struct sl_tok_enc {
	const sl_tok *t;
	int flags;
	int started;                   /* prefix (BOS) emitted */
	int seg_start;                 /* the next text begins a segment (after start or an added token) */
	uint8_t special_mask;          /* added_first bits that are live */

	char *buf;                     /* pending raw text */
	size_t len, cap;
	size_t valid;                  /* buf[0..valid) is complete, valid UTF-8 */
	size_t scan;                   /* cut search resumes here */
	unsigned scan_prev_cls;        /* class (C_*) of the character before buf[scan]; 0 none */
	int scan_prev_apos;            /* ... and whether it is an apostrophe */
	size_t cut;                    /* best cut found so far (0: none) */
	uint64_t base;                 /* bytes dropped from the front of buf since the mark */

	char *norm, *norm2;            /* normalizer work buffers */
	size_t norm_cap, norm2_cap;
	sym *sy;
	size_t sy_cap;
	hent *heap;
	size_t heap_cap;
	cache_slot *cache;
};

/* ==== emitting ==== */

typedef struct {
	sl_tok_emit_fn fn;
	void *ctx;
} emitter;

static int put(const emitter *em, int32_t id)
{
	return em->fn(em->ctx, id);
}

/* ==== BPE on one word ==== */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (!q)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	*p = q;
	*cap = nc;
	return 0;
}

static void pair_rank(const sl_tok *t, sym *s, int32_t i)
{
	int32_t j = s[i].next;

	s[i].rank = UINT32_MAX;
	if (j >= 0 && !sl_tok_merge_get(&t->mm, s[i].id, s[j].id, &s[i].rank, &s[i].result))
		s[i].rank = UINT32_MAX;
}

static void merge_at(sym *s, int32_t i)
{
	int32_t j = s[i].next;

	s[i].id = s[i].result;
	s[j].dead = 1;
	s[i].next = s[j].next;
	if (s[j].next >= 0)
		s[s[j].next].prev = i;
}

static int hless(const hent *a, const hent *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void hpush(hent *h, size_t *n, hent e)
{
	size_t i = (*n)++;

	while (i > 0 && hless(&e, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}

static hent hpop(hent *h, size_t *n)
{
	hent top = h[0], last = h[--*n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && hless(&h[c + 1], &h[c]))
			c++;
		if (!hless(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
	return top;
}

static int heap_add(sl_tok_enc *e, size_t *hn, int32_t i)
{
	sym *s = e->sy;

	if (s[i].next < 0)
		return 0;
	pair_rank(e->t, s, i);
	if (s[i].rank == UINT32_MAX)
		return 0;
	if (grow((void **)&e->heap, &e->heap_cap, *hn + 1, sizeof *e->heap) < 0)
		return -1;
	hpush(e->heap, hn, (hent){ s[i].rank, i, s[i].id, s[s[i].next].id, s[i].result });
	return 0;
}

/* Merge the n symbols in e->sy (linked in order) until no pair has a merge. */
static int merge_all(sl_tok_enc *e, int32_t n)
{
	const sl_tok *t = e->t;
	sym *s = e->sy;

	if (n < 2)
		return 0;
	if (n < HEAP_MIN) {
		for (int32_t i = 0; i < n; i++)
			pair_rank(t, s, i);
		for (;;) {
			int32_t best = -1;
			uint32_t br = UINT32_MAX;
			for (int32_t i = 0; i >= 0; i = s[i].next)
				if (s[i].rank < br) {
					br = s[i].rank;
					best = i;
				}
			if (best < 0)
				return 0;
			merge_at(s, best);
			pair_rank(t, s, best);
			if (s[best].prev >= 0)
				pair_rank(t, s, s[best].prev);
		}
	}
	/* HF's Word::merge_all: a heap of (rank, position); entries whose pair has changed since
	 * they were pushed are skipped when popped. */
	size_t hn = 0;
	for (int32_t i = 0; i < n; i++)
		if (heap_add(e, &hn, i) < 0)
			return -1;
	while (hn) {
		hent top = hpop(e->heap, &hn);
		int32_t i = top.pos, j = s[i].next;
		if (s[i].dead || j < 0 || s[i].id != top.left || s[j].id != top.right)
			continue;
		s[i].result = top.result;
		merge_at(s, i);
		if (s[i].prev >= 0 && heap_add(e, &hn, s[i].prev) < 0)
			return -1;
		if (heap_add(e, &hn, i) < 0)
			return -1;
	}
	return 0;
}

static int add_sym(sl_tok_enc *e, int32_t *n, int32_t id)
{
	if (grow((void **)&e->sy, &e->sy_cap, (size_t)*n + 1, sizeof *e->sy) < 0)
		return -1;
	sym *s = &e->sy[*n];
	s->id = id;
	s->prev = *n - 1;
	s->next = -1;
	s->dead = 0;
	if (*n > 0)
		e->sy[*n - 1].next = *n;
	(*n)++;
	return 0;
}

/*
 * Initial symbols of a word, as HF's BPE::merge_word: each character (each byte, for
 * byte-level text, whose one-byte tokens stand for the mapped characters) is its vocabulary
 * token; else its bytes as <0xNN> tokens if byte_fallback has them all; else unk (runs fused
 * if fuse_unk); else nothing.  A pending unk is not flushed before byte-fallback tokens, as
 * in HF.
 */
static int word_syms(sl_tok_enc *e, const char *w, size_t len, int32_t *n)
{
	const sl_tok *t = e->t;
	int32_t unk_pending = -1;

	*n = 0;
	for (size_t i = 0; i < len;) {
		uint8_t c = (uint8_t)w[i];
		size_t cl = 1;
		int32_t id;
		if (t->bytelevel) {
			id = t->byte_id[c];
		} else if (c < 0x80) {
			id = t->ascii_id[c];
		} else {
			uint32_t cp;
			int l = sl_utf8_decode((const uint8_t *)w + i, len - i, &cp);
			cl = l > 0 ? (size_t)l : 1;
			id = sl_tok_strmap_get(&t->by_text, t->text, t->text_len, w + i, cl);
		}
		if (id >= 0) {
			if (unk_pending >= 0) {
				if (add_sym(e, n, unk_pending) < 0)
					return -1;
				unk_pending = -1;
			}
			if (add_sym(e, n, id) < 0)
				return -1;
			i += cl;
			continue;
		}
		if (t->byte_fallback && !t->bytelevel) {
			size_t k;
			for (k = 0; k < cl && t->byte_id[(uint8_t)w[i + k]] >= 0; k++)
				;
			if (k == cl) {
				for (k = 0; k < cl; k++)
					if (add_sym(e, n, t->byte_id[(uint8_t)w[i + k]]) < 0)
						return -1;
				i += cl;
				continue;
			}
		}
		if (t->model_unk >= 0) {
			if (unk_pending >= 0 && !t->fuse_unk && add_sym(e, n, unk_pending) < 0)
				return -1;
			unk_pending = t->model_unk;
		}
		i += cl;
	}
	if (unk_pending >= 0 && add_sym(e, n, unk_pending) < 0)
		return -1;
	return 0;
}

static int bpe_emit(sl_tok_enc *e, const emitter *em)
{
	for (int32_t i = 0; i >= 0; i = e->sy[i].next)
		if (put(em, e->sy[i].id) < 0)
			return -1;
	return 0;
}

static int bpe_word(sl_tok_enc *e, const char *w, size_t len, const emitter *em)
{
	const sl_tok *t = e->t;
	int32_t n;
	cache_slot *cs = NULL;
	uint64_t h = 0;

	if (len == 0)
		return 0;
	if (len == 1 && t->bytelevel && t->byte_id[(uint8_t)w[0]] >= 0)
		return put(em, t->byte_id[(uint8_t)w[0]]);
	if (t->ignore_merges) {
		int id = sl_tok_strmap_get(&t->by_text, t->text, t->text_len, w, len);
		if (id >= 0)
			return put(em, id);
	}
	if (e->cache && len <= CACHE_WORD) {
		h = sl_tok_hash(w, len);
		cs = &e->cache[h & (CACHE_SLOTS - 1)];
		if (cs->nids && cs->h == h && cs->wlen == len && memcmp(cs->w, w, len) == 0) {
			for (int k = 0; k < cs->nids; k++)
				if (put(em, cs->ids[k]) < 0)
					return -1;
			return 0;
		}
	}
	if (word_syms(e, w, len, &n) < 0 || merge_all(e, n) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (cs) {
		int k = 0;
		for (int32_t i = 0; i >= 0; i = e->sy[i].next)
			k++;
		if (k <= CACHE_IDS) {
			k = 0;
			for (int32_t i = 0; i >= 0; i = e->sy[i].next)
				cs->ids[k++] = e->sy[i].id;
			cs->h = h;
			cs->wlen = (uint8_t)len;
			cs->nids = (uint8_t)k;
			memcpy(cs->w, w, len);
		}
	}
	return bpe_emit(e, em);
}

/* ==== byte-level pre-tokenization ==== */

enum { C_L = 1, C_N = 2, C_S = 4, C_O = 8 };

/* ASCII classes: \t \n \v \f \r and space are white space, 0-9 numbers, A-Z a-z letters. */
static const uint8_t ascii_cls[128] = {
	C_O, C_O, C_O, C_O, C_O, C_O, C_O, C_O,
	C_O, C_S, C_S, C_S, C_S, C_S, C_O, C_O,
	C_O, C_O, C_O, C_O, C_O, C_O, C_O, C_O,
	C_O, C_O, C_O, C_O, C_O, C_O, C_O, C_O,
	C_S, C_O, C_O, C_O, C_O, C_O, C_O, C_O,
	C_O, C_O, C_O, C_O, C_O, C_O, C_O, C_O,
	C_N, C_N, C_N, C_N, C_N, C_N, C_N, C_N,
	C_N, C_N, C_O, C_O, C_O, C_O, C_O, C_O,
	C_O, C_L, C_L, C_L, C_L, C_L, C_L, C_L,
	C_L, C_L, C_L, C_L, C_L, C_L, C_L, C_L,
	C_L, C_L, C_L, C_L, C_L, C_L, C_L, C_L,
	C_L, C_L, C_L, C_O, C_O, C_O, C_O, C_O,
	C_O, C_L, C_L, C_L, C_L, C_L, C_L, C_L,
	C_L, C_L, C_L, C_L, C_L, C_L, C_L, C_L,
	C_L, C_L, C_L, C_L, C_L, C_L, C_L, C_L,
	C_L, C_L, C_L, C_O, C_O, C_O, C_O, C_O,
};

/* Class of the character at s[i] (valid UTF-8), and its length. */
static inline unsigned cls_at(const char *s, size_t i, size_t *len)
{
	uint8_t c = (uint8_t)s[i];
	uint32_t cp;

	if (c < 0x80) {
		*len = 1;
		return ascii_cls[c];
	}
	int l = sl_utf8_decode((const uint8_t *)s + i, 4, &cp);
	*len = l > 0 ? (size_t)l : 1;
	unsigned u = sl_uni_class(cp);
	if (u & SL_UNI_SPACE)
		return C_S;
	if (u & SL_UNI_LETTER)
		return C_L;
	if (u & SL_UNI_NUMBER)
		return C_N;
	return C_O;
}

/* Words of s[0..n) under the GPT-2 regex (see the top of the file). */
static int regex_words(sl_tok_enc *e, const char *s, size_t n, const emitter *em)
{
	size_t i = 0, cl, cl2;

	while (i < n) {
		unsigned c = cls_at(s, i, &cl);
		size_t j = i;
		if (s[i] == '\'' && i + 1 < n) {
			char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
			size_t m = 0;
			if (a == 's' || a == 't' || a == 'm' || a == 'd')
				m = 2;
			else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
				m = 3;
			if (m) {
				if (bpe_word(e, s + i, m, em) < 0)
					return -1;
				i += m;
				continue;
			}
		}
		if (s[i] == ' ' && i + 1 < n) {
			unsigned c2 = cls_at(s, i + 1, &cl2);
			if (c2 != C_S) {
				c = c2;
				j = i + 1;
				cl = cl2;
			}
		}
		if (c != C_S) {
			/* ' ?\p{L}+', ' ?\p{N}+' or ' ?[^\s\p{L}\p{N}]+': a run of one class */
			j += cl;
			while (j < n && cls_at(s, j, &cl2) == c)
				j += cl2;
		} else {
			/* '\s+(?!\S)' then '\s+': the run, less its last character if a non-space follows */
			size_t last = j;
			while (j < n && cls_at(s, j, &cl2) == C_S) {
				last = j;
				j += cl2;
			}
			if (j < n && last > i)
				j = last;
		}
		if (bpe_word(e, s + i, j - i, em) < 0)
			return -1;
		i = j;
	}
	return 0;
}

static int bytelevel_segment(sl_tok_enc *e, const char *s, size_t n, const emitter *em)
{
	const sl_tok *t = e->t;

	if (!t->use_regex && !t->digits)
		return bpe_word(e, s, n, em);
	size_t start = 0, cl;
	for (size_t i = 0; i < n; i += cl) {
		if (!t->digits) {
			cl = n;
			break;
		}
		if (cls_at(s, i, &cl) != C_N)
			continue;
		/* Digits: isolate the number character (or run of them) as its own word */
		size_t j = i + cl;
		if (t->digits == 2)
			while (j < n && cls_at(s, j, &cl) == C_N)
				j += cl;
		if (start < i && (t->use_regex ? regex_words(e, s + start, i - start, em) : bpe_word(e, s + start, i - start, em)) < 0)
			return -1;
		if (bpe_word(e, s + i, j - i, em) < 0)
			return -1;
		start = j;
		cl = j - i;
	}
	if (start < n)
		return t->use_regex ? regex_words(e, s + start, n - start, em) : bpe_word(e, s + start, n - start, em);
	return 0;
}

/* ==== SentencePiece-style normalization ==== */

static int spm_segment(sl_tok_enc *e, const char *s, size_t n, const emitter *em)
{
	const sl_tok *t = e->t;
	const char *src = s;
	size_t o = n;
	int which = 0;

	/* The normalizer ops in order, each from one buffer into the other. */
	for (int k = 0; k < t->n_norm; k++) {
		const sl_tok_normop *op = &t->norm[k];
		char **dstp = which ? &e->norm2 : &e->norm;
		size_t *capp = which ? &e->norm2_cap : &e->norm_cap, w = 0;
		size_t worst = op->op == NORM_PREPEND ? o + op->alen : o / op->alen * op->blen + o + 1;
		if (grow((void **)dstp, capp, worst + 1, 1) < 0)
			return -1;
		char *dst = *dstp;
		if (op->op == NORM_PREPEND) {
			if (!e->seg_start || o == 0)
				continue; /* HF prepends only to a non-empty segment's start */
			memcpy(dst, op->a, op->alen);
			memcpy(dst + op->alen, src, o);
			w = o + op->alen;
		} else {
			for (size_t i = 0; i < o;)
				if (i + op->alen <= o && memcmp(src + i, op->a, op->alen) == 0) {
					memcpy(dst + w, op->b, op->blen);
					w += op->blen;
					i += op->alen;
				} else {
					dst[w++] = src[i++];
				}
		}
		src = dst;
		o = w;
		which ^= 1;
	}
	/* One BPE word in principle; but BPE never joins symbols across the points where a
	 * streaming cut is allowed (see the top of the file), so it is run on the pieces between
	 * them: the same ids, and short words instead of one long one. */
	size_t start = 0, cl;
	for (size_t i = 0; i <= o; i += cl) {
		cl = 1;
		if (i < o) {
			uint8_t c = (uint8_t)src[i];
			int ok;
			if (c < 0x80) {
				ok = t->split_ok[c];
			} else {
				uint32_t cp;
				int l = sl_utf8_decode((const uint8_t *)src + i, o - i, &cp);
				cl = l > 0 ? (size_t)l : 1;
				ok = !t->nocut_lead[c] && sl_tok_cut_before(t, cp);
				if (ok && sl_tok_strmap_get(&t->by_text, t->text, t->text_len, src + i, cl) < 0)
					for (size_t k = 0; k < cl; k++)
						if (t->byte_id[(uint8_t)src[i + k]] < 0)
							ok = 0; /* unk */
			}
			if (!ok || i == start)
				continue;
		}
		int32_t ns;
		if (i > start && (word_syms(e, src + start, i - start, &ns) < 0 || merge_all(e, ns) < 0 ||
				  (ns && bpe_emit(e, em) < 0)))
			return -1;
		start = i;
	}
	return 0;
}

static int segment(sl_tok_enc *e, const char *s, size_t n, const emitter *em)
{
	int rc;

	if (n == 0)
		return 0;
	rc = e->t->bytelevel ? bytelevel_segment(e, s, n, em) : spm_segment(e, s, n, em);
	e->seg_start = 0;
	return rc;
}

/* Encode text that is complete up to a cut: added tokens, then segments. */
static int encode_text(sl_tok_enc *e, const char *s, size_t n, const emitter *em)
{
	const sl_tok *t = e->t;
	size_t seg = 0;

	if (!e->started) {
		e->started = 1;
		if (!(e->flags & SL_TOK_NO_BOS)) {
			if (e->flags & SL_TOK_BOS) {
				if (put(em, t->bos) < 0)
					return -1;
			} else {
				for (int k = 0; k < t->n_prefix; k++)
					if (put(em, t->prefix[k]) < 0)
						return -1;
			}
		}
	}
	if (n == 0) /* s may be NULL */
		return 0;
	if (!t->n_added)
		return segment(e, s, n, em);
	for (size_t i = 0; i < n;) {
		if (!(t->added_first[(uint8_t)s[i]] & e->special_mask)) {
			i++;
			continue;
		}
		int best = -1;
		size_t blen = 0;
		for (int k = 0; k < t->n_added; k++) {
			int id = t->added[k];
			size_t l = t->piece_len[id];
			if (l > blen && l <= n - i && (uint8_t)t->piece[id][0] == (uint8_t)s[i] &&
			    !((e->flags & SL_TOK_NO_SPECIAL) && (t->flags[id] & TOKF_SPECIAL)) &&
			    memcmp(t->piece[id], s + i, l) == 0) {
				best = id;
				blen = l;
			}
		}
		if (best < 0) {
			i++;
			continue;
		}
		if (segment(e, s + seg, i - seg, em) < 0 || put(em, best) < 0)
			return -1;
		e->seg_start = 1;
		i += blen;
		seg = i;
	}
	return segment(e, s + seg, n - seg, em);
}

/* ==== streaming ==== */

sl_tok_enc *sl_tok_enc_new(const sl_tok *t, int flags)
{
	sl_tok_enc *e;

	if ((flags & SL_TOK_BOS) && t->bos < 0) {
		sl_seterr("the tokenizer has no BOS token");
		return NULL;
	}
	e = calloc(1, sizeof *e);
	if (!e) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		return NULL;
	}
	e->t = t;
	e->flags = flags;
	e->seg_start = 1;
	e->special_mask = (flags & SL_TOK_NO_SPECIAL) ? 1 : 3;
	if (t->bytelevel) {
		e->cache = calloc(CACHE_SLOTS, sizeof *e->cache);
		if (!e->cache) {
			free(e);
			sl_seterr_code(SL_E_NOMEM, "out of memory");
			return NULL;
		}
	}
	return e;
}

void sl_tok_enc_free(sl_tok_enc *e)
{
	if (!e)
		return;
	free(e->buf);
	free(e->norm);
	free(e->norm2);
	free(e->sy);
	free(e->heap);
	free(e->cache);
	free(e);
}

/* Find the last cut point in buf[scan..valid) (the rules are at the top of the file). */
static void find_cut(sl_tok_enc *e)
{
	const sl_tok *t = e->t;
	const char *s = e->buf;
	size_t i = e->scan, cl;
	unsigned prev = e->scan_prev_cls;
	int prev_apos = e->scan_prev_apos;
	int regex = t->bytelevel && t->use_regex, classes = regex || t->digits == 1;

	while (i < e->valid) {
		uint8_t c = (uint8_t)s[i];
		unsigned cur;
		int ok;
		if (c < 0x80) {
			cur = ascii_cls[c];
			cl = 1;
			ok = t->cut_ok[c];
		} else {
			uint32_t cp;
			int l = sl_utf8_decode((const uint8_t *)s + i, e->valid - i, &cp);
			cl = l > 0 ? (size_t)l : 1;
			cur = classes ? cls_at(s, i, &cl) : C_O;
			ok = !t->nocut_lead[c] && sl_tok_cut_before(t, cp);
			if (ok && !t->bytelevel &&
			    sl_tok_strmap_get(&t->by_text, t->text, t->text_len, s + i, cl) < 0)
				for (size_t k = 0; k < cl; k++)
					if (t->byte_id[(uint8_t)s[i + k]] < 0)
						ok = 0; /* unk: fuse_unk could join it to a preceding unk */
		}
		if (ok && i > 0 && prev) {
			int cut = !regex; /* SentencePiece and byte-level without regex: ok says it all */
			if (regex && prev != C_S && (cur == C_S || (cur != prev && !prev_apos)))
				cut = 1;
			if (t->digits == 1 && (cur == C_N || prev == C_N))
				cut = 1;
			if (cut)
				e->cut = i;
		}
		prev = cur;
		prev_apos = c == '\'';
		i += cl;
	}
	e->scan = i;
	e->scan_prev_cls = prev;
	e->scan_prev_apos = prev_apos;
}

static int flush_to(sl_tok_enc *e, size_t cut, const emitter *em)
{
	if (encode_text(e, e->buf, cut, em) < 0)
		return -1;
	if (e->len > cut)
		memmove(e->buf, e->buf + cut, e->len - cut);
	e->len -= cut;
	e->valid -= cut;
	e->scan = e->scan > cut ? e->scan - cut : 0;
	e->base += cut;
	e->cut = 0;
	return 0;
}

/* Bytes of the newline ending buf[0..len) that SL_TOK_TRIM_NEWLINE may drop: 2 for "\r\n",
 * 1 for "\n" or a "\r" that a "\n" may follow, else 0. */
static size_t trailing_newline(const sl_tok_enc *e)
{
	if (!(e->flags & SL_TOK_TRIM_NEWLINE) || e->len == 0)
		return 0;
	if (e->buf[e->len - 1] == '\n')
		return e->len >= 2 && e->buf[e->len - 2] == '\r' ? 2 : 1;
	return e->buf[e->len - 1] == '\r';
}

int sl_tok_enc_feed(sl_tok_enc *e, const void *data, size_t n, sl_tok_emit_fn fn, void *ctx)
{
	emitter em = { fn, ctx };
	const char *p = data;

	while (n > 0) {
		/* take at most 64 KiB at a time so that ids flow and the buffer stays small */
		size_t take = n < 65536 ? n : 65536;
		if (grow((void **)&e->buf, &e->cap, e->len + take + 1, 1) < 0)
			return -1;
		memcpy(e->buf + e->len, p, take);
		e->len += take;
		p += take;
		n -= take;
		while (e->valid < e->len) {
			uint32_t cp;
			if ((uint8_t)e->buf[e->valid] < 0x80) {
				e->valid++;
				continue;
			}
			int l = sl_utf8_decode((const uint8_t *)e->buf + e->valid, e->len - e->valid, &cp);
			if (l == 0)
				break;
			if (l < 0)
				return sl_seterr("invalid UTF-8 at byte %llu", (unsigned long long)(e->base + e->valid));
			e->valid += (size_t)l;
		}
		find_cut(e);
		/* a cut is before the last character, so only a final "\r\n" can be cut in two:
		 * wait for more text (a later cut flushes this text too) */
		if (e->cut > e->len - trailing_newline(e))
			e->cut = 0;
		if (e->cut > 0 && flush_to(e, e->cut, &em) < 0)
			return -1;
		if (e->valid > SL_TOK_MAX_WORD && flush_to(e, e->valid - trailing_newline(e), &em) < 0)
			return -1; /* no safe cut in sight: bounded memory wins (documented) */
	}
	return 0;
}

int sl_tok_enc_mark(sl_tok_enc *e)
{
	if (e->valid < e->len)
		return sl_seterr("invalid UTF-8 at byte %llu: truncated character",
				 (unsigned long long)(e->base + e->valid));
	e->base = 0;
	e->base -= e->len; /* the next byte fed is byte 0 */
	return 0;
}

int sl_tok_enc_finish(sl_tok_enc *e, sl_tok_emit_fn fn, void *ctx)
{
	emitter em = { fn, ctx };

	if (e->valid < e->len)
		return sl_seterr("invalid UTF-8 at byte %llu: truncated character", (unsigned long long)(e->base + e->valid));
	if (e->len > 0 && e->buf[e->len - 1] == '\n') {
		size_t k = trailing_newline(e);   /* 0 without SL_TOK_TRIM_NEWLINE */
		e->len -= k;
		e->valid -= k;
	}
	if (flush_to(e, e->len, &em) < 0)
		return -1;
	if (!e->started && encode_text(e, "", 0, &em) < 0)
		return -1;
	for (int k = 0; k < e->t->n_suffix; k++) /* post-processor suffix (EOS), if any */
		if (put(&em, e->t->suffix[k]) < 0)
			return -1;
	return 0;
}

typedef struct {
	int32_t *ids;
	size_t n, cap;
} idvec;

static int collect(void *ctx, int32_t id)
{
	idvec *v = ctx;

	if (grow((void **)&v->ids, &v->cap, v->n + 1, sizeof *v->ids) < 0)
		return -1;
	v->ids[v->n++] = id;
	return 0;
}

int sl_tok_encode(const sl_tok *t, const char *text, size_t len, int flags, int32_t **ids, size_t *n)
{
	sl_tok_enc *e = sl_tok_enc_new(t, flags);
	idvec v = { 0 };

	if (!e)
		return -1;
	if (sl_tok_enc_feed(e, text, len, collect, &v) < 0 || sl_tok_enc_finish(e, collect, &v) < 0) {
		sl_tok_enc_free(e);
		free(v.ids);
		return -1;
	}
	sl_tok_enc_free(e);
	if (!v.ids)
		v.ids = malloc(sizeof *v.ids);
	*ids = v.ids;
	*n = v.n;
	return 0;
}
