#!/usr/bin/env bats
# What every sl tool does with its output streams (cli/): a write that fails (/dev/full)
# is reported once, as "TOOL: stdout: <why>", with exit 1; the progress line of long work
# appears on stderr only when stderr is a terminal.

bats_require_minimum_version 1.5.0

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	BIN=${SL_BIN:-$ROOT/bin}
	FULL="stdout: No space left on device"
	[ -w /dev/full ] || skip "no /dev/full on this system"
}

@test "sl-tok reports a full stdout once, whether the ids fill its buffer or not" {
	run -1 --separate-stderr bash -c "printf hi | '$BIN/sl-tok' > /dev/full"
	[ "$stderr" = "sl-tok: $FULL" ]
	# enough ids to fail inside the encoder's callback, not only at the final flush
	run -1 --separate-stderr bash -c "yes 'hello world' | head -c 200000 | '$BIN/sl-tok' > /dev/full"
	[ "$stderr" = "sl-tok: $FULL" ]
	run -1 --separate-stderr bash -c "yes 'hello world' | head -c 200000 | '$BIN/sl-tok' --show > /dev/full"
	[ "$stderr" = "sl-tok: $FULL" ]
	# ids flushed by the end of input (no final newline), from a named file
	head -c 50000 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/a.txt"
	run -1 --separate-stderr bash -c "'$BIN/sl-tok' '$BATS_TEST_TMPDIR/a.txt' > /dev/full"
	[ "$stderr" = "sl-tok: $FULL" ]
}

@test "sl-detok reports a full stdout" {
	run -1 --separate-stderr bash -c "echo 1 2 3 | '$BIN/sl-detok' > /dev/full"
	[ "$stderr" = "sl-detok: $FULL" ]
	run -1 --separate-stderr bash -c "yes 346 | head -n 20000 | '$BIN/sl-detok' > /dev/full"
	[ "$stderr" = "sl-detok: $FULL" ]
}

@test "sl-infer reports a full stdout" {
	run -1 --separate-stderr bash -c "echo 1 | '$BIN/sl-infer' --temp 0 -n 4 > /dev/full"
	[ "$stderr" = "sl-infer: $FULL" ]
}

@test "sl-quant --info reports a full stdout" {
	run -1 --separate-stderr bash -c "'$BIN/sl-quant' --info '$ROOT/models/stories260K-hf' > /dev/full"
	[ "$stderr" = "sl-quant: $FULL" ]
}

@test "every tool's --help and --version fail on a full stdout" {
	n=0
	for p in "$BIN"/sl-*; do
		t=${p##*/}
		run -1 --separate-stderr bash -c "'$p' --help > /dev/full"
		[ "$stderr" = "$t: $FULL" ]
		run -1 --separate-stderr bash -c "'$p' --version > /dev/full"
		[ "$stderr" = "$t: $FULL" ]
		n=$((n + 1))
	done
	[ "$n" -ge 4 ]
}

# Runs "$@" with stdin, stdout and stderr on a pseudo-terminal (util-linux script); the
# terminal's output, stdout and stderr mixed, is in $output.
on_terminal() {
	command -v script >/dev/null || skip "script(1) is not installed (bsdutils)"
	run script -qec "$*" /dev/null
}

@test "sl-quant shows its progress on a terminal: tensor i of n, MiB, MB/s, then erases it" {
	on_terminal "'$BIN/sl-quant' -t f32 -o '$BATS_TEST_TMPDIR/m.gguf' '$ROOT/models/stories260K-hf'"
	[ "$status" -eq 0 ]
	lines=$(printf '%s' "$output" | tr '\r' '\n')
	# stories260K has 47 tensors, 1.0 MiB in F32
	grep -Eq '^sl-quant: tensor 1 of 47, [0-9.]+ of 1\.0 MiB' <<<"$lines"
	grep -Eq '^sl-quant: tensor 47 of 47, 1\.0 of 1\.0 MiB, [0-9.]+ MB/s *$' <<<"$lines"
	# erased before the summary: a carriage return, spaces, a carriage return
	[[ "$output" =~ $'\r'\ +$'\r'"sl-quant: $BATS_TEST_TMPDIR/m.gguf: f32, 47 tensors" ]]
	[ -s "$BATS_TEST_TMPDIR/m.gguf" ]
}

@test "sl-quant shows no progress when stderr is not a terminal, or with -q" {
	run -0 --separate-stderr "$BIN/sl-quant" -t f32 -o "$BATS_TEST_TMPDIR/m.gguf" "$ROOT/models/stories260K-hf"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" != *tensor\ 1\ of* ]]
	[[ "$stderr" != *$'\r'* ]]
	# stdout on the terminal, stderr through a pipe
	on_terminal "'$BIN/sl-quant' -t f32 -o '$BATS_TEST_TMPDIR/m.gguf' '$ROOT/models/stories260K-hf' 2>&1 | cat"
	[ "$status" -eq 0 ]
	[[ "$output" == *"47 tensors"* ]]
	[[ "$output" != *"tensor 1 of"* ]]
	on_terminal "'$BIN/sl-quant' -q -t f32 -o '$BATS_TEST_TMPDIR/m.gguf' '$ROOT/models/stories260K-hf'"
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}
