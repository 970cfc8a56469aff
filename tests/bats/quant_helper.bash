# quant_helper.bash — shared setup for sl-quant.bats: paths, fixture models, and small
# Python readers that look inside GGUF and safetensors files independently of lib/.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${SL_BIN:-$ROOT/bin}  # make check-asan: SL_BIN names the instrumented programs
QUANT=$BIN/sl-quant
PY=${PYTHON:-/usr/bin/python3}
MAKE_HF=$ROOT/tests/ref/make_hf_model.py
STORIES_HF=$ROOT/models/stories260K-hf
REF_GGUF=$ROOT/tests/fixtures/stories260K-gguf

# make_model DIR [make_hf_model.py options...]: a random HF model (seeded, so reproducible)
make_model() {
	"$PY" "$MAKE_HF" "$@" >/dev/null
}

# A GGUF reader in Python, written from ggml's gguf.md, shared by the functions below.
GGUF_PY='
import hashlib, struct, sys
def gguf(path):
    data = open(path, "rb").read()
    pos = [0]
    def rd(fmt):
        s = struct.calcsize("<" + fmt); v = struct.unpack_from("<" + fmt, data, pos[0]); pos[0] += s; return v
    def rs():
        n, = rd("Q"); s = data[pos[0]:pos[0] + n]; pos[0] += n; return s.decode("utf-8", "replace")
    SC = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    def rv(t):
        if t == 8: return rs()
        if t == 9:
            et, = rd("I"); n, = rd("Q"); return [rv(et) for _ in range(n)]
        return rd(SC[t])[0]
    magic, ver, nt, nkv = rd("IIQQ")
    kv, types, tensors = {}, {}, []
    for _ in range(nkv):
        k = rs(); t, = rd("I"); kv[k] = rv(t); types[k] = t
    for _ in range(nt):
        name = rs(); nd, = rd("I"); dims = rd("Q" * nd); ty, = rd("I"); off, = rd("Q")
        tensors.append((name, dims, ty, off))
    align = kv.get("general.alignment", 32)
    start = (pos[0] + align - 1) // align * align
    BL = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 12: (256, 144), 14: (256, 210),
          10: (256, 84), 11: (256, 110)}
    out = []
    for name, dims, ty, off in tensors:
        n = 1
        for d in dims: n *= d
        b, s = BL[ty]
        out.append((name, dims, ty, data[start + off:start + off + n // b * s]))
    return kv, types, out, len(data), start
'

# gguf_tensors FILE: "name dims type sha256-of-data" per tensor, in file order.  Fails unless
# the data is laid out as llama.cpp requires: packed in info order, each tensor padded with
# zeros to 32 bytes, the file ending after the last one.
gguf_tensors() {
	"$PY" -c "$GGUF_PY"'
kv, types, ts, size, start = gguf(sys.argv[1])
data = open(sys.argv[1], "rb").read()
at = 0
for name, dims, ty, d in ts:
    pad = (32 - len(d) % 32) % 32
    if data[start + at:start + at + len(d)] != d or data[start + at + len(d):start + at + len(d) + pad] != bytes(pad):
        sys.exit("gguf_tensors: %s is not packed at %d" % (name, at))
    at += len(d) + pad
if start + at != size:
    sys.exit("gguf_tensors: file is %d bytes, tensors end at %d" % (size, start + at))
for name, dims, ty, d in ts:
    print(name, "x".join(map(str, dims)), ty, hashlib.sha256(d).hexdigest()[:16])
' "$1"
}

# gguf_kv FILE KEY: the value (Python repr), "type=N" on a second line; exit 1 if absent
gguf_kv() {
	"$PY" -c "$GGUF_PY"'
kv, types, ts, size, start = gguf(sys.argv[1])
k = sys.argv[2]
if k not in kv: sys.exit(1)
v = kv[k]
print(v[:8] if isinstance(v, list) and len(v) > 8 else v)
print("type=%d" % types[k])
' "$1" "$2"
}

# gguf_kvs FILE: every key as "key type value", one per line; arrays longer than 8 show their
# first 8 elements, then the length and a hash of the whole array (-0.0 counted as 0.0)
gguf_kvs() {
	"$PY" -c "$GGUF_PY"'
kv, types, ts, size, start = gguf(sys.argv[1])
for k, v in kv.items():
    if isinstance(v, list) and len(v) > 8:
        print(k, types[k], v[:8], "(%d, %s)" % (len(v), hashlib.sha256(repr([x + 0.0 if isinstance(x, float) else x for x in v]).encode()).hexdigest()[:16]))
    else:
        print(k, types[k], v)
' "$1"
}

# st_corrupt FILE MODE: damage a safetensors file in one precise way
st_corrupt() {
	"$PY" -c '
import json, struct, sys
path, mode = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
n, = struct.unpack_from("<Q", data, 0)
h = json.loads(data[8:8 + n])
body = data[8 + n:]
def save(h, body):
    j = json.dumps(h).encode()
    open(path, "wb").write(struct.pack("<Q", len(j)) + j + body)
if mode == "header_past_end":
    struct.pack_into("<Q", data, 0, len(data) * 2); open(path, "wb").write(data)
elif mode == "truncate":
    open(path, "wb").write(data[:-10])
elif mode == "overlap":
    k = "model.layers.0.input_layernorm.weight"
    b, e = h[k]["data_offsets"]; h[k]["data_offsets"] = [b - 4, e - 4]; save(h, body)
elif mode == "dtype_i32":
    h["model.layers.0.self_attn.v_proj.weight"]["dtype"] = "I32"; save(h, body)
elif mode == "misshapen":
    k = "model.layers.1.self_attn.k_proj.weight"
    h[k]["shape"] = h[k]["shape"][::-1]; save(h, body)
elif mode == "missing":
    h["model.layers.1.mlp.up_proj.weigh"] = h.pop("model.layers.1.mlp.up_proj.weight"); save(h, body)
else:
    sys.exit("st_corrupt: unknown mode " + mode)
' "$1" "$2"
}

# json_edit FILE PYTHON-STATEMENT: edit a JSON file (the object is `j`)
json_edit() {
	"$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(j, open(sys.argv[1], "w"), indent=2)
' "$1" "$2"
}

# no_output PATH: neither PATH nor a temporary PATH.tmp.* exists
no_output() {
	[ ! -e "$1" ] && ! compgen -G "$1.tmp.*" >/dev/null
}

