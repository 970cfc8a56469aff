#!/usr/bin/env bash
# tests/valgrind.sh — valgrind memcheck over a short run of every tool (make check-valgrind):
# any invalid read or write, use of uninitialised memory, or leak (definite, indirect or
# possible) fails the run.  Prints one line per run and "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "check-valgrind: valgrind is missing (make deps)" >&2; exit 1; }
BIN=${SL_BIN:-bin}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes)
pass=0 fail=0

# [want=N] vg NAME STDIN CMD...: CMD under memcheck with STDIN (a file, or - for none),
# expected to exit N (default 0).
vg() {
	local name=$1 in=$2 rc want=${want:-0}
	shift 2
	[ "$in" = - ] && in=/dev/null
	"${VG[@]}" --log-file="$T/vg.log" "$@" < "$in" > "$T/out" 2> "$T/err"
	rc=$?
	if [ $rc -eq "$want" ] && [ ! -s "$T/vg.log" ]; then
		echo "ok   valgrind $name"
		pass=$((pass + 1))
	else
		echo "FAIL valgrind $name (exit $rc)"
		cat "$T/vg.log" "$T/err" | head -40
		fail=$((fail + 1))
	fi
}

printf 'Once upon a time, there was a little girl named Lily.\n' > "$T/text"
"$BIN/sl-tok" < "$T/text" > "$T/ids"
cp "$T/ids" "$T/ids.in"

vg "sl-tok" "$T/text" "$BIN/sl-tok"
vg "sl-tok -m smollm" "$T/text" "$BIN/sl-tok" -m tests/fixtures/smollm-tokenizer/tokenizer.json
vg "sl-detok" "$T/ids.in" "$BIN/sl-detok"
vg "sl-quant q4_k_m" - "$BIN/sl-quant" -q -t q4_k_m -o "$T/q.gguf" models/stories260K-hf
vg "sl-quant q8_0" - "$BIN/sl-quant" -q -t q8_0 -o "$T/q8.gguf" models/stories260K-hf
vg "sl-chunk --zstd" - "$BIN/sl-chunk" -q --zstd --layers 2 -o "$T/cz" "$T/q8.gguf"
vg "sl-chunk" - "$BIN/sl-chunk" -q --layers 2 -o "$T/c" "$T/q8.gguf"
vg "sl-chunk --verify" - "$BIN/sl-chunk" -q --verify "$T/cz"
vg "sl-chunk --join" - "$BIN/sl-chunk" -q --join -o "$T/j.gguf" "$T/cz"
vg "sl-infer" "$T/ids.in" "$BIN/sl-infer" -n 8 --temp 0
vg "sl-infer q4_k_m sampling" "$T/ids.in" "$BIN/sl-infer" -m "$T/q.gguf" -n 8 --seed 1
vg "sl-infer chunks" "$T/ids.in" "$BIN/sl-infer" -m "$T/c" -n 8 --temp 0
# A budget just above the model's minimum (which the tool says when asked for too little),
# so that most layers stream.
min=$("$BIN/sl-infer" -m "$T/q8.gguf" --mem-limit 1M -n 1 < "$T/ids.in" 2>&1 | sed -n 's/.*minimum of \([0-9.]*\) MiB.*/\1/p')
limit=$(awk -v m="${min:-12.4}" 'BEGIN { printf "%.2fM", m + 0.05 }')
vg "sl-infer --mem-limit $limit" "$T/ids.in" "$BIN/sl-infer" -m "$T/q8.gguf" --mem-limit "$limit" -n 8 --temp 0
vg "sl-infer --score" "$T/ids.in" "$BIN/sl-infer" --score -q
want=1 vg "sl-infer bad model" "$T/ids.in" "$BIN/sl-infer" -m "$T/text" -n 1
want=1 vg "sl-detok bad stream" "$T/text" "$BIN/sl-detok"
want=1 vg "sl-quant bad dir" - "$BIN/sl-quant" -q -o "$T/x.gguf" "$T"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
