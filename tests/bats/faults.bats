#!/usr/bin/env bats
# faults.bats — what the tools do when the world goes wrong under them: a full disk, a signal
# in the middle of writing, a reader that goes away, a model file truncated while mapped, and
# token streams that are odd but legal (or not).  Every failure is a message naming the file
# and exit 1, and nothing half-written is left behind.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${SL_BIN:-$ROOT/bin}  # make check-asan: SL_BIN names the instrumented programs
PY=${PYTHON:-/usr/bin/python3}
STORIES=$ROOT/models/stories260K.gguf
STORIES_HF=$ROOT/models/stories260K-hf
ENOSPC="No space left on device"

# A model large enough that quantizing (q4_k_m, one thread) and compressing (zstd 19) take
# a second or more, so a signal lands while the output is being written.
setup_file() {
	local d=$BATS_FILE_TMPDIR
	"$PY" "$ROOT/tests/ref/make_hf_model.py" --hidden 512 --layers 4 --heads 8 --kv-heads 4 \
		--ffn 1536 --dtype bf16 "$d/big" >/dev/null
	"$BIN/sl-quant" -q -t q8_0 -o "$d/big.gguf" "$d/big"
}

# A small tmpfs at $FULL (root only: skip otherwise), unmounted by teardown.
mount_small() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
	FULL=$BATS_TEST_TMPDIR/full
	mkdir -p "$FULL"
	mount -t tmpfs -o "size=$1" tmpfs "$FULL" 2>/dev/null || skip "cannot mount a tmpfs here"
	MOUNTED=$FULL
}

teardown() {
	if [ -n "${MOUNTED:-}" ]; then umount "$MOUNTED"; fi
	return 0
}

# ==== disk full ====

@test "disk full: sl-quant -o names the file, exits 1 and leaves nothing" {
	mount_small 64k
	run -1 --separate-stderr "$BIN/sl-quant" -q -t f32 -o "$FULL/m.gguf" "$STORIES_HF"
	[ "$stderr" = "sl-quant: $FULL/m.gguf: write: $ENOSPC" ]
	[ -z "$(ls -A "$FULL")" ]
}

@test "disk full: sl-chunk -o names the chunk, exits 1 and leaves no directory" {
	mount_small 256k
	run -1 --separate-stderr "$BIN/sl-chunk" -q --layers 1 -o "$FULL/c" "$STORIES"
	[[ "$stderr" == "sl-chunk: $FULL/c: c-0000"?"-of-00006.gguf: $ENOSPC" ]]
	[ -z "$(ls -A "$FULL")" ]
}

@test "disk full: sl-chunk --join -o names the file, exits 1 and leaves nothing" {
	"$BIN/sl-chunk" -q --layers 1 -o "$BATS_TEST_TMPDIR/c" "$STORIES"
	mount_small 64k
	run -1 --separate-stderr "$BIN/sl-chunk" -q --join -o "$FULL/j.gguf" "$BATS_TEST_TMPDIR/c"
	[[ "$stderr" == "sl-chunk: $FULL/j.gguf: "*"$ENOSPC" ]]
	[ -z "$(ls -A "$FULL")" ]
}

@test "disk full: sl-tok, sl-infer and sl-detok to /dev/full say stdout and exit 1" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -1 --separate-stderr bash -c "echo 'Once upon a time' | '$BIN/sl-tok' > /dev/full"
	[ "$stderr" = "sl-tok: stdout: $ENOSPC" ]
	run -1 --separate-stderr bash -c "echo '1 403 407' | '$BIN/sl-infer' -n 4 --temp 0 > /dev/full"
	[ "$stderr" = "sl-infer: stdout: $ENOSPC" ]
	run -1 --separate-stderr bash -c "echo '1 403 407' | '$BIN/sl-detok' > /dev/full"
	[ "$stderr" = "sl-detok: stdout: $ENOSPC" ]
}

@test "disk full: sl-infer --logits /dev/full names the file and exits 1" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -1 --separate-stderr bash -c "echo '1 403 407' | '$BIN/sl-infer' -n 4 --temp 0 --logits /dev/full > /dev/null"
	[ "$stderr" = "sl-infer: /dev/full: $ENOSPC" ]
}

