#!/bin/sh
# quant.sh — sl-quant's time and peak memory on a SmolLM-1.7B-sized model, as a Markdown table.
#
# Builds bench/out/smollm-1.7b-hf (bench/make_smollm_random.py: SmolLM-1.7B's shapes, random
# bf16 weights, 3.4 GB) if it is not there, then converts it with bin/sl-quant to each type
# and reports wall time, peak RSS (/usr/bin/time -v) and output size.  The outputs stay in
# bench/out/smollm-1.7b-TYPE.gguf: bench/infer.sh measures sl-infer on them.
#
# Peak RSS should stay under 300 MB plus the largest tensor (token_embd: 49152 x 2048 bf16 =
# 192 MiB), whatever the model size: sl-quant streams tensor by tensor and drops input pages.
#
# usage: bench/quant.sh [type...]        (default: q4_0 q8_0 q4_k_m)
# Environment: PYTHON (default /usr/bin/python3).  Results also go to bench/out/quant.md.
set -eu

cd "$(dirname "$0")/.."
out=bench/out
hf=$out/smollm-1.7b-hf
py=${PYTHON:-/usr/bin/python3}
types=${*:-q4_0 q8_0 q4_k_m}

[ -x bin/sl-quant ] || { echo "bench/quant.sh: bin/sl-quant is missing: run make first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/quant.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }
mkdir -p "$out"
if [ ! -f "$hf/model.safetensors" ]; then
	echo "quant.sh: writing $hf (3.4 GB of random bf16)" >&2
	"$py" bench/make_smollm_random.py "$hf"
fi
in_bytes=$(stat -c %s "$hf/model.safetensors")

{
	echo "## sl-quant on SmolLM-1.7B shapes (random bf16 input, $(awk -v b="$in_bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }'))"
	echo
	echo "| type | time (s) | MB/s of input | peak RSS (MiB) | output (MiB) | bits/weight |"
	echo "|---|---|---|---|---|---|"
} > "$out/quant.md"

for t in $types; do
	o=$out/smollm-1.7b-$t.gguf
	echo "quant.sh: $t" >&2
	/usr/bin/time -v bin/sl-quant -t "$t" -o "$o" "$hf" 2> "$out/quant-$t.log"
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$out/quant-$t.log")
	rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$out/quant-$t.log")
	bytes=$(stat -c %s "$o")
	bpw=$(sed -n 's/.*, \([0-9.]*\) bits per weight$/\1/p' "$out/quant-$t.log")
	awk -v t="$t" -v s="$secs" -v r="$rss" -v b="$bytes" -v i="$in_bytes" -v w="$bpw" 'BEGIN {
		printf "| %s | %.1f | %.0f | %s | %.0f | %s |\n", t, s, i / s / 1e6, r, b / 1048576, w }' >> "$out/quant.md"
done
cat "$out/quant.md"
