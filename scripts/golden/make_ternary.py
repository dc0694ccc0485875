#!/usr/bin/env python3
"""Golden vectors for BitNet b1.58's ternary weights, independently of the Rust code.

A numpy port of the reference `weight_quant` ("The Era of 1-bit LLMs: Training Tips, Code and
FAQ", Microsoft, 2024):

    scale = 1.0 / w.abs().mean().clamp_(min=1e-5)
    u = (w * scale).round().clamp_(-1, 1) / scale

in float32 (torch.round and np.round both round half to even), per tensor, and per channel or
group where the tensor's rows or groups of consecutive values take the place of the whole. The
mean is summed in float64 and rounded once to float32 (torch's float32 mean may differ from it
by an ulp on large tensors; the script prints how many codes the float32 mean would change).
crates/quant/tests/ternary_golden.rs reads the output.

Run: pip install numpy
     python3 scripts/golden/make_ternary.py     (the output is committed; CI only reads it)
"""
import json
import pathlib

import numpy as np

f32 = np.float32
rng = np.random.default_rng(20261206)


def weight_quant(w, mean=None):
    w = np.asarray(w, dtype=f32)
    if mean is None:
        mean = f32(np.abs(w.astype(np.float64)).mean())
    scale = f32(1.0) / np.maximum(f32(mean), f32(1e-5))
    q = np.clip(np.round(w * scale), -1, 1).astype(f32)
    return q.astype(np.int32), (q / scale).astype(f32)


def grouped(w, rows):
    """`rows`: the tensor cut into the groups that share one scale (a 2-D view)."""
    codes, deq, f32_changes = [], [], 0
    for r in rows:
        c, d = weight_quant(r)
        c32, _ = weight_quant(r, mean=np.abs(r).mean(dtype=f32))
        f32_changes += int((c != c32).sum())
        codes.append(c)
        deq.append(d)
    return np.concatenate(codes), np.concatenate(deq), f32_changes


def bits(a):
    return np.asarray(a, dtype=f32).view(np.uint32).tolist()


cases = []


def case(name, shape, values, granularity):
    w = np.asarray(values, dtype=f32).reshape(shape)
    if granularity == "tensor":
        rows = [w.reshape(-1)]
    elif granularity == "channel":  # axis 0: each row
        rows = list(w.reshape(shape[0], -1))
    else:  # "group:G": groups of G consecutive values
        rows = list(w.reshape(-1, int(granularity.split(":")[1])))
    codes, deq, changes = grouped(w, rows)
    print(f"{name}: {changes} codes differ with a float32 mean")
    cases.append(
        {
            "name": name,
            "shape": list(shape),
            "granularity": granularity,
            "values": bits(w.reshape(-1)),
            "codes": codes.tolist(),
            "dequantized": bits(deq),
        }
    )


case("normal per tensor", (64, 64), rng.normal(0, 0.02, 4096), "tensor")
case("laplace per channel", (8, 96), rng.laplace(0, 1.0, 768), "channel")
case("student-t per group of 32", (4, 128), rng.standard_t(3, 512) * 0.1, "group:32")
# |w · s| = ½ and 3/2 exactly (mean |w| = 1, s = 1): ties go to 0 and to ±2 → clamped to ±1.
case("ties", (1, 8), [0.5, -0.5, 1.5, -1.5, 0.5, -0.5, 1.5, -1.5], "tensor")
# mean |w| below ε: s = 10⁵, everything rounds to 0 but the largest values.
case("below epsilon", (1, 6), [1e-6, -2e-6, 3e-6, 0.0, 8e-6, -4e-6], "tensor")
case("all zero", (2, 4), [0.0] * 8, "channel")

out = pathlib.Path(__file__).resolve().parents[2] / "crates/quant/tests/golden/ternary.json"
out.write_text(json.dumps({"source": "scripts/golden/make_ternary.py", "cases": cases}) + "\n")
print("wrote", out)
