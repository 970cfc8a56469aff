/*
 * sl_tok — the BPE tokenizer: text to ids (sl-tok) and ids to text (sl-detok), giving exactly
 * the ids and text of Hugging Face's `tokenizers` (its Rust core) for the two families LLaMA-
 * style models use:
 *
 *   * GPT-2 byte-level BPE (SmolLM): pre-tokenizers Digits and ByteLevel (the GPT-2 split
 *     regex), no normalizer, ByteLevel decoder.  GGUF tokenizer.ggml.model "gpt2".
 *   * SentencePiece-style BPE with byte fallback (Llama 2, stories260K): normalizer
 *     Prepend("▁") + Replace(" " -> "▁"), no pre-tokenizer, <0xNN> byte tokens, unk with
 *     fuse_unk, BOS from the post-processor; decoder Replace/ByteFallback/Fuse/Strip.
 *     GGUF tokenizer.ggml.model "llama".
 *
 * Loaded from an HF tokenizer.json, an HF model directory (tokenizer.json, plus
 * tokenizer_config.json and config.json for BOS/EOS/PAD), or a GGUF file's tokenizer.ggml.*
 * metadata, or a chunk directory of sl-chunk (its core chunk's metadata).  Anything else in a tokenizer.json (another model type, normalizer, pre-tokenizer,
 * post-processor or decoder) makes loading fail with a message naming it.
 *
 * Added tokens (added_tokens) are matched in the raw text before normalization, longest
 * match first, as HF does; SL_TOK_NO_SPECIAL leaves the special ones to ordinary BPE.
 *
 * Encoding streams: text is fed in pieces of any size and ids are emitted as soon as they are
 * final, i.e. when the text has reached a point that the pre-tokenizer or the merge table
 * proves no later text can change (see sl_tok_bpe.c).  Memory stays bounded: a "word" that
 * grows beyond SL_TOK_MAX_WORD bytes without such a point is cut there (the only case where
 * the ids may differ from HF's).  Invalid UTF-8 is an error (HF's Rust strings cannot hold it).
 *
 * Decoding streams too, holding back incomplete UTF-8, with one documented difference from
 * HF: in a run of <0xNN> byte-fallback tokens, HF turns every byte of the run into U+FFFD if
 * any part of the run is invalid; sl_tok releases each character as soon as its bytes are
 * complete, so a run of valid characters followed by invalid bytes keeps those characters.
 * Valid runs (all that encoding produces) decode exactly as in HF.
 *
 * Known lossy cases (as in HF): byte-level vocabularies without some byte tokens (SmolLM has no
 * token for bytes 04 06 13 14 16 1d c0 c1 f1 f2 f5-ff, so those control characters and code
 * points U+40000-U+BFFFF vanish); SentencePiece text containing a special token's string
 * (decoded back as the special token, so --skip-special drops it) or a literal "▁" (read as a
 * space).
 */
#ifndef SL_TOK_H
#define SL_TOK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_tok sl_tok;

/* Largest stretch of text held while waiting for a safe cut (see above). */
#define SL_TOK_MAX_WORD (1u << 20)

/* Load a tokenizer: tokenizer.json, an HF directory, or a .gguf file (detected by magic).
 * Returns NULL with sl_error "path: what is wrong".  Free with sl_tok_free. */
sl_tok *sl_tok_load(const char *path);
/* Same from a GGUF file already opened by the caller (gguf is a const sl_gguf *; nothing of
 * it is kept after the call). */
sl_tok *sl_tok_load_gguf(const void *gguf);
void sl_tok_free(sl_tok *t);

/* ==== what sl-quant writes into GGUF ==== */

int sl_tok_n_vocab(const sl_tok *t);             /* ids are 0 .. n_vocab-1 */
const char *sl_tok_gguf_model(const sl_tok *t);  /* "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE) */
const char *sl_tok_gguf_pre(const sl_tok *t);    /* "smollm" (Digits + ByteLevel), "default" (ByteLevel); NULL for llama */
/* The vocabulary string of id exactly as in tokenizer.json ("Ġthe", "▁the", "<0x0A>"), not
 * NUL-terminated in general (*len set if len != NULL); NULL if id is out of range. */
const char *sl_tok_piece(const sl_tok *t, int id, size_t *len);
/* GGUF token_type: 1 normal, 2 unknown, 3 control (special added token), 4 user-defined
 * (non-special added token), 6 byte (<0xNN> of a byte-fallback model); 0 if out of range. */
int sl_tok_token_type(const sl_tok *t, int id);
/* SentencePiece score for GGUF "llama": -(rank of the first merge that produces the piece),
 * 0 for pieces no merge produces (single characters, bytes, specials).  llama.cpp merges the
 * adjacent pair whose joined text has the highest score, so it applies merges in rank order.
 * For a GGUF-loaded tokenizer, the file's own scores. */
