# infer_helper.bash — shared setup for sl-infer.bats.
#
# Random HF Llama models (tests/ref/make_hf_model.py) are made once per bats run in
# $BATS_FILE_TMPDIR and converted with sl-quant; the float64 HF reference
# (tests/ref/llama_ref.py) then checks sl-infer's logits on them.

bats_require_minimum_version 1.5.0

SL_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${SL_BIN:-$SL_ROOT/bin}  # make check-asan: SL_BIN names the instrumented programs
PY=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1  # numpy on tiny matrices: threads only contend
INFER=$BIN/sl-infer
QUANT=$BIN/sl-quant
EMBEDDED=$SL_ROOT/models/stories260K.gguf

# A fixed prompt of 12 ids (the random models use stories260K's 512-token vocabulary).
PROMPT_IDS="1 50 100 200 300 400 7 8 9 10 11 12"

# hf_model NAME [make_hf_model.py options]: the directory, made on first use.
hf_model() {
	local name=$1 dir=$BATS_FILE_TMPDIR/$1
	shift
	if [ ! -d "$dir" ]; then
		"$PY" "$SL_ROOT/tests/ref/make_hf_model.py" "$@" "$dir.tmp" >/dev/null || return 1
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# The shapes the reference comparison covers.  --std 0.1 gives logits with clear margins.
model_gqa()     { hf_model gqa --std 0.1; }                                  # 4 heads / 2 kv, tied
model_mha()     { hf_model mha --std 0.1 --heads 4 --kv-heads 4 --untied --layers 3 --ffn 80; }
model_odd()     { hf_model odd --std 0.1 --hidden 48 --heads 3 --kv-heads 1 --ffn 100 --seed 3; }
model_sharded() { hf_model sharded --std 0.1 --dtype bf16 --shards 3 --layers 4 --seed 4; }
model_kq()      { hf_model kq --std 0.05 --hidden 256 --heads 4 --kv-heads 1 --ffn 512 --context 4096 --seed 5; }

# gguf DIR TYPE: DIR/TYPE.gguf, converted on first use.
gguf() {
	local f=$1/$2.gguf
	[ -f "$f" ] || "$QUANT" -q -t "$2" -o "$f" "$1" || return 1
	echo "$f"
}

prompt_file() {
	local f=$BATS_TEST_TMPDIR/prompt
	printf '%s\n' $PROMPT_IDS > "$f"
	echo "$f"
}

# check_ref [--greedy] REFERENCE GGUF TOL [sl-infer options]: 20 greedy ids after the
# prompt, in batches of 5, every position's logits compared with llama_ref.py on REFERENCE
# (an HF directory, or the GGUF itself for "the reference on the dequantized weights").
# --greedy: also each generated id must be the reference's arg max, i.e. the reference's
# own greedy continuation of the prompt is the same 20 ids.
check_ref() {
	local greedy=() seq=$BATS_TEST_TMPDIR/seq logits=$BATS_TEST_TMPDIR/logits
	if [ "$1" = --greedy ]; then greedy=(--greedy-after 12); shift; fi
	local ref=$1 model=$2 tol=$3
	shift 3
	"$INFER" -q -m "$model" --temp 0 -n 20 --ignore-eos -b 5 --echo --logits "$logits" "$@" \
		"$(prompt_file)" > "$seq" || return 1
	[ "$(wc -l < "$seq")" -eq 32 ] || { echo "expected 32 ids, got $(wc -l < "$seq")"; return 1; }
	"$PY" "$SL_ROOT/tests/ref/llama_ref.py" "$ref" --ids "$seq" --compare "$logits" --tol "$tol" "${greedy[@]}"
}

# usage_line: sl-infer's usage as one line.
usage_line() {
	"$INFER" --help | sed '/^$/,$d' | tr -s ' \n' '  ' | sed 's/^usage: //; s/ $//'
}
