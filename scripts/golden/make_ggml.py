#!/usr/bin/env python3
"""Golden vectors for llama.cpp's GGML block types, independently of the Rust code.

For every type Quantscope quantizes to, on tensors built to reach the rules' corners (all-zero and
constant blocks, one outlier, tiny and huge magnitudes, ties), this writes the bytes of one
quantization and their dequantization:

- Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (and MXFP4, read only): bytes from llama.cpp's own Python package
  (`gguf.quants.quantize`), values from `gguf.quants.dequantize`;
- Q2_K … Q6_K, IQ4_NL, IQ4_XS: bytes from the numpy float32 port below of llama.cpp's reference
  quantizers (`quantize_row_*_ref`, ggml/src/ggml-quants.c of ggml-org/llama.cpp at 01243c5;
  scalar float32 arithmetic in the C source's order), values from `gguf.quants.dequantize` of
  those bytes — so the byte layout is llama.cpp's, whoever wrote the bytes.

crates/quant/tests/ggml_golden.rs checks the Rust quantizers byte for byte and its dequantizers
bit for bit against this file (natively and as WebAssembly).

Run: pip install numpy gguf==0.19.0
     python3 scripts/golden/make_ggml.py     (the output is committed; CI only reads it)
"""
import json
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

f32 = np.float32
QK_K = 256
EPS = f32(1e-15)  # GROUP_MAX_EPS
KVALUES_IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]


def nearest_int(v):
    """llama.cpp's nearest_int: add 1.5*2^23 in float32 and read the low mantissa bits."""
    s = np.array([f32(v) + f32(12582912.0)], dtype=f32).view(np.int32)[0]
    return int((int(s) & 0x007FFFFF) - 0x00400000)


def f16(v):
    return np.array([f32(v)], dtype=f32).astype(np.float16)


def f16_bytes(v):
    return f16(v).tobytes()


def f16_val(v):
    return f32(f16(v).astype(f32)[0])


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def make_qx_quants(n, nmax, x):
    """rmse_type 1, no quant_weights: w = x*x."""
    mx = f32(0)
    amax = f32(0)
    for v in x:
        if abs(v) > amax:
            amax = f32(abs(v))
            mx = v
    if amax < EPS:
        return f32(0), [0] * n
    iscale = f32(-nmax) / mx
    L = [0] * n
    sumlx = f32(0)
    suml2 = f32(0)
    for i in range(n):
        l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1)
        L[i] = l + nmax
        w = x[i] * x[i]
        sumlx = f32(sumlx + w * x[i] * f32(l))
        suml2 = f32(suml2 + w * f32(l) * f32(l))
    scale = sumlx / suml2 if suml2 != 0 else f32(0)
    best = scale * sumlx
    for is_ in range(-9, 10):
        if is_ == 0:
            continue
        iscale = -(f32(nmax) + f32(0.1) * f32(is_)) / mx
        sumlx = f32(0)
        suml2 = f32(0)
        for i in range(n):
            l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1)
            w = x[i] * x[i]
            sumlx = f32(sumlx + w * x[i] * f32(l))
            suml2 = f32(suml2 + w * f32(l) * f32(l))
        if suml2 > 0 and sumlx * sumlx > best * suml2:
            for i in range(n):
                L[i] = nmax + clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1)
            scale = sumlx / suml2
            best = scale * sumlx
    return f32(scale), L


