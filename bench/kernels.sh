#!/bin/sh
# kernels.sh — sl-infer's speed with each kernel set (SL_KERNELS) and 1 and N threads, on
# each model, as a Markdown table: pp128, pp512 and tg128 (tok/s, as bench/infer.sh
# measures them), tg as a fraction of the bandwidth bound, and the kernel peaks.  The
# bound three ways: bench/bw's fastest pass and the mean of its passes (another program,
# right before and after), and bench/tgpair's (a token and a read of the model's own bytes,
# in alternation in one process: the yardstick least moved by the VM's drift).  pp512 ÷
# pp128 also from bench/pppair (batches at depth paired with batches at position 0 in one
# process), with N threads.
#
# The kernel sets run back to back for each figure (their order alternating by round), so
# that both see the same machine: on a shared VM speed and bandwidth drift by 2× over
# minutes.  The memory bandwidth (bench/bw, with as many threads as the figure) is measured
# right before and right after each tg pair, and each tg is compared with the mean of the
# two (it moves within a minute): with bw's fastest pass, and with the mean of its passes.  Medians of RUNS rounds, and the median of the per-round
# ratios of the first set to the second.
#
# The processor (bench/cpu) heads the output, as read at the start and at the end.
#
# usage: bench/kernels.sh [-t N] [-r runs] model.gguf...
# Environment: SETS (default "avx512 avx2"), KPEAK=0 skips the kernel peaks and bench/attn1.
# sl-infer's own tg runs time their prefetch distance (SL_PREFETCH_AHEAD fixes it); tgpair
# asks 8192 bytes ahead unless SL_PREFETCH_AHEAD says otherwise.
set -eu

usage="bench/kernels.sh [-t N] [-r runs] model.gguf..."
. "$(dirname "$0")/common.sh"
sets=${SETS:-avx512 avx2}
out=$root/bench/out
mkdir -p "$out"
CC=${CC:-cc}
$CC -std=c11 -O2 -Wall -o "$tmp/bw" "$root/bench/bw.c" -lpthread
$CC -std=c11 -O2 -Wall -o "$tmp/cpu" "$root/bench/cpu.c"
# the processor at the start and at the end: a VM can be moved to another kind of host
"$tmp/cpu" | tee "$tmp/cpu.txt" >&2
$CC -std=c11 -O2 -Wall -I"$root/lib" -D_GNU_SOURCE -o "$tmp/kpeak" "$root/bench/kpeak.c" \
	"$root/build/libsl.a" -lm -lpthread
for p in tgpair pppair attn1; do
	$CC -std=c11 -O2 -Wall -I"$root/lib" -D_GNU_SOURCE -o "$tmp/$p" "$root/bench/$p.c" \
		"$root/build/libsl.a" $(pkg-config --libs libzstd libcjson libxxhash) -lm -lpthread
done

if [ "${KPEAK:-1}" != 0 ]; then
	for s in $sets; do
		SL_KERNELS=$s "$tmp/kpeak" | sed "s/^kpeak /kpeak $s /" >>"$tmp/kpeak.txt"
		for t in $(printf '%s\n' 1 "$threads" | sort -nu); do
			SL_KERNELS=$s "$tmp/attn1" -t "$t" | sed "s/^attn1 /attn1 $s $t /" >>"$tmp/attn1.txt"
		done
	done
fi

pp_rate() { run "$1" "$2" 0 -t "$3"; stat_prompt_rate; }

