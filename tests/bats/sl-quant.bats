#!/usr/bin/env bats
# sl-quant: HF safetensors / GGUF → GGUF v3.  References: llama.cpp's own files for stories260K
# (tests/fixtures/stories260K-gguf, see its SOURCE.md) and random models from make_hf_model.py.

load quant_helper
load man_helper

setup() {
	T=$BATS_TEST_TMPDIR
}

# ==== CLI ====

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr "$QUANT" --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: sl-quant [-qv] [--stats] [-j threads] [-t type] [-o out] model" ]
	[ "${lines[1]}" = "       sl-quant --info model" ]
	[[ "$output" == *"q4_k_m"* ]]
	[ -z "$stderr" ]
}

@test "--version prints the name and version" {
	run "$QUANT" -V
	[ "$status" -eq 0 ]
	[ "$output" = "sl-quant 0.1.0" ]
}

@test "an unknown type is a usage error" {
	run --separate-stderr "$QUANT" -t q5_k "$STORIES_HF"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-quant: unknown type 'q5_k' (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q3_k, q2_k, q4_k_m, q3_k_m, q2_k_m, q4_k_m_e3)" ]
	[ "${stderr_lines[1]}" = "usage: sl-quant [-qv] [--stats] [-j threads] [-t type] [-o out] model" ]
	[ "${stderr_lines[3]}" = "Try 'sl-quant --help' for more information." ]
}

@test "no model is a usage error" {
	run --separate-stderr "$QUANT" -t f32
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-quant: no model given" ]
}

@test "two models are a usage error" {
	run --separate-stderr "$QUANT" a b
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-quant: one model at a time" ]
}

# ==== against llama.cpp ====

@test "f32 of stories260K has llama.cpp's tensors, bytes and permuted attn_q/attn_k" {
	run "$QUANT" -q -t f32 -o "$T/s.gguf" "$STORIES_HF"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# same names, shapes, types and data, in any order (llama.cpp's converter permuted q/k too)
	diff <(gguf_tensors "$T/s.gguf" | sort) <(gguf_tensors "$REF_GGUF/stories260K-f32.gguf" | sort)
}

