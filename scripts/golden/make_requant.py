#!/usr/bin/env python3
"""Golden vectors of integer-only inference (quantscope-core's `intmatmul`), from a Python port of
TensorFlow Lite's reference requantization (QuantizeMultiplier in quantization_util.cc,
MultiplyByQuantizedMultiplier in common.h) and gemmlowp's fixedpoint.h
(SaturatingRoundingDoublingHighMul, RoundingDivideByPOT), in Python's exact integers with C's
32-bit wrapping and truncating division written out; plus one small layer end to end, its
scales from make_golden.py's observer arithmetic (numpy float32).

Run: python3 scripts/golden/make_requant.py   (writes crates/quant/tests/golden/requant.json)
"""
import json
import math
import pathlib

import numpy as np

from make_golden import qparams

f32 = np.float32
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def wrap32(v):
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def round_away(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(m):
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = int(round_away(q * (1 << 31)))
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def srdhm(a, b):
    if a == b == INT_MIN:
        return INT_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) // (1 << 31)
    return wrap32(q if v >= 0 else -q)


def rdbp(x, e):
    mask = (1 << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


def mbqm(x, m0, shift):
    left = max(shift, 0)
    right = max(-shift, 0)
    return rdbp(srdhm(wrap32(x * (1 << left)), m0), right)


def layer(x, w):
    """The integer layer of intmatmul.rs, step by step."""
    m, k = x.shape
    n = w.shape[0]
    sx, zx, _, _ = qparams(x.min(), x.max(), 8, True, False)
    inv = f32(1.0) / sx
    xq = np.clip(np.round((x * inv).astype(f32)) + zx, -128, 127).astype(np.int64)
    sw, wq = [], np.zeros((n, k), dtype=np.int64)
    for j in range(n):
        a = f32(max(-min(f32(w[j].min()), f32(0)), max(f32(w[j].max()), f32(0))))
        s = f32(max(f32(a / f32(127.0)), np.finfo(np.float32).eps))
        sw.append(s)
        wq[j] = np.clip(np.round((w[j] * (f32(1.0) / s)).astype(f32)), -127, 127)
    y = (x.astype(np.float64) @ w.astype(np.float64).T).astype(f32)
    sy, zy, _, _ = qparams(y.min(), y.max(), 8, True, False)
    mult = [quantize_multiplier(float(f32(sx * s)) / float(sy)) for s in sw]
    acc = [[int(sum((int(xq[i, t]) - zx) * int(wq[j, t]) for t in range(k))) for j in range(n)] for i in range(m)]
    yq = [[max(-128, min(127, mbqm(acc[i][j], *mult[j]) + zy)) for j in range(n)] for i in range(m)]
    return {
        "input_scale": float(sx), "input_zero_point": zx, "weight_scale": [float(s) for s in sw],
        "output_scale": float(sy), "output_zero_point": zy,
        "multiplier": [mm[0] for mm in mult], "shift": [mm[1] for mm in mult],
        "x_q": xq.ravel().tolist(), "w_q": wq.ravel().tolist(),
        "acc": [a for row in acc for a in row], "y_q": [v for row in yq for v in row],
    }


def main():
    multipliers = [0.0, 1e-12, 2.0 ** -33, 2.0 ** -32, 2.0 ** -31, 3e-7, 0.0078125, 1 / 3, 0.3, 0.5,
                   0.75, 1 - 2.0 ** -40, 1 - 2.0 ** -33, 1.0, 1.5, 1.7, 3.0, 3.9, 1e6]
    qm = [{"m": m, "multiplier": a, "shift": b} for m in multipliers for a, b in [quantize_multiplier(m)]]
    pairs = [(INT_MIN, INT_MIN), (INT_MIN, INT_MAX), (INT_MAX, INT_MAX), (INT_MAX, INT_MIN),
             (1 << 30, 1 << 30), (-(1 << 30), 1 << 30), (1, 1 << 30), (-1, 1 << 30), (3, 1 << 30),
             (-3, 1 << 30), (123456789, 987654321), (-123456789, 987654321), (0, INT_MIN), (7, -7)]
    hm = [{"a": a, "b": b, "out": srdhm(a, b)} for a, b in pairs]
    xs = [0, 1, -1, 5, -5, 6, -6, 7, -7, 12, -12, INT_MAX, INT_MIN, 1 << 20, -(1 << 20) - 3]
    dp = [{"x": x, "e": e, "out": rdbp(x, e)} for x in xs for e in [0, 1, 2, 3, 4, 16, 31]]
    accs = [0, 1, -1, 1000, -1000, 65535, -65536, 1 << 20, -(1 << 20) + 7, INT_MAX, INT_MIN, 12345678]
    mq = [{"x": x, "multiplier": a, "shift": b, "out": mbqm(x, a, b)}
          for x in accs for a, b in [quantize_multiplier(m) for m in [0.0003, 0.0078125, 0.75, 1.7, 3.9, 2.0 ** -31]]]
    rng = np.random.default_rng(20261206)
    x = rng.standard_normal((5, 24)).astype(f32)
    x[2, 3] = 6.0
    w = (rng.standard_normal((4, 24)) * 0.1).astype(f32)
    w[1, 5] = -0.9
    doc = {
        "about": "scripts/golden/make_requant.py (numpy " + np.__version__ + ")",
        "quantize_multiplier": qm, "high_mul": hm, "divide_by_pot": dp, "multiply": mq,
        "layer": {"x": [float(v) for v in x.ravel()], "x_shape": list(x.shape),
                  "w": [float(v) for v in w.ravel()], "w_shape": list(w.shape), **layer(x, w)},
    }
    path = pathlib.Path(__file__).resolve().parents[2] / "crates/quant/tests/golden/requant.json"
    path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {path}: {len(qm)} multipliers, {len(hm)} high multiplies, {len(dp)} shifts, {len(mq)} requantizations")


if __name__ == "__main__":
    main()
