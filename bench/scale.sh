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

usage="bench/scale.sh [-t N] [-r runs] model.gguf"
. "$(dirname "$0")/common.sh"
[ $# -eq 1 ] || { echo "usage: $usage" >&2; exit 2; }
model=$1

pp_rate() { run "$model" "$tmp/p128" 0 -t "$1"; stat_prompt_rate; }

run "$model" "$tmp/p1" 1 -t 1 # warm-up: the file into the page cache
i=0
while [ $i -lt "$runs" ]; do
	p1=$(pp_rate 1)
	pn=$(pp_rate "$threads")
	t1=$(tg_rate "$model" -t 1)
	tn=$(tg_rate "$model" -t "$threads")
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
