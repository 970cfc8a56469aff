/*
 * test_unicode — the generated character classes and the UTF-8 decoder (lib/sl_unicode.c).
 *
 * Classes: golden values from the Unicode Character Database 15.0 (General_Category in
 * UnicodeData.txt, White_Space in PropList.txt), chosen where the definitions HF's Rust code
 * uses differ from naive ones (Python's str.isspace, ASCII-only classes, unassigned ranges).
 * That \s, \p{L}, \p{N} of HF's regex agree with these tables was checked differentially
 * against HF tokenizers 0.23.2 on random strings over these characters (tests/unit/test_tok.c
 * holds some of those cases).  UTF-8: the Unicode standard's Table 3-7 (well-formed byte
 * sequences) and its "maximal subpart" practice for U+FFFD, which Rust's from_utf8_lossy follows.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "sl_unicode.h"

static void test_classes(void)
{
	/* White_Space: exactly these 25 code points */
	static const uint32_t ws[] = { 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001,
		0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
		0x205F, 0x3000 };
	int n = 0;
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++)
		n += sl_uni_is_space(cp);
	CHECK(n == 25);
	for (unsigned i = 0; i < sizeof ws / sizeof *ws; i++)
		CHECK_MSG(sl_uni_is_space(ws[i]), "U+%04X", ws[i]);
	/* not White_Space: U+001C-001F (Python's isspace says yes), U+180E (no longer Zs), ZWSP,
	 * BOM */
	CHECK(!sl_uni_is_space(0x1C) && !sl_uni_is_space(0x1F) && !sl_uni_is_space(0x180E));
	CHECK(!sl_uni_is_space(0x200B) && !sl_uni_is_space(0xFEFF));

	/* letters: Lu Ll Lt Lm Lo, including the UnicodeData "First/Last" ranges */
	CHECK(sl_uni_is_letter('a') && sl_uni_is_letter('Z') && !sl_uni_is_letter('0') && !sl_uni_is_letter('_'));
	CHECK(sl_uni_is_letter(0x01C5));  /* ǅ Lt */
	CHECK(sl_uni_is_letter(0x02B0));  /* ʰ Lm */
	CHECK(sl_uni_is_letter(0x00AA));  /* ª Lo */
	CHECK(sl_uni_is_letter(0x4E00) && sl_uni_is_letter(0x9FFF));   /* CJK range, Lo */
	CHECK(sl_uni_is_letter(0xAC00) && sl_uni_is_letter(0xD7A3));   /* Hangul syllables range */
	CHECK(sl_uni_is_letter(0x20000) && sl_uni_is_letter(0x2A6DF)); /* CJK Ext. B range */
	CHECK(!sl_uni_is_letter(0x0301)); /* combining acute, Mn */
	CHECK(!sl_uni_is_letter(0x3007)); /* 〇 is Nl */
	CHECK(!sl_uni_is_letter(0x1F600) && !sl_uni_is_letter(0xD7A4) && !sl_uni_is_letter(0x10FFFF));

	/* numbers: Nd Nl No (Rust char::is_numeric) */
	CHECK(sl_uni_is_number('0') && sl_uni_is_number('9') && !sl_uni_is_number('a'));
	CHECK(sl_uni_is_number(0x0663));  /* ٣ Nd */
	CHECK(sl_uni_is_number(0xFF10));  /* ０ Nd */
	CHECK(sl_uni_is_number(0x00B2) && sl_uni_is_number(0x00BD)); /* ² ½ No */
	CHECK(sl_uni_is_number(0x216B) && sl_uni_is_number(0x3007)); /* Ⅻ 〇 Nl */
	CHECK(sl_uni_is_number(0x1D7D8)); /* 𝟘 Nd, outside the BMP */
	CHECK(!sl_uni_is_number(0x2460 - 1) && sl_uni_is_number(0x2460)); /* ① No */
	CHECK(sl_uni_class(0x110000) == 0 && sl_uni_class(0xFFFFFFFF) == 0);

	/* the three classes are disjoint */
	int overlap = 0;
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		unsigned c = sl_uni_class(cp);
		overlap += (c & (c - 1)) != 0;
	}
	CHECK(overlap == 0);
}

static int dec(const char *s, size_t n, uint32_t *cp)
{
	return sl_utf8_decode((const uint8_t *)s, n, cp);
}

static void test_utf8(void)
{
	uint32_t cp = 0;
	char buf[4];

	CHECK(dec("A", 1, &cp) == 1 && cp == 'A');
	CHECK(dec("\xc3\xa9", 2, &cp) == 2 && cp == 0xE9);
	CHECK(dec("\xe2\x96\x81", 3, &cp) == 3 && cp == 0x2581);
	CHECK(dec("\xf0\x9f\x98\x80", 4, &cp) == 4 && cp == 0x1F600);
	CHECK(dec("\xf4\x8f\xbf\xbf", 4, &cp) == 4 && cp == 0x10FFFF);
	/* ill-formed */
	CHECK(dec("\xc0\x80", 2, &cp) == -1);         /* overlong */
	CHECK(dec("\xc1\xbf", 2, &cp) == -1);
	CHECK(dec("\xe0\x80\x80", 3, &cp) == -1);     /* overlong */
	CHECK(dec("\xed\xa0\x80", 3, &cp) == -1);     /* surrogate */
	CHECK(dec("\xf0\x80\x80\x80", 4, &cp) == -1); /* overlong */
	CHECK(dec("\xf4\x90\x80\x80", 4, &cp) == -1); /* > U+10FFFF */
	CHECK(dec("\xf5\x80\x80\x80", 4, &cp) == -1);
	CHECK(dec("\x80", 1, &cp) == -1 && dec("\xff", 1, &cp) == -1);
	CHECK(dec("\xe2\x41\x81", 3, &cp) == -1);
	/* incomplete */
	CHECK(dec("\xe2\x96", 2, &cp) == 0 && dec("\xf0", 1, &cp) == 0 && dec("\xf0\x9f\x98", 3, &cp) == 0);
	CHECK(dec("\xed\xa0", 2, &cp) == -1); /* already impossible */

	/* maximal subparts (one U+FFFD each) */
	CHECK(sl_utf8_bad_len((const uint8_t *)"\xe2\x82\x41", 3) == 2);
	CHECK(sl_utf8_bad_len((const uint8_t *)"\xf0\x80\x80", 3) == 1);
	CHECK(sl_utf8_bad_len((const uint8_t *)"\xf0\x9f\x98", 3) == 3);
	CHECK(sl_utf8_bad_len((const uint8_t *)"\xff", 1) == 1);
	CHECK(sl_utf8_bad_len((const uint8_t *)"\xed\xa0\x80", 3) == 1);
	CHECK(sl_utf8_bad_len((const uint8_t *)"\xc3", 1) == 1);

	/* encode and decode back, every scalar value */
	int bad = 0;
	for (uint32_t c = 0; c <= 0x10FFFF; c++) {
		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		int l = sl_utf8_encode(c, buf);
		uint32_t back;
		bad += dec(buf, (size_t)l, &back) != l || back != c;
	}
	CHECK(bad == 0);
}

int main(void)
{
	test_classes();
	test_utf8();
	return CHECK_DONE();
}
