#!/bin/sh
# quality.sh — `make quality MODEL=... TEXT=...`: what each quantization costs.
#
# MODEL (an HF directory, or an F32/F16/BF16 GGUF) is converted to the base type (BASE,
# default f16) and to every type and recipe sl-quant knows (TYPES overrides the list); TEXT is
# tokenized with the model's tokenizer, scored by the base (sl-infer --score --kld-base), then
# by each quantized file against the base (--kld).  One Markdown table on stdout: bits per
# weight, file and core sizes (the core is what every token needs: token_embd, output_norm,
# output), perplexity and its change, the mean KL divergence from the base, how often the most
# likely id is the base's, and the types the tensors got (K-quants fall back where rows are
# not a multiple of 256).  Files go to OUT (default quality-out/).
#
# usage: scripts/quality.sh MODEL TEXT
set -eu

[ $# -eq 2 ] || { echo "usage: scripts/quality.sh MODEL TEXT" >&2; exit 2; }
model=$1 text=$2
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/bin}
out=${OUT:-quality-out}
base_type=${BASE:-f16}
types=${TYPES:-"q8_0 q6_k q4_k_m q4_k_m_e3 q4_k q4_0 q3_k_m q3_k q2_k_m q2_k"}
ctx=${CTX:-}
mkdir -p "$out"
name=$(basename "${model%/}" .gguf)

# what sl-quant accepts: a type it refuses (exit 2) is skipped
quant() { # quant TYPE -> $out/NAME-TYPE.gguf, made once
	f=$out/$name-$1.gguf
	[ -f "$f" ] || "$bin/sl-quant" -q -t "$1" -o "$f" "$model" 2>"$out/$1.log" || { rm -f "$f"; return 1; }
	echo "$f"
}

# sizes NAME.gguf -> "bpw file_MiB core_MiB types" from sl-quant --info
sizes() {
	"$bin/sl-quant" --info "$1" | awk -v size="$(wc -c <"$1")" '
		$1 ~ /\.weight$/ && (NF == 5 || NF == 7) {
			n[$(NF - 2)]++
			if ($1 ~ /^(token_embd|output_norm|output)\.weight$/) core += $(NF - 1) }
		/^total:/ { bpw = $(NF - 3) }
		END { t = ""; for (k in n) t = t (t ? ", " : "") n[k] " " k
		      printf "%s %.2f %.3f %s\n", bpw, size / 1048576, core / 1048576, t }'
}

base=$(quant "$base_type") || { echo "quality.sh: sl-quant -t $base_type failed:" >&2; cat "$out/$base_type.log" >&2; exit 1; }
"$bin/sl-tok" -m "$base" "$text" >"$out/text.ids"
echo "quality.sh: $(wc -l <"$out/text.ids") ids of $text" >&2
score() { # score GGUF [args] -> stderr of sl-infer --score in $out/score.err
	m=$1
	shift
	# shellcheck disable=SC2086
	"$bin/sl-infer" -m "$m" --score ${ctx:+-c $ctx} "$@" "$out/text.ids" >/dev/null 2>"$out/score.err" ||
		{ cat "$out/score.err" >&2; exit 1; }
}
score "$base" --kld-base "$out/base.kld"
base_ppl=$(sed -n 's/.*perplexity \([0-9.]*\)$/\1/p' "$out/score.err")

echo "| type | bits/weight | file MiB | core MiB | PPL | ΔPPL % | mean KLD | top-1 % | tensor types |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
set -- $(sizes "$base")
b1=$1 b2=$2 b3=$3
shift 3
echo "| $base_type (base) | $b1 | $b2 | $b3 | $base_ppl | 0 | 0 | 100 | $* |"
for t in $types; do
	f=$(quant "$t") || { echo "quality.sh: skipping $t: $(head -n 1 "$out/$t.log")" >&2; continue; }
	score "$f" --kld "$out/base.kld"
	line=$(grep "KL divergence" "$out/score.err")
	kld=$(echo "$line" | sed -n 's/.*: mean \([0-9.]*\),.*/\1/p')
	top=$(echo "$line" | sed -n 's/.*same most likely id \([0-9.]*\)%.*/\1/p')
	ppl=$(echo "$line" | sed -n 's/.*; perplexity \([0-9.]*\), base.*/\1/p')
	dppl=$(echo "$line" | sed -n 's/.*(\([+-][0-9.]*\)%)$/\1/p')
	set -- $(sizes "$f")
	s1=$1 s2=$2 s3=$3
	shift 3
	echo "| $t | $s1 | $s2 | $s3 | $ppl | $dppl | $kld | $top | $* |"
	echo "quality.sh: $t done" >&2
done
