#!/usr/bin/env bats
# sl-tok: text to token ids.  Every id here is Hugging Face's (tests/tok/README.md); the corpus
# tests compare 2 MB of text with HF's ids for SmolLM and stories260K in one run each.

load tok_helper
load man_helper

setup() {
	tok_setup
}

# make_tokenizer OUT PYTHON-STATEMENTS: stories260K's tokenizer.json changed by Python statements
# on `t` (the small one: SmolLM's takes longer to write and load).
make_tokenizer() {
	"$PY" -c 'import json, sys
t = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(t, open(sys.argv[2], "w"))' "$STORIES/tokenizer.json" "$1" "$2"
}

# ==== the corpus (HF ground truth) ====

@test "sl-tok gives HF's ids for every corpus case with SmolLM's tokenizer" {
	run "$PY" "$TOKDATA/compare.py" encode -m "$SMOLLM" -e "$TOKDATA/expected-smollm.jsonl.xz"
	printf '# %s\n' "${lines[0]}" >&3
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sl-tok gives HF's ids for every corpus case with stories260K's tokenizer, BOS first" {
	run "$PY" "$TOKDATA/compare.py" encode -m "$STORIES" -e "$TOKDATA/expected-stories260K.jsonl.xz"
	printf '# %s\n' "${lines[0]}" >&3
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sl-tok gives the same ids when the corpus comes as thousands of FILEs cut at random characters" {
	for t in smollm:"$SMOLLM" stories260K:"$STORIES"; do
		run "$PY" "$TOKDATA/compare.py" pieces -m "${t#*:}" -e "$TOKDATA/expected-${t%%:*}.jsonl.xz"
		printf '# %s\n' "${lines[0]}" >&3
		echo "$output"
		[ "$status" -eq 0 ]
	done
}

@test "sl-tok gives the same ids from llama.cpp's stories260K GGUF file" {
	run "$PY" "$TOKDATA/compare.py" encode -m "$STORIES_GGUF" -e "$TOKDATA/expected-stories260K.jsonl.xz"
	printf '# %s (GGUF by llama.cpp)\n' "${lines[0]}" >&3
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sl-tok gives the same ids from the stories260K GGUF file that make builds" {
	[ -f "$ROOT/models/stories260K.gguf" ] || skip "models/stories260K.gguf is not built"
	run "$PY" "$TOKDATA/compare.py" encode -m "$ROOT/models/stories260K.gguf" -e "$TOKDATA/expected-stories260K.jsonl.xz"
	printf '# %s (GGUF by sl-quant)\n' "${lines[0]}" >&3
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sl-tok gives HF's ids from a SmolLM HF directory and from the GGUF sl-quant makes of it" {
	# tokenizer_config.json names an unk_token, but HF's BPE model (unk_token null) still drops
	# characters that have no byte-level token (0x04, 0x06, 0xf1...): they get no id at all.
	make_smollm_hf smol
	"$BIN/sl-quant" -q -t f32 -o smol.gguf smol
	for m in smol smol.gguf; do
		run "$PY" "$TOKDATA/compare.py" encode -m "$m" -e "$TOKDATA/expected-smollm.jsonl.xz"
		printf '# %s (%s)\n' "${lines[0]}" "$m" >&3
		echo "$output"
		[ "$status" -eq 0 ]
	done
	run "$PY" "$TOKDATA/compare.py" roundtrip -m smol.gguf --hf "$SMOLLM" -e "$TOKDATA/expected-smollm.jsonl.xz"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sl-tok drops characters SmolLM's vocabulary cannot spell, as HF, even if tokenizer_config names an unk token" {
	# HF: BPE unk_token is null in tokenizer.json, so a byte with no byte-level token (0x04,
	# 0x06, 0x13, 0xf1...) is dropped: no id, not the unk id.
	make_smollm_hf smol
	for m in "$SMOLLM" smol; do
		run -0 bash -c "printf 'a\004b' | '$TOK' -m '$m'"
		[ "$output" = "$(ids 81 82)" ]
		run -0 bash -c "printf ' \004\302\240' | '$TOK' -m '$m'"
		[ "$output" = "$(ids 216 15442)" ]
		run -0 bash -c "printf '\004\006\023' | '$TOK' -m '$m'"
		[ "$output" = "" ]
	done
}