@test "the unpermuted attn_q would differ: the check above is not vacuous" {
	"$QUANT" -q -t f32 -o "$T/s.gguf" "$STORIES_HF"
	q_ours=$(gguf_tensors "$T/s.gguf" | awk '$1 == "blk.0.attn_q.weight" { print $4 }')
	q_hf=$("$PY" -c '
import hashlib, json, struct, sys
d = open(sys.argv[1], "rb").read(); n, = struct.unpack_from("<Q", d, 0); h = json.loads(d[8:8 + n])
b, e = h["model.layers.0.self_attn.q_proj.weight"]["data_offsets"]
print(hashlib.sha256(d[8 + n + b:8 + n + e]).hexdigest()[:16])' "$STORIES_HF/model.safetensors")
	[ -n "$q_ours" ] && [ "$q_ours" != "$q_hf" ]
}

@test "f32 metadata: llama.cpp keys, tokenizer, and sl.eog_token_ids from generation_config" {
	"$QUANT" -q -t f32 -o "$T/s.gguf" "$STORIES_HF"
	gguf_kvs "$T/s.gguf" > "$T/ours"
	gguf_kvs "$REF_GGUF/stories260K-f32.gguf" > "$T/ref"
	grep -qx "general.architecture 8 llama" "$T/ours"
	grep -qx "general.name 8 stories260K" "$T/ours"
	grep -qx "general.file_type 4 0" "$T/ours"
	! grep -q "^general.quantization_version" "$T/ours"
	grep -qx "sl.eog_token_ids 9 \[2, 1\]" "$T/ours"
	# the same hyper-parameters and tokenizer as llama.cpp's converter wrote (same types too)
	for k in llama.context_length llama.embedding_length llama.block_count llama.feed_forward_length \
		llama.rope.dimension_count llama.rope.freq_base llama.attention.head_count \
		llama.attention.head_count_kv llama.attention.layer_norm_rms_epsilon llama.vocab_size \
		tokenizer.ggml.model tokenizer.ggml.tokens tokenizer.ggml.token_type tokenizer.ggml.scores tokenizer.ggml.bos_token_id \
		tokenizer.ggml.eos_token_id tokenizer.ggml.unknown_token_id tokenizer.ggml.add_bos_token; do
		[ "$(grep "^$k " "$T/ours")" = "$(grep "^$k " "$T/ref")" ]
	done
}

@test "q8_0 and q4_0 blocks are bit-identical to llama-quantize's" {
	for t in q8_0 q4_0; do
		"$QUANT" -q -t $t -o "$T/$t.gguf" "$REF_GGUF/stories260K-f32.gguf"
		# llama-quantize kept ffn_down in F32 (172 is not a multiple of 32); we fall back to F16
		diff <(gguf_tensors "$T/$t.gguf" | grep -v ffn_down) \
		     <(gguf_tensors "$REF_GGUF/stories260K-$t.gguf" | grep -v ffn_down | sort -k1,1 | \
		       join -1 1 -2 1 <(gguf_tensors "$T/$t.gguf" | grep -v ffn_down | awk '{print $1}' | \
		       nl -ba | sort -k2,2 | awk '{print $2, $1}') - | sort -k2,2n | awk '{print $1, $3, $4, $5}')
		[ "$(gguf_tensors "$T/$t.gguf" | grep -c " 2 \| 8 ")" -eq 31 ]
	done
}

@test "rows that are not whole blocks fall back to f16 and say so" {
	run --separate-stderr "$QUANT" -t q8_0 -o "$T/s.gguf" "$STORIES_HF"
	[ "$status" -eq 0 ]
	[ "${stderr_lines[0]}" = "sl-quant: blk.0.ffn_down.weight: rows of 172 are not a multiple of the q8_0 block (32): using f16" ]
	[ "$(gguf_tensors "$T/s.gguf" | awk '$1 ~ /ffn_down/ { print $3 }' | sort -u)" = 1 ]
	[[ "${stderr_lines[5]}" == "sl-quant: $T/s.gguf: q8_0, 47 tensors, 260032 parameters, "* ]]
}

@test "-q silences the fallback messages" {
	run --separate-stderr "$QUANT" -q -t q4_k -o "$T/s.gguf" "$STORIES_HF"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "K-quants fall back to q8_0 for rows of 64, then f16 for 172" {
	"$QUANT" -q -t q6_k -o "$T/s.gguf" "$STORIES_HF"
	[ "$(gguf_tensors "$T/s.gguf" | awk '$1 == "blk.0.attn_q.weight" { print $3 }')" = 8 ]
	[ "$(gguf_tensors "$T/s.gguf" | awk '$1 == "blk.0.ffn_down.weight" { print $3 }')" = 1 ]
}

# ==== every type ====

@test "every type writes a well-formed file with the expected tensor types" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 512 --layers 2
	for spec in f32:0 f16:1 bf16:30 q8_0:8 q4_0:2 q4_k:12 q6_k:14 q3_k:11 q2_k:10; do
		t=${spec%%:*} id=${spec#*:}
		run "$QUANT" -q -t $t -o "$T/$t.gguf" "$T/m"
		[ "$status" -eq 0 ]
		# packed as llama.cpp wants; norms F32, every 2-D weight the requested type
		gguf_tensors "$T/$t.gguf" > "$T/$t.txt"
		[ "$(awk '$2 !~ /x/ { print $3 }' "$T/$t.txt" | sort -u)" = 0 ]
		[ "$(awk '$2 ~ /x/ { print $3 }' "$T/$t.txt" | sort -u)" = "$id" ]
	done
	run "$QUANT" --info "$T/q6_k.gguf"
	[ "$status" -eq 0 ]
	[ "$(gguf_kv "$T/q4_k.gguf" general.file_type)" = $'14\ntype=4' ]
	[ "$(gguf_kv "$T/q4_0.gguf" general.quantization_version)" = $'2\ntype=4' ]
}

@test "q4_k_m: output and the use_more_bits layers' attn_v and ffn_down in q6_k, the rest q4_k" {
	# 8 layers: use_more_bits(i, 8) holds for i = 0, 3, 6, 7 (i < 1, i >= 7, (i - 1) % 3 == 2)
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 256 --layers 8 --untied
	"$QUANT" -q -t q4_k_m -o "$T/m.gguf" "$T/m"
	q6=$(gguf_tensors "$T/m.gguf" | awk '$3 == 14 { print $1 }')
	[ "$q6" = "blk.0.attn_v.weight
blk.0.ffn_down.weight
blk.3.attn_v.weight
blk.3.ffn_down.weight
blk.6.attn_v.weight
blk.6.ffn_down.weight
blk.7.attn_v.weight
blk.7.ffn_down.weight
output.weight" ]
	[ "$(gguf_tensors "$T/m.gguf" | awk '$1 == "token_embd.weight" { print $3 }')" = 12 ]
	[ "$(gguf_kv "$T/m.gguf" general.file_type)" = $'15\ntype=4' ]
}

@test "q3_k and q2_k: an independent reader (gguf_ref.py) dequantizes them close to the source weights" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 512 --layers 2 --untied
	for t in q4_k q3_k q2_k; do "$QUANT" -q -t $t -o "$T/$t.gguf" "$T/m"; done
	# relative RMSE of every weight matrix against the safetensors original, per type: a bit
	# order that differed between writer and reader would give errors near 1 (or above)
	run "$PY" -c '
import json, struct, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import gguf_ref
raw = open(sys.argv[2] + "/model.safetensors", "rb").read()
n, = struct.unpack_from("<Q", raw, 0); hdr = json.loads(raw[8:8 + n])
def src(name):
    h = hdr[name]; b, e = h["data_offsets"]
    return np.frombuffer(raw[8 + n + b:8 + n + e], "<f4").reshape(h["shape"]).astype(np.float64)
worst = {}
for t in ("q4_k", "q3_k", "q2_k"):
    cfg, W = gguf_ref.hf_weights_from_gguf(sys.argv[3] + "/" + t + ".gguf")
    worst[t] = max(np.sqrt(((w - src(k)) ** 2).sum() / (src(k) ** 2).sum()) for k, w in W.items() if w.ndim == 2)
print(" ".join("%s %.3f" % kv for kv in worst.items()))
# 16 values per scale at 3 or 2 bits (Gaussian weights): about 0.15 and 0.30; Q4_K about 0.07
assert worst["q3_k"] < 0.2 and worst["q2_k"] < 0.36, worst
assert worst["q4_k"] < worst["q3_k"] < worst["q2_k"], worst
' "$ROOT/tests/ref" "$T/m" "$T"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "q3_k and q2_k blocks equal a second implementation of ggml's reference quantizers (kquant_ref.py)" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 512 --layers 1 --untied --seed 7
	"$QUANT" -q -t q3_k -o "$T/11.gguf" "$T/m"
	"$QUANT" -q -t q2_k -o "$T/10.gguf" "$T/m"
	# the tensors sl-quant does not permute, requantized from the safetensors in numpy
	run "$PY" -c '
import json, struct, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import gguf_ref, kquant_ref
raw = open(sys.argv[2] + "/model.safetensors", "rb").read()
n, = struct.unpack_from("<Q", raw, 0); hdr = json.loads(raw[8:8 + n])
def src(name):
    h = hdr[name]; b, e = h["data_offsets"]
    return np.frombuffer(raw[8 + n + b:8 + n + e], "<f4")
names = {"token_embd.weight": "model.embed_tokens.weight", "output.weight": "lm_head.weight",
         "blk.0.attn_v.weight": "model.layers.0.self_attn.v_proj.weight",
         "blk.0.attn_output.weight": "model.layers.0.self_attn.o_proj.weight",
         "blk.0.ffn_gate.weight": "model.layers.0.mlp.gate_proj.weight",
         "blk.0.ffn_up.weight": "model.layers.0.mlp.up_proj.weight",
         "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight"}
bad = 0
for t in (11, 10):
    kv, ts = gguf_ref.read_gguf("%s/%d.gguf" % (sys.argv[3], t))
    for g, h in names.items():
        assert ts[g][0] == t, (g, ts[g][0])
        same = kquant_ref.quantize(t, src(h)) == ts[g][2]
        bad += not same
        print(t, g, "same" if same else "DIFFERENT")
sys.exit(bad)
' "$ROOT/tests/ref" "$T/m" "$T"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' same$' <<< "$output")" -eq 14 ]
}

@test "q3_k_m: output q6_k; attn_v q6_k in layers 0-1, else q4_k; ffn_down q6_k below n/16, else q4_k; attn_output q4_k" {
	# 16 layers: n/16 = 1, so ffn_down of layer 0 is raised
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 256 --layers 16 --untied
	"$QUANT" -q -t q3_k_m -o "$T/m.gguf" "$T/m"
	gguf_tensors "$T/m.gguf" > "$T/t"
	[ "$(awk '$3 == 14 { print $1 }' "$T/t")" = "blk.0.attn_v.weight
blk.0.ffn_down.weight
blk.1.attn_v.weight
output.weight" ]
	[ "$(awk '$3 == 12 { print $1 }' "$T/t" | grep -c attn_output)" -eq 16 ]
	[ "$(awk '$3 == 12 { print $1 }' "$T/t" | grep -c attn_v)" -eq 14 ]
	[ "$(awk '$3 == 12 { print $1 }' "$T/t" | grep -c ffn_down)" -eq 15 ]
	[ "$(awk '$3 == 11 { print $1 }' "$T/t" | sed 's/^blk\.[0-9]*\.//' | sort | uniq -c | awk '{print $2, $1}' | tr '\n' ' ')" = \
	  "attn_k.weight 16 attn_q.weight 16 ffn_gate.weight 16 ffn_up.weight 16 token_embd.weight 1 " ]
	[ "$(gguf_kv "$T/m.gguf" general.file_type)" = $'12\ntype=4' ]
}

@test "q2_k_m (llama.cpp's Q2_K): attn_v, attn_output, ffn_down in q3_k, attn_v q4_k with 4 heads per kv head" {
	make_model "$T/a" --hidden 256 --heads 4 --kv-heads 2 --ffn 256 --layers 2
	make_model "$T/b" --hidden 256 --heads 4 --kv-heads 1 --ffn 256 --layers 2
	"$QUANT" -q -t q2_k_m -o "$T/a.gguf" "$T/a"
	"$QUANT" -q -t q2_k_m -o "$T/b.gguf" "$T/b"
	gguf_tensors "$T/a.gguf" | awk '$2 ~ /x/ { print $1, $3 }' > "$T/a.txt"
	# tied: token_embd is the output head, q6_k
	[ "$(grep -c ' 14$' "$T/a.txt")" -eq 1 ] && grep -qx "token_embd.weight 14" "$T/a.txt"
	[ "$(grep ' 11$' "$T/a.txt" | sed 's/^blk\.[0-9]*\.//; s/ .*//' | sort -u | tr '\n' ' ')" = "attn_output.weight attn_v.weight ffn_down.weight " ]
	[ "$(grep ' 10$' "$T/a.txt" | sed 's/^blk\.[0-9]*\.//; s/ .*//' | sort -u | tr '\n' ' ')" = "attn_k.weight attn_q.weight ffn_gate.weight ffn_up.weight " ]
	[ "$(gguf_tensors "$T/b.gguf" | awk '$1 ~ /attn_v/ { print $3 }' | sort -u)" = 12 ]
	[ "$(gguf_kv "$T/a.gguf" general.file_type)" = $'10\ntype=4' ]
}

@test "q4_k_m_e3: q4_k_m with the tied token_embd in q3_k" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 256 --layers 8
	"$QUANT" -q -t q4_k_m -o "$T/a.gguf" "$T/m"
	"$QUANT" -q -t q4_k_m_e3 -o "$T/b.gguf" "$T/m"
	[ "$(gguf_tensors "$T/b.gguf" | awk '$1 == "token_embd.weight" { print $3 }')" = 11 ]
	# everything else as q4_k_m
	diff <(gguf_tensors "$T/a.gguf" | grep -v token_embd) <(gguf_tensors "$T/b.gguf" | grep -v token_embd)
}

@test "q3_k and q2_k fall back to q4_0 for rows of 64, then f16 for 172" {
	run --separate-stderr "$QUANT" -t q3_k -o "$T/s.gguf" "$STORIES_HF"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sl-quant: blk.0.attn_q.weight: rows of 64 are not a multiple of the q3_k block (256): using q4_0"* ]]
	[[ "$stderr" == *"sl-quant: blk.0.ffn_down.weight: rows of 172 are not a multiple of the q3_k block (256): using f16"* ]]
	[ "$(gguf_tensors "$T/s.gguf" | awk '$1 == "blk.0.attn_q.weight" { print $3 }')" = 2 ]
	[ "$(gguf_tensors "$T/s.gguf" | awk '$1 == "blk.0.ffn_down.weight" { print $3 }')" = 1 ]
	"$QUANT" -q -t q2_k -o "$T/s2.gguf" "$STORIES_HF"
	[ "$(gguf_tensors "$T/s2.gguf" | awk '$1 == "token_embd.weight" { print $3 }')" = 2 ]
}

@test "q4_k_m with tied embeddings puts token_embd in q6_k (it is the output head)" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 256 --layers 2
	"$QUANT" -q -t q4_k_m -o "$T/m.gguf" "$T/m"
	[ "$(gguf_tensors "$T/m.gguf" | awk '$1 == "token_embd.weight" { print $3 }')" = 14 ]
	[ -z "$(gguf_tensors "$T/m.gguf" | awk '$1 == "output.weight"')" ]
}

@test "f16 and bf16 safetensors convert without loss: same bytes as from the f32 original" {
	make_model "$T/a/m" --dtype f32
	make_model "$T/b/m" --dtype f16
	make_model "$T/c/m" --dtype bf16
	"$QUANT" -q -t f16 -o "$T/a16.gguf" "$T/a/m"
	"$QUANT" -q -t f16 -o "$T/b16.gguf" "$T/b/m"
	"$QUANT" -q -t bf16 -o "$T/abf.gguf" "$T/a/m"
	"$QUANT" -q -t bf16 -o "$T/cbf.gguf" "$T/c/m"
	# the weight matrices (norms stay F32, so they keep the input's precision)
	diff <(gguf_tensors "$T/a16.gguf" | grep ' [0-9]*x') <(gguf_tensors "$T/b16.gguf" | grep ' [0-9]*x')
	diff <(gguf_tensors "$T/abf.gguf" | grep ' [0-9]*x') <(gguf_tensors "$T/cbf.gguf" | grep ' [0-9]*x')
}

@test "a sharded model gives the same file as a single one" {
	make_model "$T/a/m" --shards 1 --untied --dtype bf16
	make_model "$T/b/m" --shards 3 --untied --dtype bf16
	[ -f "$T/b/m/model.safetensors.index.json" ]
	"$QUANT" -q -t q8_0 -o "$T/a.gguf" "$T/a/m"
	"$QUANT" -q -t q8_0 -o "$T/b.gguf" "$T/b/m"
	cmp "$T/a.gguf" "$T/b.gguf"
}

@test "same input, same bytes out, whatever the number of threads" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 256
	"$QUANT" -q -j 1 -t q4_k_m -o "$T/1.gguf" "$T/m"
	"$QUANT" -q -j 3 -t q4_k_m -o "$T/2.gguf" "$T/m"
	"$QUANT" -q -t q4_k_m -o "$T/3.gguf" "$T/m"
	cmp "$T/1.gguf" "$T/2.gguf"
	cmp "$T/1.gguf" "$T/3.gguf"
}

