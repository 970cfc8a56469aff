#!/usr/bin/python3
"""llama_ref.py — the reference forward pass that sl-infer is tested against.

Written from Hugging Face's LlamaForCausalLM (transformers' modeling_llama.py), not from
sl's C code, in float64 numpy:

  * weights read straight from the HF directory: config.json and model.safetensors (or the
    shards named by model.safetensors.index.json), parsed here (F32, F16, BF16, F64);
  * RMSNorm: weight * x / sqrt(mean(x^2) + eps);
  * RoPE as HF applies it to the *unpermuted* q/k projections: inv_freq = theta^(-2i/d),
    cos/sin of pos * [inv_freq, inv_freq], q*cos + rotate_half(q)*sin;
  * grouped-query attention with repeat_kv (KV head j serves query heads j*n_rep ..);
  * causal softmax attention, o_proj, residual; MLP down(silu(gate(x)) * up(x)), residual;
  * final norm, lm_head (the embedding when tie_word_embeddings).

With a .gguf file instead of a directory, the weights come from gguf_ref.py (dequantized in
numpy, Q/K rows un-permuted back to HF order) and go through the same forward pass: that is
"the reference on the dequantized weights" for quantized models.

Usage:
  llama_ref.py MODEL [--ids FILE] [--logits OUT]      logits of every position of FILE's ids
  llama_ref.py MODEL [--ids FILE] --greedy N            N greedy ids after FILE's ids
  llama_ref.py MODEL [--ids FILE] --compare LOGITS [--tol T] [--greedy-after N]
        compare sl-infer --logits output (rows for the first positions of FILE's ids) with
        the reference: prints max |err|, max |logit| and their ratio; exit 1 if ratio > T
        or any arg max differs where the reference's top-2 margin exceeds 10x the error,
        or (--greedy-after N) an id after the first N is not the reference's arg max.

  llama_ref.py MODEL [--ids FILE] --score-compare SCORES [--window W] [--tol T]
        compare sl-infer --score output ("id<TAB>logprob" lines) with the reference's
        log-softmax: the ids must be FILE's ids after the first, and every logprob within T
        (absolute).  With --window W the text is scored as sl-infer(1) documents for texts
        longer than the context: windows of W ids every W//2 ids, each scoring the ids the
        one before did not reach (the first: all but its first id).

MODEL is an HF directory or a GGUF file.  --ids defaults to stdin (whitespace-separated ids).
Logit files are raw little-endian float32, vocab values per row.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ST_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "BF16": "bf16"}


# ==== safetensors ====

def read_safetensors(path):
    """name -> float64 array."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack_from("<Q", buf, 0)
    header = json.loads(buf[8:8 + n])
    data = memoryview(buf)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dt = ST_DTYPES[info["dtype"]]
        raw = data[begin:end]
        if dt == "bf16":  # bf16 is the upper half of an f32
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view("<f4")
        else:
            a = np.frombuffer(raw, dt)
        out[name] = a.astype(np.float64).reshape(info["shape"])
    return out