@test "sl-tok --no-special splits special-token strings like other text, as HF without added tokens" {
	run "$PY" "$TOKDATA/compare.py" nospecial -m "$SMOLLM" -e "$TOKDATA/expected-nospecial-smollm.json.xz"
	echo "$output"
	[ "$status" -eq 0 ]
	run "$PY" "$TOKDATA/compare.py" nospecial -m "$STORIES" -e "$TOKDATA/expected-nospecial-stories260K.json.xz"
	echo "$output"
	[ "$status" -eq 0 ]
}

# sweep NAME MODEL: sha256 of sl-tok's ids for gen_sweep.py's text (every Unicode code point)
# against HF's, from tests/tok/expected-sweep.jsonl.
sweep_want() {
	"$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["name"] == sys.argv[2]:
        print(d[sys.argv[3]])' "$TOKDATA/expected-sweep.jsonl" "$1" "$2"
}

@test "sl-tok gives HF's ids for every Unicode code point in context, SmolLM" {
	"$PY" "$TOKDATA/gen_sweep.py" > sweep.txt
	[ "$("$TOK" --keep-final-newline -m "$SMOLLM" sweep.txt | sha256sum)" = "$(sweep_want smollm ids_sha256)  -" ]
}

@test "sl-tok gives HF's ids for every Unicode code point in context, stories260K" {
	"$PY" "$TOKDATA/gen_sweep.py" > sweep.txt
	[ "$("$TOK" --keep-final-newline -m "$STORIES" sweep.txt | sha256sum)" = "$(sweep_want stories260K ids_sha256)  -" ]
}

# ==== models ====

@test "sl-tok uses the embedded stories260K model by default and puts BOS first" {
	run -0 --separate-stderr bash -c "printf 'Hello world' | '$TOK'"
	[ "$output" = "$(ids 1 346 306 414 263 304 341)" ]
	[ "$stderr" = "" ]
}

@test "sl-tok -m takes a tokenizer.json file" {
	run -0 bash -c "printf 'Hello world' | '$TOK' -m '$SMOLLM'"
	[ "$output" = "$(ids 19556 905)" ]
}

@test "sl-tok -m takes an HF model directory" {
	run -0 bash -c "printf 'Hello world' | '$TOK' -m '$STORIES'"
	[ "$output" = "$(ids 1 346 306 414 263 304 341)" ]
	run -0 bash -c "printf 'Hello world' | '$TOK' -m '$SMOLLM_DIR'"
	[ "$output" = "$(ids 19556 905)" ]
}

@test "sl-tok -m takes a GGUF model file" {
	run -0 bash -c "printf 'Hello world' | '$TOK' -m '$STORIES_GGUF'"
	[ "$output" = "$(ids 1 346 306 414 263 304 341)" ]
}

@test "sl-tok uses \$SL_MODEL when -m is not given, and -m wins over it" {
	run -0 bash -c "printf 'Hello world' | SL_MODEL='$SMOLLM' '$TOK'"
	[ "$output" = "$(ids 19556 905)" ]
	run -0 bash -c "printf 'Hello world' | SL_MODEL='$SMOLLM' '$TOK' -m '$STORIES'"
	[ "$output" = "$(ids 1 346 306 414 263 304 341)" ]
}

@test "sl-tok gives HF's ids for SmolLM's published examples" {
	# tests/fixtures/smollm-tokenizer/golden-external.jsonl: 14 texts with ids from llama.cpp's
	# SmolLM2 GGUF (and HF's).  One run: the texts joined by <|endoftext|> (id 0).
	"$PY" -c 'import json, sys
cases = [json.loads(l) for l in open(sys.argv[1])]
assert len(cases) == 14
open("text", "w").write("<|endoftext|>".join(c["text"] for c in cases))
print("\n0\n".join("\n".join(map(str, c["ids"])) for c in cases))' "$SMOLLM_DIR/golden-external.jsonl" > want
	"$TOK" -m "$SMOLLM" text > got
	diff want got
}

# ==== options ====

@test "sl-tok --no-bos leaves out the BOS that stories260K puts first" {
	run -0 bash -c "printf 'Hello world' | '$TOK' --no-bos"
	[ "$output" = "$(ids 346 306 414 263 304 341)" ]
}

@test "sl-tok --bos puts BOS first, once, even for empty input" {
	run -0 bash -c "printf 'Hello world' | '$TOK' --bos"
	[ "$output" = "$(ids 1 346 306 414 263 304 341)" ]
	run -0 bash -c "'$TOK' --bos < /dev/null"
	[ "$output" = "1" ]
	run -0 bash -c "'$TOK' < /dev/null"
	[ "$output" = "1" ]
	run -0 bash -c "'$TOK' --no-bos < /dev/null"
	[ "$output" = "" ]
}

