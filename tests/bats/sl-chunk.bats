#!/usr/bin/env bats
# sl-chunk: layer chunks that join back byte for byte, checked by --verify, laid out as
# llama.cpp's gguf-split shards (checked with the Python GGUF reader of quant_helper.bash,
# written from ggml's gguf.md, not from lib/), and read by sl-tok and sl-detok.

load quant_helper
load man_helper

CHUNK=$BIN/sl-chunk
STORIES=$ROOT/models/stories260K.gguf
SMOLLM_TOK=$ROOT/tests/fixtures/smollm-tokenizer/tokenizer.json
TYPES="f32 f16 bf16 q8_0 q4_0 q4_k q6_k q4_k_m"

setup() {
	T=$BATS_TEST_TMPDIR
}

# flip FILE OFFSET: replace the byte at OFFSET by its complement
flip() {
	"$PY" -c '
import sys
p, o = sys.argv[1], int(sys.argv[2])
d = bytearray(open(p, "rb").read()); d[o] ^= 0xff; open(p, "wb").write(d)' "$1" "$2"
}

# roundtrip MODEL DIR [sl-chunk options]: chunk, verify, join, compare byte for byte
roundtrip() {
	local model=$1 dir=$2
	shift 2
	"$CHUNK" -q "$@" -o "$dir" "$model"
	"$CHUNK" -q --verify "$dir"
	"$CHUNK" -q --join -o "$dir.joined.gguf" "$dir"
	cmp "$model" "$dir.joined.gguf"
}

# ==== CLI ====

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr "$CHUNK" --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: sl-chunk [-qv] [-o dir] [--layers n | --size size] [--zstd[=level]] model" ]
	[ "$stderr" = "" ]
}

