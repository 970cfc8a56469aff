# tok_helper.bash — shared setup for sl-tok.bats and sl-detok.bats: where the tools, the models
# and the ground truth are, and a runner for the EXAMPLES of a man page.
#
# The ids written in these tests come from Hugging Face's tokenizers (Rust core, npm `tokenizers`
# 0.23.2, see tests/tok/README.md), never from sl-tok itself.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
TOK="$ROOT/bin/sl-tok"
DETOK="$ROOT/bin/sl-detok"
PY=${PYTHON:-/usr/bin/python3}
STORIES="$ROOT/models/stories260K-hf"
SMOLLM_DIR="$ROOT/../shared/data/smollm-tokenizer"
SMOLLM="$SMOLLM_DIR/tokenizer.json"
STORIES_GGUF="$ROOT/../shared/data/stories260K-gguf/stories260K-f32.gguf"
TOKDATA="$ROOT/tests/tok"

tok_setup() {
	unset SL_MODEL
	PATH="$ROOT/bin:$PATH"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# ids TEXT...: the arguments as a token stream (one per line), for comparing with output.
ids() {
	printf '%s\n' "$@"
}

# with_timeout SECONDS CMD...: run CMD, fail (status 124) if it takes longer.
with_timeout() {
	timeout --kill-after=2 "$@"
}

# man_examples PAGE: print the EXAMPLES of a man page as a shell script that runs each
# "$ command" and compares its output with the lines after it; exit status = number of failures.
man_examples() {
	"$PY" - "$1" <<'EOF'
import re, shlex, sys
src = open(sys.argv[1], encoding='utf-8').read()
sec = src.split('\n.SH EXAMPLES\n', 1)[1].split('\n.SH ', 1)[0] + '\n'
def unroff(s):
    s = s.replace('\\(aq', "'").replace('\\-', '-').replace('\\e', '\\')
    return s
blocks = re.findall(r'^\.EX\n(.*?)^\.EE\n', sec, re.S | re.M)
cases, cur = [], None
for b in blocks:
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
    want = ''.join(l + '\n' for l in out)
    print('got=$( (%s); echo x); got=${got%%x}' % cmd)
    print('want=%s' % shlex.quote(want))
    print('if [ "$got" != "$want" ]; then fail=$((fail+1)); printf "example failed: %%s\\n--- want\\n%%s--- got\\n%%s---\\n" %s "$want" "$got"; fi'
          % shlex.quote(cmd))
print('echo "%d examples, $fail failed"' % len(cases))
print('exit $fail')
EOF
}

# man_synopsis PAGE: the SYNOPSIS of a man page as one line, the way man shows it.
man_synopsis() {
	MANWIDTH=1000 man -l "$1" 2>/dev/null | col -b | sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' |
		tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}
