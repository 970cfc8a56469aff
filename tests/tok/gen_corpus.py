#!/usr/bin/python3
"""gen_corpus.py — the tokenizer test corpus: deterministic, seeded text that stresses sl-tok.

Writes JSON lines {"name": ..., "text": ...} (one case a line) to stdout.  The cases cover what a
byte-level BPE with a Digits pre-tokenizer or a SentencePiece-style BPE with byte fallback can get
wrong: many scripts, combining marks, emoji sequences, every kind of Unicode digit, source code,
white space runs, CRLF and lone CR, contractions, special-token strings (whole and partial), very
long words and digit runs, control characters and NUL, and random mixtures of all of these.  Real
English prose comes from tests/fixtures/tinystories-sample.

  gen_corpus.py [--seed N] [--bench BYTES] [--tinystories FILE] > corpus.jsonl

--bench BYTES writes plain mixed text of about BYTES bytes instead (for bench/tok.sh), not JSON.
The output depends only on the seed and the Python version's random module (stable since 3.2):
the committed corpus.jsonl was made with the defaults (seed 20261126).
"""
import argparse
import json
import os
import random
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
TINYSTORIES = os.path.join(HERE, '..', 'fixtures', 'tinystories-sample', 'tinystories.txt')

# ==== word lists (written for this corpus; short, common words of each language) ====

WORDS = {
    'english': "the quick brown fox jumps over a lazy dog and then runs away from home because it "
               "was late at night when nobody could see anything in the dark forest near our old "
               "house which stood alone on top of that hill".split(),
    'french': "écoute là où déjà garçon façon très être naïve cœur œuvre Noël août forêt "
              "hôpital élève bientôt château sœur maïs où île fenêtre".split(),
    'german': "Straße Mädchen schön über Größe Füße weiß Äpfel Öl Übung heißt grün Bär "
              "Brötchen Tür Glück müde Käse ß".split(),
    'spanish': "niño señor mañana corazón canción ¿qué ¡hola! pingüino árbol jamás"
               " también después años".split(),
    'polish': "zażółć gęślą jaźń łódź źdźbło książka się żółw pięć ćma".split(),
    'vietnamese': "Tiếng Việt người nước những được thường xuyên phở cảm ơn đường ngữ".split(),
    'turkish': "İstanbul ığdır şeker çiçek ğ Iİıi öğretmen güzel".split(),
    'russian': "Привет мир съешь же ещё этих мягких французских булок да выпей чаю "
               "Москва ёлка щука объявление Ёжик".split(),
    'ukrainian': "Їжак ґанок їсти Європа щастя під"
                 " пісня".split(),
    'greek': "Καλημέρα κόσμε ξεσκεπάζω ψυχοφθόρα βδελυγμία Ἀθῆναι ᾠδή ὕδωρ λόγος ς σ Σ".split(),
    'chinese': "我们 你好 世界 中文 汉字 学习 今天 天气 很好 吃饭 了吗 電腦 網絡 龍 龘".split(),
    'japanese': "こんにちは 世界 カタカナ ひらがな 日本語 東京 ありがとう ございます ｶﾀｶﾅ ー".split(),
    'korean': "안녕하세요 세계 한국어 사랑 감사합니다 똠방각하 펲".split(),
    'arabic': "مرحبا بالعالم اللغة العربية كتاب مدرسة شكرا جزيلا السلام عليكم".split(),
    'hebrew': "שלום עולם עברית ספר תודה רבה בְּרֵאשִׁית".split(),
    'devanagari': "नमस्ते दुनिया हिन्दी भाषा किताब धन्यवाद क्षत्रिय श्री".split(),
    'thai': "สวัสดี ชาวโลก ภาษาไทย ขอบคุณ ครับ ค่ะ กรุงเทพมหานคร".split(),
    'georgian': "გამარჯობა მსოფლიო ქართული".split(),
    'armenian': "Բարեւ աշխարհ հայերեն".split(),
    'tamil': "வணக்கம் உலகம் தமிழ்".split(),
    'bengali': "হ্যালো বিশ্ব বাংলা".split(),
    'amharic': "ሰላም ዓለም አማርኛ".split(),
}

EMOJI = ["😀", "😂", "🥲", "❤️", "👍", "👍🏻", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "👩‍❤️‍💋‍👨", "🏳️‍🌈", "🏴‍☠️",
         "👩🏽‍💻", "🧑🏾‍🚀", "🤷‍♂️", "🇫🇷", "🇯🇵", "🇺🇸", "1️⃣", "#️⃣", "©️", "™", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🫠", "🐈‍⬛",
         "☺", "☺️", "✌🏼", "🧔‍♀️", "👁️‍🗨️", "\u200d", "\ufe0f"]

