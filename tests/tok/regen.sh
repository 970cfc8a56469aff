#!/bin/sh
# regen.sh — remake the corpus and Hugging Face's expected ids and text (needs npm, not run by
# the tests).  The fixtures are committed, so `make check` needs neither npm nor node.
#   cd tests/tok && npm ci && ./regen.sh
set -eu
cd "$(dirname "$0")"
SMOLLM=${SMOLLM:-../fixtures/smollm-tokenizer/tokenizer.json}
STORIES=../../models/stories260K-hf/tokenizer.json
NODE=${NODE:-/usr/bin/node}
PY=${PYTHON:-/usr/bin/python3}
[ -d node_modules/tokenizers ] || { echo "regen.sh: run 'npm ci' here first" >&2; exit 1; }
"$PY" gen_corpus.py | xz -9e > corpus.jsonl.xz
xz -dc corpus.jsonl.xz | "$NODE" gen_expected.js "$SMOLLM" '<|endoftext|>' | xz -9e > expected-smollm.jsonl.xz
xz -dc corpus.jsonl.xz | "$NODE" gen_expected.js "$STORIES" '</s>' | xz -9e > expected-stories260K.jsonl.xz
xz -dc corpus.jsonl.xz | "$NODE" gen_nospecial.js "$SMOLLM" | xz -9e > expected-nospecial-smollm.json.xz
xz -dc corpus.jsonl.xz | "$NODE" gen_nospecial.js "$STORIES" | xz -9e > expected-nospecial-stories260K.json.xz
ls -l corpus.jsonl.xz expected-*.xz
"$PY" gen_sweep.py > sweep.tmp
{ "$NODE" gen_sweep_expected.js smollm "$SMOLLM" sweep.tmp
  "$NODE" gen_sweep_expected.js stories260K "$STORIES" sweep.tmp; } > expected-sweep.jsonl
rm -f sweep.tmp
