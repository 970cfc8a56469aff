#!/bin/sh
# chunk.sh — sl-chunk's time and peak memory on SmolLM-1.7B-shaped models, and what zstd gains
# per weight type and level, as Markdown tables (bench/out/chunk.md).
#
#   1. For each model (default: bench/out/smollm-1.7b-{q4_0,q8_0,q4_k_m}.gguf, from
#      bench/quant.sh, if present): sl-chunk's wall time and peak RSS (/usr/bin/time -v),
#      --verify, --join (and a byte comparison with the input), then the same with --zstd;
#      and sl-infer's load time and time to first id from the file and from the chunks.
#      sl-chunk maps its input and writes each chunk as it goes, so its RSS should stay near
#      the page cache it touches, not the model size.
#   2. zstd on one layer shard and on the core shard of each of those models, per level
#      (zstd -b: the same libzstd, its own timing of compression and decompression), and the
#      same for the embedded stories260K in every type, whose weights are real, trained ones
#      (the 1.7B-shaped models hold random weights, which compress worse than trained ones).
#
# usage: bench/chunk.sh [model.gguf ...]
# Environment: LEVELS (zstd levels, default "1 3 19"), BIG_LEVELS (levels for the 1.7B shards,
# default "1 3"), TYPES (stories260K types, default all).
set -eu