def make_q3_quants(n, nmax, x):
    mx = f32(0)
    amax = f32(0)
    for v in x:
        if abs(v) > amax:
            amax = f32(abs(v))
            mx = v
    if amax < EPS:
        return f32(0), [0] * n
    iscale = f32(-nmax) / mx
    L = [0] * n
    sumlx = f32(0)
    suml2 = f32(0)
    for i in range(n):
        l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1)
        L[i] = l
        w = x[i] * x[i]
        sumlx = f32(sumlx + w * x[i] * f32(l))
        suml2 = f32(suml2 + w * f32(l) * f32(l))
    for _ in range(5):
        changed = 0
        for i in range(n):
            w = x[i] * x[i]
            slx = f32(sumlx - w * x[i] * f32(L[i]))
            if slx > 0:
                sl2 = f32(suml2 - w * f32(L[i]) * f32(L[i]))
                new_l = clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1)
                if new_l != L[i]:
                    slx = f32(slx + w * x[i] * f32(new_l))
                    sl2 = f32(sl2 + w * f32(new_l) * f32(new_l))
                    if sl2 > 0 and slx * slx * suml2 > sumlx * sumlx * sl2:
                        L[i] = new_l
                        sumlx = slx
                        suml2 = sl2
                        changed += 1
        if not changed:
            break
    L = [l + nmax for l in L]
    return (sumlx / suml2 if suml2 > 0 else f32(0)), L


def make_qkx2_quants(n, nmax, x, weights, rmin, rdelta, nstep, use_mad):
    mn = x[0]
    mx = x[0]
    sum_w = weights[0]
    sum_x = f32(sum_w * x[0])
    for i in range(1, n):
        if x[i] < mn:
            mn = x[i]
        if x[i] > mx:
            mx = x[i]
        w = weights[i]
        sum_w = f32(sum_w + w)
        sum_x = f32(sum_x + w * x[i])
    if mn > 0:
        mn = f32(0)
    if mx == mn:
        return f32(0), f32(-mn), [0] * n

    def err(d):
        return abs(d) if use_mad else d * d

    iscale = f32(nmax) / (mx - mn)
    scale = f32(1) / iscale
    best_error = f32(0)
    L = [0] * n
    for i in range(n):
        L[i] = clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax)
        diff = scale * f32(L[i]) + mn - x[i]
        best_error = f32(best_error + weights[i] * err(diff))
    if nstep < 1:
        return scale, f32(-mn), L
    for is_ in range(nstep + 1):
        iscale = (f32(rmin) + f32(rdelta) * f32(is_) + f32(nmax)) / (mx - mn)
        sum_l = f32(0)
        sum_l2 = f32(0)
        sum_xl = f32(0)
        aux = [0] * n
        for i in range(n):
            l = clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax)
            aux[i] = l
            w = weights[i]
            sum_l = f32(sum_l + w * f32(l))
            sum_l2 = f32(sum_l2 + w * f32(l) * f32(l))
            sum_xl = f32(sum_xl + w * f32(l) * x[i])
        D = sum_w * sum_l2 - sum_l * sum_l
        if D > 0:
            this_scale = (sum_w * sum_xl - sum_x * sum_l) / D
            this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D
            if this_min > 0:
                this_min = f32(0)
                this_scale = sum_xl / sum_l2
            cur = f32(0)
            for i in range(n):
                diff = this_scale * f32(aux[i]) + this_min - x[i]
                cur = f32(cur + weights[i] * err(diff))
            if cur < best_error:
                L = aux
                best_error = cur
                scale = this_scale
                mn = this_min
    return f32(scale), f32(-mn), L


def get_scale_min_k4(j, q):
    if j < 4:
        return q[j] & 63, q[j + 4] & 63
    return (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4)