# Every kind of character Rust's char::is_numeric accepts (Nd, Nl, No), and a few look-alikes.
DIGITS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯", "๐๑๒๓๔๕๖๗๘๙",
          "０１２３４５６７８９", "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉", "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫⅬⅭⅮⅯ", "ⅰⅱⅲⅳⅴⅵⅶⅷⅸⅹⅺⅻ",
          "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳", "⑴⑵⑶", "⒈⒉⒊", "❶❷❸", "➀➁➂", "½¼¾⅓⅔⅛", "〇〡〢〣", "一二三四五六七八九十百千万",
          "𝟎𝟏𝟐𝟑𝟗𝟘𝟙𝟡𝟶𝟿", "𐒠𐒡𐒢", "፩፪፫", "᠐᠑᠒", "௦௧௨௩", "༠༡༢༳", "𒐀𒐁", "🄀🄁🄂", "Ⅽ", "ↀↁↂ", "²³¹"]

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D",
                "’s", "’t", "’re", "‘quoted’", "“double”", "''", "'", "'x", "'Ll", "'Re"]
CONTRACTION_WORDS = ["don't", "can't", "I'm", "you're", "we've", "they'll", "she'd", "it's", "IT'S",
                     "DON'T", "o'clock", "rock'n'roll", "y'all'd've", "Jones'", "won’t", "I’M",
                     "'tis", "ma'am", "he's'", "'s's", "x's 's"]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
            "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
            "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
            "<jupyter_script>", "<empty_output>", "<s>", "</s>", "<unk>"]
PARTIAL_SPECIALS = ["<|im_sta", "<|endoftext", "<|endoftext|", "|endoftext|>", "<|im_end", "<s", "</s",
                    "s>", "<|", "|>", "<<s>>", "<</s>>", "<|<|im_start|>|>", "<|im_start |>", "<S>",
                    "<|ENDOFTEXT|>", "< s>", "<unk", "<repo_name", "<|im_start|\u200b>", "＜s＞"]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\r\r\n", "\v", "\f",
              "\u00a0", "\u3000", "\u2028", "\u2029", "\u200b", "\ufeff", "\u2002", "\u2009", "\u202f",
              " \t ", "\n \n", " \n", "\t\n", "\u0085", "\u1680"]

CODE = [
    '#include <stdio.h>\n\nint main(int argc, char **argv)\n{\n\tfor (int i = 0; i < argc; i++)\n'
    '\t\tprintf("%d: %s\\n", i, argv[i]);\n\treturn 0;\n}\n',
    'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n'
    '    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nprint([fib(i) for i in range(20)])\n',
    'const add = (a, b) => a + b;\nexport async function main() {\n  const r = await fetch(`/api/${id}`);\n'
    '  if (!r.ok) throw new Error("bad: " + r.status);\n  return r.json();\n}\n',
    'fn main() {\n    let v: Vec<u32> = (1..=10).map(|x| x * x).collect();\n    println!("{:?}", v);\n'
    '    let s = String::from("héllo");\n    match s.len() { 0 => {}, n => eprintln!("{n}") }\n}\n',
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tch := make(chan int, 3)\n\tgo func() { ch <- 42 }()\n'
    '\tfmt.Println(<-ch)\n}\n',
    '#!/bin/sh\nset -eu\nfor f in "$@"; do\n  [ -f "$f" ] || { echo "missing: $f" >&2; exit 1; }\n'
    '  wc -l < "$f"\ndone | awk \'{ s += $1 } END { print s }\'\n',
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Test &amp; demo</title></head>\n'
    '<body>\n  <p class="x">Hello, <b>world</b>!</p>\n  <script>alert(\'hi\')</script>\n</body>\n</html>\n',
    '{\n  "name": "sl",\n  "version": "0.1.0",\n  "list": [1, 2.5, -3e10, true, null],\n'
    '  "nested": {"a": {"b": "\\u00e9\\n"}}\n}\n',
    "SELECT u.id, COUNT(*) AS n\nFROM users u JOIN orders o ON o.user_id = u.id\n"
    "WHERE o.created_at >= '2024-01-01' AND u.name LIKE 'A%'\nGROUP BY u.id HAVING n > 10\nORDER BY n DESC;\n",
    'module Main where\n\nmain :: IO ()\nmain = mapM_ print $ take 10 primes\n  where primes = sieve [2..]\n'
    '        sieve (p:xs) = p : sieve [x | x <- xs, x `mod` p /= 0]\n',
    '(defun fact (n)\n  (if (<= n 1) 1\n      (* n (fact (- n 1)))))\n(print (fact 20)) ; => 2432902008176640000\n',
    'public class Hello {\n    public static void main(String[] args) {\n        System.out.println("Hi " + args.length);\n'
    '    }\n}\n',
    '    x = 1\n\tif x:\n\t    y = [  1,2 ,3]   \n        \n\treturn {**d, "k": v}\n',
    '\\documentclass{article}\n\\begin{document}\n$\\sum_{i=1}^{n} i^2 = \\frac{n(n+1)(2n+1)}{6}$\n\\end{document}\n',
    'diff --git a/x.c b/x.c\n@@ -1,3 +1,4 @@\n-int x = 0;\n+int x = 1;\n+int y = 2;\n',
    '0x7fffffff 0b1010 0o777 1e-9 3.14159 1_000_000 -0.0 NaN +inf 12:34:56 2026-11-26T12:47:31Z 192.168.0.1\n',
]

