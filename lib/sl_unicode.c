/*
 * sl_unicode — UTF-8 decoding and character classes (sl_unicode.h).
 *
 * The classes come from generated range tables; a lookup is a binary search, so the first
 * call folds the Basic Multilingual Plane into one byte per code point (64 KiB), which keeps
 * the tokenizer's inner loop at one load per character for nearly all text.
 */
#include "sl_unicode.h"

static uint8_t bmp[0x10000];
static void bmp_build(void);

#ifdef SL_NO_THREADS /* one thread: a flag is enough */
static int bmp_done;
#define BMP_ONCE() ((void)(bmp_done || (bmp_build(), bmp_done = 1)))
#else
#include <pthread.h>
static pthread_once_t bmp_once = PTHREAD_ONCE_INIT;
#define BMP_ONCE() pthread_once(&bmp_once, bmp_build)
#endif

static int in_ranges(const uint32_t (*r)[2], unsigned n, uint32_t cp)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (cp < r[mid][0])
			hi = mid;
		else if (cp > r[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static unsigned class_slow(uint32_t cp)
{
	return (in_ranges(sl_uni_letter_ranges, sl_uni_letter_n, cp) ? SL_UNI_LETTER : 0) |
	       (in_ranges(sl_uni_number_ranges, sl_uni_number_n, cp) ? SL_UNI_NUMBER : 0) |
	       (in_ranges(sl_uni_space_ranges, sl_uni_space_n, cp) ? SL_UNI_SPACE : 0);
}

static void bmp_build(void)
{
	static const struct { const uint32_t (*r)[2]; const unsigned *n; uint8_t bit; } t[] = {
		{ sl_uni_letter_ranges, &sl_uni_letter_n, SL_UNI_LETTER },
		{ sl_uni_number_ranges, &sl_uni_number_n, SL_UNI_NUMBER },
		{ sl_uni_space_ranges, &sl_uni_space_n, SL_UNI_SPACE },
	};
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < *t[k].n && t[k].r[i][0] < 0x10000; i++)
			for (uint32_t c = t[k].r[i][0]; c <= t[k].r[i][1] && c < 0x10000; c++)
				bmp[c] |= t[k].bit;
}

unsigned sl_uni_class(uint32_t cp)
{
	if (cp < 0x10000) {
		BMP_ONCE();
		return bmp[cp];
	}
	if (cp > 0x10FFFF)
		return 0;
	return class_slow(cp);
}

/* Valid range of the second byte for each lead byte (Unicode Table 3-7). */
static int second_ok(uint8_t lead, uint8_t b)
{
	if (lead == 0xE0)
		return b >= 0xA0 && b <= 0xBF;
	if (lead == 0xED)
		return b >= 0x80 && b <= 0x9F;
	if (lead == 0xF0)
		return b >= 0x90 && b <= 0xBF;
	if (lead == 0xF4)
		return b >= 0x80 && b <= 0x8F;
	return b >= 0x80 && b <= 0xBF;
}

static int seq_len(uint8_t lead)
{
	if (lead < 0x80)
		return 1;
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if (lead >= 0xE0 && lead <= 0xEF)
		return 3;
	if (lead >= 0xF0 && lead <= 0xF4)
		return 4;
	return -1;
}

int sl_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	int len = seq_len(s[0]);

	if (len == 1) {
		*cp = s[0];
		return 1;
	}
	if (len < 0)
		return -1;
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return 0;
		if (i == 1 ? !second_ok(s[0], s[1]) : (s[i] & 0xC0) != 0x80)
			return -1;
	}
	if (len == 2)
		*cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
	else if (len == 3)
		*cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	else
		*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		      (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
	return len;
}

size_t sl_utf8_bad_len(const uint8_t *s, size_t n)
{
	int len = seq_len(s[0]);
	size_t i = 1;

	if (len < 2)
		return 1;
	/* The maximal subpart is the longest prefix of a well-formed sequence. */
	while (i < (size_t)len && i < n && (i == 1 ? second_ok(s[0], s[1]) : (s[i] & 0xC0) == 0x80))
		i++;
	return i;
}

int sl_utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}
