#!/usr/bin/env bats
# sl-infer: the forward pass against the float64 HF reference, sampling, streaming, the
# inspection options, and every error message.

load infer_helper
load man_helper

# The 256 ids llama2.c's run.c -t 0.0 generates from BOS with stories260K (models/
# stories260K-hf/SOURCE.md); decoded they are Karpathy's published sample below.
GREEDY_IDS="403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267 337 335 312 432 398 312 286 267 414 270 333 415 426 13 438 310 439 419 357 336 432 313 438 310 432 278 316 439 419 298 414 267 265 282 295 433 426 436 317 286 296 418 269 279 292 416 439 413 409 416 327 263 415 294 267 400 426 338 336 432 313 442 391 267 337 335 364 420 268 388 432 398 359 280 303 439 413 272 417 264 312 426 436 13 438 310 286 296 418 269 279 292 416 439 413 409 416 327 263 415 294 267 400 426 338 336 432 313 442 439 423 262 304 420 422 432 317 426 359 279 292 416 439 413 409 416 327 263 415 294 267 400 426 436 13 438 310 279 292 416 439 413 391 267 281 421 427 311 357 432 384 358 336 432 313 442 439 423 262 304 420 422 432 357 426 359 279 292 416 439 413 409 416 327 263 415 294 267 400 426 436 320 285 357 336 432 313 455 289 439 413 263 304 420 422 432 317 426 410 448 411 280 303 281 421 427 364 426"

# ==== the reference comparison (tests/ref/llama_ref.py, written from HF's LlamaForCausalLM) ====

