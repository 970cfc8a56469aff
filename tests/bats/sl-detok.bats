#!/usr/bin/env bats
# sl-detok: token ids to text.  The expected text is Hugging Face's decode(ids, skip_special_tokens)
# (tests/tok/README.md); the corpus tests decode HF's ids for 2 MB of text in one run each.

load tok_helper
load man_helper

setup() {
	tok_setup
}

# wait_size FILE BYTES: wait up to 5 s for FILE to hold at least BYTES bytes.
wait_size() {
	for i in $(seq 50); do
		[ "$(stat -c %s "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

corpus() { # corpus CHECK NAME MODEL [ARGS...]
	local check=$1 name=$2 model=$3
	shift 3
	run "$PY" "$TOKDATA/compare.py" "$check" -m "$model" -e "$TOKDATA/expected-$name.jsonl.xz" "$@"
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" -eq 0 ]
}

# ==== the corpus (HF ground truth) ====

@test "sl-detok gives HF's text for HF's ids of the corpus, and sl-tok | sl-detok gives the text back, SmolLM" {
	corpus roundtrip smollm "$SMOLLM"
}

@test "sl-detok gives HF's text for HF's ids of the corpus, and sl-tok | sl-detok gives the text back, stories260K" {
	corpus roundtrip stories260K "$STORIES"
}

@test "sl-detok --skip-special gives HF's text without special tokens, SmolLM" {
	corpus skip smollm "$SMOLLM"
}

@test "sl-detok --skip-special gives HF's text without special tokens, stories260K" {
	corpus skip stories260K "$STORIES"
}

@test "sl-detok decodes the same from llama.cpp's stories260K GGUF file as from tokenizer.json" {
	# HF's ids for the 250 corpus cases with '<' (special tokens spelled out, byte tokens, ...)
	"$PY" -c 'import json, lzma, sys
print("\n".join(map(str, json.load(lzma.open(sys.argv[1]))["ids"])))' "$TOKDATA/expected-nospecial-stories260K.json.xz" > ids
	"$DETOK" -m "$STORIES/tokenizer.json" ids > json.txt
	"$DETOK" -m "$STORIES_GGUF" ids > gguf.txt
	[ "$(wc -c < json.txt)" -gt 90000 ]
	cmp json.txt gguf.txt
	"$DETOK" --skip-special -m "$STORIES/tokenizer.json" ids > json.txt
	"$DETOK" --skip-special -m "$STORIES_GGUF" ids > gguf.txt
	cmp json.txt gguf.txt
}

@test "sl-detok gives HF's text for the ids of every Unicode code point (SL_TEST_LONG)" {
	[ -n "${SL_TEST_LONG:-}" ] || skip "20M ids: set SL_TEST_LONG=1"
	"$PY" "$TOKDATA/gen_sweep.py" > sweep.txt
	for m in smollm:"$SMOLLM" stories260K:"$STORIES"; do
		want=$("$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["name"] == sys.argv[2]:
        print(d["decode_sha256"])' "$TOKDATA/expected-sweep.jsonl" "${m%%:*}")
		"$TOK" -m "${m#*:}" sweep.txt > ids
		[ "$("$DETOK" -m "${m#*:}" ids | sha256sum)" = "$want  -" ]
	done
}

# ==== decoding ====

@test "sl-detok turns ids into text" {
	run -0 --separate-stderr bash -c "echo 19556 905 198 | '$DETOK' -m '$SMOLLM'"
	[ "$output" = "Hello world" ]
	[ "$stderr" = "" ]
	[ "$(echo 19556 905 198 | "$DETOK" -m "$SMOLLM" | od -An -c | tr -s ' ')" = " H e l l o w o r l d \n" ]
}

@test "sl-detok uses the embedded stories260K model by default and writes BOS as <s>" {
	run -0 bash -c "echo 1 346 306 414 263 304 341 | '$DETOK'"
	[ "$output" = "<s> Hello world" ]
	run -0 bash -c "echo 346 306 414 263 304 341 | '$DETOK'"
	[ "$output" = "Hello world" ]
}

@test "sl-detok -m takes a tokenizer.json, an HF directory, a GGUF file, and \$SL_MODEL" {
	for m in "$STORIES/tokenizer.json" "$STORIES" "$STORIES_GGUF"; do
		[ "$(echo 1 346 306 414 263 304 341 | "$DETOK" -m "$m")" = "<s> Hello world" ]
	done
	[ "$(echo 19556 905 | SL_MODEL="$SMOLLM_DIR" "$DETOK")" = "Hello world" ]
	[ "$(echo 346 | SL_MODEL="$SMOLLM_DIR" "$DETOK" -m "$STORIES")" = "He" ]
}

@test "sl-detok --skip-special leaves out special tokens, as HF" {
	run -0 bash -c "echo 1 346 306 414 263 304 341 2 | '$DETOK' --skip-special"
	[ "$output" = "Hello world" ]
	run -0 bash -c "echo 346 1 346 | '$DETOK'"
	[ "$output" = "He<s> He" ]
	run -0 bash -c "echo 346 1 346 | '$DETOK' --skip-special"
	[ "$output" = "He He" ]
	run -0 bash -c "echo 1 4093 198 26843 2 198 | '$DETOK' -m '$SMOLLM' --skip-special"
	[ "$output" = "$(printf 'user\nHi\n')" ]
	run -0 bash -c "echo 0 | '$DETOK' --skip-special"
	[ "$output" = "" ]
}

@test "sl-detok removes SentencePiece's leading space once, at the start of the output" {
	# HF: ["▁", "▁", "▁He"] -> "   He" -> Strip(1) -> "  He"
	run -0 bash -c "echo 410 410 346 | '$DETOK'"
	[ "$output" = "  He" ]
	run -0 bash -c "echo 13 1 13 | '$DETOK' | od -An -c | tr -s ' '"
	[ "$output" = " \n < s > \n" ]
}

@test "sl-detok accepts any white space between ids" {
	run -0 bash -c "printf '  19556\t905\r\n\n\v\f198  ' | '$DETOK' -m '$SMOLLM'"
	[ "$output" = "Hello world" ]
	run -0 bash -c "printf '' | '$DETOK'"
	[ "$output" = "" ]
	run -0 bash -c "printf ' \n\t\n' | '$DETOK'"
	[ "$output" = "" ]
}

@test "sl-detok reads its FILE arguments and - as one stream" {
	echo 19556 > a
	echo 198 > c
	run -0 bash -c "echo 905 | '$DETOK' -m '$SMOLLM' a - c"
	[ "$output" = "Hello world" ]
	# one stream: the SentencePiece leading space is removed only at the very start
	echo 346 > a
	echo 346 > b
	[ "$("$DETOK" a b)" = "He He" ]
}

@test "sl-detok writes U+FFFD for bytes that never form a character, as HF" {
	# byte fallback: one U+FFFD per byte; byte-level: one per broken sequence
	[ "$(echo 243 162 | "$DETOK")" = "��" ]
	[ "$(echo 243 346 | "$DETOK")" = "� He" ]
	[ "$(echo 243 1 162 | "$DETOK")" = "�<s>�" ]
	[ "$(echo 243 1 162 | "$DETOK" --skip-special)" = "��" ]
	[ "$(echo 173 235 | "$DETOK" -m "$SMOLLM")" = "�" ]
	[ "$(echo 173 19556 | "$DETOK" -m "$SMOLLM")" = "�Hello" ]
	[ "$(echo 19556 10813 242 | "$DETOK" -m "$SMOLLM")" = "Hello�" ]
	[ "$(echo 10813 0 242 218 | "$DETOK" -m "$SMOLLM")" = "�<|endoftext|>��" ]
	[ "$(echo 10813 0 242 218 | "$DETOK" -m "$SMOLLM" --skip-special)" = "😀" ]
}

# ==== streaming ====

@test "sl-detok writes text while ids are still coming through a pipe" {
	mkfifo in
	"$DETOK" -m "$SMOLLM" < in > out &
	pid=$!
	exec 7> in  # (bats owns fd 3)
	echo 19556 >&7
	wait_size out 5
	[ "$(cat out)" = "Hello" ]
	echo 905 >&7
	wait_size out 11
	[ "$(cat out)" = "Hello world" ]
	exec 7>&-
	wait "$pid"
}

@test "sl-detok holds back the bytes of an emoji split over byte-fallback tokens until it is whole" {
	# stories260K: "😀" = ▁ <0xF0> <0x9F> <0x98> <0x80>
	mkfifo in
	"$DETOK" < in > out &
	pid=$!
	exec 7> in
	echo 410 243 >&7
	sleep 0.3
	echo 162 >&7
	sleep 0.3
	echo 155 >&7
	sleep 0.5
	[ "$(stat -c %s out)" -eq 0 ]
	echo 131 >&7
	wait_size out 4
	[ "$(od -An -tx1 out)" = " f0 9f 98 80" ]
	echo 346 >&7
	wait_size out 7
	exec 7>&-
	wait "$pid"
	[ "$(cat out)" = "😀 He" ]
}

@test "sl-detok holds back the bytes of an emoji split over byte-level tokens until it is whole" {
	# SmolLM: "😀" = "ðŁ" (f0 9f) "ĺ" (98) "Ģ" (80)
	mkfifo in
	"$DETOK" -m "$SMOLLM" < in > out &
	pid=$!
	exec 7> in
	echo 19556 10813 >&7
	wait_size out 5
	echo 242 >&7
	sleep 0.5
	[ "$(cat out)" = "Hello" ]
	echo 218 >&7
	wait_size out 9
	[ "$(cat out)" = "Hello😀" ]
	exec 7>&-
	wait "$pid"
}

# ==== pipelines ====

@test "echo hi | sl-tok --keep-final-newline | sl-detok gives the text back with the BOS HF puts first" {
	run -0 bash -c "echo hi | '$TOK' --keep-final-newline | '$DETOK'"
	[ "$output" = "<s> hi" ]
	run -0 bash -c "echo hi | '$TOK' --keep-final-newline | '$DETOK' --skip-special | od -An -c | tr -s ' '"
	[ "$output" = " h i \n" ]
	run -0 bash -c "echo hi | '$TOK' --keep-final-newline --no-bos | '$DETOK' | od -An -c | tr -s ' '"
	[ "$output" = " h i \n" ]
	# without it, the prompt is the text less echo's newline
	run -0 bash -c "echo hi | '$TOK' --no-bos | '$DETOK' | od -An -c | tr -s ' '"
	[ "$output" = " h i" ]
	run -0 bash -c "echo hi | '$TOK' --keep-final-newline -m '$SMOLLM' | '$DETOK' -m '$SMOLLM' | od -An -c | tr -s ' '"
	[ "$output" = " h i \n" ]
}

@test "sl-tok | head | sl-detok keeps the text of the first tokens" {
	run -0 bash -c "printf 'Hello world, hello again' | '$TOK' -m '$SMOLLM' | head -n 2 | '$DETOK' -m '$SMOLLM'"
	[ "$output" = "Hello world" ]
}

# ==== errors ====

@test "sl-detok fails on an id outside the vocabulary, after the text before it" {
	run -1 --separate-stderr bash -c "printf '19556\n905\n99999\n' | '$DETOK' -m '$SMOLLM'"
	[ "$stderr" = "sl-detok: <stdin>:3:1: id 99999 >= vocab 49152" ]
	[ "$output" = "Hello world" ]
	run -1 --separate-stderr bash -c "echo 512 | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: id 512 >= vocab 512" ]
	[ "$output" = "" ]
	run -1 --separate-stderr bash -c "echo 511 1 2 49151 | '$DETOK' -m '$SMOLLM' >/dev/null && echo '1 2  49152' | '$DETOK' -m '$SMOLLM'"
	[ "$stderr" = "sl-detok: <stdin>:1:6: id 49152 >= vocab 49152" ]
}

@test "sl-detok fails on input that is not a token id, naming line and column" {
	run -1 --separate-stderr bash -c "echo '905 abc' | '$DETOK' -m '$SMOLLM'"
	[ "$stderr" = "sl-detok: <stdin>:1:5: 'abc' is not a token id" ]
	[ "$output" = " world" ]
	run -1 --separate-stderr bash -c "echo -1 | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: '-1' is not a token id" ]
	[ "$output" = "" ]
	run -1 --separate-stderr bash -c "printf '1\n 2\n\t+3\n' | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:3:2: '+3' is not a token id" ]
	run -1 --separate-stderr bash -c "printf '12x\n' | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: '12x' is not a token id" ]
	run -1 --separate-stderr bash -c "printf '1,2\n' | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: '1,2' is not a token id" ]
	run -1 --separate-stderr bash -c "printf '7\x01\n' | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: '7\\x01' is not a token id" ]
}