@test "sl-tok takes the last of --bos and --no-bos" {
	run -0 bash -c "printf 'Hello' | '$TOK' --bos --no-bos"
	[ "$output" = "$(ids 346 306 414)" ]
	run -0 bash -c "printf 'Hello' | '$TOK' --no-bos --bos"
	[ "$output" = "$(ids 1 346 306 414)" ]
}

@test "sl-tok --bos takes BOS from an HF directory's config for a tokenizer that adds none" {
	mkdir smol
	cp "$SMOLLM" smol/tokenizer.json
	printf '{"bos_token_id": 0, "eos_token_id": 0}\n' > smol/config.json
	run -0 bash -c "printf 'Hello world' | '$TOK' -m smol"
	[ "$output" = "$(ids 19556 905)" ]
	run -0 bash -c "printf 'Hello world' | '$TOK' -m smol --bos"
	[ "$output" = "$(ids 0 19556 905)" ]
}

@test "sl-tok matches special tokens in the text, and --no-special does not" {
	run -0 bash -c "printf 'x<|endoftext|>y' | '$TOK' -m '$SMOLLM'"
	[ "$output" = "$(ids 104 0 105)" ]
	run -0 bash -c "printf '<|im_start|>user\nHi<|im_end|>' | '$TOK' -m '$SMOLLM'"
	[ "$output" = "$(ids 1 4093 198 26843 2)" ]
	# HF without added tokens: "<|", "im", "_", "start", "|>"... (gen_nospecial.js)
	run -0 bash -c "printf '<|im_start|>' | '$TOK' -m '$SMOLLM' --no-special"
	[ "$output" = "$(ids 44 108 306 79 3738 108 46)" ]
	run -0 bash -c "printf '<s>hi</s>' | '$TOK' --no-bos"
	[ "$output" = "$(ids 1 270 417 2)" ]
}

@test "sl-tok --show prints each id with its text for people" {
	run -0 bash -c "printf 'Hello world' | '$TOK' -m '$SMOLLM' --show"
	[ "$output" = "$(printf '19556\tHello\n905\t world')" ]
	# escapes: newline, tab; bytes of a split character (byte-fallback tokens) as \xNN
	run -0 bash -c "printf 'a\n\t\360\237\230\200' | '$TOK' --show"
	[ "$output" = "$(printf '%s\n' '1	<s>' '261	 a' '13	\n' '12	\t' '243	\xf0' '162	\x9f' '155	\x98' '131	\x80')" ]
}

@test "sl-tok reads its FILE arguments as one text, like cat" {
	# "Hello world" split inside a word: the word runs on into the next file
	printf 'Hello wo' > a
	printf 'rld h' > b
	printf '\303\251llo' > c
	run -0 "$TOK" -m "$SMOLLM" a b c
	[ "$output" = "$(cat a b c | "$TOK" -m "$SMOLLM")" ]
	[ "$output" = "$(ids 19556 905 294 2756 31394)" ]
	run -0 "$TOK" a b c
	[ "$output" = "$(cat a b c | "$TOK")" ]
	[ "$(printf '%s\n' "$output" | grep -c '^1$')" -eq 1 ]
}

@test "sl-tok wants each FILE to be UTF-8 on its own" {
	printf 'Hello h\303' > a
	printf '\251llo' > b
	run -1 --separate-stderr "$TOK" -m "$SMOLLM" a b
	[ "$stderr" = "sl-tok: a: invalid UTF-8 at byte 7: truncated character" ]
}

@test "sl-tok reads standard input for -" {
	printf 'Hello' > a
	printf '!' > c
	run -0 bash -c "printf ' world' | '$TOK' -m '$SMOLLM' a - c"
	[ "$output" = "$(ids 19556 905 17)" ]
}

# ==== the final newline ====
# By default the ids are HF's for the text less one final newline: the same as
# --keep-final-newline (HF-exact, above) on the text without it.  Known ids: SmolLM "Hello world"
# 19556 905 and "\n" after a word 198 (the "Hello world!\n" case below); stories260K's byte
# tokens are 3 + the byte: "\n" 13, "\r" 16.