@test "sl-chunk --help's usage is the man page's SYNOPSIS" {
	usage=$("$CHUNK" --help | sed '/^$/,$d' | sed 's/^usage: //; s/^ *//' | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
	[ "$usage" = "$(man_synopsis "$ROOT/man/sl-chunk.1")" ]
}

@test "the sl-chunk man page EXAMPLES give the output they show" {
	cd "$T"
	ln -s "$STORIES" stories260K.gguf
	run run_man_examples "$ROOT/man/sl-chunk.1"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "usage errors exit 2 with one message" {
	run -2 --separate-stderr "$CHUNK"
	[ "${stderr_lines[0]}" = "sl-chunk: no model given" ]
	run -2 --separate-stderr "$CHUNK" --layers 2 --size 1M "$STORIES"
	[ "${stderr_lines[0]}" = "sl-chunk: --layers and --size cannot be combined" ]
	run -2 --separate-stderr "$CHUNK" --size 12Q "$STORIES"
	[ "${stderr_lines[0]}" = "sl-chunk: --size: '12Q' is not a size (e.g. 512M, 1.5G, 256MiB)" ]
	run -2 --separate-stderr "$CHUNK" --zstd=20 "$STORIES"
	[ "${stderr_lines[0]}" = "sl-chunk: --zstd: 20 is out of range [1, 19]" ]
	run -2 --separate-stderr "$CHUNK" --layers 0 "$STORIES"
	[ "${stderr_lines[0]}" = "sl-chunk: --layers: 0 is out of range [1, 65535]" ]
	run -2 --separate-stderr "$CHUNK" --join "$T/d"
	[ "${stderr_lines[0]}" = "sl-chunk: --join needs -o OUT.gguf" ]
	run -2 --separate-stderr "$CHUNK" --verify -o x "$T/d"
	[ "${stderr_lines[0]}" = "sl-chunk: --verify writes nothing: no -o" ]
	run -2 --separate-stderr "$CHUNK" --verify --join -o x "$T/d"
	[ "${stderr_lines[0]}" = "sl-chunk: --verify and --join cannot be combined" ]
	run -2 --separate-stderr "$CHUNK" --verify --zstd "$T/d"
	[ "${stderr_lines[0]}" = "sl-chunk: --layers, --size and --zstd are for cutting a model, not with --verify" ]
	[ ! -e "$T/d" ]
}

# ==== chunk, join: byte for byte ====

@test "stories260K in every type joins back byte for byte, with and without zstd" {
	for t in $TYPES; do
		"$QUANT" -q -t "$t" -o "$T/s-$t.gguf" "$STORIES_HF"
		roundtrip "$T/s-$t.gguf" "$T/$t" --layers 2
		roundtrip "$T/s-$t.gguf" "$T/$t-z" --layers 1 --zstd
		[ "$(ls "$T/$t-z" | grep -c '\.gguf\.zst$')" -eq 6 ]
	done
	roundtrip "$STORIES" "$T/z19" --zstd=19 --size 300K
	roundtrip "$STORIES" "$T/one"
	[ "$(ls "$T/one")" = "$(printf 'manifest.json\none-00001-of-00002.gguf\none-00002-of-00002.gguf')" ]
}

@test "llama.cpp's own GGUF files join back byte for byte" {
	[ -d "$REF_GGUF" ] || skip "llama.cpp's stories260K GGUF files (tests/fixtures) not found"
	for f in "$REF_GGUF"/stories260K-*.gguf; do
		roundtrip "$f" "$T/$(basename "$f" .gguf)" --layers 2
	done
}

@test "a random model with SmolLM's tokenizer joins back byte for byte, and tokenizes the same" {
	[ -f "$SMOLLM_TOK" ] || skip "SmolLM's tokenizer (tests/fixtures) not found"
	make_model "$T/m" --tokenizer smollm --hidden 128 --heads 4 --kv-heads 2 --ffn 256 --layers 6 --untied
	for t in f16 q4_k_m; do
		"$QUANT" -q -t "$t" -o "$T/m-$t.gguf" "$T/m"
		roundtrip "$T/m-$t.gguf" "$T/m-$t" --size 300K
		[ "$(ls "$T/m-$t" | wc -l)" -ge 4 ]
		roundtrip "$T/m-$t.gguf" "$T/m-$t-z" --zstd --layers 4
	done
	text='Hello world! 12345 <|im_start|>user  tabs	and ünïcödé'
	want=$(printf '%s' "$text" | "$BIN/sl-tok" -m "$T/m-f16.gguf")
	[ -n "$want" ]
	[ "$(printf '%s' "$text" | "$BIN/sl-tok" -m "$T/m-f16")" = "$want" ]
	[ "$(printf '%s' "$text" | "$BIN/sl-tok" -m "$T/m-q4_k_m-z/manifest.json")" = "$want" ]
	[ "$(printf '%s\n' "$want" | "$BIN/sl-detok" -m "$T/m-q4_k_m-z")" = "$text" ]
}

@test "the chunk sizes follow --layers and --size" {
	"$CHUNK" -q --layers 3 -o "$T/l3" "$STORIES"
	"$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join(",".join(map(str, c["layers"])) or "core" for c in m["chunks"]))' "$T/l3/manifest.json" > "$T/got"
	[ "$(cat "$T/got")" = "core 0,1,2 3,4" ]
	# Each block of the F32 model holds 182208 bytes of tensor data (padded): two fit 400000.
	"$CHUNK" -q --size 400000 -o "$T/s4" "$STORIES"
	[ "$(ls "$T/s4" | grep -c gguf)" -eq 4 ]
	"$CHUNK" -q --size 1K -o "$T/s1" "$STORIES"
	[ "$(ls "$T/s1" | grep -c gguf)" -eq 6 ]
	# A trailing slash names the same directory, and the chunks after it.
	"$CHUNK" -q -o "$T/slash/" "$STORIES"
	[ "$(ls "$T/slash")" = "$(printf 'manifest.json\nslash-00001-of-00002.gguf\nslash-00002-of-00002.gguf')" ]
}

# ==== the gguf-split layout ====

# split_check DIR SOURCE: every chunk is a shard as llama.cpp's gguf-split writes and its
# loader expects (ggml's gguf-split layout: split.no, split.count, split.tensors.count), and
# together they hold the source's tensors
split_check() {
	"$PY" -c "$GGUF_PY"'
import glob, os, re, hashlib
d, src = sys.argv[1], sys.argv[2]
skv, stypes, sts, _, _ = gguf(src)
files = sorted(glob.glob(os.path.join(d, "*.gguf")))
n = len(files)
assert n >= 2, files
prefix = os.path.basename(d)
seen = {}
for i, f in enumerate(files):
    # The loader derives shard names from the first: PREFIX-%05d-of-%05d.gguf, from 1.
    assert os.path.basename(f) == "%s-%05d-of-%05d.gguf" % (prefix, i + 1, n), f
    kv, types, ts, size, start = gguf(f)
    assert kv["split.no"] == i and types["split.no"] == 2, (f, kv.get("split.no"))
    assert kv["split.count"] == n and types["split.count"] == 2, f
    assert kv["split.tensors.count"] == len(sts) and types["split.tensors.count"] == 5, f
    model_keys = {k: v for k, v in kv.items() if not k.startswith("split.")}
    if i == 0:
        assert model_keys == skv and all(types[k] == stypes[k] for k in skv), "shard 1 keys"
        assert all(not t[0].startswith("blk.") for t in ts), "block tensor in the core"
    else:
        assert set(model_keys) <= {"general.alignment"}, model_keys
        assert all(t[0].startswith("blk.") for t in ts), "non-block tensor in a layer shard"
    for name, dims, ty, data in ts:
        assert name not in seen, name
        seen[name] = (dims, ty, hashlib.sha256(data).hexdigest())
want = {name: (dims, ty, hashlib.sha256(data).hexdigest()) for name, dims, ty, data in sts}
assert seen == want, "tensors differ"
print("ok", n)
' "$1" "$2"
}

@test "uncompressed chunks are gguf-split shards holding the source's keys and tensors" {
	"$QUANT" -q -t q4_k_m -o "$T/q.gguf" "$STORIES_HF"
	"$CHUNK" -q --layers 2 -o "$T/q" "$T/q.gguf"
	run split_check "$T/q" "$T/q.gguf"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 4" ]
	# Packed as llama.cpp's reader requires (tensor i at the sum of the padded sizes before it).
	for f in "$T"/q/*.gguf; do
		gguf_tensors "$f" > /dev/null
	done
	[ "$(gguf_kv "$T/q/q-00003-of-00004.gguf" split.no)" = "$(printf '2\ntype=2')" ]
}

@test "a zstd chunk is the uncompressed shard, compressed (as the zstd tool reads it)" {
	command -v zstd > /dev/null || skip "no zstd tool"
	"$CHUNK" -q --layers 2 -o "$T/p" "$STORIES"
	"$CHUNK" -q --layers 2 --zstd=5 -o "$T/p-z" "$STORIES"
	for i in 1 2 3 4; do
		zstd -q -dc "$T/p-z/p-z-0000$i-of-00004.gguf.zst" > "$T/shard"
		cmp "$T/shard" "$T/p/p-0000$i-of-00004.gguf"
	done
	"$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
for c in m["chunks"]:
    assert c["codec"] == "zstd" and c["level"] == 5 and c["stored_size"] < c["size"], c["file"]' "$T/p-z/manifest.json"
}

# ==== --verify ====

@test "--verify prints OK per chunk and exits 0 on a good directory" {
	"$CHUNK" -q --layers 4 -o "$T/v" "$STORIES"
	run --separate-stderr "$CHUNK" --verify "$T/v"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' "$T/v/v-00001-of-00003.gguf: OK" "$T/v/v-00002-of-00003.gguf: OK" "$T/v/v-00003-of-00003.gguf: OK")" ]
	[ "$stderr" = "" ]
	run -0 "$CHUNK" -q --verify "$T/v/manifest.json"
	[ "$output" = "" ]
}

@test "--verify catches a flipped byte in the core and in a layer chunk" {
	"$CHUNK" -q --layers 2 -o "$T/v" "$STORIES"
	flip "$T/v/v-00001-of-00004.gguf" 100000
	flip "$T/v/v-00003-of-00004.gguf" 5000
	run -1 --separate-stderr "$CHUNK" -q --verify "$T/v"
	[ "$output" = "" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[[ "${stderr_lines[0]}" =~ ^"sl-chunk: $T/v/v-00001-of-00004.gguf: core: XXH3-128 of the file is "[0-9a-f]{32}", the manifest says "[0-9a-f]{32}" (corrupt)"$ ]]
	[[ "${stderr_lines[1]}" =~ ^"sl-chunk: $T/v/v-00003-of-00004.gguf: layers 2-3: XXH3-128 of the file is "[0-9a-f]{32}", the manifest says "[0-9a-f]{32}" (corrupt)"$ ]]
	[ "${stderr_lines[2]}" = "sl-chunk: $T/v: 2 of 4 chunks bad" ]
}

@test "--verify catches a flipped byte in a zstd chunk" {
	"$CHUNK" -q --layers 5 --zstd -o "$T/z" "$STORIES"
	flip "$T/z/z-00002-of-00002.gguf.zst" 300
	run -1 --separate-stderr "$CHUNK" --verify "$T/z"
	[ "$output" = "$T/z/z-00001-of-00002.gguf.zst: OK" ]
	[[ "${stderr_lines[0]}" =~ ^"sl-chunk: $T/z/z-00002-of-00002.gguf.zst: layers 0-4: XXH3-128 of the file is " ]]
}

@test "--verify catches a truncated chunk and a missing chunk" {
	"$CHUNK" -q --layers 2 -o "$T/v" "$STORIES"
	truncate -s -10 "$T/v/v-00002-of-00004.gguf"
	rm "$T/v/v-00004-of-00004.gguf"
	run -1 --separate-stderr "$CHUNK" -q --verify "$T/v"
	[ "${stderr_lines[0]}" = "sl-chunk: $T/v/v-00002-of-00004.gguf: layers 0-1: 364694 bytes, the manifest says 364704 (truncated)" ]
	[ "${stderr_lines[1]}" = "sl-chunk: $T/v/v-00004-of-00004.gguf: layer 4: No such file or directory" ]
	[ "${stderr_lines[2]}" = "sl-chunk: $T/v: 2 of 4 chunks bad" ]
}

@test "--verify refuses a manifest that does not parse or names a file that is not there" {
	"$CHUNK" -q --layers 2 -o "$T/v" "$STORIES"
	cp -r "$T/v" "$T/w"
	printf '{"format": "sl-chunk",' > "$T/v/manifest.json"
	run -1 --separate-stderr "$CHUNK" --verify "$T/v"
	[ "$output" = "" ]
	[ "$stderr" = "sl-chunk: $T/v/manifest.json: not valid JSON (at byte 22)" ]
	json_edit "$T/w/manifest.json" 'j["chunks"][2]["file"] = "gone.gguf"'
	run -1 --separate-stderr "$CHUNK" -q --verify "$T/w"
	[ "${stderr_lines[0]}" = "sl-chunk: $T/w/gone.gguf: layers 2-3: No such file or directory" ]
	[ "${stderr_lines[1]}" = "sl-chunk: $T/w: 1 of 4 chunks bad" ]
	run -1 --separate-stderr "$CHUNK" --verify "$T/nothing"
	[ "$stderr" = "sl-chunk: $T/nothing: No such file or directory" ]
}

@test "every manifest field is checked, and named when wrong" {
	"$CHUNK" -q --layers 2 -o "$T/v" "$STORIES"
	cp "$T/v/manifest.json" "$T/good.json"
	check() {  # check PYTHON-EDIT MESSAGE
		cp "$T/good.json" "$T/v/manifest.json"
		json_edit "$T/v/manifest.json" "$1"
		run -1 --separate-stderr "$CHUNK" --verify "$T/v"
		echo "got: $stderr"
		[ "$stderr" = "sl-chunk: $T/v/manifest.json: $2" ]
	}
	check 'j["version"] = 2' "version: 2 is not supported (this is version 1)"
	check 'j["format"] = "gguf"' "format: 'gguf', expected 'sl-chunk'"
	check 'del j["source"]["xxh3"]' "source.xxh3: missing"
	check 'j["source"]["size"] = "big"' "source.size: not a number"
	check 'j["model"]["block_count"] = 1.5' "model.block_count: 1.5 is not an integer in [0, 65536]"
	check 'j["chunks"][1]["size"] = -1' "chunks[1].size: -1 is not an integer in [0, 18446744073709551615]"
	check 'del j["chunks"][2]["xxh3"]' "chunks[2].xxh3: missing"
	check 'j["chunks"][1]["xxh3"] = "xyz"' "chunks[1].xxh3: not an XXH3-128 sum (32 lowercase hex digits)"
	check 'j["chunks"][1]["file"] = "../x.gguf"' "chunks[1].file: '../x.gguf' is not a plain file name"
	check 'j["chunks"][2]["file"] = j["chunks"][1]["file"]' "chunks[2].file: v-00002-of-00004.gguf is also chunks[1]"
	check 'j["chunks"][2]["layers"] = [3, 4]' "chunks[2].layers: expected layer 2 next (chunks hold consecutive layers, in order)"
	check 'j["chunks"].pop()' "chunks: the chunks hold layers 0-3, the model has 5"
	check 'j["chunks"][1]["codec"] = "gzip"' "chunks[1].codec: 'gzip' (none or zstd)"
	check 'j["chunks"][1]["stored_size"] += 1' "chunks[1].stored_size: an uncompressed chunk is stored as it is: size and sum must match"
	check 'j["chunks"][1]["tensors"][0]["type"] = "q9_9"' "chunks[1].tensors[0].type: 'q9_9' is not a known type"
	check 'j["chunks"][1]["tensors"][0]["shape"] = [65]' "chunks[1].tensors[0].bytes: 256, but a f32 tensor of that shape has 260"
	check 'j["chunks"][1]["tensors"][0]["offset"] = 364700' "chunks[1].tensors[0].offset: data [364700, +256) runs past the chunk's 364704 bytes"
	check 'j["chunks"][1]["tensors"][0]["name"] = "blk.3.attn_norm.weight"' "chunks[1].tensors[0].name: blk.3.attn_norm.weight is not a tensor of this chunk's layers"
	check 'j["chunks"][0]["tensors"][0]["source_index"] = 1' "chunks[1].tensors[0]: source_index 1 is also token_embd.weight's"
	check 'j["chunks"][1]["tensors"].pop()' "the chunks hold 46 tensors, source.tensor_count is 47"
	check 'j["chunks"][0]["tensors"][1]["name"] = "token_embd.weight"' "tensor token_embd.weight is in two chunks"
	check 'j["model"]["parameters"] += 1' "model.bytes and model.parameters are 1040128 and 260033, the tensors add up to 1040128 and 260032"
	check 'j["chunks"] = {}' "chunks: not an array"
	check 'j["model"]["types"]["f32"] = 46' "model.types says 46 f32 tensors, the chunks hold 47"
	check 'j["model"]["types"]["q9"] = 1' "model.types.q9: not a known type"
	check 'del j["model"]["types"]' "model.types: missing"
	printf '[]' > "$T/v/manifest.json"
	run -1 --separate-stderr "$CHUNK" --verify "$T/v"
	[ "$stderr" = "sl-chunk: $T/v/manifest.json: not a JSON object" ]
}

# ==== refusals and atomic output ====

@test "a split shard, a chunk directory or a file not in the packed layout is not cut" {
	"$CHUNK" -q --layers 2 -o "$T/v" "$STORIES"
	run -1 --separate-stderr "$CHUNK" -o "$T/x" "$T/v/v-00001-of-00004.gguf"
	[ "$stderr" = "sl-chunk: $T/v/v-00001-of-00004.gguf: already a split shard (key split.no): join the shards first" ]
	run -1 --separate-stderr "$CHUNK" -o "$T/x" "$T/v"
	[ "$stderr" = "sl-chunk: $T/v: a chunk directory, not a GGUF file (sl-chunk --join it first)" ]
	# Data after the last tensor: a join could not know it.
	cp "$STORIES" "$T/pad.gguf"
	printf '\1' >> "$T/pad.gguf"
	run -1 --separate-stderr "$CHUNK" -o "$T/x" "$T/pad.gguf"
	[ "$stderr" = "sl-chunk: $T/pad.gguf: trailing data after the last tensor (the file is 1054369 bytes, the tensors end at 1054368)" ]
	no_output "$T/x"
}

@test "an existing directory is replaced only if it is a chunk directory" {
	mkdir "$T/mine"
	echo keep > "$T/mine/notes"
	run -1 --separate-stderr "$CHUNK" -o "$T/mine" "$STORIES"
	[ "$stderr" = "sl-chunk: $T/mine: exists and is not a chunk directory (no manifest.json)" ]
	[ "$(cat "$T/mine/notes")" = keep ]
	"$CHUNK" -q --layers 1 -o "$T/c" "$STORIES"
	[ "$(ls "$T/c" | wc -l)" -eq 7 ]
	"$CHUNK" -q --layers 5 -o "$T/c" "$STORIES"
	[ "$(ls "$T/c")" = "$(printf 'c-00001-of-00002.gguf\nc-00002-of-00002.gguf\nmanifest.json')" ]
	"$CHUNK" -q --verify "$T/c"
	! compgen -G "$T/c.tmp.*"
	# Of the old directory only its chunks and manifest go; anything else stays, and is named.
	echo mine > "$T/c/notes"
	run -0 --separate-stderr "$CHUNK" -q --layers 2 -o "$T/c" "$STORIES"
	old=$(compgen -G "$T/c.tmp.*")
	[ "$stderr" = "sl-chunk: $old: Directory not empty (what else was in the previous $T/c is left there)" ]
	[ "$(ls "$old")" = notes ]
	[ "$(ls "$T/c" | wc -l)" -eq 5 ]
	# A directory whose manifest does not parse is not replaced.
	echo '{' > "$T/c/manifest.json"
	run -1 --separate-stderr "$CHUNK" -o "$T/c" "$STORIES"
	[ "$stderr" = "sl-chunk: $T/c: exists, and $T/c/manifest.json: not valid JSON (at byte 2) (remove it, or choose another -o)" ]
}

@test "a failed write leaves no directory and no temporary one" {
	# ulimit -f is in KiB: the core chunk (143 kB) fits, the layer chunk (912 kB) does not.
	run -1 --separate-stderr bash -c "trap '' XFSZ; ulimit -f 500; exec '$CHUNK' -o '$T/f' '$STORIES'"
	[ "$stderr" = "sl-chunk: $T/f: f-00002-of-00002.gguf: File too large" ]
	no_output "$T/f"
}

@test "SIGTERM while chunking leaves no directory and no temporary one" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 1024 --layers 4
	"$QUANT" -q -t f32 -o "$T/m.gguf" "$T/m"
	"$CHUNK" -q --zstd=19 --layers 1 -o "$T/sig" "$T/m.gguf" &
	pid=$!
	sleep 0.5
	kill -TERM "$pid" || skip "sl-chunk finished before the signal"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	no_output "$T/sig"
}

@test "--join of a damaged directory fails naming the chunk and leaves no file" {
	"$CHUNK" -q --layers 2 --zstd -o "$T/j" "$STORIES"
	flip "$T/j/j-00003-of-00004.gguf.zst" 200
	run -1 --separate-stderr "$CHUNK" --join -o "$T/out.gguf" "$T/j"
	[[ "$stderr" =~ ^"sl-chunk: $T/out.gguf: $T/j/j-00003-of-00004.gguf.zst: layers 2-3: XXH3-128 of the file is " ]]
	no_output "$T/out.gguf"
}

# ==== sl-tok and sl-detok ====

@test "sl-tok and sl-detok read a chunk directory or its manifest.json" {
	"$CHUNK" -q --layers 2 -o "$T/t" "$STORIES"
	"$CHUNK" -q --layers 2 --zstd -o "$T/tz" "$STORIES"
	text='Once upon a time, there was a little dog named Tim.'
	want=$(echo "$text" | "$BIN/sl-tok" -m "$STORIES")
	[ "$(echo "$text" | "$BIN/sl-tok" -m "$T/t")" = "$want" ]
	[ "$(echo "$text" | "$BIN/sl-tok" -m "$T/tz/manifest.json")" = "$want" ]
	[ "$(echo "$want" | "$BIN/sl-detok" -m "$T/tz")" = "$(echo "$want" | "$BIN/sl-detok" -m "$STORIES")" ]
	# Only the core chunk is read: the layer chunks may be gone.
	rm "$T/t"/t-0000[234]-of-00004.gguf
	[ "$(echo "$text" | "$BIN/sl-tok" -m "$T/t")" = "$want" ]
	# An HF directory that happens to hold a manifest.json is still an HF directory.
	cp -r "$STORIES_HF" "$T/hf"
	echo '{}' > "$T/hf/manifest.json"
	[ "$(echo "$text" | "$BIN/sl-tok" -m "$T/hf")" = "$want" ]
}

@test "sl-tok refuses a chunk directory whose core chunk is corrupt" {
	"$CHUNK" -q --layers 2 -o "$T/t" "$STORIES"
	flip "$T/t/t-00001-of-00004.gguf" 9000
	run -1 --separate-stderr "$BIN/sl-tok" -m "$T/t" <<< "hello"
	[ "$output" = "" ]
	[[ "$stderr" =~ ^"sl-tok: $T/t/t-00001-of-00004.gguf: core: XXH3-128 of the file is "[0-9a-f]{32}", the manifest says "[0-9a-f]{32}" (corrupt)"$ ]]
}

# ==== make model ====

# pipeline ARGS...: run `make model` in the project with only our variables
pipeline() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" model "$@"
}

@test "make model quantizes, chunks and verifies, and does nothing the second time" {
	mkdir -p "$T/hf"
	cp -r "$STORIES_HF" "$T/hf/story"
	run -0 pipeline HF="$T/hf/story" TYPE=q4_0 MODELS="$T/models" CHUNK_OPTS="--layers 2"
	[ "$(ls "$T/models")" = "$(printf 'story-q4_0\nstory-q4_0.gguf')" ]
	"$QUANT" -q -t q4_0 -o "$T/direct.gguf" "$T/hf/story"
	cmp "$T/direct.gguf" "$T/models/story-q4_0.gguf"
	"$CHUNK" -q --verify "$T/models/story-q4_0"
	[ "$(ls "$T/models/story-q4_0" | grep -c gguf)" -eq 4 ]
	before=$(stat -c %Y.%i "$T/models/story-q4_0.gguf" "$T/models/story-q4_0/manifest.json")
	run -0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" model HF="$T/hf/story" TYPE=q4_0 MODELS="$T/models" CHUNK_OPTS="--layers 2"
	[[ "$output" == *"Nothing to be done for 'model'."* ]]
	[[ "$output" != *sl-quant* && "$output" != *sl-chunk* ]]
	[ "$(stat -c %Y.%i "$T/models/story-q4_0.gguf" "$T/models/story-q4_0/manifest.json")" = "$before" ]
	# A changed input is rebuilt: the config is newer than the GGUF.
	touch -d '+1 minute' "$T/hf/story/config.json"
	run -0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" model HF="$T/hf/story" TYPE=q4_0 MODELS="$T/models"
	[[ "$output" == *"bin/sl-quant"* && "$output" == *"bin/sl-chunk -q --verify"* ]]
	[ "$(ls "$T/models/story-q4_0" | grep -c gguf)" -eq 2 ]
}

@test "make model without HF says what it needs and fails" {
	run -2 pipeline
	[ "${lines[0]}" = "make model: give the Hugging Face model directory: make model HF=path/to/model [TYPE=q4_k_m]" ]
}

# ==== sl-infer ====

# same_run A B [sl-infer options]: the same greedy ids and the same logits, byte for byte
same_run() {
	local a=$1 b=$2
	shift 2
	echo "1 403 407 261 378 13" > "$T/prompt"
	"$BIN/sl-infer" -m "$a" -n 24 --temp 0 --ignore-eos --logits "$T/la" "$@" < "$T/prompt" > "$T/ia"
	"$BIN/sl-infer" -m "$b" -n 24 --temp 0 --ignore-eos --logits "$T/lb" "$@" < "$T/prompt" > "$T/ib"
	[ "$(wc -l < "$T/ia")" -eq 24 ]
	cmp "$T/ia" "$T/ib"
	cmp "$T/la" "$T/lb"
}

@test "sl-infer gives the same ids and logits from a chunk directory as from the file, with and without zstd" {
	make_model "$T/m" --hidden 256 --heads 4 --kv-heads 2 --ffn 512 --layers 3 --untied --std 0.05
	for t in f32 q8_0 q4_0; do
		"$QUANT" -q -t "$t" -o "$T/s-$t.gguf" "$STORIES_HF"
		"$CHUNK" -q --layers 2 -o "$T/s-$t" "$T/s-$t.gguf"
		"$CHUNK" -q --layers 1 --zstd -o "$T/s-$t-z" "$T/s-$t.gguf"
		same_run "$T/s-$t.gguf" "$T/s-$t"
		same_run "$T/s-$t.gguf" "$T/s-$t-z/manifest.json"
		same_run "$T/s-$t.gguf" "$T/s-$t" --no-mmap
	done
	for t in q4_k_m f16; do
		"$QUANT" -q -t "$t" -o "$T/m-$t.gguf" "$T/m"
		"$CHUNK" -q --layers 1 -o "$T/m-$t" "$T/m-$t.gguf"
		"$CHUNK" -q --zstd=1 -o "$T/m-$t-z" "$T/m-$t.gguf"
		same_run "$T/m-$t.gguf" "$T/m-$t"
		same_run "$T/m-$t.gguf" "$T/m-$t-z" -t 1
	done
}

@test "sl-infer opens llama.cpp split files from any of them" {
	"$CHUNK" -q --layers 2 -o "$T/sp" "$STORIES"
	same_run "$STORIES" "$T/sp/sp-00001-of-00004.gguf"
	same_run "$STORIES" "$T/sp/sp-00003-of-00004.gguf"
	mv "$T/sp/sp-00004-of-00004.gguf" "$T/away.gguf"
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/sp/sp-00001-of-00004.gguf" -n 1 <<< "1"
	[ "$stderr" = "sl-infer: $T/sp/sp-00004-of-00004.gguf: No such file or directory" ]
	cp "$T/sp/sp-00002-of-00004.gguf" "$T/sp/sp-00004-of-00004.gguf"
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/sp/sp-00001-of-00004.gguf" -n 1 <<< "1"
	[ "$stderr" = "sl-infer: $T/sp/sp-00004-of-00004.gguf: split.no is 1, expected 3" ]
}

@test "a corrupt or missing chunk stops sl-infer, naming the chunk and its layers, before any id" {
	"$CHUNK" -q --layers 2 -o "$T/c" "$STORIES"
	"$CHUNK" -q --layers 2 --zstd -o "$T/z" "$STORIES"
	sum='XXH3-128 of the file is [0-9a-f]{32}, the manifest says [0-9a-f]{32} \(corrupt\)'
	cp -r "$T/c" "$T/c1"
	flip "$T/c1/c-00003-of-00004.gguf" 5000
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/c1" -n 4 --temp 0 <<< "1 403 407"
	[ "$output" = "" ]
	[[ "$stderr" =~ ^"sl-infer: <stdin>: $T/c1/c-00003-of-00004.gguf: layers 2-3: "$sum$ ]]
	cp -r "$T/c" "$T/c2"
	flip "$T/c2/c-00001-of-00004.gguf" 50000
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/c2" -n 4 --temp 0 <<< "1 403 407"
	[ "$output" = "" ]
	[[ "$stderr" =~ ^"sl-infer: $T/c2/c-00001-of-00004.gguf: core: "$sum$ ]]
	flip "$T/z/z-00002-of-00004.gguf.zst" 5000
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/z" -n 4 --temp 0 <<< "1 403 407"
	[ "$output" = "" ]
	[[ "$stderr" =~ ^"sl-infer: $T/z/z-00002-of-00004.gguf.zst: layers 0-1: "$sum$ ]]
	rm "$T/c/c-00004-of-00004.gguf"
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/c" -n 4 --temp 0 <<< "1 403 407"
	[ "$stderr" = "sl-infer: $T/c/c-00004-of-00004.gguf: layer 4: No such file or directory" ]
}

# streamed MODEL: sl-infer's -v under a budget just above MODEL's minimum (some layers streamed)
streamed_budget() {
	local min
	min=$("$BIN/sl-infer" -m "$1" -n 24 --mem-limit 1 < "$T/prompt" 2>&1 >/dev/null |
		sed -n 's/.*below the minimum of \([0-9.]*\) MiB.*/\1/p')
	awk -v m="$min" 'BEGIN { printf "%.0f", (m + 0.15) * 1048576 }'
}

@test "under a memory budget a chunk directory and split files stream too: the file's ids and logits" {
	"$CHUNK" -q --layers 1 -o "$T/b" "$STORIES"
	echo "1 403 407 261 378 13" > "$T/prompt"
	for m in "$T/b" "$T/b/b-00003-of-00006.gguf"; do
		budget=$(streamed_budget "$m")
		same_run "$STORIES" "$m" --mem-limit "$budget"
		run --separate-stderr "$BIN/sl-infer" -m "$m" -n 4 -v --mem-limit "$budget" < "$T/prompt"
		[ "$status" -eq 0 ]
		echo "$stderr" | grep -E "of 5 layers resident, [1-5] streamed through 2 buffers"
	done
}

@test "under a memory budget every chunk is checked first, and compressed chunks are refused" {
	"$CHUNK" -q --layers 2 -o "$T/c" "$STORIES"
	flip "$T/c/c-00003-of-00004.gguf" 5000
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/c" --mem-limit 100M -n 1 <<< "1"
	[ "$output" = "" ]
	[[ "$stderr" =~ ^"sl-infer: $T/c/c-00003-of-00004.gguf: layers 2-3: XXH3-128 of the file is "[0-9a-f]{32}", the manifest says "[0-9a-f]{32}" (corrupt)"$ ]]
	"$CHUNK" -q --zstd -o "$T/z" "$STORIES"
	run -1 --separate-stderr "$BIN/sl-infer" -m "$T/z" --mem-limit 100M -n 1 <<< "1"
	[[ "$stderr" =~ ^"sl-infer: $T/z/z-00001-of-0000"[0-9]".gguf.zst: core: compressed; a memory budget reads layers again by offset, which needs uncompressed chunks (sl-chunk without --zstd)"$ ]]
}