@test "F32 logits and greedy ids match the reference within 1e-4: grouped-query attention, tied head" {
	run check_ref --greedy "$(model_gqa)" "$(gguf "$(model_gqa)" f32)" 1e-4 --kv-type f32
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "F32 logits and greedy ids match the reference within 1e-4: multi-head attention, separate head, 3 layers" {
	run check_ref --greedy "$(model_mha)" "$(gguf "$(model_mha)" f32)" 1e-4 --kv-type f32
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "F32 logits and greedy ids match the reference within 1e-4: odd sizes (hidden 48, 3 heads over 1 kv head, ffn 100)" {
	run check_ref --greedy "$(model_odd)" "$(gguf "$(model_odd)" f32)" 1e-4 --kv-type f32
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "F32 logits and greedy ids match the reference within 1e-4: bf16 weights in 3 shards, 4 layers" {
	run check_ref --greedy "$(model_sharded)" "$(gguf "$(model_sharded)" f32)" 1e-4 --kv-type f32
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "F32 logits and greedy ids match the reference within 1e-4: hidden 256, 4 heads over 1 kv head" {
	run check_ref --greedy "$(model_kq)" "$(gguf "$(model_kq)" f32)" 1e-4 --kv-type f32
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the default f16 KV cache stays within 5e-3 of the reference" {
	run check_ref "$(model_gqa)" "$(gguf "$(model_gqa)" f32)" 5e-3
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "F32 greedy continuations equal the reference's own greedy run (llama_ref.py --greedy)" {
	dir=$(model_gqa)
	want=$("$PY" "$SL_ROOT/tests/ref/llama_ref.py" "$dir" --ids "$(prompt_file)" --greedy 20)
	got=$("$INFER" -m "$(gguf "$dir" f32)" --temp 0 -n 20 --ignore-eos "$(prompt_file)")
	[ "$want" = "$got" ]
}

@test "every weight type matches the reference on its dequantized weights within 1e-4, greedy ids too (--exact)" {
	for t in f16 bf16 q8_0 q4_0 q4_k q6_k q3_k q2_k; do
		run check_ref --greedy "$(gguf "$(model_kq)" $t)" "$(gguf "$(model_kq)" $t)" 1e-4 --kv-type f32 --exact
		echo "$t: $output"
		[ "$status" -eq 0 ]
	done
	run check_ref "$(gguf "$(model_odd)" q8_0)" "$(gguf "$(model_odd)" q8_0)" 1e-4 --kv-type f32 --exact
	echo "odd q8_0: $output"
	[ "$status" -eq 0 ]
}

@test "F16 and BF16 match the reference on their weights within 1e-4 with the default kernels, greedy ids too" {
	for t in f16 bf16; do
		run check_ref --greedy "$(gguf "$(model_kq)" $t)" "$(gguf "$(model_kq)" $t)" 1e-4 --kv-type f32
		echo "$t: $output"
		[ "$status" -eq 0 ]
	done
}

@test "quantized types stay within 4e-2 of the reference with the default (Q8-activation) kernels" {
	for t in q8_0 q4_0 q4_k q6_k q3_k q2_k; do
		run check_ref "$(gguf "$(model_kq)" $t)" "$(gguf "$(model_kq)" $t)" 4e-2
		echo "$t: $output"
		[ "$status" -eq 0 ]
	done
}

@test "a long sequence (150 prompt ids in batches of 50, then 100 more) matches the reference within 1e-4" {
	# Attention reads the cache in blocks of 64 positions: this crosses several, inside a batch.
	echo 1 $GREEDY_IDS | tr ' ' '\n' | head -n 150 > "$BATS_TEST_TMPDIR/p150"
	"$INFER" --temp 0 -n 100 -b 50 --echo --kv-type f32 --logits "$BATS_TEST_TMPDIR/l" \
		"$BATS_TEST_TMPDIR/p150" > "$BATS_TEST_TMPDIR/seq"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/seq")" -eq 250 ]
	run "$PY" "$SL_ROOT/tests/ref/llama_ref.py" "$SL_ROOT/models/stories260K-hf" --ids "$BATS_TEST_TMPDIR/seq" \
		--compare "$BATS_TEST_TMPDIR/l" --greedy-after 150
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a GGUF written by llama.cpp's tools gives the same logits as the HF checkpoint" {
	run check_ref "$SL_ROOT/models/stories260K-hf" "$SL_ROOT/tests/fixtures/stories260K-gguf/stories260K-f32.gguf" \
		1e-4 --kv-type f32
	echo "$output"
	[ "$status" -eq 0 ]
}

# ==== the embedded model: llama2.c's published greedy sample ====

@test "echo PROMPT | sl-tok | sl-infer | sl-detok continues the prompt as llama.cpp does" {
	# llama.cpp's llama-simple "Once upon a time", greedy, on llama.cpp's own GGUF of the model
	# (tests/fixtures/stories260K-gguf/llamacpp-greedy-f32.txt): the prompt has no newline.
	g=$SL_ROOT/tests/fixtures/stories260K-gguf
	want=$(head -n 1 "$g/llamacpp-greedy-f32.txt")
	run -0 bash -c "echo 'Once upon a time' | '$BIN/sl-tok' | '$INFER' -m '$g/stories260K-f32.gguf' \
		--temp 0 -n 30 --echo | '$BIN/sl-detok'"
	[ -n "$output" ] && [ "${want#"$output"}" != "$want" ]
	[[ "$output" == "<s> Once upon a time, there was a little girl named Lily."* ]]
	# with echo's newline kept, the model starts a new paragraph instead
	run -0 bash -c "echo 'Once upon a time' | '$BIN/sl-tok' --keep-final-newline | \
		'$INFER' -m '$g/stories260K-f32.gguf' --temp 0 -n 30 --echo | '$BIN/sl-detok'"
	[[ "$output" == "<s> Once upon a time"$'\n'* ]]
}

@test "the embedded model, greedy from BOS, gives llama2.c's 256 ids" {
	run --separate-stderr bash -c "echo 1 | '$INFER' --temp 0 -n 256"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "$GREEDY_IDS" ]
	[ "$stderr" = "" ]
}

@test "the embedded model, greedy from BOS, prints llama2.c's published sample word for word" {
	want=$(cat <<'EOF'
Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.
Lily's mom said, "Lily, let's go to the park." Lily was sad and didn't know what to do. She said, "I want to play with your ball, but I can't find it."
Lily was sad and didn't know what to do. She said, "I'm sorry, Lily. I didn't know what to do."
Lily didn't want to help her mom, so she said, "I'm sorry, mom. I didn't know what to do." Her mom said, "Don't worry, Lily. We can help you.
EOF
)
	run bash -c "echo 1 | '$INFER' --temp 0 -n 256 | '$BIN/sl-detok'"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}

@test "SL_KERNELS naming no set this CPU runs is said on stderr, and the ids are the default set's" {
	want=$(echo 1 | env -u SL_KERNELS "$INFER" --temp 0 -n 16)
	run --separate-stderr bash -c "echo 1 | SL_KERNELS=avx9 '$INFER' --temp 0 -n 16"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	[[ "$stderr" == *"SL_KERNELS=avx9: not a kernel set this CPU runs"*"using "* ]]
	run --separate-stderr bash -c "echo 1 | SL_KERNELS=ref '$INFER' --temp 0 -n 16"
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
}

@test "SL_PREFETCH_AHEAD changes no id; one that is not a distance is said on stderr" {
	want=$(echo 1 | env -u SL_PREFETCH_AHEAD "$INFER" --temp 0 -n 16)
	for d in 0 2048 1048576; do
		run --separate-stderr bash -c "echo 1 | SL_PREFETCH_AHEAD=$d '$INFER' --temp 0 -n 16"
		[ "$status" -eq 0 ]
		[ "$output" = "$want" ]
		[ "$stderr" = "" ]
	done
	for d in 2k -1 1048577 ''; do
		run --separate-stderr bash -c "echo 1 | SL_PREFETCH_AHEAD='$d' '$INFER' --temp 0 -n 16"
		[ "$status" -eq 0 ]
		[ "$output" = "$want" ]
		[[ "$stderr" == *"SL_PREFETCH_AHEAD=$d: not a number of bytes from 0 to 1048576; ignored"* ]]
	done
}

@test "--stats says how far ahead one id's products asked, and why" {
	run --separate-stderr bash -c "echo 1 | env -u SL_PREFETCH_AHEAD SL_KERNELS=ref '$INFER' --temp 0 -n 16 --stats"
	[[ "$stderr" == *"asked for their weights 8192 bytes ahead (default)"* ]]
	run --separate-stderr bash -c "echo 1 | SL_PREFETCH_AHEAD=4096 '$INFER' --temp 0 -n 16 --stats"
	[[ "$stderr" == *"asked for their weights 4096 bytes ahead (SL_PREFETCH_AHEAD)"* ]]
	if [ "$(echo 1 | env -u SL_KERNELS "$INFER" -v -n 1 2>&1 >/dev/null | grep -o 'kernels [a-z0-9-]*')" != "kernels ref" ]; then
		run --separate-stderr bash -c "echo 1 | env -u SL_PREFETCH_AHEAD -u SL_KERNELS '$INFER' --temp 0 -n 16 --stats"
		[[ "$stderr" =~ "asked for their weights "(8192|2048)" bytes ahead (timed)" ]]
	fi
}

@test "an empty prompt starts from the model's BOS id" {
	run bash -c "'$INFER' --temp 0 -n 10 < /dev/null"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "$(echo $GREEDY_IDS | cut -d' ' -f1-10)" ]
}

@test "the README pipeline prints a story" {
	[ -x "$BIN/sl-tok" ] || skip "sl-tok not built"
	run bash -c "echo 'Once upon a time' | '$BIN/sl-tok' | '$INFER' --seed 1 | '$BIN/sl-detok'"
	[ "$status" -eq 0 ]
	[ "${#output}" -gt 100 ]
	[[ "$output" == *" the "* ]]
}

# ==== sampling and stopping ====

@test "the same seed gives the same ids, whatever the thread count" {
	a=$(echo 1 | "$INFER" --seed 7 -n 100 --top-k 40 --min-p 0.05 -t 1)
	b=$(echo 1 | "$INFER" --seed 7 -n 100 --top-k 40 --min-p 0.05 -t 2)
	c=$(echo 1 | "$INFER" --seed 8 -n 100 --top-k 40 --min-p 0.05 -t 2)
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
	d1=$("$INFER" -m "$(gguf "$(model_kq)" q4_k)" --seed 3 -n 30 --ignore-eos -t 1 "$(prompt_file)")
	d2=$("$INFER" -m "$(gguf "$(model_kq)" q4_k)" --seed 3 -n 30 --ignore-eos -t 2 -b 7 "$(prompt_file)")
	[ "$d1" = "$d2" ]
}

@test "--no-mmap reads the model into memory and gives the same ids and logits as the mapping" {
	m=$(gguf "$(model_kq)" q4_k)
	"$INFER" -m "$m" --seed 5 -n 20 --ignore-eos --logits "$BATS_TEST_TMPDIR/a" "$(prompt_file)" > "$BATS_TEST_TMPDIR/ia"
	run -0 --separate-stderr "$INFER" -m "$m" --seed 5 -n 20 --ignore-eos --no-mmap --stats \
		--logits "$BATS_TEST_TMPDIR/b" "$(prompt_file)"
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/ia")" ]
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[[ "${stderr_lines[0]}" == "sl-infer: load "*" MiB read, state "* ]]
	run -1 --separate-stderr "$INFER" --no-mmap -m "$BATS_TEST_TMPDIR" "$(prompt_file)"
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR: is a directory" ]
}

@test "generation stops at an end-of-generation id, which is not written" {
	# stories260K ends a story with BOS (id 1); sl-quant writes sl.eog_token_ids = [2, 1].
	run bash -c "echo 1 | '$INFER' --seed 1 -n 500"
	[ "$status" -eq 0 ]
	n=$(echo "$output" | wc -l)
	[ "$n" -lt 500 ]
	! echo "$output" | grep -qx 1
	run bash -c "echo 1 | '$INFER' --seed 1 -n 500 --ignore-eos"
	[ "$(echo "$output" | sed -n "$((n + 1))p")" = 1 ]
	[ "$(echo "$output" | wc -l)" -eq 500 ]
}

@test "--temp 0 and --top-k 1 are both greedy" {
	a=$(echo 1 | "$INFER" --temp 0 -n 50)
	b=$(echo 1 | "$INFER" --top-k 1 --temp 3 --seed 9 -n 50)
	[ "$a" = "$b" ]
}

@test "a prompt plus -n beyond the context writes what fits and warns" {
	run --separate-stderr bash -c "printf '1 403 407\n' | '$INFER' -c 10 -n 20 --temp 0"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "261 378 432 383 286 261 376" ]
	[ "$stderr" = "sl-infer: context full (10 ids): stopped after 7 of 20 ids" ]
	run --separate-stderr bash -c "printf '1 403 407\n' | '$INFER' -q -c 10 -n 20 --temp 0"
	[ "$stderr" = "" ]
}