@test "sl-tok drops one newline that ends the input: echo's, or a \\r\\n" {
	run -0 bash -c "echo 'Hello world' | '$TOK' -m '$SMOLLM'"
	[ "$output" = "$(ids 19556 905)" ]
	run -0 bash -c "printf 'Hello world\r\n' | '$TOK' --no-bos"
	[ "$output" = "$(ids 346 306 414 263 304 341)" ]
	# only one
	run -0 bash -c "printf 'Hello world\n\n' | '$TOK' --no-bos"
	[ "$output" = "$(ids 346 306 414 263 304 341 13)" ]
	# a lone \r is not a newline here
	run -0 bash -c "printf 'Hello world\r' | '$TOK' --no-bos"
	[ "$output" = "$(ids 346 306 414 263 304 341 16)" ]
	# only at the end of the input: a newline that ends a file before the last one stays
	printf 'Hello world\n' > a
	printf 'Hello world\n' > b
	"$TOK" --no-bos a b > got
	printf 'Hello world\nHello world' | "$TOK" --no-bos --keep-final-newline > want
	diff want got
	[ "$(sed -n 7p got)" = 13 ]
	# a newline alone is an empty prompt
	[ "$(echo | "$TOK")" = "$(printf '' | "$TOK" --keep-final-newline)" ]
}

@test "sl-tok --keep-final-newline tokenizes the final newline too" {
	run -0 bash -c "echo 'Hello world' | '$TOK' -m '$SMOLLM' --keep-final-newline"
	[ "$output" = "$(ids 19556 905 198)" ]
	run -0 bash -c "printf 'Hello world\r\n' | '$TOK' --no-bos --keep-final-newline"
	[ "$output" = "$(ids 346 306 414 263 304 341 16 13)" ]
}

@test "sl-tok holds a final newline back until later text shows it is not the last byte" {
	mkfifo in
	"$TOK" -m "$SMOLLM" < in > out &
	pid=$!
	exec 7> in
	printf 'Hello\n' >&7
	# "Hello" is final once the newline has begun; the newline may be the end of the input
	for i in $(seq 50); do [ -s out ] && break; sleep 0.1; done
	sleep 0.3
	[ "$(cat out)" = "19556" ]
	# " again" begins a word, so "\n world" is final: the newline was not the last byte
	printf ' world again' >&7
	for i in $(seq 50); do [ "$(wc -l < out)" -ge 3 ] && break; sleep 0.1; done
	[ "$(cat out)" = "$(ids 19556 198 905)" ]
	exec 7>&-
	wait "$pid"
	[ "$(cat out)" = "$(printf 'Hello\n world again' | "$TOK" -m "$SMOLLM" --keep-final-newline)" ]
}

@test "sl-tok writes ids while its input is still coming through a pipe" {
	mkfifo in
	"$TOK" --keep-final-newline -m "$SMOLLM" < in > out &
	pid=$!
	exec 7> in  # (bats owns fd 3)
	printf 'Hello world' >&7
	# "Hello" is final once " world" has begun; " world" is not (more letters may follow).
	for i in $(seq 50); do [ -s out ] && break; sleep 0.1; done
	[ "$(cat out)" = "19556" ]
	printf '!\n' >&7
	for i in $(seq 50); do [ "$(wc -l < out)" -ge 3 ] && break; sleep 0.1; done
	[ "$(cat out)" = "$(ids 19556 905 17)" ]
	exec 7>&-
	wait "$pid"
	[ "$(cat out)" = "$(ids 19556 905 17 198)" ]
}

@test "sl-tok writes SentencePiece ids while its input is still coming through a pipe" {
	# stories260K has no pre-tokenizer: ids are final where the merge table allows a cut.
	mkfifo in
	"$TOK" < in > out &
	pid=$!
	exec 7> in
	printf 'Once upon a time there was a girl. ' >&7
	for i in $(seq 50); do [ "$(wc -l < out)" -ge 11 ] && break; sleep 0.1; done
	# HF: 1 403 407 261 378 383 286 261 298 315 421 426 410 for the whole text
	[ "$(head -n 11 out)" = "$(ids 1 403 407 261 378 383 286 261 298 315 421)" ]
	exec 7>&-
	wait "$pid"
	[ "$(cat out)" = "$(ids 1 403 407 261 378 383 286 261 298 315 421 426 410)" ]
}

@test "sl-tok keeps very long words and digit runs exact" {
	run -0 bash -c "head -c 30000 /dev/zero | tr '\\0' 7 | '$TOK' -m '$SMOLLM' | sort -u"
	[ "$output" = "$(ids 39)" ]
	[ "$(head -c 30000 /dev/zero | tr '\0' 7 | "$TOK" -m "$SMOLLM" | wc -l)" -eq 30000 ]
}