cd "$(dirname "$0")/.."
out=bench/out
levels=${LEVELS:-1 3 19}
big_levels=${BIG_LEVELS:-1 3}
types=${TYPES:-f32 f16 bf16 q8_0 q4_0 q4_k q6_k q4_k_m}
[ $# -gt 0 ] || set -- $(for t in q4_0 q8_0 q4_k_m; do f=$out/smollm-1.7b-$t.gguf; [ -f "$f" ] && echo "$f"; done)

for b in bin/sl-chunk bin/sl-quant; do
	[ -x "$b" ] || { echo "bench/chunk.sh: $b is missing: run make first" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench/chunk.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }
command -v zstd >/dev/null || { echo "bench/chunk.sh: the zstd tool is missing: apt-get install zstd" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "$out/chunk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# timed LOG CMD...: run CMD under /usr/bin/time -v; its stderr and the figures go to LOG
timed() {
	log=$1
	shift
	/usr/bin/time -v "$@" 2>"$log" || { cat "$log" >&2; exit 1; }
}
secs() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

# zbench FILE LEVEL -> "ratio compress-MB/s decompress-MB/s" (zstd's own benchmark, 1 s)
zbench() {
	zstd -b"$2" -e"$2" -i1 "$1" 2>&1 | tr '\r' '\n' | grep ' -> .*MB/s, ' | tail -n 1 |
		sed 's/.*(x\([0-9.]*\)), *\([0-9.]*\) MB\/s, *\([0-9.]*\) MB\/s.*/\1 \2 \3/'
}

# stored/size of a shard compressed at a level, as "0.97"
zline() {
	set -- $(zbench "$1" "$2")
	awk -v r="$1" -v c="$2" -v d="$3" 'BEGIN { printf "%.3f | %s | %s", 1 / r, c, d }'
}

{
	echo "## sl-chunk on SmolLM-1.7B shapes (default --size 512M)"
	echo
	echo "| model | size (MB) | chunks | chunk (s) | peak RSS (MiB) | verify (s) | join (s) | join = input | --zstd=3 (s) | stored/size | verify --zstd (s) | decompress+sum (MB/s) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
} >"$out/chunk.md"
for m in "$@"; do
	name=$(basename "$m" .gguf)
	echo "chunk.sh: $name" >&2
	d=$tmp/$name
	timed "$tmp/c.log" bin/sl-chunk -q -o "$d" "$m"
	timed "$tmp/v.log" bin/sl-chunk -q --verify "$d"
	timed "$tmp/j.log" bin/sl-chunk -q --join -o "$tmp/joined.gguf" "$d"
	same=no
	cmp -s "$m" "$tmp/joined.gguf" && same=yes
	rm -f "$tmp/joined.gguf"
	timed "$tmp/z.log" bin/sl-chunk -q --zstd=3 -o "$d-z" "$m"
	timed "$tmp/vz.log" bin/sl-chunk -q --verify "$d-z"
	# sl-infer from the file, the chunks and the compressed chunks (page cache warm).
	for how in file chunks zstd; do
		case $how in file) src=$m ;; chunks) src=$d ;; *) src=$d-z ;; esac
		# The second of two runs: the first after writing also moves the page cache to
		# 2 MiB pages (sl_map_prefault), once.
		for run in 1 2; do
			echo 1 | bin/sl-infer -m "$src" -n 1 --temp 0 --stats >/dev/null 2>"$tmp/i.log" ||
				{ cat "$tmp/i.log" >&2; exit 1; }
		done
		load=$(sed -n 's/.*load \([0-9.]*\) ms.*/\1/p' "$tmp/i.log")
		first=$(sed -n 's/.*first id after \([0-9.]*\) ms.*/\1/p' "$tmp/i.log")
		peak=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$tmp/i.log")
		echo "| $name | $how | $load | $first | $peak |" >>"$tmp/infer.md"
	done
	size=$(stat -c %s "$m")
	stored=$(cat "$d-z"/*.zst | wc -c)
	n=$(ls "$d" | grep -c '\.gguf$')
	awk -v m="$name" -v s="$size" -v n="$n" -v c="$(secs "$tmp/c.log")" -v r="$(rss "$tmp/c.log")" \
		-v v="$(secs "$tmp/v.log")" -v j="$(secs "$tmp/j.log")" -v same="$same" \
		-v z="$(secs "$tmp/z.log")" -v st="$stored" -v vz="$(secs "$tmp/vz.log")" 'BEGIN {
		printf "| %s | %.0f | %d | %.1f | %s | %.1f | %.1f | %s | %.1f | %.3f | %.1f | %.0f |\n",
			m, s / 1e6, n, c, r, v, j, same, z, st / s, vz, (vz > 0 ? s / vz / 1e6 : 0) }' >>"$out/chunk.md"
	rm -rf "$d-z"
	# The core shard and one layer shard through zstd's benchmark, then the chunks go.
	for what in core layers; do
		case $what in core) set -- "$d"/*-00001-of-*.gguf ;; *) set -- "$d"/*-00002-of-*.gguf ;; esac
		for l in $big_levels; do
			echo "chunk.sh: zstd -$l $name $what" >&2
			echo "| $name (random) | $what | $(awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.0f", s / 1e6 }') | $l | $(zline "$1" "$l") |" >>"$tmp/zbig.md"
		done
	done
	rm -rf "$d"
done

if [ -f "$tmp/infer.md" ]; then
	{
		echo
		echo "## sl-infer from the file and from chunks (1-id prompt, 1 id, second run: page cache warm)"
		echo
		echo "Uncompressed chunks are summed before first use (in the first id's time), zstd ones decompressed and summed at load."
		echo
		echo "| model | from | load (ms) | first id (ms) | peak RSS (MiB) |"
		echo "|---|---|---:|---:|---:|"
		cat "$tmp/infer.md"
	} >>"$out/chunk.md"
fi
{
	echo
	echo "## zstd per type and level"
	echo
	echo "stored/size = compressed bytes over shard bytes (lower is better); speeds from zstd -b"
	echo "(compression, and decompression into memory, 1 thread)."
	echo
	echo "| model | shard | MB | level | stored/size | compress (MB/s) | decompress (MB/s) |"
	echo "|---|---|---:|---:|---:|---:|---:|"
} >>"$out/chunk.md"
[ -f "$tmp/zbig.md" ] && cat "$tmp/zbig.md" >>"$out/chunk.md"
for t in $types; do
	echo "chunk.sh: stories260K $t" >&2
	bin/sl-quant -q -t "$t" -o "$tmp/s-$t.gguf" models/stories260K-hf
	bin/sl-chunk -q --layers 5 -o "$tmp/s-$t" "$tmp/s-$t.gguf"
	for what in core layers; do
		case $what in core) f=$tmp/s-$t/s-$t-00001-of-00002.gguf ;; *) f=$tmp/s-$t/s-$t-00002-of-00002.gguf ;; esac
		for l in $levels; do
			echo "| stories260K-$t (trained) | $what | $(awk -v s="$(stat -c %s "$f")" 'BEGIN { printf "%.2f", s / 1e6 }') | $l | $(zline "$f" "$l") |" >>"$out/chunk.md"
		done
	done
done
cat "$out/chunk.md"