@test "a bad thread count is a usage error" {
	run --separate-stderr "$QUANT" -j -1 "$STORIES_HF"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-quant: -j: -1 is out of range [0, 1024]" ]
}

@test "re-quantizing our f32 GGUF gives the same file as quantizing the HF directory" {
	"$QUANT" -q -t f32 -o "$T/s.gguf" "$STORIES_HF"
	"$QUANT" -q -t q4_0 -o "$T/from-gguf.gguf" "$T/s.gguf"
	"$QUANT" -q -t q4_0 -o "$T/from-hf.gguf" "$STORIES_HF"
	cmp "$T/from-gguf.gguf" "$T/from-hf.gguf"
}

@test "SmolLM's tokenizer becomes gpt2 / smollm with merges, chat template and eog list" {
	make_model "$T/m" --tokenizer smollm --hidden 64 --heads 2 --kv-heads 1 --ffn 128 --layers 1 \
		--chat-template --eos 0,2
	"$QUANT" -q -t f16 -o "$T/m.gguf" "$T/m"
	gguf_kvs "$T/m.gguf" > "$T/kv"
	grep -qx "tokenizer.ggml.model 8 gpt2" "$T/kv"
	grep -qx "tokenizer.ggml.pre 8 smollm" "$T/kv"
	want=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"]["merges"][:8])' "$T/m/tokenizer.json")
	[[ "$(grep '^tokenizer.ggml.merges ' "$T/kv")" == "tokenizer.ggml.merges 9 $want (48900, "* ]]
	grep -q "^tokenizer.ggml.token_type 9 \\[3, 3, 3, 3, 3, 3, 3, 3\\] (49152, " "$T/kv"
	grep -qx "sl.eog_token_ids 9 \[0, 2\]" "$T/kv"
	grep -qx "tokenizer.ggml.add_bos_token 7 False" "$T/kv"
	grep -q "^tokenizer.chat_template 8 {% for message in messages %}" "$T/kv"
	! grep -q "^tokenizer.ggml.scores" "$T/kv"
}