# ==== streaming and inspection ====

@test "ids stream out one at a time as they are generated" {
	# The reader takes one id and hangs up.  Were ids buffered, the first would only arrive
	# with a full 4 KiB block (~800 ids) and sl-infer would run on for another block.
	m=$(gguf "$(model_kq)" f32)
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	"$INFER" -m "$m" -n 4000 --ignore-eos --seed 1 --logits "$BATS_TEST_TMPDIR/l" "$(prompt_file)" \
		> "$BATS_TEST_TMPDIR/fifo" 2>/dev/null &
	pid=$!
	exec {fd}< "$BATS_TEST_TMPDIR/fifo"   # (bats itself owns fd 3)
	read -r first <&"$fd"
	exec {fd}<&-
	wait "$pid" || true
	rows=$(( $(stat -c %s "$BATS_TEST_TMPDIR/l") / 2048 ))
	echo "first id $first, sl-infer stopped after $rows positions"
	[ -n "$first" ]
	[ "$rows" -lt 400 ]
}

@test "the whole pipeline streams: text arrives while ids are still being generated" {
	m=$(gguf "$(model_kq)" f32)
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	bash -c "echo 'Once upon a time' | '$BIN/sl-tok' -m '$m' |
		'$INFER' -m '$m' -n 4000 --ignore-eos --seed 1 --logits '$BATS_TEST_TMPDIR/l' 2>/dev/null |
		'$BIN/sl-detok' -m '$m'" > "$BATS_TEST_TMPDIR/fifo" &
	pid=$!
	exec {fd}< "$BATS_TEST_TMPDIR/fifo"
	read -r -N 1 first <&"$fd"
	exec {fd}<&-
	wait "$pid" || true
	rows=$(( $(stat -c %s "$BATS_TEST_TMPDIR/l") / 2048 ))
	echo "first byte '$first', sl-infer stopped after $rows positions"
	[ -n "$first" ]
	[ "$rows" -lt 400 ]
}

