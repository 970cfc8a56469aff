#!/usr/bin/python3
"""kquant_ref.py — ggml's reference Q3_K and Q2_K quantizers again, in numpy, for the tests.

A second reading of ggml's quantize_row_q3_K_ref / quantize_row_q2_K_ref (with
make_q3_quants and make_qkx2_quants), independent of lib/sl_quant.c: every block of a
row is processed at once (numpy over the block axis), in float32 with the operations in
ggml's order and no fused multiply-adds, so the bytes must equal sl-quant's exactly.

    quantize(type, x) -> bytes    (type 11 Q3_K or 10 Q2_K; x float32 of n*256 values)

Usage (compare a file's tensors with their source):  see tests/bats/sl-quant.bats.
"""
import numpy as np

F = np.float32
GROUP_MAX_EPS = F(1e-15)


def nearest_int(v):
    """ggml's nearest_int: round half to even (exact below 2^22)."""
    return np.rint(v).astype(np.int64)


def f16_bits(v):
    return np.asarray(v, F).astype(np.float16).view(np.uint16)


def f16_val(v):
    return np.asarray(v, F).astype(np.float16).astype(F)


def make_q3_quants(x, nmax):
    """x: (B, n) float32 -> (L (B, n) int, scale (B,)); ggml's make_q3_quants with do_rmse."""
    B, n = x.shape
    ax = np.abs(x)
    # the first value of largest |x| (strict >), with its sign
    idx = np.argmax(ax, axis=1)
    amax = ax[np.arange(B), idx]
    mx = x[np.arange(B), idx]
    zero = amax < GROUP_MAX_EPS
    safe = np.where(zero, F(1), mx).astype(F)
    iscale = (F(-nmax) / safe).astype(F)
    L = np.clip(nearest_int(iscale[:, None] * x), -nmax, nmax - 1)
    sumlx = np.zeros(B, F)
    suml2 = np.zeros(B, F)
    for i in range(n):
        w = x[:, i] * x[:, i]
        li = L[:, i].astype(F)
        sumlx = (sumlx + (w * x[:, i]) * li).astype(F)
        suml2 = (suml2 + (w * li) * li).astype(F)
    active = ~zero
    for _ in range(5):
        changed = np.zeros(B, bool)
        for i in range(n):
            w = x[:, i] * x[:, i]
            li = L[:, i].astype(F)
            slx = (sumlx - (w * x[:, i]) * li).astype(F)
            ok = active & (slx > 0)
            sl2 = (suml2 - (w * li) * li).astype(F)
            with np.errstate(divide="ignore", invalid="ignore"):
                new_l = np.clip(nearest_int(np.where(ok, (x[:, i] * sl2) / np.where(ok, slx, F(1)), 0)),
                                -nmax, nmax - 1)
            nl = new_l.astype(F)
            ok &= new_l != L[:, i]
            slx2 = (slx + (w * x[:, i]) * nl).astype(F)
            sl22 = (sl2 + (w * nl) * nl).astype(F)
            ok &= (sl22 > 0) & ((slx2 * slx2) * suml2 > (sumlx * sumlx) * sl22)
            L[:, i] = np.where(ok, new_l, L[:, i])
            sumlx = np.where(ok, slx2, sumlx)
            suml2 = np.where(ok, sl22, suml2)
            changed |= ok
        active &= changed
        if not active.any():
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(suml2 > 0, sumlx / np.where(suml2 > 0, suml2, F(1)), F(0)).astype(F)
    L = np.where(zero[:, None], 0, L + nmax)
    scale = np.where(zero, F(0), scale)
    return L, scale


