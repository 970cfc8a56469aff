#!/bin/sh
# tok.sh — speed of bin/sl-tok against Hugging Face's tokenizer (its Rust core, through the npm
# package `tokenizers` in tests/tok), on one core, as one Markdown table row.
#
# The text is >= 10 MB of mixed text from tests/tok/gen_corpus.py --bench (many scripts, code,
# digits, emoji, white space, TinyStories), made once in bench/out/.  Both tokenize it RUNS times
# (default 3) under `taskset -c 0` with SmolLM's tokenizer; the row gives the best and the median
# MB/s of each and the ratio of the bests.  sl-tok's time is the whole run minus its time on
# empty input (loading the tokenizer); HF's is the encode() call alone.  The ids of both must be
# the same, or the bench fails: sl-tok runs with --keep-final-newline, since by default it drops
# the newline that ends its input and HF's encode() does not.
#
# usage: bench/tok.sh [-r runs] [-m tokenizer.json]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
model=$root/tests/fixtures/smollm-tokenizer/tokenizer.json
while getopts r:m: o; do
	case $o in
	r) runs=$OPTARG ;;
	m) model=$OPTARG ;;
	*) echo "usage: bench/tok.sh [-r runs] [-m tokenizer.json]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "usage: bench/tok.sh [-r runs] [-m tokenizer.json]" >&2; exit 2; }

tok=${SL_TOK:-$root/bin/sl-tok}
py=${PYTHON:-/usr/bin/python3}
node=${NODE:-/usr/bin/node}
ref=$root/tests/tok
[ -x "$tok" ] || { echo "bench/tok.sh: $tok: not built (run make)" >&2; exit 1; }
[ -f "$model" ] || { echo "bench/tok.sh: $model: no such tokenizer" >&2; exit 1; }
pin=
command -v taskset >/dev/null && pin="taskset -c 0"

out=$root/bench/out
text=$out/tok-text.txt
mkdir -p "$out"
if [ ! -s "$text" ]; then
	"$py" "$ref/gen_corpus.py" --seed 7 --bench 10500000 >"$text.tmp.$$"
	mv "$text.tmp.$$" "$text"
fi
bytes=$(wc -c <"$text")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ ! -d "$ref/node_modules/tokenizers" ]; then
	echo "bench/tok.sh: installing the HF reference (npm ci in tests/tok)" >&2
	(cd "$ref" && npm ci --silent >&2) || { echo "bench/tok.sh: npm ci failed in $ref" >&2; exit 1; }
fi

# secs CMD...: wall seconds of one run of CMD (stdout to $tmp/ids)
secs() {
	"$py" -c 'import subprocess, sys, time
t = time.perf_counter()
with open(sys.argv[1], "wb") as f:
    rc = subprocess.call(sys.argv[2:], stdout=f)
print("%.4f" % (time.perf_counter() - t))
sys.exit(rc)' "$tmp/ids" "$@"
}

: >"$tmp/sl"
: >"$tmp/load"
i=0
while [ "$i" -lt "$runs" ]; do
	secs $pin "$tok" --no-bos -m "$model" /dev/null >>"$tmp/load" ||
		{ echo "bench/tok.sh: sl-tok failed" >&2; exit 1; }
	secs $pin "$tok" --keep-final-newline -m "$model" "$text" >>"$tmp/sl" ||
		{ echo "bench/tok.sh: sl-tok failed on $text" >&2; exit 1; }
	i=$((i + 1))
done
mv "$tmp/ids" "$tmp/sl-ids"
(cd "$ref" && $pin "$node" bench_hf.js "$model" "$text" "$runs" "$tmp/hf-ids") >"$tmp/hf" ||
	{ echo "bench/tok.sh: the HF reference failed" >&2; exit 1; }
if ! cmp -s "$tmp/sl-ids" "$tmp/hf-ids"; then
	echo "bench/tok.sh: sl-tok's ids differ from HF's on $text:" >&2
	cmp "$tmp/sl-ids" "$tmp/hf-ids" >&2 || true
	exit 1
fi
ntok=$(wc -l <"$tmp/sl-ids")

# The row: best and median MB/s of each, the ratio of the bests.
"$py" - "$bytes" "$ntok" "$tmp/load" "$tmp/sl" "$tmp/hf" "$(basename "$(dirname "$model")")" <<'PY'
import statistics, sys
nbytes, ntok = int(sys.argv[1]), int(sys.argv[2])
read = lambda p: [float(x) for x in open(p).read().split()]
load = statistics.median(read(sys.argv[3]))
sl = [max(t - load, 1e-9) for t in read(sys.argv[4])]
hf = read(sys.argv[5])
mb = nbytes / 1e6
best = lambda ts: mb / min(ts)
med = lambda ts: mb / statistics.median(ts)
print('sl-tok load %.0f ms; sl-tok %s s; HF %s s' % (load * 1e3, sl, hf), file=sys.stderr)
print('| tokenize %s, %.1f MB, %d ids, 1 core | sl-tok %.1f MB/s (median %.1f) | HF tokenizers %.1f MB/s (median %.1f) | %.2fx |'
      % (sys.argv[6], mb, ntok, best(sl), med(sl), best(hf), med(hf), best(sl) / best(hf)))
PY
