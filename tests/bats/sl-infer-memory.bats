#!/usr/bin/env bats
# sl-infer under a memory budget (--mem-limit, --profile): the same ids as without one when
# layers stream, the refusal below the minimum, what -v and --stats say, the q8_0 KV cache,
# and --mem-limit auto inside a real memory cgroup (when the test runs as root on cgroup v1).

load infer_helper

# minimum BUDGET_ARGS...: the minimum budget in MiB that sl-infer reports when refusing 1 byte.
minimum() {
	echo 1 | "$INFER" --temp 0 -n 40 --mem-limit 1 "$@" 2>&1 >/dev/null |
		sed -n 's/.*below the minimum of \([0-9.]*\) MiB.*/\1/p'
}

# streaming_budget ARGS...: a budget in bytes under which stories260K runs with some layers
# streamed (what the program holds varies by a few hundred KiB from run to run, about a
# layer of stories260K, so the budget is found by trying a few just above the minimum).
streaming_budget() {
	local min b
	min=$(minimum "$@")
	for extra in 0.15 0.25 0.35 0.45; do
		b=$(awk -v m="$min" -v e="$extra" 'BEGIN { printf "%.0f", (m + e) * 1048576 }')
		if echo 1 | "$INFER" --temp 0 -n 40 -v --mem-limit "$b" "$@" 2>&1 >/dev/null |
			grep -qE "of 5 layers resident, [1-5] streamed"; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

@test "a budget below the minimum is refused at the start, saying what the minimum is made of" {
	run --separate-stderr "$INFER" --temp 0 -n 4 --mem-limit 1M <<< 1
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" =~ ^sl-infer:\ .*stories260K.gguf:\ a\ budget\ of\ 1.0\ MiB\ is\ below\ the\ minimum\ of\ [0-9.]+\ MiB\ for\ this\ model\ and\ context\ \(embeddings,\ head\ and\ norms\ 0.1\ MiB,\ 2\ layer\ buffers\ of\ 0.2\ MiB,\ cache,\ activations\ and\ the\ program\ [0-9.]+\ MiB\)$ ]]
}

@test "stories260K streamed through two buffers gives the ids of the mapped model, bit for bit" {
	want=$(echo 1 | "$INFER" --temp 0 -n 60)
	# just above the minimum: few or no layers resident, the rest read again for every id
	budget=$(streaming_budget)
	run --separate-stderr "$INFER" --temp 0 -n 60 -v --stats --mem-limit "$budget" <<< 1
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	echo "$stderr" | grep -E "memory budget [0-9.]+ MiB \(from --mem-limit\): [0-4] of 5 layers resident, [1-5] streamed through 2 buffers"
	echo "$stderr" | grep -E "MiB re-read per id; read [0-9.]+ MiB in"
}

@test "every budget from the minimum to all-resident gives the same sampled ids" {
	want=$(echo 1 | "$INFER" --seed 7 -n 40)
	min=$(minimum)
	for extra in 0.3 0.5 0.8 1.2 50; do
		budget=$(awk -v m="$min" -v e="$extra" 'BEGIN { printf "%.0f", (m + e) * 1048576 }')
		got=$(echo 1 | "$INFER" --seed 7 -n 40 --mem-limit "$budget")
		[ "$got" = "$want" ] || { echo "budget min + $extra MiB differs"; return 1; }
	done
}

@test "a prompt under a budget streams each layer once per batch, with any batch size and thread count" {
	want=$(printf '%s\n' $PROMPT_IDS | "$INFER" --temp 0 -n 20 --ignore-eos)
	budget=$(streaming_budget)
	for b in 1 5 64; do
		for t in 1 2; do
			got=$(printf '%s\n' $PROMPT_IDS | "$INFER" --temp 0 -n 20 --ignore-eos -b $b -t $t --mem-limit "$budget")
			[ "$got" = "$want" ] || { echo "-b $b -t $t differs"; return 1; }
		done
	done
}

@test "--logits and --top are the same under a budget" {
	printf '%s\n' $PROMPT_IDS > "$BATS_TEST_TMPDIR/p"
	"$INFER" --temp 0 -n 10 --top 3 --probs "$BATS_TEST_TMPDIR/pa" --logits "$BATS_TEST_TMPDIR/la" "$BATS_TEST_TMPDIR/p" > "$BATS_TEST_TMPDIR/a"
	"$INFER" --temp 0 -n 10 --top 3 --probs "$BATS_TEST_TMPDIR/pb" --logits "$BATS_TEST_TMPDIR/lb" \
		--mem-limit "$(streaming_budget)" "$BATS_TEST_TMPDIR/p" > "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/pa" "$BATS_TEST_TMPDIR/pb"
	cmp "$BATS_TEST_TMPDIR/la" "$BATS_TEST_TMPDIR/lb"
}

@test "--profile: each sets its budget, threads and KV cache; -v says so" {
	run --separate-stderr "$INFER" --temp 0 -n 4 -v --profile low <<< 1
	[ "$status" -eq 0 ]
	# stories260K's head dimension (8) is no multiple of 32: the profile's q8_0 falls back to f16
	echo "$stderr" | grep -F "memory budget 572.2 MiB (from the profile, profile low): 5 of 5 layers resident, 0 streamed through 0 buffers"
	echo "$stderr" | grep -E "threads" | grep -E "[12] threads"
	run --separate-stderr "$INFER" --temp 0 -n 4 -v --profile high <<< 1
	echo "$stderr" | grep -F "memory budget 1144.4 MiB (from the profile, profile high)"
	run --separate-stderr "$INFER" --temp 0 -n 4 -v --profile mid --mem-limit 700M <<< 1
	echo "$stderr" | grep -F "memory budget 700.0 MiB (from --mem-limit, profile mid)"
	run --separate-stderr "$INFER" --temp 0 -n 4 -v --profile auto <<< 1
	[ "$status" -eq 0 ]
	echo "$stderr" | grep -E "memory budget [0-9.]+ MiB \(from (MemAvailable|cgroup v[12] [a-z._]+), profile auto\)"
}

@test "--mem-limit and --profile values are checked" {
	run --separate-stderr "$INFER" --mem-limit 12Q
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --mem-limit: '12Q' is not a size (like 800M or 1.2G) or auto" ]
	run --separate-stderr "$INFER" --mem-limit -5M
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --mem-limit: '-5M' is not a size (like 800M or 1.2G) or auto" ]
	run --separate-stderr "$INFER" --profile tiny
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "sl-infer: --profile: 'tiny' is not low, mid, high or auto" ]
	# the units: M is MiB, MB is 10^6 bytes, a plain number is bytes
	run --separate-stderr "$INFER" -n 1 -v --mem-limit 600MB <<< 1
	echo "$stderr" | grep -F "memory budget 572.2 MiB"
	run --separate-stderr "$INFER" -n 1 -v --mem-limit 1.5G <<< 1
	echo "$stderr" | grep -F "memory budget 1536.0 MiB"
}