# ==== --info, --stats ====

@test "--info describes a GGUF file: hyper-parameters, tokenizer, tensors, totals" {
	run --separate-stderr "$QUANT" --info "$REF_GGUF/stories260K-q8_0.gguf"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "architecture:  llama" ]
	[ "${lines[3]}" = "file type:     7 (q8_0)" ]
	[[ "$output" == *$'\nlayers:        5\n'* ]]
	[[ "$output" == *"tokenizer:     llama pre default, 512 tokens, 0 merges, bos 1, eos 2, unk 0, pad -, add_bos yes"* ]]
	[[ "$output" == *$'\nblk.0.attn_q.weight              64 x 64          q8_0           4352   8.500\n'* ]]
	[ "${lines[${#lines[@]}-1]}" = "total: 47 tensors, 260032 parameters, 440032 bytes, 13.538 bits per weight" ]
}

@test "--info describes an HF directory" {
	run --separate-stderr "$QUANT" --info "$STORIES_HF"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "file:          $STORIES_HF (Hugging Face directory, 1 safetensors file)" ]
	[[ "$output" == *$'\nheads:         8 (key/value heads 4, head dim 8)\n'* ]]
	[[ "$output" == *$'\neog ids:       2 1\n'* ]]
	[[ "$output" == *$'\nmodel.layers.0.mlp.down_proj.weight 64 x 172         F32           44032  32.000\n'* ]]
}

