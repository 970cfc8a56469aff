#!/usr/bin/python3
"""make_smollm_random.py — an HF directory with SmolLM-1.7B's exact shapes and random bf16 weights.

The bench needs a model as large as the real one (1.71 B parameters, 3.4 GB in bf16) without
downloading it.  The shapes come from tests/fixtures/smollm-configs/SmolLM-1.7B.json, the
tokenizer is SmolLM's real tokenizer.json; the weights are random but plausible: matrices
~N(0, 0.02²) (HF's initializer_range), norms ~1 ± 0.1.

Speed and memory: drawing 1.7 B Gaussian numbers would take minutes, so one pool of 2^22 + 15
bf16 values is drawn once and every tensor is written as slices of it starting at
pseudo-random offsets (a different sequence per tensor).  The file streams out slice by slice:
memory stays near the pool size, time is the disk's.  Same arguments, same bytes.

usage: make_smollm_random.py [--config FILE] [--seed N] OUTDIR
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures"))
POOL = (1 << 22) + 15          # odd length, so rows (2048, 8192 wide) never line up with it
CHUNK = 1 << 22                # values per write


def bf16_bits(a):
    """float64 array -> bf16 bit patterns (round to nearest even), little-endian uint16."""
    u = a.astype("<f4").view("<u4").astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outdir")
    p.add_argument("--config", default=os.path.join(FIXTURES, "smollm-configs", "SmolLM-1.7B.json"))
    p.add_argument("--seed", type=int, default=1717)
    a = p.parse_args()

    with open(a.config) as f:
        cfg = json.load(f)
    H, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    V, nh, nkv = cfg["vocab_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    KV = nkv * (H // nh)
    tensors = [("model.embed_tokens.weight", (V, H))]
    for i in range(L):
        p_ = "model.layers.%d." % i
        tensors += [
            (p_ + "input_layernorm.weight", (H,)),
            (p_ + "self_attn.q_proj.weight", (H, H)),
            (p_ + "self_attn.k_proj.weight", (KV, H)),
            (p_ + "self_attn.v_proj.weight", (KV, H)),
            (p_ + "self_attn.o_proj.weight", (H, H)),
            (p_ + "post_attention_layernorm.weight", (H,)),
            (p_ + "mlp.gate_proj.weight", (F, H)),
            (p_ + "mlp.up_proj.weight", (F, H)),
            (p_ + "mlp.down_proj.weight", (H, F)),
        ]
    tensors.append(("model.norm.weight", (H,)))
    if not cfg.get("tie_word_embeddings", False):
        tensors.append(("lm_head.weight", (V, H)))

    os.makedirs(a.outdir, exist_ok=True)
    cfg = dict(cfg)
    cfg["torch_dtype"] = "bfloat16"
    cfg.pop("_name_or_path", None)
    with open(os.path.join(a.outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(a.outdir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"]}, f, indent=2)
        f.write("\n")
    with open(os.path.join(a.outdir, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                   "unk_token": "<|endoftext|>", "model_max_length": cfg["max_position_embeddings"],
                   "tokenizer_class": "GPT2Tokenizer"}, f, indent=2)
        f.write("\n")
    shutil.copyfile(os.path.join(FIXTURES, "smollm-tokenizer", "tokenizer.json"),
                    os.path.join(a.outdir, "tokenizer.json"))

    header, off = {}, 0
    for name, shape in tensors:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)

    rng = np.random.default_rng(a.seed)
    pool = bf16_bits(rng.standard_normal(POOL) * cfg.get("initializer_range", 0.02))
    pool2 = np.concatenate([pool, pool[:CHUNK]])     # so any slice of CHUNK is contiguous
    path = os.path.join(a.outdir, "model.safetensors")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in tensors:
            n = int(np.prod(shape))
            if len(shape) == 1:
                f.write(bf16_bits(1.0 + rng.standard_normal(n) * 0.1).tobytes())
                continue
            offs = rng.integers(0, POOL, size=(n + CHUNK - 1) // CHUNK)
            done = 0
            for o in offs:
                k = min(CHUNK, n - done)
                f.write(pool2[o:o + k].tobytes())
                done += k
    os.replace(tmp, path)
    print("make_smollm_random.py: %s: %d tensors, %.2f B parameters, %.2f GB" %
          (a.outdir, len(tensors), off / 2 / 1e9, (off + 8 + len(h)) / 1e9), file=sys.stderr)


if __name__ == "__main__":
    main()
