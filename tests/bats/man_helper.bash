# man_helper.bash — the man pages as tests, for every tool's bats file (load man_helper).
#
# man_synopsis PAGE: the SYNOPSIS as man renders it, on one line (compared with --help).
# run_man_examples PAGE: run each "$ command" of the page's EXAMPLES (.EX blocks) in the
#   current directory with bin/ first on PATH, and compare its output with the lines that
#   follow it (byte for byte but for trailing newlines: a page cannot show whether text ends
#   with one).  Prints the failures; the exit status is their number.  The examples run
#   with the reference kernels (SL_KERNELS=ref): probabilities printed to 6 digits differ
#   in the last one between kernel sets (float sums in another order), and the reference
#   gives the same on every machine.

MAN_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${SL_BIN:-$MAN_ROOT/bin}

man_synopsis() {
	MANWIDTH=1000 man -l "$1" 2>/dev/null | col -b | sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' |
		tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}

run_man_examples() {
	/usr/bin/python3 - "$1" > "$BATS_TEST_TMPDIR/examples.sh" <<'PYEOF'
import re, shlex, sys
src = open(sys.argv[1], encoding='utf-8').read()
sec = src.split('\n.SH EXAMPLES\n', 1)[1].split('\n.SH ', 1)[0] + '\n'
def unroff(s):
    return s.replace('\\(aq', "'").replace('\\-', '-').replace('\\e', '\\')
cases, cur = [], None
for b in re.findall(r'^\.EX\n(.*?)^\.EE\n', sec, re.S | re.M):
    for line in b.split('\n')[:-1]:
        line = unroff(line)
        if line.startswith('$ '):
            cur = [line[2:], []]
            cases.append(cur)
        elif cur is not None:
            cur[1].append(line)
    cur = None
print('fail=0')
for cmd, out in cases:
    want = '\n'.join(out).rstrip('\n')
    print('got=$(%s)' % cmd)
    print('want=%s' % shlex.quote(want))
    print('if [ "$got" != "$want" ]; then fail=$((fail+1)); printf "example failed: %%s\\n--- want\\n%%s\\n--- got\\n%%s\\n---\\n" %s "$want" "$got"; fi'
          % shlex.quote(cmd))
print('echo "%d examples, $fail failed"' % len(cases))
print('exit $fail')
PYEOF
	SL_KERNELS=ref PATH="$BIN:$PATH" bash "$BATS_TEST_TMPDIR/examples.sh"
}
