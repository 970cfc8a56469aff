#!/usr/bin/python3
"""gguf_ref.py — a small GGUF reader and dequantizer in numpy, for the tests.

Independent of sl's C code: written from the GGUF spec and the block layouts in
ggml (ggml-common.h).  llama_ref.py uses it to run the float64 reference forward pass
on exactly the weights a quantized GGUF file holds, so sl-infer's quantized output can be
compared with "the reference on the dequantized weights".

    read_gguf(path) -> (kv: dict key -> value, tensors: dict name -> (type, dims, bytes))
    dequantize(type, raw_bytes, n) -> float64 array of n values
    hf_weights_from_gguf(path) -> (config dict in HF config.json terms, HF-named weights)

The last one also undoes llama.cpp's Q/K row permutation, so the result is an ordinary HF
LlamaForCausalLM state dict.

Usage (a quick look at a file):  gguf_ref.py FILE.gguf
"""
import struct
import sys

import numpy as np

GGUF_MAGIC = 0x46554747

# GGUF metadata value types
SCALAR = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4",
          7: "<u1", 10: "<u8", 11: "<i8", 12: "<f8"}
T_STRING, T_ARRAY, T_BOOL = 8, 9, 7

# ggml tensor types: id -> (name, values per block, bytes per block)
TYPES = {0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 8: ("q8_0", 32, 34),
         10: ("q2_k", 256, 84), 11: ("q3_k", 256, 110),
         12: ("q4_k", 256, 144), 14: ("q6_k", 256, 210), 30: ("bf16", 1, 2)}


class Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError("truncated at byte %d" % self.pos)
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def scalar(self, fmt):
        dt = np.dtype(fmt)
        return np.frombuffer(self.take(dt.itemsize), dt)[0].item()

    def string(self):
        n = self.scalar("<u8")
        return bytes(self.take(n)).decode("utf-8", errors="surrogateescape")

    def value(self, t):
        if t == T_STRING:
            return self.string()
        if t == T_ARRAY:
            et, n = self.scalar("<u4"), self.scalar("<u8")
            if et in SCALAR:
                dt = np.dtype(SCALAR[et])
                return np.frombuffer(self.take(dt.itemsize * n), dt).tolist()
            return [self.value(et) for _ in range(n)]
        if t == T_BOOL:
            return bool(self.scalar("<u1"))
        return self.scalar(SCALAR[t])


