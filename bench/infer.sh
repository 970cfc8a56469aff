#!/bin/sh
# infer.sh — end-to-end speed of bin/sl-infer on large models, as a Markdown table.
#
# For each model: prompt processing of 128 and 512 ids (pp128, pp512, tok/s, each in a fresh
# process), generation of 128 ids (tg128, tok/s, in the steady state: ids 33-160 of a run),
# time to first id after a 32-id prompt (TTFT: load + prompt + first sample, ms, in a fresh
# process), peak RSS of the 512-id run at a 512-id context, the file size, and how much of
# the model sl-infer had in 2 MiB pages (mapped; "read" with --no-mmap).  Each figure
# is the median of RUNS runs (default 3), read from `sl-infer --stats` on stderr.
#
# Each speed is also shown as a fraction of the limit that binds it:
#   tg: bandwidth bound = memory read bandwidth / model bytes (every weight read per token);
#   pp: kernel bound = weight bytes the matrix kernel consumes per second on cache-resident
#       data with all threads (bench/kpeak "pp" figure) / model bytes.
# Give the limits in the environment (bench/run does): SL_BW_GBS (GB/s, all threads) and
# SL_KPEAK (a file of kpeak output lines).  Missing limits print "-".
#
# SL_INFER_ARGS adds options to every sl-infer run (e.g. --no-mmap).
#
# usage: bench/infer.sh [-t threads] [-r runs] model.gguf...
set -eu

threads=0
runs=${RUNS:-3}
while getopts t:r: o; do
	case $o in
	t) threads=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: bench/infer.sh [-t threads] [-r runs] model.gguf..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: bench/infer.sh [-t threads] [-r runs] model.gguf..." >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
infer=${SL_INFER:-$root/bin/sl-infer}
[ -x "$infer" ] || { echo "bench/infer.sh: $infer: not built (run make)" >&2; exit 1; }
[ "$threads" -gt 0 ] || threads=$(getconf _NPROCESSORS_ONLN)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# n pseudo-random ids (fixed seed) below IDS_MAX (default 40000: inside SmolLM's vocabulary)
ids() {
	awk -v n="$1" -v m="${IDS_MAX:-40000}" 'BEGIN { srand(1); for (i = 0; i < n; i++) print int(rand() * m) }'
}
ids 32 >"$tmp/p32"
ids 128 >"$tmp/p128"
ids 512 >"$tmp/p512"
ids 1 >"$tmp/p1"

# run <model> <prompt file> <n> [extra args]: stats of one run in $tmp/stats
run() {
	m=$1 p=$2 n=$3
	shift 3
	# shellcheck disable=SC2086
	if ! "$infer" -m "$m" -n "$n" -t "$threads" --temp 0 --ignore-eos --stats ${SL_INFER_ARGS:-} "$@" <"$p" \
		>/dev/null 2>"$tmp/stats"; then
		echo "bench/infer.sh: sl-infer failed on $m:" >&2
		cat "$tmp/stats" >&2
		exit 1
	fi
}