@test "--stats prints each tensor's error on stderr" {
	run --separate-stderr "$QUANT" -q --stats -t q8_0 -o "$T/s.gguf" "$STORIES_HF"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "${stderr_lines[0]}" == "tensor "*"rmse"*"max_abs_err"*"rel_err" ]]
	[[ "$stderr" == *$'\nblk.0.attn_norm.weight       f32               0            0    0.0000%\n'* ]]
	# Q8_0 relative error is well under 1%
	rel=$(printf '%s\n' "${stderr_lines[@]}" | awk '$1 == "blk.0.attn_q.weight" { sub("%", "", $5); print $5 }')
	awk -v r="$rel" 'BEGIN { exit !(r > 0 && r < 1) }'
}

@test "--info refuses -o" {
	run --separate-stderr "$QUANT" --info -o x "$STORIES_HF"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-quant: --info takes no -o or --stats" ]
}

# ==== output file ====

@test "without -o the output is DIR/model-TYPE.gguf" {
	cp -r "$STORIES_HF" "$T/st"
	run "$QUANT" -q -t q4_0 "$T/st"
	[ "$status" -eq 0 ]
	[ -f "$T/st/model-q4_0.gguf" ]
	run "$QUANT" -q -t q8_0 "$T/st/model-q4_0.gguf"
	[ "$status" -eq 1 ]
	run "$QUANT" -q -t f16 -o "$T/st/x.gguf" "$T/st"
	"$QUANT" -q -t q8_0 "$T/st/x.gguf"
	[ -f "$T/st/x-q8_0.gguf" ]
}