@test "disk full: sl-infer --logits and --kld-base name the file, exit 1 and leave nothing" {
	mount_small 16k
	run -1 --separate-stderr "$BIN/sl-infer" -n 200 --ignore-eos --seed 1 --logits "$FULL/l.bin" <<< 1
	[ "$stderr" = "sl-infer: $FULL/l.bin: $ENOSPC" ]
	[ -z "$(ls -A "$FULL")" ]
	head -c 20000 "$ROOT/tests/fixtures/tinystories-sample/tinystories.txt" | "$BIN/sl-tok" > "$BATS_TEST_TMPDIR/ids"
	run -1 --separate-stderr "$BIN/sl-infer" --score -q --kld-base "$FULL/b.kld" "$BATS_TEST_TMPDIR/ids"
	[ "$stderr" = "sl-infer: $FULL/b.kld: $ENOSPC" ]
	[ -z "$(ls -A "$FULL")" ]
}

# ==== signals while writing ====

# interrupt SIG PATTERN CMD...: run CMD in the background, send SIG once a file matching
# PATTERN (its temporary output) exists, and set $status to CMD's exit status.
interrupt() {
	local sig=$1 pat=$2 i
	shift 2
	"$@" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	for ((i = 0; i < 1000; i++)); do
		compgen -G "$pat" >/dev/null && break
		sleep 0.01
	done
	compgen -G "$pat" >/dev/null || { wait $pid; echo "no $pat appeared" >&2; return 1; }
	kill -"$sig" $pid
	status=0
	wait $pid || status=$?
}

@test "SIGINT and SIGTERM during sl-quant: killed by the signal, nothing left" {
	local d=$BATS_TEST_TMPDIR/out
	mkdir -p "$d"
	interrupt INT "$d/m.gguf.tmp.*" "$BIN/sl-quant" -q -j 1 -t q4_k_m -o "$d/m.gguf" "$BATS_FILE_TMPDIR/big"
	[ "$status" -eq 130 ]
	[ -z "$(ls -A "$d")" ]
	interrupt TERM "$d/m.gguf.tmp.*" "$BIN/sl-quant" -q -j 1 -t q4_k_m -o "$d/m.gguf" "$BATS_FILE_TMPDIR/big"
	[ "$status" -eq 143 ]
	[ -z "$(ls -A "$d")" ]
}

@test "SIGINT and SIGTERM during sl-chunk: killed by the signal, no directory left" {
	local d=$BATS_TEST_TMPDIR/out
	mkdir -p "$d"
	interrupt INT "$d/c.tmp.*/*" "$BIN/sl-chunk" -q --zstd=19 --layers 1 -o "$d/c" "$BATS_FILE_TMPDIR/big.gguf"
	[ "$status" -eq 130 ]
	[ -z "$(ls -A "$d")" ]
	interrupt TERM "$d/c.tmp.*/*" "$BIN/sl-chunk" -q --zstd=19 --layers 1 -o "$d/c" "$BATS_FILE_TMPDIR/big.gguf"
	[ "$status" -eq 143 ]
	[ -z "$(ls -A "$d")" ]
}

# ==== a reader that goes away ====

# sl-infer | head -1: when head exits, sl-infer's next write raises SIGPIPE and sl-infer dies
# of it silently, status 141 (128 + SIGPIPE), as cat or yes do: the shell treats that as the
# normal end of a pipeline, and the producer stops at once.  If sl-infer wrote everything
# before head exited, it ends normally (0).  No message either way.
@test "SIGPIPE: sl-infer | head -1 stops quietly" {
	run --separate-stderr bash -c "'$BIN/sl-infer' -n 500 --ignore-eos --seed 1 <<< 1 | head -1; exit \${PIPESTATUS[0]}"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^[0-9]+$ ]]
}

