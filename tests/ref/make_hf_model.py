#!/usr/bin/python3
"""make_hf_model.py — write a small random Hugging Face Llama model directory.

The fixtures of sl's tests (sl-quant, sl-infer's reference comparison) are random models with
exactly the files a real HF checkpoint has:

    config.json  generation_config.json  tokenizer.json  tokenizer_config.json
    model.safetensors                      (or model-0000K-of-0000N.safetensors + index.json)

Weights are drawn from a seeded normal distribution (std 0.02 like HF's initializer, norms
near 1), so the same arguments give the same bytes.  The tokenizer is a copy of a real one:
stories260K's SentencePiece-style BPE (512 tokens, default) or SmolLM's byte-level BPE (49152).

Usage:
    make_hf_model.py [options] OUTDIR

    --hidden N      hidden size (64)          --layers N     decoder layers (2)
    --heads N       attention heads (4)       --kv-heads N   key/value heads (2)
    --ffn N         intermediate size (96)    --vocab N      vocab size (the tokenizer's)
    --context N     max_position_embeddings (256)
    --rope-theta F  (10000)                   --eps F        rms_norm_eps (1e-5)
    --untied        write lm_head.weight (default: tie_word_embeddings true)
    --dtype T       f32 | f16 | bf16 (f32)    --shards N     split weights over N files (1)
    --tokenizer T   stories260K | smollm (stories260K)
    --eos LIST      generation_config eos_token_id: "2" or "2,1" (tokenizer's eos)
    --chat-template include a chat_template in tokenizer_config.json
    --seed N        (1)
    --std F         weight standard deviation (0.02)

Only numpy is needed (/usr/bin/python3 has it).
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TOKENIZERS = {
    "stories260K": [os.path.join(ROOT, "models", "stories260K-hf")],
    "smollm": [os.path.join(ROOT, "tests", "fixtures", "smollm-tokenizer")],
}

CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def find_tokenizer(name):
    for d in TOKENIZERS[name]:
        if os.path.exists(os.path.join(d, "tokenizer.json")):
            return d
    sys.exit("make_hf_model.py: tokenizer %s not found in %s" % (name, TOKENIZERS[name]))


def to_bytes(a, dtype):
    """float64 array -> little-endian bytes of dtype (bf16 rounds to nearest even)."""
    if dtype == "f32":
        return a.astype("<f4").tobytes()
    if dtype == "f16":
        # through f32, as a real f16 checkpoint saved from f32 weights would be
        return a.astype("<f4").astype("<f2").tobytes()
    u = a.astype("<f4").view("<u4").astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype("<u2").tobytes()


ST_DTYPE = {"f32": ("F32", 4), "f16": ("F16", 2), "bf16": ("BF16", 2)}
TORCH_DTYPE = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, ndarray) in file order."""
    name_dt, size = ST_DTYPE[dtype]
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        b = to_bytes(a, dtype)
        assert len(b) == a.size * size
        header[name] = {"dtype": name_dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


def main():
    p = argparse.ArgumentParser(description="Write a small random HF Llama model directory.")
    p.add_argument("outdir")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--ffn", type=int, default=96)
    p.add_argument("--vocab", type=int, default=0)
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--eps", type=float, default=1e-5)
    p.add_argument("--untied", action="store_true")
    p.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--tokenizer", choices=sorted(TOKENIZERS), default="stories260K")
    p.add_argument("--eos", default=None)
    p.add_argument("--chat-template", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--std", type=float, default=0.02)
    a = p.parse_args()

    if a.hidden % a.heads or a.heads % a.kv_heads or (a.hidden // a.heads) % 2:
        sys.exit("make_hf_model.py: hidden must split into heads of even size, heads into kv-heads")
    tokdir = find_tokenizer(a.tokenizer)
    with open(os.path.join(tokdir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])]
    n_tok = max(ids) + 1
    vocab = a.vocab or n_tok
    if vocab < n_tok:
        sys.exit("make_hf_model.py: --vocab %d is smaller than the tokenizer's %d tokens" % (vocab, n_tok))
    if a.tokenizer == "smollm":
        bos, eos, pad, unk = 0, 0, None, None
        tcfg = {"add_bos_token": False, "add_eos_token": False, "bos_token": "<|endoftext|>",
                "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                "clean_up_tokenization_spaces": False, "model_max_length": a.context,
                "tokenizer_class": "GPT2Tokenizer", "vocab_size": n_tok}
    else:
        bos, eos, pad, unk = 1, 2, None, 0
        with open(os.path.join(tokdir, "tokenizer_config.json"), encoding="utf-8") as f:
            tcfg = json.load(f)
        tcfg["model_max_length"] = a.context
    if a.chat_template:
        tcfg["chat_template"] = CHAT_TEMPLATE
    eos_list = [int(x) for x in a.eos.split(",")] if a.eos else [eos]

    os.makedirs(a.outdir, exist_ok=True)
    head_dim = a.hidden // a.heads
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": a.std,
        "intermediate_size": a.ffn,
        "max_position_embeddings": a.context,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": a.eps,
        "rope_scaling": None,
        "rope_theta": a.rope_theta,
        "tie_word_embeddings": not a.untied,
        "torch_dtype": TORCH_DTYPE[a.dtype],
        "use_cache": True,
        "vocab_size": vocab,
    }
    gen = {"_from_model_config": True, "bos_token_id": bos,
           "eos_token_id": eos_list[0] if len(eos_list) == 1 else eos_list}
    with open(os.path.join(a.outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(a.outdir, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")
    with open(os.path.join(a.outdir, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)
        f.write("\n")
    shutil.copyfile(os.path.join(tokdir, "tokenizer.json"), os.path.join(a.outdir, "tokenizer.json"))

    rng = np.random.default_rng(a.seed)
    H, F, kv = a.hidden, a.ffn, a.kv_heads * head_dim

    def w(*shape):
        return rng.standard_normal(shape) * a.std

    def norm():
        return 1.0 + rng.standard_normal(H) * 0.1

    tensors = [("model.embed_tokens.weight", w(vocab, H))]
    for i in range(a.layers):
        p_ = "model.layers.%d." % i
        tensors += [
            (p_ + "input_layernorm.weight", norm()),
            (p_ + "self_attn.q_proj.weight", w(H, H)),
            (p_ + "self_attn.k_proj.weight", w(kv, H)),
            (p_ + "self_attn.v_proj.weight", w(kv, H)),
            (p_ + "self_attn.o_proj.weight", w(H, H)),
            (p_ + "post_attention_layernorm.weight", norm()),
            (p_ + "mlp.gate_proj.weight", w(F, H)),
            (p_ + "mlp.up_proj.weight", w(F, H)),
            (p_ + "mlp.down_proj.weight", w(H, F)),
        ]
    tensors.append(("model.norm.weight", norm()))
    if a.untied:
        tensors.append(("lm_head.weight", w(vocab, H)))

    if a.shards <= 1:
        write_safetensors(os.path.join(a.outdir, "model.safetensors"), tensors, a.dtype)
        return
    n = a.shards
    per = -(-len(tensors) // n)
    weight_map, total = {}, 0
    for k in range(n):
        part = tensors[k * per:(k + 1) * per]
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, n)
        total += write_safetensors(os.path.join(a.outdir, fname), part, a.dtype)
        for name, _ in part:
            weight_map[name] = fname
    with open(os.path.join(a.outdir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
