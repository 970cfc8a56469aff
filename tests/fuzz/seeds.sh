#!/usr/bin/env bash
# tests/fuzz/seeds.sh — (re)make the seed corpora tests/fuzz/corpus/NAME/ from the test fixtures
# and from tiny models made by the tools (run from the tree's root after make).  The fuzzer
# adds what it finds to build-fuzz/corpus/NAME/; `make fuzz-merge` folds those back, minimized.
set -euo pipefail
cd "$(dirname "$0")/../.."
C=tests/fuzz/corpus
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p $C/{tokio,tok,safetensors,gguf,hf,manifest}
PY=${PYTHON:-/usr/bin/python3}

# A tiny random model, HF (2 shards, bf16) and GGUF (f32, q8_0), and its chunk directories.
"$PY" tests/ref/make_hf_model.py --hidden 32 --layers 2 --heads 2 --kv-heads 1 --ffn 32 --context 16 \
	--dtype bf16 --shards 2 "$T/hf" >/dev/null
"$PY" tests/ref/make_hf_model.py --hidden 32 --layers 1 --heads 2 --kv-heads 1 --ffn 32 --context 16 \
	--untied "$T/hf1" >/dev/null
bin/sl-quant -q -t f32 -o "$T/f32.gguf" "$T/hf1"
bin/sl-quant -q -t q8_0 -o "$T/q8_0.gguf" "$T/hf"
bin/sl-chunk -q --layers 1 -o "$T/chunks" "$T/q8_0.gguf"
bin/sl-chunk -q --zstd -o "$T/chunksz" "$T/f32.gguf"

# token streams
printf '1\n403\n407\n' > $C/tokio/lines
printf '1 2\t3\r\n4\n\n  5' > $C/tokio/mixed
printf '2147483647\n2147483648\n' > $C/tokio/max
printf '12 x3 7\n' > $C/tokio/bad
printf '\n' > $C/tokio/empty-line
head -c 2000 tests/fixtures/tinystories-sample/tinystories.txt | bin/sl-tok > $C/tokio/story

# tokenizer: texts (encoded by both fixed tokenizers) and a tokenizer.json + NUL + text
head -c 600 tests/fixtures/tinystories-sample/tinystories.txt > $C/tok/story
printf 'Hello, world! 12345 3.14 <s></s><|endoftext|><|im_start|>user\n  \t\r\n' > $C/tok/specials
printf 'caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 \xd0\xbf\xd1\x80\xd0\xb8' > $C/tok/unicode
printf 'bad \xc3 utf8 \xff\xfe' > $C/tok/invalid
{ cat models/stories260K-hf/tokenizer.json; printf '\0Once upon a time <s> 42\n'; } > $C/tok/json-stories260K

# safetensors: the tiny model's shards (a header and a few KB each) and its index
cp "$T/hf/model.safetensors.index.json" $C/safetensors/index.json
i=0; for f in "$T"/hf/*.safetensors; do i=$((i + 1)); head -c 4096 "$f" > $C/safetensors/shard$i-head; done
cp "$T/hf1/model.safetensors" $C/safetensors/one-f32
"$PY" - "$C/safetensors" <<'PYEOF'
import json, struct, sys
d = sys.argv[1]
def st(name, hdr, data=b""):
    h = json.dumps(hdr).encode()
    open(f"{d}/{name}", "wb").write(struct.pack("<Q", len(h)) + h + data)
st("dtypes", {"__metadata__": {"format": "pt"},
	      "a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]},
	      "b": {"dtype": "BF16", "shape": [3], "data_offsets": [8, 14]},
	      "c": {"dtype": "I64", "shape": [1], "data_offsets": [14, 22]},
	      "d": {"dtype": "F32", "shape": [], "data_offsets": [22, 26]}}, bytes(range(26)))
st("empty", {})
PYEOF
printf '{"weight_map":{"a.weight":"model-00001-of-00002.safetensors","c.weight":"model-00002-of-00002.safetensors","b.weight":"model-00001-of-00002.safetensors","d.weight":"model-00002-of-00002.safetensors"}}' > $C/safetensors/index-fuzzdir.json

# GGUF: the tiny models (whole), and stories260K's q4_0 header
cp "$T/f32.gguf" $C/gguf/tiny-f32.gguf
cp "$T/q8_0.gguf" $C/gguf/tiny-q8_0.gguf
head -c 24576 tests/fixtures/stories260K-gguf/stories260K-q4_0.gguf > $C/gguf/stories260K-q4_0-head.gguf

# HF config.json (with a generation_config.json line: "#gen JSON")
cp models/stories260K-hf/config.json $C/hf/stories260K.json
for f in tests/fixtures/smollm-configs/*.json; do cp "$f" "$C/hf/$(basename "$f")"; done
{ printf '#gen '; tr -d '\n' < models/stories260K-hf/generation_config.json; echo; cat models/stories260K-hf/config.json; } > $C/hf/stories260K-gen.json
{ printf '#gen {"eos_token_id":[2,0,1]}\n'; cat models/stories260K-hf/config.json; } > $C/hf/stories260K-eos-list.json

# manifests
cp "$T/chunks/manifest.json" $C/manifest/layers1.json
cp "$T/chunksz/manifest.json" $C/manifest/zstd.json
du -sh tests/fuzz/corpus