def make_qkx2_quants(x, w, nmax, rmin, rdelta, nstep, use_mad):
    """x, w: (B, n) float32 -> (L, scale, the_min); ggml's make_qkx2_quants."""
    B, n = x.shape
    mn, mx = x[:, 0].copy(), x[:, 0].copy()
    sum_w = w[:, 0].copy()
    sum_x = (sum_w * x[:, 0]).astype(F)
    for i in range(1, n):
        mn = np.minimum(mn, x[:, i])
        mx = np.maximum(mx, x[:, i])
        sum_w = (sum_w + w[:, i]).astype(F)
        sum_x = (sum_x + w[:, i] * x[:, i]).astype(F)
    mn = np.where(mn > 0, F(0), mn).astype(F)
    flat = mx == mn
    rng = np.where(flat, F(1), mx - mn).astype(F)
    iscale = (F(nmax) / rng).astype(F)
    scale = (F(1) / iscale).astype(F)
    L = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax)
    best = np.zeros(B, F)
    for i in range(n):
        diff = ((scale * L[:, i].astype(F) + mn) - x[:, i]).astype(F)
        diff = np.abs(diff) if use_mad else (diff * diff).astype(F)
        best = (best + w[:, i] * diff).astype(F)
    for step in range(nstep + 1):
        # ggml's min moves with each better fit: later grids span max - (the new min)
        cur = np.where(flat, F(1), mx - mn).astype(F)
        isc = ((F(rmin) + F(rdelta) * F(step) + F(nmax)) / cur).astype(F)
        La = np.clip(nearest_int(isc[:, None] * (x - mn[:, None])), 0, nmax)
        sum_l = np.zeros(B, F)
        sum_l2 = np.zeros(B, F)
        sum_xl = np.zeros(B, F)
        for i in range(n):
            li = La[:, i].astype(F)
            sum_l = (sum_l + w[:, i] * li).astype(F)
            sum_l2 = (sum_l2 + (w[:, i] * li) * li).astype(F)
            sum_xl = (sum_xl + (w[:, i] * li) * x[:, i]).astype(F)
        D = (sum_w * sum_l2 - sum_l * sum_l).astype(F)
        ok = (D > 0) & ~flat
        Ds = np.where(ok, D, F(1))
        this_scale = ((sum_w * sum_xl - sum_x * sum_l) / Ds).astype(F)
        this_min = ((sum_l2 * sum_x - sum_l * sum_xl) / Ds).astype(F)
        pos = this_min > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            this_scale = np.where(pos, sum_xl / np.where(pos, sum_l2, F(1)), this_scale).astype(F)
        this_min = np.where(pos, F(0), this_min).astype(F)
        err = np.zeros(B, F)
        for i in range(n):
            diff = ((this_scale * La[:, i].astype(F) + this_min) - x[:, i]).astype(F)
            diff = np.abs(diff) if use_mad else (diff * diff).astype(F)
            err = (err + w[:, i] * diff).astype(F)
        take = ok & (err < best)
        L = np.where(take[:, None], La, L)
        best = np.where(take, err, best)
        scale = np.where(take, this_scale, scale)
        mn = np.where(take, this_min, mn)
    L = np.where(flat[:, None], 0, L)
    scale = np.where(flat, F(0), scale)
    return L, scale, (-mn).astype(F)


def pack2(L):
    """(B, 256) levels 0..3 -> (B, 64) bytes: value 128h + 32j + l in bits 2j of byte 32h + l."""
    q = np.zeros((L.shape[0], 64), np.uint8)
    for h in range(2):
        for j in range(4):
            q[:, 32 * h:32 * h + 32] |= (L[:, 128 * h + 32 * j:128 * h + 32 * j + 32] << (2 * j)).astype(np.uint8)
    return q


