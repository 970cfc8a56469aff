#!/bin/sh
# scale.sh — thread scaling of bin/sl-infer on one model: prompt (pp128) and generation
# (tg128, ids 33-160 of a run, as bench/infer.sh measures it) with 1 thread and with N.
#
# The runs alternate (1 thread, N threads, 1, N, ...) so that both see the same machine:
# on a shared VM the memory bandwidth drifts by 2x over minutes, and measuring all the
# 1-thread runs before all the N-thread ones turns that drift into a false ratio.  Each
# ratio is taken within a pair, and the medians are reported as a Markdown table.
#
# usage: bench/scale.sh [-t N] [-r runs] model.gguf   (SL_INFER_ARGS adds options)
set -eu

threads=0
runs=${RUNS:-3}
while getopts t:r: o; do
	case $o in
	t) threads=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: bench/scale.sh [-t N] [-r runs] model.gguf" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: bench/scale.sh [-t N] [-r runs] model.gguf" >&2; exit 2; }
model=$1
root=$(cd "$(dirname "$0")/.." && pwd)
infer=${SL_INFER:-$root/bin/sl-infer}
[ -x "$infer" ] || { echo "bench/scale.sh: $infer: not built (run make)" >&2; exit 1; }
[ "$threads" -gt 0 ] || threads=$(getconf _NPROCESSORS_ONLN)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

awk -v n=128 'BEGIN { srand(1); for (i = 0; i < n; i++) print int(rand() * 40000) }' >"$tmp/p128"
echo 1 >"$tmp/p1"

# gen <threads> <prompt> <n>: sl-infer --stats into $tmp/stats
gen() {
	# shellcheck disable=SC2086
	if ! "$infer" -m "$model" -t "$1" -n "$3" --temp 0 --ignore-eos --stats ${SL_INFER_ARGS:-} \
		<"$2" >/dev/null 2>"$tmp/stats"; then
		echo "bench/scale.sh: sl-infer failed on $model:" >&2
		cat "$tmp/stats" >&2
		exit 1
	fi
}
pp_rate() { gen "$1" "$tmp/p128" 0; sed -n 's/.*prompt [0-9]* ids in .* ms (\([0-9.]*\) ids\/s).*/\1/p' "$tmp/stats"; }
gen_ms() { sed -n 's/.*generated [0-9]* ids in \([0-9.]*\) ms.*/\1/p' "$tmp/stats"; }
tg_rate() {
	gen "$1" "$tmp/p1" 32
	a=$(gen_ms)
	gen "$1" "$tmp/p1" 160
	awk -v a="$a" -v b="$(gen_ms)" 'BEGIN { printf "%.2f\n", 128 / ((b - a) / 1000) }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }

gen 1 "$tmp/p1" 1 # warm-up: the file into the page cache
i=0
while [ $i -lt "$runs" ]; do
	p1=$(pp_rate 1)
	pn=$(pp_rate "$threads")
	t1=$(tg_rate 1)
	tn=$(tg_rate "$threads")
	echo "$p1 $pn $t1 $tn" >>"$tmp/pairs"
	echo "bench/scale.sh: pp128 $p1 / $pn, tg128 $t1 / $tn tok/s (1 / $threads threads)" >&2
	i=$((i + 1))
done
col() { awk -v c="$1" '{ print $c }' "$tmp/pairs" | median; }
ratio() { awk -v a="$1" -v b="$2" '{ printf "%.3f\n", $b / $a }' "$tmp/pairs" | median; }
echo "| threads | pp128 tok/s | tg128 tok/s |"
echo "|---:|---:|---:|"
echo "| 1 | $(col 1) | $(col 3) |"
echo "| $threads | $(col 2) | $(col 4) |"
echo "| speed-up (median of the $runs paired ratios) | $(ratio 1 2)x | $(ratio 3 4)x |"