@test "--echo writes the prompt ids first" {
	run bash -c "printf '1 403\n407' | '$INFER' --echo --temp 0 -n 3"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "1 403 407 261 378 432" ]
}

@test "--logits writes one row of vocab f32 values per position fed to the model" {
	run bash -c "printf '1 403 407\n' | '$INFER' --temp 0 -n 5 --echo --kv-type f32 --logits '$BATS_TEST_TMPDIR/l'"
	[ "$status" -eq 0 ]
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/l")" -eq $(( 7 * 512 * 4 )) ]
	echo "$output" > "$BATS_TEST_TMPDIR/ids"
	run "$PY" "$SL_ROOT/tests/ref/llama_ref.py" "$SL_ROOT/models/stories260K-hf" --ids "$BATS_TEST_TMPDIR/ids" \
		--compare "$BATS_TEST_TMPDIR/l"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "--top N lists the N most likely ids with the softmax of the raw logits" {
	run --separate-stderr bash -c "printf '1 403 407\n' | '$INFER' --temp 0 -n 4 --top 3 --kv-type f32 --logits '$BATS_TEST_TMPDIR/l'"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "261 378 432 383" ]
	[ "$(echo "$stderr" | wc -l)" -eq 4 ]
	[[ "$(echo "$stderr" | head -n 1)" =~ ^3$'\t'261:0\.[0-9]{6}\ [0-9]+:0\.[0-9]{6}\ [0-9]+:0\.[0-9]{6}$ ]]
	# The probabilities are the softmax of the logits of the same positions (rows 2..5).
	echo "$stderr" > "$BATS_TEST_TMPDIR/top"
	run "$PY" - "$BATS_TEST_TMPDIR/l" "$BATS_TEST_TMPDIR/top" <<'EOF'
