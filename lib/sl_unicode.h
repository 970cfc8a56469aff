/*
 * sl_unicode — the few Unicode facts the tokenizer needs: strict UTF-8 decoding and three
 * character classes (letter, number, white space), defined exactly as HF's Rust tokenizers
 * see them (Oniguruma's \p{L}, \p{N}, \s; Rust's char::is_numeric and char::is_whitespace).
 * The class tables are generated from the Unicode Character Database by
 * scripts/gen_unicode.py into sl_unicode_tables.c.
 */
#ifndef SL_UNICODE_H
#define SL_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum { SL_UNI_LETTER = 1, SL_UNI_NUMBER = 2, SL_UNI_SPACE = 4 };

/* Class bits (SL_UNI_*) of code point cp; 0 for anything else, including cp > 0x10FFFF.
 * Thread-safe; the first call builds a 64 KiB table for the BMP. */
unsigned sl_uni_class(uint32_t cp);
static inline int sl_uni_is_letter(uint32_t cp) { return (sl_uni_class(cp) & SL_UNI_LETTER) != 0; }
static inline int sl_uni_is_number(uint32_t cp) { return (sl_uni_class(cp) & SL_UNI_NUMBER) != 0; }
static inline int sl_uni_is_space(uint32_t cp) { return (sl_uni_class(cp) & SL_UNI_SPACE) != 0; }

/*
 * Decode one well-formed UTF-8 character at s (n bytes available).  Returns its length
 * (1-4) and sets *cp; 0 if s[0..n) is a proper prefix of a well-formed character (need more
 * bytes); -1 if the bytes are ill-formed (overlong, surrogate, > U+10FFFF, bad continuation).
 */
int sl_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/*
 * Length of the maximal ill-formed subpart at s (n bytes, n >= 1), as Rust's
 * String::from_utf8_lossy counts them (one U+FFFD per subpart, the Unicode "maximal
 * subpart" practice): 1..3.  Only meaningful where sl_utf8_decode returned -1, or at the
 * end of the input where it returned 0.
 */
size_t sl_utf8_bad_len(const uint8_t *s, size_t n);

/* Encode cp (<= 0x10FFFF) into out[4]; returns the length. */
int sl_utf8_encode(uint32_t cp, char *out);

/* Generated tables (sl_unicode_tables.c). */
extern const uint32_t sl_uni_letter_ranges[][2], sl_uni_number_ranges[][2], sl_uni_space_ranges[][2];
extern const unsigned sl_uni_letter_n, sl_uni_number_n, sl_uni_space_n;
extern const char sl_uni_version[];

#endif