DENSE = list("aeiouthnsrdlcmwpgbyfk ") + [
    " ", " ", "  ", "\n", "\n\n", ",", ".", "'", "'s", "'t", "’", "\t", "\r\n", "1", "23", "é", "ü", "中",
    "😀", "▁", "<s>", "</s>", "<", ">", "|", "<|endoftext|>", "\u00a0", "\u3000", "١", "Ⅻ", "⁵", "-",
    "_", "=", "  \n", "x\r"]

SCRIPT_RANGES = [  # (first, last) code points of blocks to draw random characters from
    (0x0020, 0x007e), (0x00a0, 0x024f), (0x0250, 0x02ff), (0x0300, 0x036f), (0x0370, 0x03ff),
    (0x0400, 0x052f), (0x0530, 0x058f), (0x0590, 0x05ff), (0x0600, 0x06ff), (0x0700, 0x074f),
    (0x0900, 0x097f), (0x0980, 0x09ff), (0x0b80, 0x0bff), (0x0e00, 0x0e7f), (0x0f00, 0x0fff),
    (0x10a0, 0x10ff), (0x1100, 0x11ff), (0x1200, 0x137f), (0x1e00, 0x1eff), (0x1f00, 0x1fff),
    (0x2000, 0x206f), (0x2070, 0x209f), (0x20a0, 0x20cf), (0x2100, 0x214f), (0x2150, 0x218f),
    (0x2190, 0x21ff), (0x2200, 0x22ff), (0x2460, 0x24ff), (0x2500, 0x257f), (0x2600, 0x27bf),
    (0x3000, 0x303f), (0x3040, 0x30ff), (0x3100, 0x312f), (0x3190, 0x319f), (0x3200, 0x32ff),
    (0x3400, 0x4dbf), (0x4e00, 0x9fff), (0xa000, 0xa48f), (0xa830, 0xa83f), (0xac00, 0xd7a3),
    (0xf900, 0xfaff), (0xfb00, 0xfb4f), (0xfe30, 0xfe4f), (0xfe70, 0xfeff), (0xff00, 0xffef),
    (0x10000, 0x1007f), (0x10100, 0x1013f), (0x10140, 0x1018f), (0x10480, 0x104af), (0x10e60, 0x10e7f),
    (0x12000, 0x123ff), (0x12400, 0x1247f), (0x1d400, 0x1d7ff), (0x1d360, 0x1d37f), (0x1f000, 0x1f02f),
    (0x1f100, 0x1f1ff), (0x1f300, 0x1f64f), (0x1f680, 0x1f6ff), (0x1f900, 0x1f9ff), (0x1fa70, 0x1faff),
    (0x20000, 0x2a6df), (0xe0000, 0xe007f), (0xe000, 0xe0ff), (0xf0000, 0xf00ff),
]