@test "sl-detok fails on an id too large for the token stream" {
	run -1 --separate-stderr bash -c "echo 99999999999 | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: '99999999999' is out of range" ]
	run -1 --separate-stderr bash -c "echo 2147483648 | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: '2147483648' is out of range" ]
	run -1 --separate-stderr bash -c "echo 2147483647 | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: id 2147483647 >= vocab 512" ]
}

@test "sl-detok shortens a long bad token in its message" {
	run -1 --separate-stderr bash -c "printf 'x%.0s' \$(seq 100) | '$DETOK'"
	[ "$stderr" = "sl-detok: <stdin>:1:1: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a token id" ]
}

@test "sl-detok names the file of a bad id" {
	printf '346\n  9999\n' > ids.txt
	run -1 --separate-stderr "$DETOK" ids.txt
	[ "$stderr" = "sl-detok: ids.txt:2:3: id 9999 >= vocab 512" ]
	[ "$output" = "He" ]
	printf '346\n' > a
	printf 'oops\n' > b
	run -1 --separate-stderr "$DETOK" a b
	[ "$stderr" = "sl-detok: b:1:1: 'oops' is not a token id" ]
}

@test "sl-detok fails on a missing input file" {
	run -1 --separate-stderr "$DETOK" nosuch.txt
	[ "$stderr" = "sl-detok: nosuch.txt: No such file or directory" ]
	[ "$output" = "" ]
}

