#!/bin/sh
# ab.sh — two builds of sl-infer on the same models: the same output, and their speed in
# alternating runs (A, B, A, B, ...) so that both see the same machine.
#
#   1. output: greedy, a 40-id prompt, 16 ids, with --top 3 and --logits, at -t 1 and -t N:
#      the ids, the --probs file and the logits must be identical byte for byte;
#   2. speed: pp128 and tg128 (bench/common.sh) of A then B, -r times; the medians and the
#      median of the paired B/A ratios.
#
# usage: bench/ab.sh [-t N] [-r runs] OLD_SL_INFER NEW_SL_INFER model.gguf...
# (A refactor is "no worse" when the ratios are near 1; the VM's drift is ±15%.)
set -eu

usage="bench/ab.sh [-t N] [-r runs] OLD_SL_INFER NEW_SL_INFER model.gguf..."
[ $# -ge 3 ] || { echo "usage: $usage" >&2; exit 2; }
# common.sh's options come first; pull the two binaries out of the operands after them
. "$(dirname "$0")/common.sh"
a=$1 b=$2
shift 2
[ $# -gt 0 ] || { echo "usage: $usage" >&2; exit 2; }

ids 40 >"$tmp/p40"
status=0
for m in "$@"; do
	for t in 1 "$threads"; do
		for x in a b; do
			eval bin=\$$x
			"$bin" -m "$m" --temp 0 -n 16 -t "$t" --top 3 --probs "$tmp/probs.$x" \
				--logits "$tmp/logits.$x" "$tmp/p40" >"$tmp/ids.$x"
		done
		same=same
		for f in ids probs logits; do
			cmp -s "$tmp/$f.a" "$tmp/$f.b" || { same="DIFFERENT $f"; status=1; }
		done
		echo "bench/ab.sh: $(basename "$m") -t $t: output $same" >&2
	done
done

echo "| model | pp128 A | pp128 B | B/A | tg128 A | tg128 B | B/A |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in "$@"; do
	: >"$tmp/pairs"
	infer=$a; run "$m" "$tmp/p1" 1 # the file into the page cache
	i=0
	while [ $i -lt "$runs" ]; do
		infer=$a; run "$m" "$tmp/p128" 0; pa=$(stat_prompt_rate); ta=$(tg_rate "$m")
		infer=$b; run "$m" "$tmp/p128" 0; pb=$(stat_prompt_rate); tb=$(tg_rate "$m")
		echo "$pa $pb $ta $tb" >>"$tmp/pairs"
		echo "bench/ab.sh: $(basename "$m"): pp128 $pa / $pb, tg128 $ta / $tb tok/s (A / B)" >&2
		i=$((i + 1))
	done
	col() { awk -v c="$1" '{ print $c }' "$tmp/pairs" | median; }
	ratio() { awk -v x="$1" -v y="$2" '{ printf "%.3f\n", $y / $x }' "$tmp/pairs" | median; }
	echo "| $(basename "$m") | $(col 1) | $(col 2) | $(ratio 1 2) | $(col 3) | $(col 4) | $(ratio 3 4) |"
done
exit $status
