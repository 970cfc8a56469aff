#!/bin/sh
# wasm-kernels.sh — the WebAssembly kernel sets (wasm-simd128 and the reference) under node:
# bench/wasmk from build-wasm/ (1 thread) and build-wasm-mt/ (2 threads), as a Markdown
# table of G weights/s (rows·cols·tokens per second, best call of SECS seconds).
# usage: make bench-wasm-kernels   (builds both, then runs this)
# Environment: SECS (default 0.5), THREADS (the mt build's thread count, default 2).
set -eu
cd "$(dirname "$0")/.."
secs=${SECS:-0.5}
n=${THREADS:-2}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
build-wasm/bench/wasmk 1 "$secs" >>"$out"
build-wasm-mt/bench/wasmk "$n" "$secs" >>"$out"
echo "| type | rows×cols | tokens | threads | wasm-simd128 | ref | ratio |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk '$1 == "wasmk" { k = $3 " " $4 " " $5 " " $6; v[k, $2] = $7; if (!(k in seen)) { seen[k] = 1; o[++n] = k } }
END { for (i = 1; i <= n; i++) { split(o[i], f, " "); a = v[o[i], "wasm-simd128"]; b = v[o[i], "ref"];
	printf "| %s | %s | %d | %d | %s | %s | %.1fx |\n", f[1], f[2], f[3], f[4], a, b, (b > 0 ? a / b : 0) } }' "$out"
