# tok_helper.bash — shared setup for sl-tok.bats and sl-detok.bats: where the tools, the models
# and the ground truth are, and a runner for the EXAMPLES of a man page.
#
# The ids written in these tests come from Hugging Face's tokenizers (Rust core, npm `tokenizers`
# 0.23.2, see tests/tok/README.md), never from sl-tok itself.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${SL_BIN:-$ROOT/bin}  # make check-asan: SL_BIN names the instrumented programs
TOK="$BIN/sl-tok"
DETOK="$BIN/sl-detok"
PY=${PYTHON:-/usr/bin/python3}
STORIES="$ROOT/models/stories260K-hf"
SMOLLM_DIR="$ROOT/tests/fixtures/smollm-tokenizer"
SMOLLM="$SMOLLM_DIR/tokenizer.json"
STORIES_GGUF="$ROOT/tests/fixtures/stories260K-gguf/stories260K-f32.gguf"
TOKDATA="$ROOT/tests/tok"

tok_setup() {
	unset SL_MODEL
	export SL_TOK_CACHE=${BATS_RUN_TMPDIR:-}  # compare.py keeps the parsed fixtures there
	PATH="$BIN:$PATH"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# ids TEXT...: the arguments as a token stream (one per line), for comparing with output.
ids() {
	printf '%s\n' "$@"
}

# with_timeout SECONDS CMD...: run CMD, fail (status 124) if it takes longer.
with_timeout() {
	timeout --kill-after=2 "$@"
}

# make_smollm_hf DIR: a tiny Llama HF directory (1 layer, hidden 64, zero weights) with SmolLM's
# real tokenizer.json and a tokenizer_config.json like the SmolLM repos' (unk_token set, which HF's
# Rust BPE model ignores), for testing the HF-directory and sl-quant-GGUF tokenizer paths.
make_smollm_hf() {
	mkdir -p "$1"
	cp "$SMOLLM" "$1/tokenizer.json"
	"$PY" - "$1" <<'PY'
import json, os, struct, sys
d = sys.argv[1]
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "bos_token_id": 0,
           "eos_token_id": 0, "hidden_act": "silu", "hidden_size": 64, "intermediate_size": 64,
           "max_position_embeddings": 2048, "num_attention_heads": 4, "num_hidden_layers": 1,
           "num_key_value_heads": 4, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
           "tie_word_embeddings": True, "torch_dtype": "float16", "vocab_size": 49152},
          open(os.path.join(d, "config.json"), "w"))
json.dump({"add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
           "unk_token": "<|endoftext|>", "clean_up_tokenization_spaces": False,
           "model_max_length": 2048, "tokenizer_class": "GPT2Tokenizer", "vocab_size": 49152},
          open(os.path.join(d, "tokenizer_config.json"), "w"))
shapes = {"model.embed_tokens.weight": [49152, 64], "model.norm.weight": [64]}
for n, s in (("input_layernorm", [64]), ("post_attention_layernorm", [64]),
             ("self_attn.q_proj", [64, 64]), ("self_attn.k_proj", [64, 64]), ("self_attn.v_proj", [64, 64]),
             ("self_attn.o_proj", [64, 64]), ("mlp.gate_proj", [64, 64]), ("mlp.up_proj", [64, 64]),
             ("mlp.down_proj", [64, 64])):
    shapes["model.layers.0.%s.weight" % n] = s
head, off = {}, 0
for name in sorted(shapes):
    n = 2
    for x in shapes[name]:
        n *= x
    head[name] = {"dtype": "F16", "shape": shapes[name], "data_offsets": [off, off + n]}
    off += n
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(d, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    f.truncate(8 + len(h) + off)  # zero weights: the tokenizer is what is tested
PY
}
