#!/usr/bin/env bats
# sl-infer --score: each id's log-probability against the float64 reference (one window and
# windows of a short context), the perplexity on stderr against awk's, and the errors.

load infer_helper

REF=$SL_ROOT/tests/ref/llama_ref.py

# text N SEED: N ids sampled from stories260K, BOS first (a text the model finds plausible).
text() {
	echo 1 | "$INFER" --seed "$2" -n "$(($1 - 1))" --ignore-eos --echo
}

@test "stories260K: log-probs within 1e-4 of the reference, in one window and in windows of 64 and 33" {
	text 200 5 > "$BATS_TEST_TMPDIR/ids"
	for c in 512 64 33; do
		"$INFER" -q --score --kv-type f32 -c $c "$BATS_TEST_TMPDIR/ids" > "$BATS_TEST_TMPDIR/s"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/s")" -eq 199 ]
		run "$PY" "$REF" "$SL_ROOT/models/stories260K-hf" --ids "$BATS_TEST_TMPDIR/ids" \
			--score-compare "$BATS_TEST_TMPDIR/s" --window $c --tol 1e-4
		echo "$output"
		[ "$status" -eq 0 ]
	done
}

@test "random models: log-probs within 1e-4 of the reference (grouped-query and multi-head, tied and not)" {
	printf '%s\n' $PROMPT_IDS 3 99 4 500 17 > "$BATS_TEST_TMPDIR/ids"
	for dir in "$(model_gqa)" "$(model_mha)" "$(model_odd)"; do
		"$INFER" -q -m "$(gguf "$dir" f32)" --score --kv-type f32 -b 5 "$BATS_TEST_TMPDIR/ids" > "$BATS_TEST_TMPDIR/s"
		run "$PY" "$REF" "$dir" --ids "$BATS_TEST_TMPDIR/ids" --score-compare "$BATS_TEST_TMPDIR/s" --tol 1e-4
		echo "$output"
		[ "$status" -eq 0 ]
	done
}

@test "the perplexity on stderr is awk's from the id-logprob lines" {
	text 120 9 > "$BATS_TEST_TMPDIR/ids"
	run --separate-stderr "$INFER" --score -c 48 "$BATS_TEST_TMPDIR/ids"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 119 ]
	[[ "$stderr" =~ ^sl-infer:\ scored\ 119\ ids\ in\ windows\ of\ 48:\ mean\ NLL\ [0-9.]+,\ perplexity\ ([0-9.]+)$ ]]
	ppl=${BASH_REMATCH[1]}
	awk_ppl=$(printf '%s\n' "${lines[@]}" | awk '{ s -= $2 } END { printf "%.4f", exp(s / NR) }')
	[ "$ppl" = "$awk_ppl" ]
	# each line is the id scored, a tab, and a log-probability
	printf '%s\n' "${lines[@]}" | awk -F '\t' 'NF != 2 || $2 > 0 { exit 1 }'
	[ "$(printf '%s\n' "${lines[@]}" | cut -f1)" = "$(tail -n +2 "$BATS_TEST_TMPDIR/ids")" ]
}

@test "--score through a pipeline from sl-tok, and the same under a memory budget" {
	a=$(printf 'Once upon a time, there was a little girl named Lily.' | "$BIN/sl-tok" | "$INFER" --score -q)
	[ "$(echo "$a" | wc -l)" -gt 10 ]
	b=$(printf 'Once upon a time, there was a little girl named Lily.' | "$BIN/sl-tok" | "$INFER" --score -q --mem-limit 40M)
	[ "$a" = "$b" ]
}

@test "--score errors" {
	run --separate-stderr "$INFER" --score <<< 1
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: <stdin>: --score needs at least 2 ids (it scores each id after the first)" ]
	run --separate-stderr "$INFER" --score --top 3 <<< "1 2"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --score does not go with --top, --probs, --logits or --echo" ]
	run --separate-stderr "$INFER" --score <<< "1 600"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: <stdin>:1:3: id 600 >= vocab 512" ]
}

@test "--kld-base then --kld: zero against itself, positive and bounded for a 4-bit copy; the base's perplexity" {
	text 300 3 > "$BATS_TEST_TMPDIR/ids"
	run --separate-stderr "$INFER" --score -c 128 --kld-base "$BATS_TEST_TMPDIR/base.kld" "$BATS_TEST_TMPDIR/ids"
	[ "$status" -eq 0 ]
	base_ppl=$(echo "$stderr" | sed -n 's/.*perplexity \([0-9.]*\)$/\1/p')
	run --separate-stderr "$INFER" --score -c 128 --kld "$BATS_TEST_TMPDIR/base.kld" "$BATS_TEST_TMPDIR/ids"
	[ "$status" -eq 0 ]
	[[ "${stderr_lines[1]}" =~ KL\ divergence\ from\ .*base.kld:\ mean\ 0.000000,\ median\ 0.000000,.*max\ 0.000000\;\ same\ most\ likely\ id\ 100.00%\;\ perplexity\ $base_ppl,\ base\ $base_ppl\ \([+-]0.00%\)$ ]]
	q4=$BATS_TEST_TMPDIR/q4.gguf
	"$QUANT" -q -t q4_0 -o "$q4" "$SL_ROOT/models/stories260K-hf"
	run --separate-stderr "$INFER" -m "$q4" --score -c 128 --kld "$BATS_TEST_TMPDIR/base.kld" "$BATS_TEST_TMPDIR/ids"
	[ "$status" -eq 0 ]
	[[ "${stderr_lines[1]}" =~ mean\ ([0-9.]+),.*same\ most\ likely\ id\ ([0-9.]+)%\;\ perplexity\ ([0-9.]+),\ base\ $base_ppl ]]
	awk -v k="${BASH_REMATCH[1]}" -v s="${BASH_REMATCH[2]}" 'BEGIN { exit !(k > 0.001 && k < 1 && s > 50 && s < 100) }'
}

@test "--kld against the base of another text, or a file that is not one, is an error" {
	text 50 3 > "$BATS_TEST_TMPDIR/a"
	text 50 4 > "$BATS_TEST_TMPDIR/b"
	"$INFER" -q --score --kld-base "$BATS_TEST_TMPDIR/a.kld" "$BATS_TEST_TMPDIR/a" > /dev/null
	run --separate-stderr "$INFER" -q --score --kld "$BATS_TEST_TMPDIR/a.kld" "$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^sl-infer:\ .*a.kld:\ the\ base\ scored\ id\ [0-9]+\ here,\ this\ text\ has\ [0-9]+\ \(not\ the\ same\ text\)$ ]]
	head -n 30 "$BATS_TEST_TMPDIR/a" > "$BATS_TEST_TMPDIR/short"
	run --separate-stderr "$INFER" -q --score --kld "$BATS_TEST_TMPDIR/a.kld" "$BATS_TEST_TMPDIR/short"
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ a.kld:\ the\ base\ scored\ more\ ids\ than\ this\ text\ has\ \(29\)$ ]]
	run --separate-stderr "$INFER" -q --score --kld "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/a"
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^sl-infer:\ .*/a:\ not\ an\ sl-kld\ file ]]
	run --separate-stderr "$INFER" --kld "$BATS_TEST_TMPDIR/a.kld" "$BATS_TEST_TMPDIR/a"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --kld-base and --kld go with --score" ]
}