@test "a write failure leaves neither the output nor a temporary file" {
	run --separate-stderr bash -c "trap '' XFSZ; ulimit -f 100; exec '$QUANT' -q -t f32 -o '$T/big.gguf' '$STORIES_HF'"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/big.gguf: write: File too large" ]
	no_output "$T/big.gguf"
}

# ==== malformed input: one message each, exit 1, no output ====

@test "a missing input is reported with its path" {
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/nope"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/nope: No such file or directory" ]
	no_output "$T/o.gguf"
}

@test "a directory without config.json is not a model" {
	mkdir "$T/empty"
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/empty"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/empty: not a Hugging Face model directory (no config.json)" ]
}

@test "an unsupported architecture is refused" {
	cp -r "$STORIES_HF" "$T/m"
	json_edit "$T/m/config.json" 'j["model_type"] = "mistral"'
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/config.json: unsupported architecture mistral (only llama)" ]
	no_output "$T/o.gguf"
}

@test "a missing config key is named" {
	cp -r "$STORIES_HF" "$T/m"
	json_edit "$T/m/config.json" 'del j["intermediate_size"]'
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/config.json: missing key intermediate_size" ]
}

@test "a vocab_size the embedding does not have is refused before anything is sized by it" {
	cp -r "$STORIES_HF" "$T/m"
	json_edit "$T/m/config.json" 'j["vocab_size"] = 51441512'
	run --separate-stderr timeout 10 "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/config.json: vocab_size 51441512, but model.embed_tokens.weight has 512 rows" ]
	no_output "$T/o.gguf"
}

