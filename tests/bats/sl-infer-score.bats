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
	a=$(printf 'Once upon a time, there was a little girl named Lily.' | "$SL_ROOT/bin/sl-tok" | "$INFER" --score -q)
	[ "$(echo "$a" | wc -l)" -gt 10 ]
	b=$(printf 'Once upon a time, there was a little girl named Lily.' | "$SL_ROOT/bin/sl-tok" | "$INFER" --score -q --mem-limit 40M)
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