# ==== errors ====

@test "sl-tok fails on a missing input file" {
	run -1 --separate-stderr "$TOK" nosuch.txt
	[ "$stderr" = "sl-tok: nosuch.txt: No such file or directory" ]
	[ "$output" = "" ]
}

@test "sl-tok fails on text that is not UTF-8, naming the byte" {
	run -1 --separate-stderr bash -c "printf 'ab\\377' | '$TOK' -m '$SMOLLM'"
	[ "$stderr" = "sl-tok: <stdin>: invalid UTF-8 at byte 2" ]
	printf 'Hello \300\200' > bad.txt
	run -1 --separate-stderr "$TOK" -m "$SMOLLM" bad.txt
	[ "$stderr" = "sl-tok: bad.txt: invalid UTF-8 at byte 6" ]
	printf 'ok \342\202' > cut.txt
	run -1 --separate-stderr "$TOK" -m "$SMOLLM" cut.txt
	[ "$stderr" = "sl-tok: cut.txt: invalid UTF-8 at byte 3: truncated character" ]
}

@test "sl-tok fails on a missing model" {
	run -1 --separate-stderr "$TOK" -m nosuch.json /dev/null
	[ "$stderr" = "sl-tok: nosuch.json: No such file or directory" ]
	[ "$output" = "" ]
}

@test "sl-tok fails on a model file that is not JSON or GGUF" {
	printf 'hello\n' > notjson.json
	run -1 --separate-stderr "$TOK" -m notjson.json /dev/null
	[ "$stderr" = "sl-tok: notjson.json: not valid JSON" ]
	[ "$output" = "" ]
}

@test "sl-tok fails on a directory without tokenizer.json" {
	mkdir empty
	run -1 --separate-stderr "$TOK" -m empty /dev/null
	[ "$stderr" = "sl-tok: empty: no tokenizer.json in this directory" ]
	[ "$output" = "" ]
}

@test "sl-tok fails on a tokenizer.json with a component it does not support" {
	make_tokenizer wp.json 't["model"]["type"] = "WordPiece"'
	run -1 --separate-stderr "$TOK" -m wp.json /dev/null
	[ "$stderr" = "sl-tok: wp.json: unsupported model 'WordPiece'" ]
	[ "$output" = "" ]
	make_tokenizer nfkc.json 't["normalizer"] = {"type": "NFKC"}'
	run -1 --separate-stderr "$TOK" -m nfkc.json /dev/null
	[ "$stderr" = "sl-tok: nfkc.json: unsupported normalizer 'NFKC'" ]
	make_tokenizer ws.json 't["pre_tokenizer"] = {"type": "Whitespace"}'
	run -1 --separate-stderr "$TOK" -m ws.json /dev/null
	[ "$stderr" = "sl-tok: ws.json: unsupported pre_tokenizer 'Whitespace'" ]
	make_tokenizer wpd.json 't["decoder"] = {"type": "WordPiece", "prefix": "##", "cleanup": True}'
	run -1 --separate-stderr "$TOK" -m wpd.json /dev/null
	[ "$stderr" = "sl-tok: wpd.json: unsupported decoder 'WordPiece'" ]
	make_tokenizer bert.json 't["post_processor"] = {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1]}'
	run -1 --separate-stderr "$TOK" -m bert.json /dev/null
	[ "$stderr" = "sl-tok: bert.json: unsupported post_processor 'BertProcessing'" ]
	make_tokenizer drop.json 't["model"]["dropout"] = 0.1'
	run -1 --separate-stderr "$TOK" -m drop.json /dev/null
	[ "$stderr" = "sl-tok: drop.json: unsupported model option 'dropout'" ]
	make_tokenizer nomodel.json 'del t["model"]'
	run -1 --separate-stderr "$TOK" -m nomodel.json /dev/null
	[ "$stderr" = "sl-tok: nomodel.json: no \"model\" object (not a tokenizer.json?)" ]
}