@test "a bad eos_token_id in generation_config.json is refused" {
	cp -r "$STORIES_HF" "$T/m"
	json_edit "$T/m/generation_config.json" 'j["eos_token_id"] = [2, 9999]'
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/generation_config.json: eos_token_id holds something other than a token id below 512" ]
}

@test "a safetensors header length past the end of the file is refused" {
	cp -r "$STORIES_HF" "$T/m"
	st_corrupt "$T/m/model.safetensors" header_past_end
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/model.safetensors: header length 2089984 is past the end of the file (1044992 bytes)" ]
	no_output "$T/o.gguf"
}

@test "truncated safetensors data is refused" {
	cp -r "$STORIES_HF" "$T/m"
	st_corrupt "$T/m/model.safetensors" truncate
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/model.safetensors: tensor model.norm.weight: data_offsets end 1040128 is past the end of the data (1040118 bytes; truncated?)" ]
}

@test "overlapping safetensors offsets are refused" {
	cp -r "$STORIES_HF" "$T/m"
	st_corrupt "$T/m/model.safetensors" overlap
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/model.safetensors: tensor model.layers.0.input_layernorm.weight overlaps tensor model.embed_tokens.weight" ]
}

@test "an unsupported dtype is refused" {
	cp -r "$STORIES_HF" "$T/m"
	st_corrupt "$T/m/model.safetensors" dtype_i32
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m: tensor model.layers.0.self_attn.v_proj.weight has dtype I32 (only F32, F16, BF16)" ]
}