def load_hf(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    index = os.path.join(d, "model.safetensors.index.json")
    W = {}
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for f in files:
        W.update(read_safetensors(os.path.join(d, f)))
    return cfg, W


def load(model):
    if os.path.isdir(model):
        return load_hf(model)
    import gguf_ref
    return gguf_ref.hf_weights_from_gguf(model)


# ==== the model (modeling_llama.py) ====

def rms_norm(x, w, eps):
    # LlamaRMSNorm: hidden_states * rsqrt(variance + eps), then weight *
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def forward(cfg, W, ids):
    """Logits [len(ids), vocab] for the whole sequence at positions 0..n-1."""
    hidden = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    hd = cfg.get("head_dim") or hidden // H
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    T = len(ids)

    x = W["model.embed_tokens.weight"][np.asarray(ids)]            # embed_tokens

    # LlamaRotaryEmbedding: inv_freq = 1 / theta^(arange(0, d, 2) / d); emb = cat(freqs, freqs)
    inv_freq = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    freqs = np.outer(np.arange(T), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]    # [T, 1, hd]
    mask = np.triu(np.full((T, T), -np.inf), k=1)                   # causal

    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd)
        # apply_rotary_pos_emb
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: [T, KV, hd] -> [T, H, hd], each KV head repeated n_rep times in a row
        k = np.repeat(k, H // KV, axis=1)
        v = np.repeat(v, H // KV, axis=1)
        # eager_attention_forward: softmax(q k^T / sqrt(hd) + mask) v
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        a = np.einsum("hts,shd->thd", s, v).reshape(T, H * hd)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        # LlamaMLP
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ W[p + "mlp.down_proj.weight"].T

    x = rms_norm(x, W["model.norm.weight"], eps)
    if cfg.get("tie_word_embeddings", False):    # LlamaConfig's default is untied
        head = W["model.embed_tokens.weight"]
    else:
        head = W["lm_head.weight"]
    return x @ head.T


def greedy(cfg, W, ids, n):
    ids = list(ids)
    out = []
    for _ in range(n):
        nxt = int(np.argmax(forward(cfg, W, ids)[-1]))
        out.append(nxt)
        ids.append(nxt)
    return out


def log_softmax(logits):
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def reference_scores(cfg, W, ids, window):
    """[(t, logprob of ids[t])] for t = 1..n-1, each from the window that scores it."""
    stride, out, start, n = window // 2, [], 0, len(ids)
    while True:
        chunk = ids[start:start + window]
        lp = log_softmax(forward(cfg, W, chunk))
        first = 1 if start == 0 else window - stride
        for j in range(first, len(chunk)):
            out.append((start + j, lp[j - 1, chunk[j]]))
        if start + len(chunk) >= n:
            return out
        start += stride


def score_compare(cfg, W, ids, path, window, tol):
    got = [line.split("\t") for line in open(path).read().splitlines()]
    ref = reference_scores(cfg, W, ids, window)
    if len(got) != len(ref):
        print("%s: %d lines, expected %d" % (path, len(got), len(ref)))
        return 1
    worst, bad = 0.0, 0
    for (t, want), fields in zip(ref, got):
        if len(fields) != 2 or int(fields[0]) != ids[t]:
            print("line %d: %r, expected id %d" % (t, fields, ids[t]))
            return 1
        err = abs(float(fields[1]) - want)
        worst = max(worst, err)
        if err > tol:
            bad += 1
            if bad <= 5:
                print("id %d at %d: logprob %s, reference %.7f" % (ids[t], t, fields[1], want))
    print("ids %d, window %d, max abs logprob err %.3g" % (len(ref), window, worst))
    return 1 if bad else 0


# ==== command line ====

def main():
    ap = argparse.ArgumentParser(description="float64 reference Llama forward pass (HF semantics)")
    ap.add_argument("model", help="HF model directory or GGUF file")
    ap.add_argument("--ids", help="token ids (default: stdin)")
    ap.add_argument("--logits", help="write the logits of every position (f32 LE)")
    ap.add_argument("--greedy", type=int, help="print N greedy ids after the prompt")
    ap.add_argument("--compare", help="sl-infer --logits file to compare with")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="max |err| / max |logit| allowed by --compare (1e-4)")
    ap.add_argument("--greedy-after", type=int, metavar="N",
                    help="with --compare: ids after the first N are greedy; check that each is "
                         "the reference's arg max (then the reference's own greedy run from the "
                         "first N ids gives the same ids)")
    ap.add_argument("--score-compare", metavar="SCORES", help="sl-infer --score output to compare with")
    ap.add_argument("--window", type=int, help="with --score-compare: the window (the context)")
    a = ap.parse_args()

    text = open(a.ids).read() if a.ids else sys.stdin.read()
    ids = [int(t) for t in text.split()]
    if not ids:
        sys.exit("llama_ref.py: no ids")
    cfg, W = load(a.model)

    if a.score_compare:
        sys.exit(score_compare(cfg, W, ids, a.score_compare, a.window or len(ids), a.tol))
    if a.greedy is not None:
        print("\n".join(str(i) for i in greedy(cfg, W, ids, a.greedy)))
        return
    ref = forward(cfg, W, ids)
    if a.logits:
        ref.astype("<f4").tofile(a.logits)
    if a.compare:
        got = np.fromfile(a.compare, "<f4").astype(np.float64)
        vocab = ref.shape[1]
        if got.size == 0 or got.size % vocab:
            sys.exit("llama_ref.py: %s: %d floats is not whole rows of %d" % (a.compare, got.size, vocab))
        got = got.reshape(-1, vocab)
        if len(got) > len(ref):
            sys.exit("llama_ref.py: %s has %d rows, only %d ids given" % (a.compare, len(got), len(ref)))
        r = ref[:len(got)]
        err = np.abs(got - r).max()
        scale = np.abs(r).max()
        top2 = np.sort(r, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        flips = [(i, int(np.argmax(got[i])), int(np.argmax(r[i])), margin[i])
                 for i in range(len(r)) if np.argmax(got[i]) != np.argmax(r[i])]
        bad_flips = [f for f in flips if f[3] > 10 * err]
        print("rows %d, max abs err %.3g, max abs logit %.3g, relative %.3g, argmax differs at %d"
              % (len(r), err, scale, err / scale, len(flips)))
        for f in bad_flips:
            print("row %d: argmax %d, reference %d (margin %.3g)" % f)
        bad_greedy = []
        if a.greedy_after is not None:
            for i in range(max(a.greedy_after, 1), len(ids)):
                if int(np.argmax(ref[i - 1])) != ids[i]:
                    bad_greedy.append(i)
                    print("position %d: id %d, reference arg max %d" % (i, ids[i], np.argmax(ref[i - 1])))
        if err / scale > a.tol or bad_flips or bad_greedy or not np.isfinite(got).all():
            sys.exit(1)


if __name__ == "__main__":
    main()
