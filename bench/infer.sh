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

usage="bench/infer.sh [-t threads] [-r runs] model.gguf..."
. "$(dirname "$0")/common.sh"

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
		tg_rate "$m" >>"$tmp/tg"
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