def pack_2bit(L):
    qs = [0] * 64
    for j in range(0, QK_K, 128):
        for l in range(32):
            qs[j // 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)
    return bytes(qs)


def q2_k(x):
    L = [0] * QK_K
    scales = [f32(0)] * 16
    mins = [f32(0)] * 16
    max_scale = f32(0)
    max_min = f32(0)
    for j in range(16):
        xs = x[16 * j:16 * j + 16]
        w = [f32(abs(v)) for v in xs]
        s, m, Lj = make_qkx2_quants(16, 3, xs, w, -0.5, 0.1, 15, True)
        L[16 * j:16 * j + 16] = Lj
        scales[j] = s
        mins[j] = m
        if s > max_scale:
            max_scale = s
        if m > max_min:
            max_min = m
    sc = [0] * 16
    if max_scale > 0:
        iscale = f32(15) / max_scale
        for j in range(16):
            sc[j] = nearest_int(iscale * scales[j]) & 0xFF
        d = f16_bytes(max_scale / f32(15))
    else:
        d = f16_bytes(0)
    if max_min > 0:
        iscale = f32(15) / max_min
        for j in range(16):
            sc[j] = (sc[j] | (nearest_int(iscale * mins[j]) << 4)) & 0xFF
        dmin = f16_bytes(max_min / f32(15))
    else:
        dmin = f16_bytes(0)
    dv = np.frombuffer(d, dtype=np.float16).astype(f32)[0]
    mv = np.frombuffer(dmin, dtype=np.float16).astype(f32)[0]
    for j in range(16):
        dd = dv * f32(sc[j] & 0xF)
        if dd == 0:
            continue
        dm = mv * f32(sc[j] >> 4)
        for ii in range(16):
            L[16 * j + ii] = clamp(nearest_int((x[16 * j + ii] + dm) / dd), 0, 3)
    return bytes(sc) + pack_2bit(L) + d + dmin


def q3_k(x):
    L = [0] * QK_K
    scales = [f32(0)] * 16
    max_scale = f32(0)
    amax = f32(0)
    for j in range(16):
        s, Lj = make_q3_quants(16, 4, x[16 * j:16 * j + 16])
        L[16 * j:16 * j + 16] = Lj
        scales[j] = s
        if abs(s) > amax:
            amax = f32(abs(s))
            max_scale = s
    sc = [0] * 12
    if max_scale != 0:
        iscale = f32(-32) / max_scale
        for j in range(16):
            l = np.int8(np.int32(nearest_int(iscale * scales[j])).astype(np.int8))
            l = clamp(int(l), -32, 31) + 32
            if j < 8:
                sc[j] = l & 0xF
            else:
                sc[j - 8] |= (l & 0xF) << 4
            l >>= 4
            sc[j % 4 + 8] |= l << (2 * (j // 4))
        d = f16_bytes(f32(1) / iscale)
    else:
        d = f16_bytes(0)
    dv = np.frombuffer(d, dtype=np.float16).astype(f32)[0]
    for j in range(16):
        low = sc[j] & 0xF if j < 8 else sc[j - 8] >> 4
        s = (low | (((sc[8 + j % 4] >> (2 * (j // 4))) & 3) << 4)) - 32
        dd = dv * f32(s)
        if dd == 0:
            continue
        for ii in range(16):
            L[16 * j + ii] = clamp(nearest_int(x[16 * j + ii] / dd), -4, 3) + 4
    hmask = [0] * 32
    for j in range(QK_K):
        if L[j] > 3:
            hmask[j % 32] |= 1 << (j // 32)
            L[j] -= 4
    return bytes(hmask) + pack_2bit(L) + bytes(sc) + d


def qkx(x, nmax, rmin, nstep):
    L = [0] * QK_K
    scales = [f32(0)] * 8
    mins = [f32(0)] * 8
    max_scale = f32(0)
    max_min = f32(0)
    for j in range(8):
        xs = x[32 * j:32 * j + 32]
        sum_x2 = f32(0)
        for v in xs:
            sum_x2 = f32(sum_x2 + v * v)
        av_x = np.sqrt(f32(sum_x2 / f32(32)), dtype=f32)
        w = [f32(av_x + abs(v)) for v in xs]
        s, m, Lj = make_qkx2_quants(32, nmax, xs, w, rmin, 0.1, nstep, False)
        L[32 * j:32 * j + 32] = Lj
        scales[j] = s
        mins[j] = m
        if s > max_scale:
            max_scale = s
        if m > max_min:
            max_min = m
    inv_scale = f32(63) / max_scale if max_scale > 0 else f32(0)
    inv_min = f32(63) / max_min if max_min > 0 else f32(0)
    q = [0] * 12
    for j in range(8):
        ls = min(63, nearest_int(inv_scale * scales[j]) & 0xFF)
        lm = min(63, nearest_int(inv_min * mins[j]) & 0xFF)
        if j < 4:
            q[j] = ls
            q[j + 4] = lm
        else:
            q[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
            q[j - 4] |= (ls >> 4) << 6
            q[j] |= (lm >> 4) << 6
    d = f16_bytes(max_scale / f32(63))
    dmin = f16_bytes(max_min / f32(63))
    dv = np.frombuffer(d, dtype=np.float16).astype(f32)[0]
    mv = np.frombuffer(dmin, dtype=np.float16).astype(f32)[0]
    for j in range(8):
        s, m = get_scale_min_k4(j, q)
        dd = dv * f32(s)
        if dd == 0:
            continue
        dm = mv * f32(m)
        for ii in range(32):
            L[32 * j + ii] = clamp(nearest_int((x[32 * j + ii] + dm) / dd), 0, nmax)
    return d + dmin + bytes(q), L


def q4_k(x):
    head, L = qkx(x, 15, -1.0, 20)
    qs = [0] * 128
    for j in range(0, QK_K, 64):
        for l in range(32):
            qs[j // 2 + l] = L[j + l] | (L[j + l + 32] << 4)
    return head + bytes(qs)


def q5_k(x):
    head, L = qkx(x, 31, -0.5, 15)
    qh = [0] * 32
    ql = [0] * 128
    m1, m2 = 1, 2
    for n in range(0, QK_K, 64):
        for j in range(32):
            l1 = L[n + j]
            if l1 > 15:
                l1 -= 16
                qh[j] |= m1
            l2 = L[n + j + 32]
            if l2 > 15:
                l2 -= 16
                qh[j] |= m2
            ql[n // 2 + j] = l1 | (l2 << 4)
        m1 <<= 2
        m2 <<= 2
    return head + bytes(qh) + bytes(ql)


def q6_k(x):
    L = [0] * QK_K
    scales = [f32(0)] * 16
    max_scale = f32(0)
    max_abs = f32(0)
    for ib in range(16):
        s, Lj = make_qx_quants(16, 32, x[16 * ib:16 * ib + 16])
        L[16 * ib:16 * ib + 16] = Lj
        scales[ib] = s
        if abs(s) > max_abs:
            max_abs = f32(abs(s))
            max_scale = s
    if max_abs < EPS:
        return bytes(208) + f16_bytes(0)
    iscale = f32(-128) / max_scale
    d = f16_bytes(f32(1) / iscale)
    sc = [min(127, nearest_int(iscale * scales[ib])) for ib in range(16)]
    dv = np.frombuffer(d, dtype=np.float16).astype(f32)[0]
    for j in range(16):
        dd = dv * f32(sc[j])
        if dd == 0:
            continue
        for ii in range(16):
            L[16 * j + ii] = clamp(nearest_int(x[16 * j + ii] / dd), -32, 31) + 32
    ql = [0] * 128
    qh = [0] * 64
    for j in range(0, QK_K, 128):
        o, h = 64 * (j // 128), 32 * (j // 128)
        for l in range(32):
            q1, q2, q3, q4 = (L[j + l] & 0xF, L[j + l + 32] & 0xF, L[j + l + 64] & 0xF, L[j + l + 96] & 0xF)
            ql[o + l] = q1 | (q3 << 4)
            ql[o + l + 32] = q2 | (q4 << 4)
            qh[h + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6)
    return bytes(ql) + bytes(qh) + np.array(sc, dtype=np.int8).tobytes() + d


def best_index_int8(x):
    x2 = f32(x + x)
    idx = 0
    step = 8
    while step > 0:
        j = idx + step
        if x2 >= f32(KVALUES_IQ4NL[j - 1] + KVALUES_IQ4NL[j]):
            idx = j
        step >>= 1
    return idx


def iq4_sub_block(xb, ntry):
    amax = f32(0)
    mx = f32(0)
    for v in xb:
        if abs(v) > amax:
            amax = f32(abs(v))
            mx = v
    if amax < EPS:
        return f32(0), [0] * len(xb)
    v0 = f32(KVALUES_IQ4NL[0])
    d = -mx / v0 if ntry > 0 else mx / v0
    idd = f32(1) / d
    L = []
    sumqx = f32(0)
    sumq2 = f32(0)
    for v in xb:
        k = best_index_int8(idd * v)
        L.append(k)
        q = f32(KVALUES_IQ4NL[k])
        w = v * v
        sumqx = f32(sumqx + w * q * v)
        sumq2 = f32(sumq2 + w * q * q)
    d = sumqx / sumq2 if sumq2 > 0 else f32(0)
    best = d * sumqx
    for itry in range(-ntry, ntry + 1):
        idd = f32(itry + KVALUES_IQ4NL[0]) / mx
        sumqx = f32(0)
        sumq2 = f32(0)
        for v in xb:
            q = f32(KVALUES_IQ4NL[best_index_int8(idd * v)])
            w = v * v
            sumqx = f32(sumqx + w * q * v)
            sumq2 = f32(sumq2 + w * q * q)
        if sumq2 > 0 and sumqx * sumqx > best * sumq2:
            d = sumqx / sumq2
            best = d * sumqx
    return f32(d), L


def pack_iq4(L):
    qs = [0] * (len(L) // 2)
    for i in range(len(L) // 32):
        for j in range(16):
            qs[16 * i + j] = L[32 * i + j] | (L[32 * i + 16 + j] << 4)
    return bytes(qs)


def iq4_nl(x):
    d, L = iq4_sub_block(x, -1)
    return f16_bytes(d) + pack_iq4(L)


def iq4_xs(x):
    L = [0] * QK_K
    scales = [f32(0)] * 8
    max_scale = f32(0)
    amax_scale = f32(0)
    for ib in range(8):
        s, Lb = iq4_sub_block(x[32 * ib:32 * ib + 32], 7)
        L[32 * ib:32 * ib + 32] = Lb
        scales[ib] = s
        if abs(s) > amax_scale:
            amax_scale = f32(abs(s))
            max_scale = s
    d = -max_scale / f32(32)
    idd = f32(1) / d if d != 0 else f32(0)
    scales_h = 0
    scales_l = [0] * 4
    for ib in range(8):
        l = clamp(nearest_int(idd * scales[ib]), -32, 31)
        dl = d * f32(l)
        idl = f32(1) / dl if dl != 0 else f32(0)
        for j in range(32):
            L[32 * ib + j] = best_index_int8(idl * x[32 * ib + j])
        l += 32
        if ib % 2 == 0:
            scales_l[ib // 2] = l & 0xF
        else:
            scales_l[ib // 2] |= (l & 0xF) << 4
        scales_h |= (l >> 4) << (2 * ib)
    return f16_bytes(d) + np.array([scales_h], dtype=np.uint16).tobytes() + bytes(scales_l) + pack_iq4(L)


OURS = {
    T.Q2_K: (QK_K, q2_k),
    T.Q3_K: (QK_K, q3_k),
    T.Q4_K: (QK_K, q4_k),
    T.Q5_K: (QK_K, q5_k),
    T.Q6_K: (QK_K, q6_k),
    T.IQ4_NL: (32, iq4_nl),
    T.IQ4_XS: (QK_K, iq4_xs),
}
GGUF_QUANTIZES = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.MXFP4, T.TQ1_0, T.TQ2_0]


def inputs(rng):
    """Tensors of 4 super-blocks (1024 values) each, with the corners in the first blocks."""
    cases = {}
    x = (rng.standard_normal(1024) * 0.05).astype(f32)
    cases["normal"] = x
    t = (rng.standard_t(3, 1024) * 0.02).astype(f32)
    t[:32] = 0  # an all-zero block (and sub-blocks)
    t[40] = 7.9  # one outlier
    t[64:96] = f32(0.25)  # a constant block
    t[96:128] = np.exp2(rng.integers(-3, 3, 32)).astype(f32) * rng.choice([-1, 1], 32).astype(f32)
    t[256:512] = 0  # an all-zero super-block
    t[512:528] = f32(1e-20)  # tiny
    t[600:616] = (rng.standard_normal(16) * 1e3).astype(f32)  # huge
    cases["corners"] = t
    pos = np.abs(rng.standard_normal(1024)).astype(f32) * f32(0.1)  # all positive (mins at 0)
    cases["positive"] = pos
    cases["negative"] = -pos
    return cases


def main():
    rng = np.random.default_rng(20261206)
    from importlib.metadata import version
    out = {"gguf": version("gguf"), "numpy": np.__version__, "inputs": {}, "cases": []}
    for name, x in inputs(rng).items():
        out["inputs"][name] = x.view(np.uint32).tolist()
        for ty in GGUF_QUANTIZES:
            q = quants.quantize(x.reshape(1, -1), ty).reshape(-1)
            deq = quants.dequantize(q.reshape(1, -1), ty).reshape(-1).astype(f32)
            out["cases"].append({"type": ty.name, "input": name,
                                 "bytes": q.tobytes().hex(), "by": "gguf.quants.quantize",
                                 "dequantized": deq.view(np.uint32).tolist()})
        for ty, (block, fn) in OURS.items():
            blocks = b"".join(fn([f32(v) for v in x[i:i + block]]) for i in range(0, len(x), block))
            raw = np.frombuffer(blocks, dtype=np.uint8)
            deq = quants.dequantize(raw.reshape(1, -1), ty).reshape(-1).astype(f32)
            out["cases"].append({"type": ty.name, "input": name,
                                 "bytes": blocks.hex(), "by": "numpy port of quantize_row_*_ref",
                                 "dequantized": deq.view(np.uint32).tolist()})
    golden = pathlib.Path(__file__).resolve().parents[2] / "crates/quant/tests/golden"
    path = golden / "ggml.json"
    path.write_text(json.dumps(out))
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(out['cases'])} cases)")
    write_gguf(golden, rng)


def write_gguf(golden, rng):
    """A GGUF file written by llama.cpp's own writer (gguf.GGUFWriter), and what its tensors hold
    as gguf.quants.dequantize reads them: the reader's interoperability fixture."""
    from gguf import GGUFWriter
    path = golden / "gguf-py.gguf"
    w = GGUFWriter(str(path), "llama")
    w.add_file_type(15)  # MOSTLY_Q4_K_M
    w.add_quantization_version(2)
    w.add_name("quantscope fixture")
    w.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(100)])
    expected = {}
    x = (rng.standard_normal(512) * 0.1).astype(f32)
    w.add_tensor("f32", x[:6].reshape(2, 3))
    expected["f32"] = ([2, 3], x[:6])
    h = x[:32].astype(np.float16).reshape(4, 8)
    w.add_tensor("f16", h)
    expected["f16"] = ([4, 8], h.astype(f32).reshape(-1))
    for ty, name in [(T.Q4_0, "blk.0.attn_q.weight"), (T.Q8_0, "blk.0.attn_k.weight"),
                     (T.Q5_1, "q5_1"), (T.MXFP4, "mxfp4")]:
        q = quants.quantize(x.reshape(4, 128), ty)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=ty)
        expected[name] = ([4, 128], quants.dequantize(q, ty).reshape(-1))
    for ty, name in [(T.Q4_K, "blk.0.ffn_down.weight"), (T.IQ4_XS, "iq4_xs"), (T.Q6_K, "output.weight")]:
        block, fn = OURS[ty]
        raw = np.frombuffer(b"".join(fn([f32(v) for v in x[i:i + block]]) for i in range(0, 512, block)),
                            dtype=np.uint8).reshape(2, -1)
        w.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=ty)
        expected[name] = ([2, 256], quants.dequantize(raw, ty).reshape(-1))
    # A type Quantscope does not read (listed, refused when opened).
    iq2 = np.zeros((1, 66), dtype=np.uint8)
    w.add_tensor("iq2_xxs", iq2, raw_shape=iq2.shape, raw_dtype=T.IQ2_XXS)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    (golden / "gguf-py.json").write_text(json.dumps(
        {name: {"shape": shape, "values": np.asarray(v, dtype=f32).view(np.uint32).tolist()}
         for name, (shape, v) in expected.items()}))
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
