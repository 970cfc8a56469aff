#!/bin/sh
# web.sh — the page's speed in headless Chromium on SmolLM-1.7B's shapes, Q4_0 (make bench-web).
#
# The model: $SL_WEB_MODEL, else bench/out/smollm-1.7b-q4_0.gguf (made by bench/quant.sh q4_0
# from bench/make_smollm_random.py's random weights if it is not there).  It is chunked one
# layer per chunk into bench/out/NAME/ (sl-chunk --layers 1: the prompt starts on layer 0 as
# soon as its 38 MB are in), then bench/web.mjs measures 1 and 2 threads (THREADS="1 2").
# The table goes to the standard output and to bench/out/web.md.
set -eu

cd "$(dirname "$0")/.."
out=bench/out
model=${SL_WEB_MODEL:-$out/smollm-1.7b-q4_0.gguf}
threads=${THREADS:-1 2}

for f in bin/sl-chunk web/dist/index.html web/dist/sl-mt.wasm node_modules/playwright-core/package.json; do
	[ -e "$f" ] || { echo "bench/web.sh: $f is missing (make, make wasm, make deps)" >&2; exit 1; }
done
mkdir -p "$out"
if [ ! -f "$model" ]; then
	[ -z "${SL_WEB_MODEL:-}" ] || { echo "bench/web.sh: $model: no such file" >&2; exit 1; }
	echo "web.sh: making $model (bench/quant.sh q4_0)" >&2
	bench/quant.sh q4_0 >/dev/null
fi
name=$(basename "$model" .gguf)
dir=$out/$name
if [ ! -f "$dir/manifest.json" ] || [ "$model" -nt "$dir/manifest.json" ]; then
	echo "web.sh: chunking $model into $dir" >&2
	bin/sl-chunk -q --layers 1 -o "$dir" "$model"
fi
# shellcheck disable=SC2086
node bench/web.mjs "$dir" $threads | tee "$out/web.md"