@test "SIGPIPE: quiet even when the caller ignores SIGPIPE (the tools restore its default)" {
	run --separate-stderr bash -c "trap '' PIPE; '$BIN/sl-infer' -n 500 --ignore-eos --seed 1 <<< 1 | head -1; exit \${PIPESTATUS[0]}"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$stderr" ]
	yes 346 | head -n 20000 > "$BATS_TEST_TMPDIR/ids"
	run --separate-stderr bash -c "trap '' PIPE; '$BIN/sl-detok' '$BATS_TEST_TMPDIR/ids' | head -c 1 >/dev/null; exit \${PIPESTATUS[0]}"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "SIGPIPE: sl-tok | head -1 and sl-detok | head -c 1 stop quietly" {
	run --separate-stderr bash -c "head -c 200000 '$ROOT/tests/fixtures/tinystories-sample/tinystories.txt' | '$BIN/sl-tok' | head -1; exit \${PIPESTATUS[1]}"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr bash -c "head -c 200000 '$ROOT/tests/fixtures/tinystories-sample/tinystories.txt' | '$BIN/sl-tok' | '$BIN/sl-detok' | head -c 1; exit \${PIPESTATUS[2]}"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

# ==== the model changes under sl-infer ====

# sigbus_run CMD: start sl-infer on a copy of the model, $d/m.gguf, with the prompt on a fifo;
# once the copy is mapped and sl-infer waits for the prompt, run CMD on it, then send the prompt.
sigbus_run() {
	local d=$BATS_TEST_TMPDIR i
	cp "$STORIES" "$d/m.gguf"
	mkfifo "$d/in"
	"$BIN/sl-infer" -m "$d/m.gguf" -n 20 --temp 0 < "$d/in" > "$d/out" 2> "$d/err" &
	local pid=$!
	local w
	exec {w}> "$d/in" # (bats keeps fd 3 for itself)
	for ((i = 0; i < 1000; i++)); do
		grep -q "$d/m.gguf" /proc/$pid/maps 2>/dev/null && grep -q pipe /proc/$pid/wchan 2>/dev/null && break
		sleep 0.01
	done
	eval "$1"
	echo 1 >&$w
	exec {w}>&-
	status=0
	wait $pid || status=$?
	stderr=$(cat "$d/err")
}

@test "SIGBUS: the model truncated while mapped: a message naming it, exit 1, no core" {
	[ -r /proc/self/wchan ] || skip "no /proc"
	sigbus_run 'truncate -s 4096 "$d/m.gguf"'
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/m.gguf: the file changed or was truncated while in use" ]
}

@test "SIGBUS: the model emptied while mapped: the same message" {
	[ -r /proc/self/wchan ] || skip "no /proc"
	sigbus_run 'truncate -s 0 "$d/m.gguf"'
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/m.gguf: the file changed or was truncated while in use" ]
}

@test "SIGBUS: the model rewritten in place by a smaller one while mapped: the same message" {
	[ -r /proc/self/wchan ] || skip "no /proc"
	sigbus_run 'cat "$ROOT/tests/fixtures/stories260K-gguf/stories260K-q4_0.gguf" > "$d/m.gguf"'
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/m.gguf: the file changed or was truncated while in use" ]
}

# (A model replaced by rename, as sl-quant and sl-chunk write, is no fault: the mapping keeps
# the old file.)

# ==== odd token streams ====

@test "token stream: a 1 MB word is refused with its start, not echoed whole" {
	{ printf '1 '; head -c 1048576 /dev/zero | tr '\0' 7; echo; } > "$BATS_TEST_TMPDIR/w"
	run -1 --separate-stderr "$BIN/sl-detok" "$BATS_TEST_TMPDIR/w"
	[ "$stderr" = "sl-detok: $BATS_TEST_TMPDIR/w:1:3: '777777777777777777777777777777777777777...' is not a token id" ]
	run -1 --separate-stderr "$BIN/sl-infer" -n 1 "$BATS_TEST_TMPDIR/w"
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/w:1:3: '777777777777777777777777777777777777777...' is not a token id" ]
}

@test "token stream: a NUL byte is refused with its place" {
	printf '1 2\0 3\n' > "$BATS_TEST_TMPDIR/nul"
	run -1 --separate-stderr "$BIN/sl-detok" "$BATS_TEST_TMPDIR/nul"
	[ "$stderr" = "sl-detok: $BATS_TEST_TMPDIR/nul:1:3: '2\\x00' is not a token id" ]
	run -1 --separate-stderr "$BIN/sl-infer" -n 1 "$BATS_TEST_TMPDIR/nul"
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/nul:1:3: '2\\x00' is not a token id" ]
}

@test "token stream: CRLF line ends and a missing final newline read as plain ids" {
	want=$(printf '403\n407\n' | "$BIN/sl-detok")
	[ -n "$want" ]
	[ "$(printf '403\r\n407\r\n' | "$BIN/sl-detok")" = "$want" ]
	[ "$(printf '403\n407' | "$BIN/sl-detok")" = "$want" ]
	a=$(printf '1\n403\n407\n' | "$BIN/sl-infer" -n 5 --temp 0)
	[ "$(printf '1\r\n403\r\n407' | "$BIN/sl-infer" -n 5 --temp 0)" = "$a" ]
}

@test "text: a 1 MB word, NUL bytes and CRLF go through sl-tok and back" {
	head -c 1048576 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/a"
	run -0 bash -c "'$BIN/sl-tok' '$BATS_TEST_TMPDIR/a' | '$BIN/sl-detok' --skip-special | cmp - '$BATS_TEST_TMPDIR/a'"
	printf 'one\0two\r\nthree' > "$BATS_TEST_TMPDIR/t"
	run -0 bash -c "'$BIN/sl-tok' '$BATS_TEST_TMPDIR/t' | '$BIN/sl-detok' --skip-special | cmp - '$BATS_TEST_TMPDIR/t'"
}
