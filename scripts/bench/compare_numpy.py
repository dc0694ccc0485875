#!/usr/bin/env python3
"""The fused quantize -> dequantize -> metrics job in numpy and in quantscope-core, on the same data in
the same run, and the ratio. Run: python3 scripts/bench/compare_numpy.py (needs numpy; builds the
core's `bench_file` example in release mode).

numpy does what a careful user would write: int8 per-tensor min-max (PyTorch observer semantics),
fake-quantize, then MSE, SQNR, max/mean |error|, cosine, clipped fraction, code histogram/entropy.
"""
import json
import os
import pathlib
import platform
import subprocess
import tempfile
import time

import numpy as np

root = pathlib.Path(__file__).resolve().parents[2]


def numpy_job(x):
    qmin, qmax = -128, 127
    lo, hi = np.float32(min(x.min(), 0)), np.float32(max(x.max(), 0))
    scale = np.float32(max((hi - lo) / np.float32(qmax - qmin), np.finfo(np.float32).eps))
    zp = int(np.clip(qmin - np.round(lo / scale), qmin, qmax))
    raw = np.round(x * (np.float32(1) / scale)) + zp
    q = np.clip(raw, qmin, qmax)
    clipped = np.count_nonzero(q != raw) / x.size
    deq = ((q - zp) * scale).astype(np.float32)
    d = x.astype(np.float64) - deq
    sse = float(np.dot(d, d))
    ref = float(np.dot(x.astype(np.float64), x))
    mse = sse / x.size
    sqnr = 10 * np.log10(ref / sse)
    max_abs = float(np.abs(d).max())
    mean_abs = float(np.abs(d).mean())
    cos = float(np.dot(x.astype(np.float64), deq) / np.sqrt(ref * float(np.dot(deq.astype(np.float64), deq))))
    counts = np.bincount((q - qmin).astype(np.int64), minlength=256)
    p = counts[counts > 0] / x.size
    entropy = float(-(p * np.log2(p)).sum())
    return mse, sqnr, max_abs, mean_abs, cos, clipped, entropy


def best_of(runs, f):
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "quantscope-core", "--example", "bench_file"],
                   cwd=root, check=True)
    exe = root / "target/release/examples/bench_file"
    rng = np.random.default_rng(42)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numpy {np.__version__}")
    for n in (1 << 20, 1 << 24):
        x = rng.standard_normal(n, dtype=np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "x.npy"
            np.save(path, x)
            core = json.loads(subprocess.run([exe, path], capture_output=True, text=True, check=True).stdout)
        t_np = best_of(3, lambda: numpy_job(x))
        mse_np = numpy_job(x)[0]
        ratio = t_np / core["fused_s"]
        print(f"n = {n:>9,}: numpy {t_np * 1e3:8.1f} ms | core fused {core['fused_s'] * 1e3:7.1f} ms "
              f"| memory pass {core['memory_pass_s'] * 1e3:6.1f} ms | core is {ratio:5.1f}x numpy, "
              f"{core['fused_s'] / core['memory_pass_s']:4.1f}x a memory pass | mse numpy {mse_np:.9e} core {core['mse']:.9e}")


if __name__ == "__main__":
    main()