float sl_tok_score(const sl_tok *t, int id);
int sl_tok_n_merges(const sl_tok *t);
const char *sl_tok_merge(const sl_tok *t, int i); /* "left right", NUL-terminated; NULL if out of range */
int sl_tok_bos(const sl_tok *t);                  /* -1 if none */
int sl_tok_eos(const sl_tok *t);
int sl_tok_unk(const sl_tok *t);
int sl_tok_pad(const sl_tok *t);
int sl_tok_add_bos(const sl_tok *t);              /* 1 if encoding prepends BOS by default */
/* 1 if id is a special added token (control), else 0. */
int sl_tok_is_special(const sl_tok *t, int id);
/* Id of an exact vocabulary string (as in tokenizer.json), or -1. */
int sl_tok_find(const sl_tok *t, const char *piece, size_t len);

/* ==== encoding ==== */

enum {
	SL_TOK_NO_SPECIAL = 1,  /* special added tokens in the text are plain text */
	SL_TOK_BOS = 2,         /* prepend BOS (error at creation if the tokenizer has none) */
	SL_TOK_NO_BOS = 4,      /* do not prepend BOS; neither flag: sl_tok_add_bos() */
	SL_TOK_TRIM_NEWLINE = 8, /* drop one newline ("\n" or "\r\n") that ends the text */
};

/* Called for each id, in order; return 0 to go on, -1 to stop (the error propagates). */
typedef int (*sl_tok_emit_fn)(void *ctx, int32_t id);

typedef struct sl_tok_enc sl_tok_enc;

/* A streaming encoder.  NULL with sl_error on failure (out of memory, SL_TOK_BOS without BOS). */
sl_tok_enc *sl_tok_enc_new(const sl_tok *t, int flags);
/*
 * Feed n bytes of UTF-8 text (any split, even inside a character); ids that are final are
 * passed to emit.  Returns 0, or -1 with sl_error "invalid UTF-8 at byte N" (N counted from
 * the first byte fed, or from the last sl_tok_enc_mark) or the emit error.
 */
int sl_tok_enc_feed(sl_tok_enc *e, const void *buf, size_t n, sl_tok_emit_fn emit, void *ctx);
/* Restart the byte count used in error messages (at the start of each input file).  -1 if the
 * text fed so far ends inside a UTF-8 character ("invalid UTF-8 at byte N: truncated
 * character", N counted as before the call). */
int sl_tok_enc_mark(sl_tok_enc *e);
/* With SL_TOK_TRIM_NEWLINE a newline at the end of what was fed is held back (not encoded)
 * until more text follows it, since only the end of the text can tell whether it is final. */
/* End of text: emit the remaining ids.  -1 if the text ends inside a UTF-8 character
 * ("invalid UTF-8 at byte N: truncated character"). */
int sl_tok_enc_finish(sl_tok_enc *e, sl_tok_emit_fn emit, void *ctx);
void sl_tok_enc_free(sl_tok_enc *e);

/* Whole-string convenience: *ids malloc'ed (caller frees), *n set.  Returns 0 or -1. */
int sl_tok_encode(const sl_tok *t, const char *text, size_t len, int flags, int32_t **ids, size_t *n);

/* ==== decoding ==== */

typedef struct sl_tok_dec sl_tok_dec;

/* A streaming decoder; skip_special drops special added tokens (HF skip_special_tokens). */
sl_tok_dec *sl_tok_dec_new(const sl_tok *t, int skip_special);
/*
 * Decode one more id.  Sets *text and *len to the text that is now final (possibly empty):
 * valid UTF-8, never a partial character; it stays valid until the next call.  Returns 0,
 * or -1 with sl_error "id N >= vocab V" for an id out of range (id < 0 included).
 */
int sl_tok_dec_push(sl_tok_dec *d, int32_t id, const char **text, size_t *len);
/* End of ids: the held-back rest, with incomplete UTF-8 replaced by U+FFFD as HF does. */
int sl_tok_dec_finish(sl_tok_dec *d, const char **text, size_t *len);
void sl_tok_dec_free(sl_tok_dec *d);

/* Whole-array convenience: returns a malloc'ed NUL-terminated string (*len set), or NULL. */
char *sl_tok_decode(const sl_tok *t, const int32_t *ids, size_t n, int skip_special, size_t *len);

/* How a piece is shown to people by sl-tok --show: its decoded text with \n \t \r \\ and
 * other control bytes escaped (\xNN), and bytes of partial characters (byte-fallback tokens
 * and byte-level fragments) as \xNN.  Writes a NUL-terminated string into out (cap bytes,
 * truncated with "..." if needed). */
void sl_tok_show(const sl_tok *t, int id, char *out, size_t cap);

#endif