def read_gguf(path):
    buf = memoryview(open(path, "rb").read())
    r = Reader(buf)
    magic, version = r.scalar("<u4"), r.scalar("<u4")
    if magic != GGUF_MAGIC or version not in (2, 3):
        raise ValueError("%s: not a GGUF v2/v3 file" % path)
    n_tensors, n_kv = r.scalar("<u8"), r.scalar("<u8")
    kv = {}
    for _ in range(n_kv):
        key = r.string()
        kv[key] = r.value(r.scalar("<u4"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.scalar("<u4")
        dims = [r.scalar("<u8") for _ in range(nd)]
        t, off = r.scalar("<u4"), r.scalar("<u8")
        infos.append((name, dims, t, off))
    align = kv.get("general.alignment", 32)
    data = (r.pos + align - 1) // align * align
    tensors = {}
    for name, dims, t, off in infos:
        if t not in TYPES:
            raise ValueError("%s: tensor %s has type %d (not read here)" % (path, name, t))
        _, blck, bb = TYPES[t]
        n = int(np.prod(dims))
        nbytes = n // blck * bb
        start = data + off
        if start + nbytes > len(buf):
            raise ValueError("%s: tensor %s past the end of the file" % (path, name))
        tensors[name] = (t, dims, bytes(buf[start:start + nbytes]))
    return kv, tensors


def f16(u8, lo):
    """The f16 at byte column lo of each row of a uint8 block array."""
    return u8[:, lo:lo + 2].copy().view("<f2")[:, 0].astype(np.float64)


def dequantize(t, raw, n):
    """n values of ggml type t from raw bytes, as float64."""
    if t == 0:
        return np.frombuffer(raw, "<f4", n).astype(np.float64)
    if t == 1:
        return np.frombuffer(raw, "<f2", n).astype(np.float64)
    if t == 30:  # bf16: the upper half of an f32
        u = np.frombuffer(raw, "<u2", n).astype(np.uint32) << 16
        return u.view("<f4").astype(np.float64)
    _, blck, bb = TYPES[t]
    b = np.frombuffer(raw, np.uint8, n // blck * bb).reshape(-1, bb)
    if t == 8:  # Q8_0: d, qs[32]; x = d * q
        d = f16(b, 0)
        q = b[:, 2:].view(np.int8).astype(np.float64)
        return (d[:, None] * q).reshape(-1)
    if t == 2:  # Q4_0: d, qs[16]; value j low nibble, j+16 high; x = (q - 8) * d
        d = f16(b, 0)
        qs = b[:, 2:]
        q = np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float64) - 8
        return (d[:, None] * q).reshape(-1)
    if t == 12:  # Q4_K
        d, dmin = f16(b, 0), f16(b, 2)
        sc = b[:, 4:16].astype(np.int64)
        s = np.zeros((len(b), 8))
        m = np.zeros((len(b), 8))
        for j in range(8):
            if j < 4:
                s[:, j] = sc[:, j] & 63
                m[:, j] = sc[:, j + 4] & 63
            else:
                s[:, j] = (sc[:, j + 4] & 15) | ((sc[:, j - 4] >> 6) << 4)
                m[:, j] = (sc[:, j + 4] >> 4) | ((sc[:, j] >> 6) << 4)
        qs = b[:, 16:]
        out = np.zeros((len(b), 256))
        for g in range(4):
            grp = qs[:, 32 * g:32 * g + 32]
            for half, q in ((0, grp & 15), (1, grp >> 4)):
                j = 2 * g + half
                lo = 64 * g + 32 * half
                out[:, lo:lo + 32] = d[:, None] * s[:, j:j + 1] * q - dmin[:, None] * m[:, j:j + 1]
        return out.reshape(-1)
    if t == 14:  # Q6_K: ql[128] qh[64] scales[16] d
        ql, qh = b[:, 0:128].astype(np.int64), b[:, 128:192].astype(np.int64)
        scales = b[:, 192:208].view(np.int8).astype(np.float64)
        d = f16(b, 208)
        out = np.zeros((len(b), 256))
        for h in range(2):  # halves of 128 values: ql + 64h, qh + 32h, scales + 8h
            L, H = ql[:, 64 * h:64 * h + 64], qh[:, 32 * h:32 * h + 32]
            q = np.concatenate([(L[:, :32] & 15) | ((H & 3) << 4),          # values l
                                (L[:, 32:] & 15) | (((H >> 2) & 3) << 4),   # l + 32
                                (L[:, :32] >> 4) | (((H >> 4) & 3) << 4),   # l + 64
                                (L[:, 32:] >> 4) | (((H >> 6) & 3) << 4)],  # l + 96
                               axis=1)
            # value 32k + l uses scale 2k + l // 16, i.e. scale c // 16 for column c
            sc = np.repeat(scales[:, 8 * h:8 * h + 8], 16, axis=1)
            out[:, 128 * h:128 * h + 128] = d[:, None] * sc * (q - 32)
        return out.reshape(-1)
    if t in (10, 11):
        # Q2_K: scales[16] qs[64] d dmin.  Q3_K: hmask[32] qs[64] scales[12] d.
        # 2-bit fields: value 128h + 32j + l (l < 32) is bits 2j, 2j+1 of qs[32h + l].
        qs = b[:, 16:80] if t == 10 else b[:, 32:96]
        lo = np.zeros((len(b), 256), np.int64)
        for h in range(2):
            for j in range(4):
                lo[:, 128 * h + 32 * j:128 * h + 32 * j + 32] = (qs[:, 32 * h:32 * h + 32] >> (2 * j)) & 3
        if t == 10:
            sc = b[:, 0:16].astype(np.int64)
            d, dmin = f16(b, 80), f16(b, 82)
            s = np.repeat(sc & 15, 16, axis=1)   # sub-block v // 16
            m = np.repeat(sc >> 4, 16, axis=1)
            return (d[:, None] * s * lo - dmin[:, None] * m).reshape(-1)
        # Q3_K: high bit of value 128h + 32j + l is bit 4h + j of hmask[l]; q = lo - 4 if clear
        hm = b[:, 0:32].astype(np.int64)
        hi = np.zeros((len(b), 256), np.int64)
        for h in range(2):
            for j in range(4):
                hi[:, 128 * h + 32 * j:128 * h + 32 * j + 32] = (hm >> (4 * h + j)) & 1
        q = lo - 4 * (1 - hi)
        # 16 six-bit scales, stored + 32: low 4 bits in bytes 0..7 (s < 8: low nibble of byte s,
        # else high nibble of byte s - 8), high 2 bits in byte 8 + s % 4 at bit 2 * (s // 4)
        raw_sc = b[:, 96:108].astype(np.int64)
        sc = np.zeros((len(b), 16), np.int64)
        for k in range(16):
            low = raw_sc[:, k] & 15 if k < 8 else raw_sc[:, k - 8] >> 4
            sc[:, k] = (low | (((raw_sc[:, 8 + k % 4] >> (2 * (k // 4))) & 3) << 4)) - 32
        d = f16(b, 108)
        return (d[:, None] * np.repeat(sc, 16, axis=1) * q).reshape(-1)
    raise ValueError("type %d not supported" % t)


def tensor(tensors, name):
    """A tensor as a float64 array in PyTorch order (ggml dims reversed)."""
    t, dims, raw = tensors[name]
    n = int(np.prod(dims))
    return dequantize(t, raw, n).reshape(list(reversed(dims)))


def unpermute(w, n_head):
    """Undo llama.cpp's converter: GGUF rows (2i, 2i+1) back to HF rows (i, i + hd/2)."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)


def hf_weights_from_gguf(path):
    kv, tensors = read_gguf(path)
    a = kv["general.architecture"]
    heads = kv[a + ".attention.head_count"]
    cfg = {
        "hidden_size": kv[a + ".embedding_length"],
        "num_hidden_layers": kv[a + ".block_count"],
        "num_attention_heads": heads,
        "num_key_value_heads": kv.get(a + ".attention.head_count_kv", heads),
        "intermediate_size": kv[a + ".feed_forward_length"],
        "max_position_embeddings": kv[a + ".context_length"],
        "rope_theta": kv.get(a + ".rope.freq_base", 10000.0),
        "rms_norm_eps": kv.get(a + ".attention.layer_norm_rms_epsilon", 1e-5),
        "tie_word_embeddings": "output.weight" not in tensors,
    }
    W = {"model.embed_tokens.weight": tensor(tensors, "token_embd.weight"),
         "model.norm.weight": tensor(tensors, "output_norm.weight")}
    cfg["vocab_size"] = W["model.embed_tokens.weight"].shape[0]
    if "output.weight" in tensors:
        W["lm_head.weight"] = tensor(tensors, "output.weight")
    names = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
             "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    for i in range(cfg["num_hidden_layers"]):
        for g, h in names.items():
            w = tensor(tensors, "blk.%d.%s.weight" % (i, g))
            if g == "attn_q":
                w = unpermute(w, cfg["num_attention_heads"])
            elif g == "attn_k":
                w = unpermute(w, cfg["num_key_value_heads"])
            W["model.layers.%d.%s.weight" % (i, h)] = w
    return cfg, W


if __name__ == "__main__":
    kv, tensors = read_gguf(sys.argv[1])
    for k, v in kv.items():
        if isinstance(v, list) and len(v) > 8:
            v = "[%d values]" % len(v)
        print("%s = %s" % (k, v))
    for name, (t, dims, raw) in tensors.items():
        print("%-28s %-5s %s" % (name, TYPES[t][0], dims))