@test "sl-detok fails on a missing or unreadable model" {
	run -1 --separate-stderr "$DETOK" -m nosuch.json /dev/null
	[ "$stderr" = "sl-detok: nosuch.json: No such file or directory" ]
	[ "$output" = "" ]
	printf '{"model": ' > bad.json
	run -1 --separate-stderr "$DETOK" -m bad.json /dev/null
	[ "$stderr" = "sl-detok: bad.json: not valid JSON" ]
	mkdir empty
	run -1 --separate-stderr "$DETOK" -m empty /dev/null
	[ "$stderr" = "sl-detok: empty: no tokenizer.json in this directory" ]
}

@test "sl-detok exits 2 with the usage on an unknown option or a missing argument" {
	run -2 --separate-stderr "$DETOK" --bogus
	[ "$output" = "" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "${stderr_lines[0]}" = "sl-detok: unrecognized option '--bogus'" ]
	[ "${stderr_lines[1]}" = "usage: $(man_synopsis "$ROOT/man/sl-detok.1")" ]
	[ "${stderr_lines[2]}" = "Try 'sl-detok --help' for more information." ]
	run -2 --separate-stderr "$DETOK" -m
	[ "$output" = "" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "${stderr_lines[0]}" = "sl-detok: option requires an argument -- 'm'" ]
}

