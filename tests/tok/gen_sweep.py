#!/usr/bin/python3
"""gen_sweep.py — every Unicode scalar value, in order, in a few contexts: writes UTF-8 text to stdout.

For each code point c from U+0000 to U+10FFFF except the surrogates, the line "x" c "1" c " " c c,
so each character is seen after a letter, before and after a digit, after a space and doubled.
About 19 MB.  The tests tokenize it with sl-tok and compare the sha256 of the ids (and of the
decoded text) with those of Hugging Face's tokenizer, recorded by gen_sweep_expected.js: this
catches any difference in the Unicode tables (letters, numbers, white space) behind the
pre-tokenizers, including code points that are unassigned in one Unicode version and not another.
"""
import sys

out = sys.stdout.buffer
for lo in range(0, 0x110000, 4096):
    out.write(''.join('x%s1%s %s%s\n' % ((chr(cp),) * 4) for cp in range(lo, lo + 4096)
                      if not 0xd800 <= cp < 0xe000).encode())