for m in "$@"; do run "$m" "$tmp/p1" 1 -t 1; done # warm-up: the files into the page cache
# one figure of set $1 with $2 threads on model $3: pp128, pp512 or tg
measure() {
	export SL_KERNELS=$1
	case $4 in
	pp128) pp_rate "$3" "$tmp/p128" "$2" ;;
	pp512) pp_rate "$3" "$tmp/p512" "$2" ;;
	tg) tg_rate "$3" -t "$2" ;;
	esac
	unset SL_KERNELS
}
# GB/s that bench/bw reads with $1 threads: its fastest pass, and the mean of its passes
bw_for() { "$tmp/bw" | awk -v n="$1" '$1 == "bw" && $2 == n { print $3, $4 }'; }
i=0
while [ "$i" -lt "$runs" ]; do
	for m in "$@"; do
		for t in 1 "$threads"; do
			# the sets back to back for each figure, their order alternating by round
			order=$sets
			[ $((i % 2)) -eq 1 ] && order=$(printf '%s\n' $sets | tac | tr '\n' ' ')
			for s in $order; do : >"$tmp/fig-$s"; done
			for f in pp128 pp512; do
				for s in $order; do measure "$s" "$t" "$m" "$f" >>"$tmp/fig-$s"; done
			done
			bw0=$(bw_for "$t")
			for s in $order; do measure "$s" "$t" "$m" tg >>"$tmp/fig-$s"; done
			bw2=$(echo "$bw0 $(bw_for "$t")" | awk '{ printf "%.1f %.1f", ($1 + $3) / 2, ($2 + $4) / 2 }')
			bw=${bw2% *} bwm=${bw2#* }
			bytes=$(stat -c %s "$m")
			# bench/tgpair: tokens against reads of the same bytes, median fraction and tok/s
			for s in $order; do
				SL_KERNELS=$s "$tmp/tgpair" -t "$t" "$m" | awk '{ printf "%.2f %.1f", $4, $7 }' >"$tmp/pair-$s"
			done
			# bench/pppair: pp512 / pp128 in pairs of batches, with N threads only (the
			# target's; a round with one thread and AVX2 would take minutes)
			for s in $order; do
				if [ "$t" = "$threads" ]; then
					SL_KERNELS=$s "$tmp/pppair" -t "$t" -n 3 "$m" | awk '{ printf " %.2f", $4 }'
				else
					printf ' -'
				fi >>"$tmp/pair-$s"
			done
			for s in $sets; do
				v=$(tr '\n' ' ' <"$tmp/fig-$s")
				frac=$(echo "$v" | awk -v b="$bw" -v y="$bytes" '{ printf "%.2f", $3 / (b * 1e9 / y) }')
				fracm=$(echo "$v" | awk -v b="$bwm" -v y="$bytes" '{ printf "%.2f", $3 / (b * 1e9 / y) }')
				pair=$(cat "$tmp/pair-$s")
				echo "$(basename "$m" .gguf) $s $t $v$frac $bw $i $fracm $bwm $pair" >>"$tmp/runs"
				echo "bench/kernels.sh: round $((i + 1)) $(basename "$m") $s -t $t: pp128 pp512 tg128 $v($frac of $bw GB/s, $fracm of the passes' mean $bwm; tgpair: fraction, tok/s; pppair: pp512/pp128 $pair)" >&2
			done
		done
	done
	i=$((i + 1))
done
"$tmp/cpu" >>"$tmp/cpu.txt"
cp "$tmp/runs" "$out/kernels-runs.txt"
cp "$tmp/cpu.txt" "$out/kernels-cpu.txt"
echo "Processor (bench/cpu, at the start and at the end):"
echo
sed 's/^/    /' "$tmp/cpu.txt"
echo
[ -f "$tmp/kpeak.txt" ] && cp "$tmp/kpeak.txt" "$out/kernels-kpeak.txt"
[ -f "$tmp/attn1.txt" ] && cp "$tmp/attn1.txt" "$out/kernels-attn1.txt"

col() { awk -v m="$1" -v s="$2" -v t="$3" -v c="$4" '$1 == m && $2 == s && $3 == t { print $c }' "$tmp/runs" | median; }
echo "| model | kernels | threads | pp128 tok/s | pp512 tok/s | tg128 tok/s | tg / bw bound | tg / mean-bw bound | tgpair: tg / paired bound | tgpair tok/s | pppair: pp512 / pp128 |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "$@"; do
	n=$(basename "$m" .gguf)
	for s in $sets; do
		for t in 1 "$threads"; do
			echo "| $n | $s | $t | $(col "$n" "$s" "$t" 4) | $(col "$n" "$s" "$t" 5) | $(col "$n" "$s" "$t" 6) | $(col "$n" "$s" "$t" 7) | $(col "$n" "$s" "$t" 10) | $(col "$n" "$s" "$t" 12) | $(col "$n" "$s" "$t" 13) | $(col "$n" "$s" "$t" 14) |"
		done
	done
done
echo
first=$(echo $sets | cut -d' ' -f1) second=$(echo $sets | cut -d' ' -f2)
if [ "$first" != "$second" ]; then
	# the ratio of each figure within a round (runs back to back), then the median
	ratio() {
		awk -v m="$1" -v a="$first" -v b="$second" -v t="$2" -v c="$3" '
			$1 == m && $3 == t && $2 == a { x[$9] = $c }
			$1 == m && $3 == t && $2 == b { y[$9] = $c }
			END { for (r in x) if (y[r] > 0) printf "%.2f\n", x[r] / y[r] }' "$tmp/runs" | median
	}
	echo "| model | threads | $first / $second pp128 | pp512 | tg128 |"
	echo "|---|---:|---:|---:|---:|"
	for m in "$@"; do
		n=$(basename "$m" .gguf)
		for t in 1 "$threads"; do
			echo "| $n | $t | $(ratio "$n" "$t" 4)x | $(ratio "$n" "$t" 5)x | $(ratio "$n" "$t" 6)x |"
		done
	done
	echo
fi
for t in $(printf '%s\n' 1 "$threads" | sort -nu); do
	echo "Memory bandwidth ($t thread(s), bench/bw before and after each tg pair): fastest pass $(awk -v t="$t" '$3 == t { print $8 }' "$tmp/runs" | sort -g | uniq | tr '\n' ' ')GB/s; mean of the passes $(awk -v t="$t" '$3 == t { print $11 }' "$tmp/runs" | sort -g | uniq | tr '\n' ' ')GB/s."
done
if [ -f "$tmp/kpeak.txt" ]; then
	echo
	echo "| kernel peak (bench/kpeak, G weights/s) | threads | $(echo "Q4_0 Q8_0 Q4_K Q6_K F16 BF16 F32" | sed 's/ / | /g') |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $sets; do
		for t in 1 "$threads"; do
			for w in tg pp; do
				printf '| %s %s | %s |' "$s" "$w" "$t"
				for ty in q4_0 q8_0 q4_k q6_k f16 bf16 f32; do
					printf ' %s |' "$(awk -v s="$s" -v t="$t" -v w="$w" -v ty="$ty" \
						'$2 == s && $3 == ty && $4 == t && $5 == w { print $6 }' "$tmp/kpeak.txt")"
				done
				echo
			done
		done
	done
fi
if [ -f "$tmp/attn1.txt" ]; then
	echo
	echo "| one token's attention in a layer (bench/attn1, µs: in cache / after 64 MiB of other reads) | threads | $(awk '{ print $4 }' "$tmp/attn1.txt" | awk '!seen[$1]++' | sed 's/^/at /' | tr '\n' '|' | sed 's/|$//; s/|/ | /g') |"
	echo "|---|---:|$(awk '{ print $4 }' "$tmp/attn1.txt" | awk '!seen[$1]++' | sed 's/.*/---:|/' | tr -d '\n')"
	for s in $sets; do
		for t in $(printf '%s\n' 1 "$threads" | sort -nu); do
			printf '| %s | %s |' "$s" "$t"
			awk -v s="$s" -v t="$t" '$2 == s && $3 == t { printf " %s / %s |", $5, $6 }' "$tmp/attn1.txt"
			echo
		done
	done
fi
