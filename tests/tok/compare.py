#!/usr/bin/python3
"""compare.py — check sl-tok and sl-detok against Hugging Face's ids and text on the corpus.

  compare.py encode|decode|skip|roundtrip -m TOKENIZER -e EXPECTED.jsonl.xz [-c CORPUS.jsonl.xz]
             [--bin DIR] [--report FILE]

The corpus cases are joined with a special token (the expected file's "sep") into one stream, so
each check runs each tool once per tokenizer, not once per case:

  encode     sl-tok -m T STREAM            == bos + HF ids of every case joined by sep's id + eos
  trickle    the same, the stream written to sl-tok's stdin in pieces of 1-64 bytes
  pieces     the same, the stream cut at random characters into ~4,000 FILE arguments
  decode     sl-detok -m T < HF ids        == HF decode(ids, false)
  skip       sl-detok -m T --skip-special  == HF decode(ids, true)
  roundtrip  decode, and sl-detok(sl-tok --no-bos) == HF decode(HF encode(stream)), i.e. the
             stream itself except where HF is lossy (counted); one sl-detok run when sl-tok's
             ids are HF's
  nospecial  sl-tok --no-special --no-bos  == HF ids with added_tokens removed, for the cases with
             (-e expected-nospecial-NAME.json.xz)   '<' joined by newlines (gen_nospecial.js)

The expected stream text is rebuilt from the per-case HF strings (see expected_stream) and checked
against the sha256 of HF's own decode of the whole stream, recorded by gen_expected.js.
Prints one summary line ("encode stories260K: 2353/2353 cases match HF (100.00%)") and, on
mismatches (case boundaries are then found by resynchronising on the next case's ids, so a tool
that writes the separator's id where it should not may blur the count a little), 
mismatches, the first few cases with their text; exits 1 if anything differs, 2 on a harness error.
"""
import argparse
import hashlib
import json
import lzma
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
SHOW = 5  # mismatching cases printed in full


def die(msg, code=2):
    print('compare.py: ' + msg, file=sys.stderr)
    sys.exit(code)


