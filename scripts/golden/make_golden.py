#!/usr/bin/env python3
"""Derives golden vectors for quantscope-core's uniform quantizer, independently, with numpy.

It re-implements torch.ao.quantization's MinMaxObserver / PerChannelMinMaxObserver arithmetic
(float32 throughout, round half to even, multiply by 1/S as PyTorch's kernels do) and writes
crates/quant/tests/golden/uniform.json. The Rust test crates/quant/tests/golden.rs checks the core
against it bit for bit (scales, zero-points, codes, dequantized values) and to 1e-12 for the MSE.

Run: python3 scripts/golden/make_golden.py   (needs numpy; the output is committed, CI only reads it)
"""
import json
import pathlib

import numpy as np

f32 = np.float32
EPS = np.finfo(np.float32).eps


def code_range(bits, signed, narrow=False):
    if signed:
        half = 1 << (bits - 1)
        return (-(half - 1) if narrow else -half), half - 1
    return 0, (1 << bits) - 1


def qparams(lo, hi, bits, signed, symmetric):
    qmin, qmax = code_range(bits, signed)
    min_neg = f32(min(f32(lo), f32(0)))
    max_pos = f32(max(f32(hi), f32(0)))
    if symmetric:
        scale = f32(max(-min_neg, max_pos)) / f32((qmax - qmin) / 2)
        scale = f32(max(scale, EPS))
        zp = 0 if signed else (qmin + qmax + 1) // 2
    else:
        scale = f32(max_pos - min_neg) / f32(qmax - qmin)
        scale = f32(max(scale, EPS))
        zp = int(qmin - np.round(f32(min_neg / scale)))
        zp = int(np.clip(zp, qmin, qmax))
    return f32(scale), zp, qmin, qmax


def fake_quant(x, scale, zp, qmin, qmax):
    inv = f32(1.0) / f32(scale)
    q = np.clip(np.round((x * inv).astype(np.float32)) + zp, qmin, qmax).astype(np.int64)
    deq = (q - zp).astype(np.float32) * f32(scale)
    return q, deq.astype(np.float32)


def groups_of(shape, granularity, axis=0, group_size=None):
    """Index arrays of each group, in C order."""
    n = int(np.prod(shape))
    idx = np.arange(n).reshape(shape)
    if granularity == "tensor":
        return [idx.ravel()]
    if granularity == "channel":
        return [np.take(idx, c, axis=axis).ravel() for c in range(shape[axis])]
    # Groups of G consecutive values along the last axis: G divides it, so in C order they are
    # consecutive runs of G in the flat buffer.
    return [idx.ravel()[k * group_size:(k + 1) * group_size] for k in range(n // group_size)]


def case(name, x, bits, signed, symmetric, granularity="tensor", axis=0, group_size=None):
    x = x.astype(np.float32)
    flat = x.ravel()
    codes = np.zeros(flat.shape, dtype=np.int64)
    deq = np.zeros(flat.shape, dtype=np.float32)
    scales, zps = [], []
    for g in groups_of(x.shape, granularity, axis, group_size):
        v = flat[g]
        scale, zp, qmin, qmax = qparams(v.min(), v.max(), bits, signed, symmetric)
        q, d = fake_quant(v, scale, zp, qmin, qmax)
        codes[g], deq[g] = q, d
        scales.append(float(scale))
        zps.append(zp)
    err = flat.astype(np.float64) - deq.astype(np.float64)
    return {
        "name": name,
        "shape": list(x.shape),
        "input": [float(v) for v in flat],
        "bits": bits,
        "signed": signed,
        "symmetric": symmetric,
        "granularity": granularity,
        "axis": axis,
        "group_size": group_size,
        "scale": scales,
        "zero_point": zps,
        "codes": [int(c) for c in codes],
        "dequantized": [float(v) for v in deq],
        "mse": float(np.mean(err * err)),
    }


def main():
    rng = np.random.RandomState(20261127)
    cases = []
    x = (rng.standard_t(3, size=(4, 16)) * 0.7 + 0.1).astype(np.float32)
    for signed in (True, False):
        for symmetric in (True, False):
            for bits in (3, 8):
                tag = f"{'s' if signed else 'u'}{'sym' if symmetric else 'asym'}{bits}"
                cases.append(case(f"tensor-{tag}", x, bits, signed, symmetric))
                cases.append(case(f"channel0-{tag}", x, bits, signed, symmetric, "channel", axis=0))
                cases.append(case(f"group8-{tag}", x, bits, signed, symmetric, "group", group_size=8))
    y = rng.laplace(size=(2, 3, 8)).astype(np.float32)
    cases.append(case("channel1-3d-asym4", y, 4, True, False, "channel", axis=1))
    cases.append(case("channel2-3d-sym4", y, 4, True, True, "channel", axis=2))
    relu = np.abs(rng.standard_normal(size=(64,))).astype(np.float32)
    cases.append(case("relu-uasym4", relu, 4, False, False))
    cases.append(case("relu-ssym4", relu, 4, True, True))
    cases.append(case("ties-int8", np.array([-1.0, 0.0, 0.5, 3.0, 1.5, -0.25], dtype=np.float32), 8, True, False))
    cases.append(case("constant", np.full((5,), 2.5, dtype=np.float32), 8, True, False))
    out = pathlib.Path(__file__).resolve().parents[2] / "crates/quant/tests/golden/uniform.json"
    out.write_text(json.dumps({"generator": "scripts/golden/make_golden.py", "numpy": np.__version__, "cases": cases}, indent=1))
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