# Fields of sl-infer --stats ("sl-infer: prompt 128 ids in 5000.0 ms (25.6 ids/s)" ...)
stat_prompt_rate() { sed -n 's/.*prompt [0-9]* ids in .* ms (\([0-9.]*\) ids\/s).*/\1/p' "$tmp/stats"; }
stat_gen_ms() { sed -n 's/.*generated [0-9]* ids in \([0-9.]*\) ms.*/\1/p' "$tmp/stats"; }
stat_first_ms() { sed -n 's/.*first id after \([0-9.]*\) ms.*/\1/p' "$tmp/stats"; }
stat_load_ms() { sed -n 's/.*load \([0-9.]*\) ms.*/\1/p' "$tmp/stats"; }
stat_rss() { sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$tmp/stats"; }
# "mapped, X MiB in 2 MiB pages" -> X; "read" -> read
stat_huge() { sed -n -e 's/.*MiB mapped, \([0-9.]*\) MiB in 2 MiB pages.*/\1 MiB/p' -e 's/.*MiB read,.*/read/p' "$tmp/stats"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }

# kpeak figure: bytes/s of weights at pp with the most threads, for a weight type
kpeak_pp() {
	[ -n "${SL_KPEAK:-}" ] && [ -r "$SL_KPEAK" ] || { echo ""; return; }
	awk -v t="$1" '$1 == "kpeak" && $2 == t && $4 == "pp" && $3 >= best { best = $3; v = $6 } END { print v }' "$SL_KPEAK"
}

frac() { # value bound -> "0.42" or "-"
	awk -v v="$1" -v b="$2" 'BEGIN { if (b == "" || b + 0 <= 0 || v == "-") print "-"; else printf "%.2f", v / b }'
}

echo "| model | MiB | pp128 tok/s | pp512 tok/s | tg128 tok/s | TTFT (32) ms | peak RSS MiB | RSS − model MiB | tg / bw bound | pp512 / kernel bound | in 2 MiB pages |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "$@"; do
	name=$(basename "$m" .gguf)
	bytes=$(stat -c %s "$m")
	mib=$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
	case $name in
	*q4_k*) kt=q4_k ;;
	*q4_0*) kt=q4_0 ;;
	*q8_0*) kt=q8_0 ;;
	*q6_k*) kt=q6_k ;;
	*f16*) kt=f16 ;;
	*bf16*) kt=bf16 ;;
	*) kt=f32 ;;
	esac
	: >"$tmp/pp128" ; : >"$tmp/pp512" ; : >"$tmp/tg" ; : >"$tmp/ttft" ; : >"$tmp/rss"
	run "$m" "$tmp/p1" 1 # warm-up: the file into the page cache, not timed
	huge=$(stat_huge)
	i=0
	while [ $i -lt "$runs" ]; do
		run "$m" "$tmp/p128" 0
		stat_prompt_rate >>"$tmp/pp128"
		run "$m" "$tmp/p512" 0 -c 512
		stat_prompt_rate >>"$tmp/pp512"
		stat_rss >>"$tmp/rss"
		# tg128: the time of 160 generated ids minus that of the first 32, so that the
		# first passes over the weights (slow while a fresh process maps them in) are not
		# counted: the steady state, as llama-bench measures after its warm-up run
		run "$m" "$tmp/p1" 32
		t32=$(stat_gen_ms)
		run "$m" "$tmp/p1" 160
		awk -v a="$t32" -v b="$(stat_gen_ms)" 'BEGIN { if (b > a) printf "%.1f\n", 128 / ((b - a) / 1000) }' >>"$tmp/tg"
		run "$m" "$tmp/p32" 1
		awk -v a="$(stat_load_ms)" -v b="$(stat_first_ms)" 'BEGIN { printf "%.0f\n", a + b }' >>"$tmp/ttft"
		i=$((i + 1))
	done
	pp128=$(median <"$tmp/pp128")
	pp512=$(median <"$tmp/pp512")
	tg=$(median <"$tmp/tg")
	ttft=$(median <"$tmp/ttft")
	rss=$(median <"$tmp/rss")
	over=$(awk -v r="$rss" -v b="$bytes" 'BEGIN { if (r == "-") print "-"; else printf "%.0f", r - b / 1048576 }')
	tg_bound=$(awk -v bw="${SL_BW_GBS:-}" -v b="$bytes" 'BEGIN { if (bw != "") printf "%.2f", bw * 1e9 / b }')
	kp=$(kpeak_pp $kt)
	pp_bound=$(awk -v k="$kp" -v b="$bytes" 'BEGIN { if (k != "") printf "%.2f", k * 1e9 / b }')
	echo "| $name | $mib | $pp128 | $pp512 | $tg | $ttft | $rss | $over | $(frac "$tg" "$tg_bound") (of ${tg_bound:--}) | $(frac "$pp512" "$pp_bound") (of ${pp_bound:--}) | ${huge:--} |"
done