def load(corpus, expected):
    """The corpus cases and HF's expectations; cached as a pickle in $SL_TOK_CACHE if set (the
    bats files point it at the run's temporary directory: parsing takes most of a second)."""
    cache = os.environ.get('SL_TOK_CACHE')
    if cache:
        import pickle
        st = [os.stat(corpus), os.stat(expected)]
        key = hashlib.sha256(repr([(os.path.abspath(p), x.st_size, x.st_mtime_ns) for p, x in
                                   zip((corpus, expected), st)]).encode()).hexdigest()[:16]
        path = os.path.join(cache, 'compare-%s.pickle' % key)
        try:
            with open(path, 'rb') as f:
                return pickle.load(f)
        except OSError:
            pass
        r = load_uncached(corpus, expected)
        tmp = '%s.%d' % (path, os.getpid())
        with open(tmp, 'wb') as f:
            pickle.dump(r, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return r
    return load_uncached(corpus, expected)


def load_uncached(corpus, expected):
    with lzma.open(corpus, 'rt', encoding='utf-8') as f:
        cases = [json.loads(l) for l in f if l.strip()]
    with lzma.open(expected, 'rt', encoding='utf-8') as f:
        head = json.loads(f.readline())
        exp = [json.loads(l) for l in f if l.strip()]
    if len(cases) != len(exp) or head['cases'] != len(cases):
        die('%s has %d cases, %s has %d' % (corpus, len(cases), expected, len(exp)))
    if hashlib.sha256('\n'.join(c['text'] for c in cases).encode()).hexdigest() != head['corpus_sha256']:
        die('%s is not the corpus %s was made from' % (corpus, expected))
    for c, e in zip(cases, exp):
        e.setdefault('dec', c['text'])
        e.setdefault('skip', e['dec'])
    return head, cases, exp


def special_ids(tokenizer):
    """Ids of the special added tokens, from tokenizer.json (the file or the one in a directory)."""
    if os.path.isdir(tokenizer):
        tokenizer = os.path.join(tokenizer, 'tokenizer.json')
    with open(tokenizer, encoding='utf-8') as f:
        return {t['id'] for t in json.load(f)['added_tokens'] if t.get('special')}


def expected_stream(head, exp, specials, skip):
    """HF's decode of the joined ids, rebuilt from the per-case decodes.

    Byte-level BPE decodes piece by piece, so the stream is the cases' text joined by sep (or by
    nothing when skipping).  SentencePiece's decoder ends with Strip(" ", 1, 0), which removes
    one leading space of the whole output only: every case but the first gets back the space its
    first "▁" piece decodes to.  Which rule holds is checked against HF's own sha256."""
    want = head['stream_skip_sha256' if skip else 'stream_decode_sha256']
    for strip in (False, True):
        parts = []
        for i, e in enumerate(exp):
            if i > 0 and not skip:
                parts.append(head['sep'])
            text = e['skip' if skip else 'dec']
            ids = [x for x in e['ids'] if not (skip and x in specials)]
            if strip and ids and ids[0] not in specials:
                text = ' ' + text  # the space Strip took from this case alone
            parts.append(text)
        s = ''.join(parts)
        if strip and s.startswith(' '):
            s = s[1:]
        s = s.encode('utf-8', 'surrogatepass')
        if hashlib.sha256(s).hexdigest() == want:
            return s
    die('cannot rebuild HF\'s decoded stream from the per-case text (sha256 differs)')


def run(cmd, stdin=None, inp=None):
    p = subprocess.run(cmd, stdin=stdin, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        print('FAIL: %s exited %d: %s' % (' '.join(cmd), p.returncode, p.stderr.decode(errors='replace').strip()))
        sys.exit(1)
    return p.stdout


def excerpt(s, at=0, width=60):
    lo = max(0, at - width // 2)
    return ('...' if lo else '') + repr(s[lo:lo + width]) + ('...' if lo + width < len(s) else '')


def run_trickled(cmd, data, seed=1):
    """Run cmd with data written to its stdin through a pipe in small pieces of random size
    (1-64 bytes, cutting characters), so the tool reads the text in many odd-sized reads."""
    import random
    import threading
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    def feed():
        r, i, fd = random.Random(seed), 0, p.stdin.fileno()
        try:
            while i < len(data):
                n = r.choice((1, 1, 2, 3, 5, 8, 13, 64))
                os.write(fd, data[i:i + n])
                i += n
        except BrokenPipeError:
            pass
        p.stdin.close()
    t = threading.Thread(target=feed)
    t.start()
    out = p.stdout.read()
    err = p.stderr.read()
    t.join()
    if p.wait() != 0:
        print('FAIL: %s exited %d: %s' % (' '.join(cmd), p.returncode, err.decode(errors='replace').strip()))
        sys.exit(1)
    return out


def check_encode(a, name, head, cases, exp, stream_file, tok):
    if a.check == 'pieces':
        import random
        with open(stream_file, encoding='utf-8', errors='surrogatepass', newline='') as f:
            text = f.read()
        r, i, files = random.Random(2), 0, []
        d = os.path.dirname(stream_file)
        while i < len(text):
            n = r.choice((1, 2, 3, 7, 40, 300, 3000))
            files.append(os.path.join(d, 'p%05d' % len(files)))
            with open(files[-1], 'wb') as f:
                f.write(text[i:i + n].encode('utf-8', 'surrogatepass'))
            i += n
        out = run([tok, '--keep-final-newline', '-m', a.model] + files)
        name += ' (text cut into %d files)' % len(files)
    elif a.check == 'trickle':
        with open(stream_file, 'rb') as f:
            out = run_trickled([tok, '--keep-final-newline', '-m', a.model], f.read())
        name += ' (text trickled through a pipe)'
    else:
        out = run([tok, '--keep-final-newline', '-m', a.model, stream_file])
    try:
        got = [int(x) for x in out.split()]
    except ValueError:
        print('FAIL: sl-tok wrote something that is not a token id')
        return 1
    bos, eos = head['bos'], head['eos']
    notes = []
    if got[:len(bos)] != bos:
        notes.append('default encode should start with %s (HF adds it), got %s' % (bos, got[:len(bos) + 1]))
    else:
        got = got[len(bos):]
    if eos:
        if got[-len(eos):] != eos:
            notes.append('default encode should end with %s' % eos)
        else:
            got = got[:-len(eos)]
    # Split the ids into cases.  A case that matches ends where its ids end; one that does not
    # ends before the separator that starts the next case's ids (searched near by), or else after
    # as many separators as it holds itself, plus one.
    sep, pos, ok, bad, n = head['sep_id'], 0, 0, [], len(cases)

    def fits(j, k):  # do case j's expected ids sit at got[k:], followed by sep or the end?
        w = exp[j]['ids']
        e = k + len(w)
        return got[k:e] == w and (e == len(got) if j == n - 1 else e < len(got) and got[e] == sep)

    for i, (c, e) in enumerate(zip(cases, exp)):
        want = e['ids']
        if fits(i, pos):
            ok += 1
            pos += len(want) + 1
            continue
        end = None
        if i < n - 1 and exp[i + 1]['ids']:
            for k in range(pos, min(len(got), pos + 4 * len(want) + 1000)):
                if got[k] == sep and fits(i + 1, k + 1):
                    end = k
                    break
        if end is None:
            nsep, end = want.count(sep) + (1 if i < n - 1 else 0), pos
            while end < len(got) and nsep > 0:
                if got[end] == sep:
                    nsep -= 1
                end += 1
            end = end - 1 if i < n - 1 and end > pos and got[end - 1] == sep else end
        if i == n - 1:
            end = len(got)
        bad.append((c, want, got[pos:end]))
        pos = end + 1
    report(a, 'encode %s: %d/%d cases match HF (%.2f%%)' % (name, ok, len(cases), 100.0 * ok / len(cases)),
           notes, bad, lambda c, want, mine: ids_diff(c, want, mine))
    return 1 if bad or notes else 0


def ids_diff(c, want, mine):
    k = next((i for i, (x, y) in enumerate(zip(want, mine)) if x != y), min(len(want), len(mine)))
    return ('  case %r (%d bytes): %s\n    HF:     ...%s\n    sl-tok: ...%s'
            % (c['name'], len(c['text'].encode()), excerpt(c['text']),
               want[max(0, k - 3):k + 8], mine[max(0, k - 3):k + 8]))


def report(a, line, notes, bad, fmt):
    lines = [line] + notes + [fmt(*b) for b in bad[:SHOW]]
    if len(bad) > SHOW:
        lines.append('  ... and %d more: %s' % (len(bad) - SHOW, ', '.join(repr(b[0]['name']) for b in bad[SHOW:SHOW + 20])))
    print('\n'.join(lines))
    if a.report:
        with open(a.report, 'a', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')


def locate(cases, head, pos_bytes):
    """The case whose text holds byte pos_bytes of the joined stream (for messages)."""
    sep = len(head['sep'].encode())
    at = 0
    for c in cases:
        n = len(c['text'].encode())
        if pos_bytes < at + n + sep:
            return c, pos_bytes - at
        at += n + sep
    return cases[-1], 0


def check_text(a, what, name, head, cases, want, got):
    if got == want:
        report(a, '%s %s: %d bytes match HF' % (what, name, len(want)), [], [], None)
        return 0
    k = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), min(len(want), len(got)))
    c, off = locate(cases, head, k)
    line = ('%s %s: output differs from HF at byte %d of %d (got %d bytes), near case %r byte %d:\n'
            '    HF: %r\n    sl: %r' % (what, name, k, len(want), len(got), c['name'], off,
                                        want[max(0, k - 20):k + 40], got[max(0, k - 20):k + 40]))
    report(a, line, [], [], None)
    return 1


def check_nospecial(a, tok):
    with lzma.open(a.expected, 'rt', encoding='utf-8') as f:
        d = json.load(f)
    name = os.path.basename(a.expected).split('.')[0].replace('expected-nospecial-', '')
    got = run([tok, '--keep-final-newline', '--no-special', '--no-bos', '-m', a.model], inp=d['text'].encode('utf-8', 'surrogatepass'))
    got = [int(x) for x in got.split()]
    want = d['ids']
    if got == want:
        report(a, 'encode --no-special %s: %d ids of %d cases match HF' % (name, len(want), len(d['cases'])), [], [], None)
        return 0
    k = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), min(len(want), len(got)))
    report(a, 'encode --no-special %s: id %d of %d differs (got %d ids): HF ...%s, sl-tok ...%s'
           % (name, k, len(want), len(got), want[max(0, k - 3):k + 8], got[max(0, k - 3):k + 8]), [], [], None)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('check', choices=['encode', 'trickle', 'pieces', 'decode', 'skip', 'roundtrip', 'nospecial'])
    ap.add_argument('-m', dest='model', required=True)
    ap.add_argument('-e', dest='expected', required=True)
    ap.add_argument('-c', dest='corpus', default=os.path.join(HERE, 'corpus.jsonl.xz'))
    ap.add_argument('--bin', default=os.path.join(ROOT, 'bin'))
    ap.add_argument('--report', help='append the summary and the first mismatches to this file')
    ap.add_argument('--hf', help='the tokenizer.json for the special ids (default: -m), for a GGUF -m')
    a = ap.parse_args()
    # --keep-final-newline everywhere: HF tokenizes the text as it is, a final newline too
    tok, detok = os.path.join(a.bin, 'sl-tok'), os.path.join(a.bin, 'sl-detok')
    if a.check == 'nospecial':
        return check_nospecial(a, tok)
    head, cases, exp = load(a.corpus, a.expected)
    name = os.path.basename(a.expected).split('.')[0].replace('expected-', '')
    stream = head['sep'].join(c['text'] for c in cases).encode('utf-8', 'surrogatepass')
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'stream.txt')
        with open(path, 'wb') as f:
            f.write(stream)
        if a.check in ('encode', 'trickle', 'pieces'):
            return check_encode(a, name, head, cases, exp, path, tok)
        ids = []
        for i, e in enumerate(exp):
            if i > 0:
                ids.append(head['sep_id'])
            ids.extend(e['ids'])
        idtext = ('\n'.join(map(str, ids)) + '\n').encode()
        if hashlib.sha256(idtext).hexdigest() != head['stream_ids_sha256']:
            die('the joined ids differ from HF\'s stream')
        specials = special_ids(a.hf or a.model)
        # The ids go in as a file, not a pipe: a tool may buffer its output when no input can
        # arrive late, which makes 1.6M ids a second, not a syscall per piece.
        idfile = os.path.join(tmp, 'ids.txt')
        with open(idfile, 'wb') as f:
            f.write(idtext)
        if a.check == 'decode':
            got = run([detok, '-m', a.model, idfile])
            return check_text(a, 'decode', name, head, cases, expected_stream(head, exp, specials, False), got)
        if a.check == 'skip':
            got = run([detok, '-m', a.model, '--skip-special', idfile])
            return check_text(a, 'decode --skip-special', name, head, cases,
                              expected_stream(head, exp, specials, True), got)
        # Round trip: sl-detok(sl-tok(stream)).  When sl-tok's ids are HF's (the encode check),
        # that is sl-detok on HF's ids, so one sl-detok run checks both the decode and the trip.
        mine = run([tok, '--keep-final-newline', '--no-bos', '-m', a.model, path])
        want = expected_stream(head, exp, specials, False)
        got = run([detok, '-m', a.model, idfile])
        rc = check_text(a, 'decode', name, head, cases, want, got)
        if mine != idtext:
            with open(idfile, 'wb') as f:
                f.write(mine)
            got = run([detok, '-m', a.model, idfile])
        rc |= check_text(a, 'roundtrip', name, head, cases, want, got)
        lossy = [c['name'] for c, e in zip(cases, exp) if e['dec'] != c['text']]
        print('  (HF itself does not give back the text of %d of %d cases%s)'
              % (len(lossy), len(cases), (': ' + ', '.join(map(repr, lossy[:8])) + (' ...' if len(lossy) > 8 else ''))
                 if lossy else ''))
        return rc


if __name__ == '__main__':
    sys.exit(main())