@test "a misshapen tensor is refused" {
	cp -r "$STORIES_HF" "$T/m"
	st_corrupt "$T/m/model.safetensors" misshapen
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m: tensor model.layers.1.self_attn.k_proj.weight has shape [64, 32], expected [32, 64]" ]
}

@test "a missing tensor is refused" {
	cp -r "$STORIES_HF" "$T/m"
	st_corrupt "$T/m/model.safetensors" missing
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m: missing tensor model.layers.1.mlp.up_proj.weight" ]
}

@test "a shard missing from a sharded model is refused" {
	make_model "$T/m" --shards 2
	rm "$T/m/model-00002-of-00002.safetensors"
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/m"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/m/model-00002-of-00002.safetensors: No such file or directory" ]
}

@test "a quantized GGUF is not re-quantized" {
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$REF_GGUF/stories260K-q4_0.gguf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $REF_GGUF/stories260K-q4_0.gguf: tensor token_embd.weight has type q4_0: re-quantize from f32, f16 or bf16" ]
	no_output "$T/o.gguf"
}

@test "a file that is not GGUF is refused" {
	echo "hello" > "$T/x.gguf"
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/x.gguf"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sl-quant: $T/x.gguf: "* ]]
	no_output "$T/o.gguf"
}

# ==== the manual ====

@test "the sl-quant and sl-model man pages render without warnings" {
	for p in sl-quant.1 sl-model.5; do
		run -0 --separate-stderr groff -ww -man -Tutf8 -z "$ROOT/man/$p"
		[ "$stderr" = "" ]
	done
}

@test "sl-quant --help's usage is the man page's SYNOPSIS" {
	usage=$("$QUANT" --help | sed '/^$/,$d' | sed 's/^usage: //' | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
	[ "$usage" = "$(man_synopsis "$ROOT/man/sl-quant.1")" ]
}

@test "the sl-quant man page EXAMPLES give the output they show" {
	cd "$T"
	ln -s "$STORIES_HF" stories260K-hf
	run run_man_examples "$ROOT/man/sl-quant.1"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a GGUF input missing a tensor is refused" {
	"$QUANT" -q -t f32 -o "$T/s.gguf" "$STORIES_HF"
	"$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[1], "wb").write(d.replace(b"blk.1.ffn_up.weight", b"blk.1.ffn_up.weighx", 1))' "$T/s.gguf"
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/s.gguf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/s.gguf: missing tensor blk.1.ffn_up.weight" ]
	no_output "$T/o.gguf"
}

@test "a GGUF input with a misshapen tensor is refused" {
	"$QUANT" -q -t f32 -o "$T/s.gguf" "$STORIES_HF"
	# llama.feed_forward_length 172 -> 171: ffn_gate (64 x 172) no longer fits
	"$PY" -c '
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
k = b"llama.feed_forward_length"
i = d.index(k) + len(k) + 4
assert struct.unpack_from("<I", d, i)[0] == 172
struct.pack_into("<I", d, i, 171)
open(sys.argv[1], "wb").write(d)' "$T/s.gguf"
	run --separate-stderr "$QUANT" -o "$T/o.gguf" "$T/s.gguf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-quant: $T/s.gguf: tensor blk.0.ffn_gate.weight has shape 64 x 172, expected 64 x 171" ]
}