class Gen:
    def __init__(self, seed, stories):
        self.r = random.Random(seed)
        self.stories = stories

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def randchar(self):
        lo, hi = self.pick(SCRIPT_RANGES)
        while True:
            c = chr(self.r.randint(lo, hi))
            if unicodedata.category(c) not in ('Cn', 'Cs'):
                return c

    # ---- fragments: each returns a short string of one kind ----
    def words(self, lang=None, n=None):
        lang = lang or self.pick(sorted(WORDS))
        n = n or self.r.randint(1, 12)
        sep = '' if lang in ('chinese', 'japanese', 'thai') and self.r.random() < 0.5 else ' '
        s = sep.join(self.pick(WORDS[lang]) for _ in range(n))
        if self.r.random() < 0.3:
            s = s.capitalize() + self.pick(['.', '!', '?', ',', '。', '؟', '।', '…', ';'])
        return s

    def random_chars(self):
        return ''.join(self.randchar() for _ in range(self.r.randint(1, 40)))

    def combining(self):
        base = self.pick("aeiouAEIOUnczsgkαωиу")
        marks = ''.join(chr(self.r.randint(0x300, 0x36f)) for _ in range(self.r.randint(1, 8)))
        s = base + marks
        form = self.pick(['NFC', 'NFD', 'NFKC', 'NFKD', None])
        return unicodedata.normalize(form, s) if form else s

    def emoji(self):
        s = ''.join(self.pick(EMOJI) for _ in range(self.r.randint(1, 6)))
        return s if self.r.random() < 0.5 else self.pick(WORDS['english']) + s + self.pick(['', ' ', '!'])

    def digits(self):
        d = self.pick(DIGITS)
        n = self.r.randint(1, 30)
        s = ''.join(self.pick(d) for _ in range(n))
        if self.r.random() < 0.3:
            s = self.pick(['$', '#', 'v', 'x', ' ', '-', '№', 'ID']) + s + self.pick(['', '%', 'km', '.5', ',000', 'th'])
        return s

    def long_digits(self):
        return ''.join(self.pick('0123456789') for _ in range(self.r.randint(50, 2000)))

    def contraction(self):
        if self.r.random() < 0.5:
            return self.pick(CONTRACTION_WORDS)
        return self.pick(WORDS['english']) + self.pick(CONTRACTIONS)

    def special(self):
        s = self.pick(SPECIALS if self.r.random() < 0.6 else PARTIAL_SPECIALS)
        return self.pick(['', ' ', '\n', 'x']) + s + self.pick(['', ' ', '\n', 'y', s])

    def space(self):
        if self.r.random() < 0.2:
            return self.pick([' ', '\t', '\n']) * self.r.randint(2, 80)
        return self.pick(WHITESPACE)

    def control(self):
        return ''.join(chr(self.pick(list(range(0, 32)) + [0x7f] + list(range(0x80, 0xa0))))
                       for _ in range(self.r.randint(1, 5)))

    def code(self):
        c = self.pick(CODE)
        if self.r.random() < 0.3:
            c = c.replace('\n', '\r\n')
        if self.r.random() < 0.3:
            c = c.replace('    ', '\t')
        return c

    def story(self):
        return self.pick(self.stories) if self.stories else self.words('english', 60)

    def fragment(self):
        kinds = [self.words, self.words, self.words, self.random_chars, self.combining, self.emoji,
                 self.digits, self.contraction, self.special, self.space, self.space, self.control,
                 self.code, self.story]
        return self.pick(kinds)()

    def mixture(self, n=None):
        n = n or self.r.randint(2, 30)
        parts = []
        for _ in range(n):
            parts.append(self.fragment())
            if self.r.random() < 0.7:
                parts.append(self.pick([' ', ' ', '\n', '', '\t', '  ']))
        return ''.join(parts)