@test "q8_0 KV cache: logits within 2e-2 of the float64 reference, and the same when its layers stream" {
	dir=$(hf_model kq5 --std 0.05 --hidden 256 --heads 4 --kv-heads 1 --ffn 512 --layers 5 --seed 6)
	m=$(gguf "$dir" f32)
	run check_ref "$dir" "$m" 2e-2 --kv-type q8_0
	echo "$output"
	[ "$status" -eq 0 ]
	p=$(prompt_file)
	a=$("$INFER" -m "$m" --temp 0 -n 20 --kv-type q8_0 "$p")
	min=$("$INFER" -m "$m" --temp 0 -n 20 --kv-type q8_0 --mem-limit 1 "$p" 2>&1 >/dev/null |
		sed -n 's/.*below the minimum of \([0-9.]*\) MiB.*/\1/p')
	budget=$(awk -v m="$min" 'BEGIN { printf "%.0f", (m + 0.5) * 1048576 }')
	run --separate-stderr "$INFER" -m "$m" --temp 0 -n 20 --kv-type q8_0 -v --mem-limit "$budget" "$p"
	[ "$status" -eq 0 ]
	[ "$output" = "$a" ]
	echo "$stderr" | grep -E "0 of 5 layers resident, 5 streamed through 2 buffers .*KV cache q8_0"
}

@test "q8_0 KV cache on a model whose heads are not a multiple of 32 is an error" {
	run --separate-stderr "$INFER" --kv-type q8_0 -n 1 <<< 1
	[ "$status" -eq 1 ]
	[ "$stderr" = "sl-infer: a q8_0 KV cache needs a head dimension that is a multiple of 32 (this model's is 8)" ]
}

@test "--mem-limit auto reads the memory cgroup's limit" {
	cg=/sys/fs/cgroup/memory
	[ "$(id -u)" -eq 0 ] && [ -w "$cg" ] || skip "needs root and cgroup v1 at $cg"
	g=$cg/sl-bats-$$
	mkdir "$g" || skip "cannot make a memory cgroup"
	echo $((300 << 20)) > "$g/memory.limit_in_bytes"
	run --separate-stderr sh -c 'echo $$ > "$1/cgroup.procs" && echo 1 | "$2" -n 4 -v --mem-limit auto' sh "$g" "$INFER"
	rmdir "$g" 2>/dev/null || true
	[ "$status" -eq 0 ]
	echo "$stderr" | grep -E "memory budget 2[6-9][0-9]\.[0-9] MiB \(from cgroup v1 memory.limit_in_bytes\)"
}

@test "a model truncated after it was opened, before its layers are read under a budget: a clear error" {
	d=$BATS_TEST_TMPDIR
	cp "$EMBEDDED" "$d/m.gguf"
	mkfifo "$d/in"
	"$INFER" -m "$d/m.gguf" -n 4 --temp 0 --mem-limit 100M < "$d/in" > "$d/out" 2> "$d/err" &
	pid=$!
	exec {w}> "$d/in"
	# the header is read and the pinned tensors too before sl-infer waits for the prompt
	for ((i = 0; i < 1000; i++)); do
		grep -q "$d/m.gguf" /proc/$pid/maps 2>/dev/null && grep -q pipe /proc/$pid/wchan 2>/dev/null && break
		sleep 0.01
	done
	truncate -s 200000 "$d/m.gguf"
	echo 1 >&$w
	exec {w}>&-
	status=0
	wait $pid || status=$?
	[ "$status" -eq 1 ]
	[ ! -s "$d/out" ]
	[[ "$(cat "$d/err")" =~ ^"sl-infer: $d/m.gguf: reading layer "[0-9]+": unexpected end of file (truncated while in use?)"$ ]]
}