import sys, numpy as np
l = np.fromfile(sys.argv[1], "<f4").astype(np.float64).reshape(-1, 512)[2:]
for row, line in zip(l, open(sys.argv[2])):
    pos, items = line.rstrip("\n").split("\t")
    p = np.exp(row - row.max()); p /= p.sum()
    want = np.argsort(-p, kind="stable")[:3]
    got = [(int(a), float(b)) for a, b in (x.split(":") for x in items.split())]
    assert [g[0] for g in got] == list(want), (got, want)
    assert all(abs(g[1] - p[g[0]]) < 2e-6 for g in got), (got, p[want])
print("ok")
EOF
	echo "$output"
	[ "$output" = ok ]
}

@test "--probs FILE writes the --top lines to FILE, not stderr" {
	run --separate-stderr bash -c "echo 1 | '$INFER' --temp 0 -n 5 --probs '$BATS_TEST_TMPDIR/p'"
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/p")" -eq 5 ]
	[ "$(cut -f1 "$BATS_TEST_TMPDIR/p" | tr '\n' ' ')" = "1 2 3 4 5 " ]
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/p" | cut -f2 | wc -w)" -eq 5 ]
}

@test "--stats reports load time, first id, speeds, time by step, the prefetch distance and peak RSS on stderr" {
	run --separate-stderr bash -c "echo 1 | '$INFER' --temp 0 -n 20 --stats"
	[ "$status" -eq 0 ]
	[ "$(echo $output | wc -w)" -eq 20 ]
	echo "$stderr"
	[[ "${stderr_lines[0]}" =~ ^sl-infer:\ load\ [0-9.]+\ ms\ \(model\ [0-9.]+\ MiB\ mapped,\ [0-9.]+\ MiB\ in\ 2\ MiB\ pages,\ state\ [0-9.]+\ MiB\)$ ]]
	[[ "${stderr_lines[1]}" =~ ^sl-infer:\ prompt\ 1\ ids\ in\ [0-9.]+\ ms\ \([0-9.]+\ ids/s\)$ ]]
	[[ "${stderr_lines[2]}" =~ ^sl-infer:\ first\ id\ after\ [0-9.]+\ ms$ ]]
	[[ "${stderr_lines[3]}" =~ ^sl-infer:\ generated\ 20\ ids\ in\ [0-9.]+\ ms\ \([0-9.]+\ ids/s\)$ ]]
	# every step of a forward pass in order, its time and its share, the shares adding up to 100
	steps="embed attn_norm qkv rope attention o ffn_norm gate_up silu down residual head"
	for k in 4 5; do
		what=$([ $k = 4 ] && echo prompt || echo generation)
		[[ "${stderr_lines[$k]}" == "sl-infer: $what, time by step: "* ]]
		list=${stderr_lines[$k]#*time by step: }
		[ "$(echo "$list" | tr ',' '\n' | awk '{ printf "%s ", $1 }')" = "$steps " ]
		echo "$list" | tr ',' '\n' | awk '$3 != "ms" || $2 !~ /^[0-9]+\.[0-9]$/ || $4 !~ /^\([0-9]+\.[0-9]%\)$/ { bad = 1 }
			{ gsub(/[(%)]/, "", $4); s += $4 } END { exit bad || !(s > 99.3 && s < 100.7) }'
	done
	[[ "${stderr_lines[6]}" =~ ^sl-infer:\ one-id\ products\ asked\ for\ their\ weights\ [0-9]+\ bytes\ ahead\ \((timed|default|SL_PREFETCH_AHEAD)\)$ ]]
	[[ "${stderr_lines[7]}" =~ ^sl-infer:\ peak\ RSS\ [0-9.]+\ MiB$ ]]
}

@test "--stats has no generation steps before a generated id has run, and says scoring when scoring" {
	run --separate-stderr bash -c "echo 1 | '$INFER' --temp 0 -n 1 --stats"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sl-infer: prompt, time by step: embed "* ]]
	[[ "$stderr" != *"generation, time by step"* ]]
	run --separate-stderr bash -c "echo '1 2 3' | '$INFER' --score --stats"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sl-infer: scoring, time by step: embed "* ]]
	[[ "$stderr" != *"prompt, time by step"* && "$stderr" != *"generation, time by step"* ]]
}

@test "-h prints the usage on stdout and -V the version" {
	run --separate-stderr "$INFER" -h
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: sl-infer [-qvV] [-m model] [-n count]"* ]]
	[ "$stderr" = "" ]
	run "$INFER" -V
	[ "$status" -eq 0 ]
	[ "$output" = "sl-infer 0.1.0" ]
}

# ==== errors ====

@test "a non-numeric id is an error with its line and column" {
	run --separate-stderr bash -c "printf '1 2 x\n' | '$INFER'"
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	[ "$stderr" = "sl-infer: <stdin>:1:5: 'x' is not a token id" ]
}

@test "an id outside the vocabulary is an error with its position" {
	printf '1\n512\n' > "$BATS_TEST_TMPDIR/ids"
	run --separate-stderr "$INFER" "$BATS_TEST_TMPDIR/ids"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/ids:2:1: id 512 >= vocab 512" ]
}

@test "a prompt longer than the context is an error" {
	run --separate-stderr bash -c "printf '1 2 3 4 5' | '$INFER' -c 4"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: <stdin>: the prompt has 5 ids, more than the context (4)" ]
}

@test "a context larger than the model's is an error" {
	run --separate-stderr "$INFER" -m "$EMBEDDED" -c 1000 < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $EMBEDDED: context 1000 is larger than the model's context length 512" ]
}

@test "an empty prompt is an error when the model has no BOS id" {
	# Rename the key in place (same length) so the file stays valid GGUF without a BOS id.
	"$PY" -c "import sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(d.replace(b'tokenizer.ggml.bos_token_id', b'tokenizer.ggml.xos_token_id'))" \
		"$EMBEDDED" "$BATS_TEST_TMPDIR/nobos.gguf"
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/nobos.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: <stdin>: empty prompt, and the model has no BOS id to start from" ]
}

@test "a missing model file is an error" {
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/none.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/none.gguf: No such file or directory" ]
}

@test "a file that is not GGUF is an error" {
	printf '1 2 3\n' > "$BATS_TEST_TMPDIR/x.gguf"
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/x.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/x.gguf: bad magic (not a GGUF file)" ]
}

@test "a truncated model is an error" {
	head -c 50000 "$EMBEDDED" > "$BATS_TEST_TMPDIR/t.gguf"
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/t.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	[[ "$stderr" == "sl-infer: $BATS_TEST_TMPDIR/t.gguf: "*"runs past the end of the file (truncated?)" ]]
}

@test "a model without a required tensor is an error naming it" {
	"$PY" -c "import sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(d.replace(b'blk.3.ffn_up.weight', b'blk.3.ffn_xx.weight'))" \
		"$EMBEDDED" "$BATS_TEST_TMPDIR/m.gguf"
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/m.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/m.gguf: missing tensor blk.3.ffn_up.weight" ]
}

@test "a tensor of a type sl cannot multiply is an error naming it" {
	# Set blk.2.ffn_gate.weight's type field (after its name, n_dims and dims) to 3, q4_1.
	"$PY" - "$EMBEDDED" "$BATS_TEST_TMPDIR/q41.gguf" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
p = d.index(b"blk.2.ffn_gate.weight") + len(b"blk.2.ffn_gate.weight")
n_dims = struct.unpack_from("<I", d, p)[0]
struct.pack_into("<I", d, p + 4 + 8 * n_dims, 3)
open(sys.argv[2], "wb").write(d)
EOF
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/q41.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/q41.gguf: tensor blk.2.ffn_gate.weight has type q4_1, which sl does not support (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q3_k, q2_k)" ]
}

@test "inconsistent hyper-parameters are an error" {
	# llama.attention.head_count_kv 4 -> 3: 8 heads are not a multiple of it.
	"$PY" - "$EMBEDDED" "$BATS_TEST_TMPDIR/kv3.gguf" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
key = b"llama.attention.head_count_kv"
p = d.index(key) + len(key)
assert struct.unpack_from("<II", d, p) == (4, 4)
struct.pack_into("<I", d, p + 4, 3)
open(sys.argv[2], "wb").write(d)
EOF
	run --separate-stderr "$INFER" -m "$BATS_TEST_TMPDIR/kv3.gguf" < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: $BATS_TEST_TMPDIR/kv3.gguf: head_count 8 is not a multiple of head_count_kv 3" ]
}

@test "bad options are usage errors" {
	run --separate-stderr "$INFER" --temp -1
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --temp: -1 is out of range [0, 1e+06]" ]
	run --separate-stderr "$INFER" --kv-type q8
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --kv-type: 'q8' is not f16, f32 or q8_0" ]
	run --separate-stderr "$INFER" a b
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: too many arguments" ]
	[ "${stderr_lines[-1]}" = "Try 'sl-infer --help' for more information." ]
}

# ==== the manual ====

@test "the sl-infer man page renders without warnings" {
	run -0 --separate-stderr groff -ww -man -Tutf8 -z "$SL_ROOT/man/sl-infer.1"
	[ "$stderr" = "" ]
}

@test "sl-infer --help's usage is the man page's SYNOPSIS" {
	[ "$(usage_line)" = "$(man_synopsis "$SL_ROOT/man/sl-infer.1")" ]
}

@test "the sl-infer man page EXAMPLES give the output they show" {
	run run_man_examples "$SL_ROOT/man/sl-infer.1"
	echo "$output"
	[ "$status" -eq 0 ]
}