def cases(g):
    """Yield (name, text) for every case of the corpus."""
    r = g.r
    yield 'empty', ''
    for i, ws in enumerate(WHITESPACE):
        yield 'whitespace-%d' % i, ws
        yield 'whitespace-word-%d' % i, ws + 'word' + ws
    for i in range(32):
        yield 'control-%02x' % i, chr(i)
        yield 'control-in-word-%02x' % i, 'a' + chr(i) + 'b ' + chr(i) + ' c' + chr(i)
    yield 'nul-run', '\0' * 100 + 'end'
    for s in SPECIALS + PARTIAL_SPECIALS:
        yield 'special ' + s, s
        yield 'special-around ' + s, 'Hello' + s + 'world ' + s + ' !' + s + s + '\n' + s
    for d in DIGITS:
        yield 'digits ' + d[:3], d
        yield 'digits-mixed ' + d[:3], 'x' + d + ' ' + d[::-1] + 'y' + d[:2] + '.' + d[2:4]
    for w in CONTRACTION_WORDS:
        yield 'contraction ' + w, w + ' ' + w.upper() + ' ' + w.lower() + ' "' + w + '"'
    for c in CONTRACTIONS:
        yield 'contraction-suffix ' + c, 'dog' + c + ' cat ' + c + ' ' + c + c + ' 12' + c + ' 你' + c
    for i, e in enumerate(EMOJI):
        yield 'emoji-%d' % i, e
        yield 'emoji-text-%d' % i, 'a' + e + ' b ' + e + e + '\n' + e
    for lang in sorted(WORDS):
        yield 'words ' + lang, ' '.join(WORDS[lang])
        for i in range(8):
            yield 'sentences %s %d' % (lang, i), ' '.join(g.words(lang) for _ in range(r.randint(1, 20)))
    for i, c in enumerate(CODE):
        yield 'code-%d' % i, c
        yield 'code-crlf-%d' % i, c.replace('\n', '\r\n')
        yield 'code-cr-%d' % i, c.replace('\n', '\r')
    for n in (1, 2, 3, 4, 5, 16, 17, 100, 1000, 10000):
        yield 'spaces-%d' % n, ' ' * n
        yield 'spaces-between-%d' % n, 'a' + ' ' * n + 'b'
        yield 'tabs-%d' % n, '\t' * n + 'x'
        yield 'newlines-%d' % n, '\n' * n
        yield 'crlf-%d' % n, 'x\r\n' * n
        yield 'cr-%d' % n, 'y\r' * n
        yield 'digits-%d' % n, ''.join(g.pick('0123456789') for _ in range(n))
    for n in (255, 256, 1000, 10000):
        yield 'long-word-%d' % n, ''.join(g.pick('abcdefghijklmnopqrstuvwxyz') for _ in range(n))
        yield 'long-repeat-%d' % n, 'a' * n
        yield 'long-cyrillic-%d' % n, ''.join(g.pick('абвгдежзийклмнопрстуфхцчшщъыьэюя') for _ in range(n))
        yield 'long-cjk-%d' % n, ''.join(g.pick(WORDS['chinese']) for _ in range(n // 2))
        yield 'long-emoji-%d' % n, ''.join(g.pick(EMOJI) for _ in range(n // 4))
    yield 'long-word-upper-10000', ''.join(g.pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(10000))
    yield 'long-mixed-word-10000', ''.join(g.randchar() for _ in range(10000)).replace(' ', '')
    for i in range(40):
        yield 'combining-%d' % i, ' '.join(g.combining() for _ in range(r.randint(1, 10)))
    for i in range(60):
        yield 'random-chars-%d' % i, ''.join(g.random_chars() for _ in range(r.randint(1, 20)))
    for i in range(60):
        yield 'ends-%d' % i, g.space() + g.mixture(r.randint(1, 5)) + g.space()
    for i, s in enumerate(g.stories):
        yield 'story-%d' % i, s
    i = 0
    total = 0
    while total < 1100000:  # mixtures: the bulk of the corpus
        t = g.mixture()
        total += len(t.encode())
        yield 'mix-%d' % i, t
        i += 1
    # Dense boundaries: short strings over a small alphabet of letters, spaces, contraction
    # pieces, digits of several kinds, special-token parts and whole ones, so that nearly every
    # pair of neighbours is a place where a pre-tokenizer split or a merge may or may not happen.
    for i in range(3000):
        yield 'dense-%d' % i, ''.join(g.pick(DENSE) for _ in range(r.randint(1, 60)))
    for i in range(4):  # a few large cases
        yield 'large-%d' % i, ''.join(g.mixture(50) for _ in range(r.randint(15, 30)))


def load_stories(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding='utf-8') as f:
        text = f.read()
    # Stories are separated by blank lines into paragraphs; keep groups of 1-4 paragraphs.
    paras = [p for p in text.split('\n\n') if p.strip()]
    out, r, i = [], random.Random(7), 0
    while i < len(paras):
        n = r.randint(1, 4)
        out.append('\n\n'.join(paras[i:i + n]))
        i += n
    return out


def main():
    ap = argparse.ArgumentParser(description='Write the sl-tok test corpus (JSON lines) to stdout.')
    ap.add_argument('--seed', type=int, default=20261126)
    ap.add_argument('--bench', type=int, metavar='BYTES', help='write about BYTES of plain mixed text instead')
    ap.add_argument('--tinystories', default=TINYSTORIES)
    a = ap.parse_args()
    g = Gen(a.seed, load_stories(a.tinystories))
    out = sys.stdout.buffer
    if a.bench:
        n = 0
        while n < a.bench:
            b = (g.mixture() + '\n').encode()
            if g.r.random() < 0.5:
                b += (g.story() + '\n\n').encode()
            out.write(b)
            n += len(b)
        return
    for name, text in cases(g):
        out.write(json.dumps({'name': name, 'text': text}, ensure_ascii=False).encode() + b'\n')


if __name__ == '__main__':
    main()
