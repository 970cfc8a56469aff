# common.sh — sourced by bench/infer.sh and bench/scale.sh (set `usage` first): their
# options (-t threads, -r runs; RUNS, SL_INFER, SL_INFER_ARGS from the environment), the
# sl-infer runs they time, and the fields of `sl-infer --stats` they read.
# Afterwards: $threads, $runs, $infer, $tmp (removed on exit), prompt files $tmp/p1, p32,
# p128, p512, and the operands in "$@".

threads=0
runs=${RUNS:-3}
while getopts t:r: o; do
	case $o in
	t) threads=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: $usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $usage" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
infer=${SL_INFER:-$root/bin/sl-infer}
[ -x "$infer" ] || { echo "$0: $infer: not built (run make)" >&2; exit 1; }
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

# run <model> <prompt file> <n> [extra args]: greedy, $threads threads (a -t in the extra
# args wins), the --stats of the run in $tmp/stats
run() {
	m=$1 p=$2 n=$3
	shift 3
	# shellcheck disable=SC2086
	if ! "$infer" -m "$m" -n "$n" -t "$threads" --temp 0 --ignore-eos --stats ${SL_INFER_ARGS:-} "$@" <"$p" \
		>/dev/null 2>"$tmp/stats"; then
		echo "$0: sl-infer failed on $m:" >&2
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

# tg128 in the steady state: the time of 160 generated ids minus that of the first 32 (the
# first passes over the weights are not counted, as llama-bench measures after a warm-up).
# tg_rate <model> [extra args] -> tok/s
tg_rate() {
	mod=$1
	shift
	run "$mod" "$tmp/p1" 32 "$@"
	t32=$(stat_gen_ms)
	run "$mod" "$tmp/p1" 160 "$@"
	awk -v a="$t32" -v b="$(stat_gen_ms)" 'BEGIN { if (b > a) printf "%.1f\n", 128 / ((b - a) / 1000) }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