@test "sl-detok fails when it cannot write its output" {
	run -1 --separate-stderr bash -c "echo 1 346 | '$DETOK' > /dev/full"
	[ "$stderr" = "sl-detok: stdout: No space left on device" ]
}

@test "sl-detok -v describes the tokenizer on stderr, -q says nothing, neither changes the text" {
	run -0 --separate-stderr bash -c "echo 19556 905 | '$DETOK' -v -m '$SMOLLM'"
	[ "$output" = "Hello world" ]
	[[ "$stderr" == "sl-detok: $SMOLLM: gpt2 tokenizer, 49152 ids"* ]]
	run -0 --separate-stderr bash -c "echo 346 | '$DETOK' -q"
	[ "$output" = "He" ]
	[ "$stderr" = "" ]
}

# ==== help, version, manual ====

@test "sl-detok --version prints its name and version" {
	run -0 --separate-stderr "$DETOK" --version
	[ "$output" = "sl-detok 0.1.0" ]
	run -0 "$DETOK" -V
	[ "$output" = "sl-detok 0.1.0" ]
}

@test "sl-detok --help prints the man page's SYNOPSIS as usage, on stdout" {
	run -0 --separate-stderr "$DETOK" --help
	[ "${lines[0]}" = "usage: $(man_synopsis "$ROOT/man/sl-detok.1")" ]
	[ "$stderr" = "" ]
	for opt in -m --model --skip-special -q --quiet -v --verbose --help --version; do
		[[ "$output" == *"$opt"* ]] || { echo "missing $opt"; false; }
	done
}

@test "the sl-detok man page renders without warnings" {
	run -0 --separate-stderr groff -ww -man -Tutf8 -z "$ROOT/man/sl-detok.1"
	[ "$stderr" = "" ]
}

@test "the sl-detok man page EXAMPLES give the output they show" {
	ln -s "$SMOLLM_DIR" smollm
	run run_man_examples "$ROOT/man/sl-detok.1"
	echo "$output"
	[ "$status" -eq 0 ]
}
