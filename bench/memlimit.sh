#!/bin/sh
# memlimit.sh — sl-infer inside a real memory cgroup (v1, as root) at 600, 800 and 1200 MB
# and without a limit, the page cache dropped before every run (pages cached by another
# cgroup are not charged to this one, and every limit would "pass").
#
# For each limit: sl-infer as it is without a budget (the model mapped, the kernel evicting
# and re-reading pages at random), and with --mem-limit auto (the limit read from the
# cgroup, layers that do not fit streamed in order).  Reported: tg (ids 33-96 after a 32-id
# prompt: the time of 96 ids less that of 32), pp128, peak RSS, the cgroup's
# max_usage_in_bytes and failcnt, the bytes read again per id, and the disk's O_DIRECT read
# bandwidth measured in the same run.  A run the kernel kills shows as "killed".
#
# usage: bench/memlimit.sh [-t N] [-r runs] model.gguf [limits in MB...]
set -eu

usage="bench/memlimit.sh [-t N] [-r runs] model.gguf [limits in MB...]"
. "$(dirname "$0")/common.sh"
model=$1
shift
limits=${*:-"600 800 1200 0"}
cg=/sys/fs/cgroup/memory
[ "$(id -u)" -eq 0 ] && [ -w "$cg" ] || { echo "$0: needs root and cgroup v1 at $cg" >&2; exit 1; }
g=$cg/sl-bench-$$
mkdir "$g"
trap 'rmdir "$g" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
ids 96 >"$tmp/p96" 2>/dev/null || true

drop() { sync; echo 1 >/proc/sys/vm/drop_caches; }

# disk read bandwidth, O_DIRECT, the model file itself (MB/s)
drop
disk=$(dd if="$model" of=/dev/null bs=8M iflag=direct 2>&1 | sed -n 's/.* s, \([0-9.]*\) \([GM]\)B\/s/\1 \2/p' |
	awk '{ print ($2 == "G" ? $1 * 1000 : $1) }')

# inside LIMIT_MB PROMPT N [args]: one cold run of sl-infer in the cgroup; --stats in $tmp/stats,
# the cgroup's peak in $tmp/peak, its failcnt in $tmp/fail; exit status in $tmp/rc
inside() {
	lim=$1 p=$2 n=$3
	shift 3
	if [ "$lim" -gt 0 ]; then echo $((lim * 1000000)) >"$g/memory.limit_in_bytes"; else echo -1 >"$g/memory.limit_in_bytes"; fi
	echo 0 >"$g/memory.max_usage_in_bytes"
	echo 0 >"$g/memory.failcnt"
	drop
	set +e
	# shellcheck disable=SC2086
	sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$g" "$infer" -m "$model" -n "$n" \
		-t "$threads" --temp 0 --ignore-eos --stats "$@" <"$p" >/dev/null 2>"$tmp/stats"
	echo $? >"$tmp/rc"
	set -e
	awk '{ printf "%.0f\n", $1 / 1048576 }' "$g/memory.max_usage_in_bytes" >"$tmp/peak"
	cat "$g/memory.failcnt" >"$tmp/fail"
}
ok() { [ "$(cat "$tmp/rc")" -eq 0 ]; }
reread() { sed -n 's/.* \([0-9.]*\) MiB re-read per id.*/\1/p' "$tmp/stats"; }

echo "| limit | sl-infer | tg tok/s | pp128 tok/s | peak RSS MiB | cgroup peak MiB | failcnt | MiB re-read per id |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for lim in $limits; do
	for mode in mapped budget; do
		[ "$mode" = budget ] && [ "$lim" -eq 0 ] && continue
		args=
		[ "$mode" = budget ] && args="--mem-limit auto"
		tgs= pps= rss= peak= fail= rr=
		i=0
		while [ $i -lt "$runs" ]; do
			# shellcheck disable=SC2086
			inside "$lim" "$tmp/p32" 32 $args
			if ! ok; then tgs="killed"; break; fi
			g32=$(stat_gen_ms)
			# shellcheck disable=SC2086
			inside "$lim" "$tmp/p32" 96 $args
			if ! ok; then tgs="killed"; break; fi
			tg=$(awk -v a="$g32" -v b="$(stat_gen_ms)" 'BEGIN { if (b > a) printf "%.1f", 64 / ((b - a) / 1000) }')
			rss=$(stat_rss) peak=$(cat "$tmp/peak") fail=$(cat "$tmp/fail") rr=$(reread)
			# shellcheck disable=SC2086
			inside "$lim" "$tmp/p128" 0 $args
			ok && pps="$pps $(stat_prompt_rate)"
			tgs="$tgs $tg"
			echo "bench/memlimit.sh: $(basename "$model") limit ${lim} MB $mode: tg $tg, pp128 $(stat_prompt_rate) tok/s, RSS $rss MiB, cgroup peak $peak MiB, failcnt $fail, re-read ${rr:-0} MiB/id" >&2
			i=$((i + 1))
		done
		med() { printf '%s\n' $1 | median; }
		label=$([ "$lim" -eq 0 ] && echo "none" || echo "$lim MB")
		if [ "$tgs" = killed ]; then
			echo "| $label | $mode | killed (exit $(cat "$tmp/rc")) | | | | | |"
		else
			echo "| $label | $mode | $(med "$tgs") | $(med "$pps") | $rss | $peak | $fail | ${rr:-0} |"
		fi
	done
done
echo
echo "Disk: $disk MB/s with O_DIRECT (dd, 8 MiB reads, cold cache), measured in the same run."
