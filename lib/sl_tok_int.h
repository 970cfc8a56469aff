/*
 * sl_tok_int — the tokenizer's internal representation, shared by sl_tok.c (loading,
 * tokenizer.json and GGUF), sl_tok_bpe.c (encoding) and sl_tok_dec.c (decoding).
 * Not part of the library's interface.
 */
#ifndef SL_TOK_INT_H
#define SL_TOK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sl_tok.h"

/* Per-id flags. */
enum {
	TOKF_ADDED = 1,    /* in added_tokens: matched in raw text */
	TOKF_SPECIAL = 2,  /* special added token (skip_special drops it; SL_TOK_NO_SPECIAL ignores it) */
	TOKF_BYTE = 4,     /* "<0xNN>" as HF's ByteFallback decoder recognises it; byte value in byteval */
};

/* String -> id hash (open addressing over the id's key string). */
typedef struct {
	int32_t *slot;     /* id + 1; 0 empty */
	uint32_t mask;
} sl_tok_strmap;

/* (left id, right id) -> merge rank and result id. */
typedef struct {
	uint64_t *key;     /* left << 32 | right; UINT64_MAX empty */
	uint32_t *rank;
	int32_t *result;
	uint32_t mask;
} sl_tok_mergemap;

enum { NORM_PREPEND = 1, NORM_REPLACE = 2 };
typedef struct {
	int op;
	char *a, *b;        /* prepend: a; replace: a -> b */
	size_t alen, blen;
} sl_tok_normop;

struct sl_tok {
	int n_vocab;
	char **piece;       /* [n_vocab] vocabulary strings as in tokenizer.json (NUL-terminated) */
	uint32_t *piece_len;
	char **text;        /* [n_vocab] what the model matches/decodes: byte-level pieces mapped back
			     * to raw bytes; SentencePiece pieces as they are (with ▁) */
	uint32_t *text_len;
	uint8_t *flags;     /* [n_vocab] TOKF_* */
	uint8_t *byteval;   /* [n_vocab] for TOKF_BYTE */
	uint8_t *type;      /* [n_vocab] GGUF token_type */
	float *score;       /* [n_vocab] */
	sl_tok_strmap by_piece, by_text;

	int n_merges;
	int32_t (*merge)[2];  /* [n_merges] left, right ids, in rank order */
	char **merge_str;     /* [n_merges] "left right" (built on first sl_tok_merge call) */
	sl_tok_mergemap mm;

	/* model */
	int bytelevel;        /* 1: GPT-2 byte-level BPE; 0: SentencePiece-style */
	int byte_fallback, fuse_unk, ignore_merges;
	int unk, bos, eos, pad, add_bos;
	int model_unk;        /* what BPE writes for a piece it cannot spell: model.unk_token; -1
	                       * drops it, as HF does (unk alone may come from tokenizer_config.json,
	                       * which names the token but does not change how HF's BPE encodes) */
	int32_t byte_id[256]; /* byte-level: id of the one-byte token; byte fallback: id of <0xNN>; -1 */
	int32_t ascii_id[128];/* SentencePiece: id of each ASCII char of normalized text, -1 none */

	/* pipeline */
	int digits;           /* 0 none, 1 Digits(individual_digits), 2 Digits(grouped) */
	int use_regex;        /* ByteLevel use_regex */
	int n_norm;
	sl_tok_normop *norm;
	int n_prefix, n_suffix;  /* post-processor special tokens around the sequence */
	int32_t prefix[4], suffix[4];
	int dec_strip;        /* SentencePiece decoder: Strip(" ", start = dec_strip) after Fuse */
	int dec_bytefallback; /* SentencePiece decoder has ByteFallback */
	int dec_replace;      /* SentencePiece decoder has Replace("▁" -> " ") */

	/* added tokens: sorted by first byte for matching */
	int n_added;
	int32_t *added;       /* [n_added] ids */
	uint8_t added_first[256]; /* bit 1: some added token starts with this byte; bit 2: a special one */
	uint8_t cut_ok[128];  /* streaming: a cut before this ASCII char is allowed (see cut_tables) */
	uint8_t split_ok[128];   /* SentencePiece: BPE word may split before this ASCII char of normalized text */
	uint8_t nocut_lead[256]; /* no cut before a non-ASCII char with this lead byte */
	uint32_t *nocut;      /* sorted non-ASCII code points before which no cut is allowed */
	int n_nocut;

	char *pre_name;       /* gguf pre */
};

uint64_t sl_tok_hash(const void *s, size_t n);
int sl_tok_strmap_get(const sl_tok_strmap *m, char *const *keys, const uint32_t *lens, const char *s, size_t n);
/* 1 if the rules of cut_tables allow a cut before non-ASCII cp (lead byte not checked). */
int sl_tok_cut_before(const sl_tok *t, uint32_t cp);

static inline uint32_t sl_tok_mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

/* Look up the merge of the pair (l, r): 1 and its rank and result id, or 0.  Inline: it is
 * the encoder's innermost call. */
static inline int sl_tok_merge_get(const sl_tok_mergemap *m, int32_t l, int32_t r, uint32_t *rank, int32_t *result)
{
	uint64_t k = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;

	for (uint32_t h = sl_tok_mix64(k) & m->mask;; h = (h + 1) & m->mask) {
		if (m->key[h] == k) {
			*rank = m->rank[h];
			*result = m->result[h];
			return 1;
		}
		if (m->key[h] == UINT64_MAX)
			return 0;
	}
}

#endif