@test "sl-tok fails on a GGUF file without a tokenizer or with one it does not support" {
	"$PY" -c 'import struct
def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b
arch = s("general.architecture") + struct.pack("<I", 8) + s("llama")
bert = s("tokenizer.ggml.model") + struct.pack("<I", 8) + s("bert")
open("notok.gguf", "wb").write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + arch)
open("bert.gguf", "wb").write(b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + arch + bert)'
	run -1 --separate-stderr "$TOK" -m notok.gguf /dev/null
	[ "$stderr" = "sl-tok: notok.gguf: no tokenizer (tokenizer.ggml.model missing)" ]
	[ "$output" = "" ]
	run -1 --separate-stderr "$TOK" -m bert.gguf /dev/null
	[ "$stderr" = "sl-tok: bert.gguf: unsupported tokenizer.ggml.model 'bert'" ]
	head -c 100 "$STORIES_GGUF" > cut.gguf
	run -1 --separate-stderr "$TOK" -m cut.gguf /dev/null
	[[ "$stderr" == "sl-tok: cut.gguf: "* ]]
	[ "$output" = "" ]
}

@test "sl-tok --bos fails for a tokenizer without a BOS token" {
	run -1 --separate-stderr "$TOK" -m "$SMOLLM" --bos /dev/null
	[ "$stderr" = "sl-tok: $SMOLLM: the tokenizer has no BOS token" ]
	[ "$output" = "" ]
}

@test "sl-tok exits 2 with the usage on an unknown option" {
	run -2 --separate-stderr "$TOK" --bogus
	[ "$output" = "" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "${stderr_lines[0]}" = "sl-tok: unrecognized option '--bogus'" ]
	[ "${stderr_lines[1]}" = "usage: $(man_synopsis "$ROOT/man/sl-tok.1")" ]
	[ "${stderr_lines[2]}" = "Try 'sl-tok --help' for more information." ]
}

@test "sl-tok exits 2 when -m has no argument" {
	run -2 --separate-stderr "$TOK" -m
	[ "$output" = "" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "${stderr_lines[0]}" = "sl-tok: option requires an argument -- 'm'" ]
	[ "${stderr_lines[2]}" = "Try 'sl-tok --help' for more information." ]
}

@test "sl-tok fails when it cannot write its output" {
	run -1 --separate-stderr bash -c "echo hi | '$TOK' > /dev/full"
	[ "$stderr" = "sl-tok: stdout: No space left on device" ]
	run -1 --separate-stderr bash -c "'$TOK' --version > /dev/full"
	[ "$stderr" = "sl-tok: stdout: No space left on device" ]
}

@test "sl-tok -v describes the tokenizer on stderr, -q says nothing, neither changes the ids" {
	run -0 --separate-stderr bash -c "printf 'Hello world' | '$TOK' -v -m '$SMOLLM'"
	[ "$output" = "$(ids 19556 905)" ]
	[[ "$stderr" == "sl-tok: $SMOLLM: gpt2 tokenizer, 49152 ids"* ]]
	run -0 --separate-stderr bash -c "printf 'Hello world' | '$TOK' -q"
	[ "$output" = "$(ids 1 346 306 414 263 304 341)" ]
	[ "$stderr" = "" ]
}

# ==== help, version, manual ====

@test "sl-tok --version prints its name and version" {
	run -0 --separate-stderr "$TOK" --version
	[ "$output" = "sl-tok 0.1.0" ]
	run -0 "$TOK" -V
	[ "$output" = "sl-tok 0.1.0" ]
}

@test "sl-tok --help prints the man page's SYNOPSIS as usage, on stdout" {
	run -0 --separate-stderr "$TOK" --help
	[ "${lines[0]}" = "usage: $(man_synopsis "$ROOT/man/sl-tok.1")" ]
	[ "$stderr" = "" ]
	run -0 "$TOK" -h
	[ "${lines[0]}" = "usage: $(man_synopsis "$ROOT/man/sl-tok.1")" ]
}

@test "sl-tok --help lists every option of the man page" {
	run -0 "$TOK" --help
	for opt in -m --model --no-special --bos --no-bos --show -q --quiet -v --verbose --help --version; do
		[[ "$output" == *"$opt"* ]] || { echo "missing $opt"; false; }
	done
}

@test "the sl-tok man page renders without warnings" {
	run -0 --separate-stderr groff -ww -man -Tutf8 -z "$ROOT/man/sl-tok.1"
	[ "$stderr" = "" ]
	run -0 --separate-stderr groff -ww -man -Tutf8 -z "$ROOT/man/sl-tokens.5"
	[ "$stderr" = "" ]
}

@test "the sl-tok man page EXAMPLES give the output they show" {
	ln -s "$SMOLLM_DIR" smollm
	run run_man_examples "$ROOT/man/sl-tok.1"
	echo "$output"
	[ "$status" -eq 0 ]
}