def quantize_q3_K(x):
    x = np.asarray(x, F).reshape(-1, 256)
    B = len(x)
    L = np.zeros((B, 256), np.int64)
    scales = np.zeros((B, 16), F)
    for j in range(16):
        L[:, 16 * j:16 * j + 16], scales[:, j] = make_q3_quants(x[:, 16 * j:16 * j + 16], 4)
    idx = np.argmax(np.abs(scales), axis=1)              # first of the largest |scale|
    max_scale = scales[np.arange(B), idx]
    has = max_scale != 0
    iscale = (F(-32) / np.where(has, max_scale, F(1))).astype(F)
    ls = nearest_int(iscale[:, None] * scales)
    ls = ((ls + 128) % 256) - 128                          # ggml stores it in an int8 first
    ls = np.where(has[:, None], np.clip(ls, -32, 31) + 32, 0)
    sc = np.zeros((B, 12), np.int64)
    for j in range(16):
        if j < 8:
            sc[:, j] |= ls[:, j] & 15
        else:
            sc[:, j - 8] |= (ls[:, j] & 15) << 4
        sc[:, 8 + j % 4] |= (ls[:, j] >> 4) << (2 * (j // 4))
    dbits = np.where(has, f16_bits((F(1) / iscale).astype(F)), f16_bits(F(0)))
    dval = dbits.view(np.float16).astype(F)
    for j in range(16):
        s = np.where(has, ls[:, j] - 32, 0).astype(F)
        d = (dval * s).astype(F)
        nz = d != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            l = np.clip(nearest_int(x[:, 16 * j:16 * j + 16] / np.where(nz, d, F(1))[:, None]), -4, 3) + 4
        L[:, 16 * j:16 * j + 16] = np.where(nz[:, None], l, L[:, 16 * j:16 * j + 16])
    hm = np.zeros((B, 32), np.int64)
    for v in range(256):
        hi = L[:, v] > 3
        hm[:, v % 32] |= hi.astype(np.int64) << (v // 32)
        L[:, v] -= 4 * hi
    out = np.concatenate([hm.astype(np.uint8), pack2(L), sc.astype(np.uint8),
                          dbits.astype("<u2")[:, None].view(np.uint8)], axis=1)
    return out.tobytes()


def quantize_q2_K(x):
    x = np.asarray(x, F).reshape(-1, 256)
    B = len(x)
    L = np.zeros((B, 256), np.int64)
    scales = np.zeros((B, 16), F)
    mins = np.zeros((B, 16), F)
    for j in range(16):
        xs = x[:, 16 * j:16 * j + 16]
        L[:, 16 * j:16 * j + 16], scales[:, j], mins[:, j] = make_qkx2_quants(
            xs, np.abs(xs), 3, -0.5, 0.1, 15, True)
    max_scale = np.maximum(scales.max(axis=1), F(0))
    max_min = np.maximum(mins.max(axis=1), F(0))
    q4 = F(15)
    hs, hm_ = max_scale > 0, max_min > 0
    ls = np.where(hs[:, None], nearest_int((q4 / np.where(hs, max_scale, F(1)))[:, None] * scales), 0)
    lm = np.where(hm_[:, None], nearest_int((q4 / np.where(hm_, max_min, F(1)))[:, None] * mins), 0)
    sc = (ls | (lm << 4)) & 255
    dbits = np.where(hs, f16_bits((max_scale / q4).astype(F)), f16_bits(F(0)))
    mbits = np.where(hm_, f16_bits((max_min / q4).astype(F)), f16_bits(F(0)))
    dval, mval = dbits.view(np.float16).astype(F), mbits.view(np.float16).astype(F)
    for j in range(16):
        d = (dval * (sc[:, j] & 15).astype(F)).astype(F)
        dm = (mval * (sc[:, j] >> 4).astype(F)).astype(F)
        nz = d != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            l = np.clip(nearest_int((x[:, 16 * j:16 * j + 16] + dm[:, None]) / np.where(nz, d, F(1))[:, None]), 0, 3)
        L[:, 16 * j:16 * j + 16] = np.where(nz[:, None], l, L[:, 16 * j:16 * j + 16])
    out = np.concatenate([sc.astype(np.uint8), pack2(L), dbits.astype("<u2")[:, None].view(np.uint8),
                          mbits.astype("<u2")[:, None].view(np.uint8)], axis=1)
    return out.tobytes()


def quantize(t, x):
    return quantize_q3_K(x) if t == 11 else quantize_q2_K(x)
