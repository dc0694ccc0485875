#!/usr/bin/env python3
"""Derives golden vectors for quantscope-core's number formats, independently of the Rust code.

Minifloat and 16-bit casts come from ml_dtypes (`np.clip(x, -max, max).astype(fmt)`: round to
nearest even, saturating), the block formats are re-implemented here in numpy float32 from their
public definitions (OCP MX v1.0 §6.3; NVIDIA's NVFP4 recipe in TensorRT Model Optimizer; llama.cpp
ggml-quants.c reference quantizers; bitsandbytes NF4), and the learned codebooks are measured with
scikit-learn (KMeans, best of 10 restarts) and faiss (ProductQuantizer). Values are stored as f32
bit patterns so nothing is lost in JSON. crates/quant/tests/formats_golden.rs reads the output.

Run: pip install numpy ml_dtypes scikit-learn faiss-cpu
     python3 scripts/golden/make_formats.py     (the output is committed; CI only reads it)
"""
import json
import pathlib

import ml_dtypes
import numpy as np

f32 = np.float32
rng = np.random.default_rng(20261127)

MINIFLOATS = {
    "fp8-e4m3": ml_dtypes.float8_e4m3fn,
    "fp8-e5m2": ml_dtypes.float8_e5m2,
    "fp6-e3m2": ml_dtypes.float6_e3m2fn,
    "fp6-e2m3": ml_dtypes.float6_e2m3fn,
    "fp4-e2m1": ml_dtypes.float4_e2m1fn,
}


def bits(a):
    return np.asarray(a, dtype=f32).view(np.uint32).tolist()


def fmax(dt):
    return f32(ml_dtypes.finfo(dt).max)


def cast(x, dt):
    """Saturating RNE cast to a minifloat, back to f32."""
    m = fmax(dt)
    return np.clip(x, -m, m).astype(dt).astype(f32)


def code_bits(x, dt):
    m = fmax(dt)
    return np.clip(x, -m, m).astype(dt).view(np.uint8).astype(np.uint32).tolist()


def cast_inputs(dt):
    """Random values over the format's whole range plus every midpoint between neighbours."""
    m = float(fmax(dt))
    x = [rng.standard_normal(400) * m / 4, rng.uniform(-1.5 * m, 1.5 * m, 200),
         np.exp(rng.uniform(-25, np.log(m * 2), 300)) * rng.choice([-1, 1], 300)]
    pos = np.unique(np.abs(np.arange(256, dtype=np.uint8).view(dt).astype(f32)))
    pos = pos[np.isfinite(pos)]
    mids = (pos[:-1] + (pos[1:] - pos[:-1]) / 2).astype(f32)
    x += [mids, -mids, pos, np.array([0.0, -0.0], dtype=f32)]
    return np.concatenate(x).astype(f32)


def amax_blocks(x, g):
    return np.max(np.abs(x.reshape(-1, g)), axis=1).astype(f32)


def mx(x, g, dt, emax):
    """OCP MX v1.0: X = floor(log2(amax)) - emax, elements cast(v / 2^X), saturating."""
    blocks = x.reshape(-1, g)
    amax = amax_blocks(x, g)
    with np.errstate(divide="ignore"):
        e = np.where(amax > 0, np.floor(np.log2(amax)), -127) - emax
    e = np.clip(e, -127, 127)
    s = np.exp2(e).astype(f32)[:, None]
    return (cast(blocks / s, dt) * s).astype(f32).ravel()


def mxint8(x, g):
    blocks = x.reshape(-1, g)
    amax = amax_blocks(x, g)
    with np.errstate(divide="ignore"):
        e = np.clip(np.floor(np.log2(amax)), -127, 127)
    s = np.exp2(e - 6).astype(f32)[:, None]
    q = np.clip(np.round(blocks / s), -127, 127)  # np.round: half to even
    return (q * s).astype(f32).ravel()


def nvfp4(x):
    """TensorRT-ModelOpt: t = amax/(6*448); block scale e4m3(amax_b/(6 t)), 0 -> 1; cast(x/(s t))."""
    e4m3 = ml_dtypes.float8_e4m3fn
    t = f32(np.max(np.abs(x)) / f32(6.0 * 448.0))
    blocks = x.reshape(-1, 16)
    sb = cast(amax_blocks(x, 16) / f32(6.0) / t, e4m3)
    sb = np.where(sb == 0, f32(1.0), sb)
    s = (sb * t).astype(f32)[:, None]
    return (cast(blocks / s, ml_dtypes.float4_e2m1fn) * s).astype(f32).ravel()


def f16(v):
    return np.asarray(v, dtype=f32).astype(np.float16).astype(f32)


def q8_0(x):
    out = []
    for b in x.reshape(-1, 32):
        amax = f32(np.max(np.abs(b)))
        d = f32(amax / f32(127))
        idd = f32(1) / d if d != 0 else f32(0)
        x0 = (b * idd).astype(f32)
        # roundf: half away from zero (exact in float64 for float32 inputs)
        q = (np.sign(x0) * np.floor(np.abs(x0.astype(np.float64)) + 0.5)).astype(f32)
        out.append((q * f16(d)).astype(f32))
    return np.concatenate(out)


def q4_0(x):
    out = []
    for b in x.reshape(-1, 32):
        i = int(np.argmax(np.abs(b)))  # first index of the largest |x|, as the C loop's `<`
        mx_ = b[i]
        d = f32(mx_ / f32(-8))
        idd = f32(1) / d if d != 0 else f32(0)
        x0 = (b * idd).astype(f32)
        q = np.minimum(15, np.trunc((x0 + f32(8.5)).astype(f32))).astype(f32)
        out.append(((q - 8) * f16(d)).astype(f32))
    return np.concatenate(out)


def q4_1(x):
    out = []
    for b in x.reshape(-1, 32):
        lo, hi = f32(b.min()), f32(b.max())
        d = f32((hi - lo) / f32(15))
        idd = f32(1) / d if d != 0 else f32(0)
        x0 = ((b - lo) * idd).astype(f32)
        q = np.minimum(15, np.trunc((x0 + f32(0.5)).astype(f32))).astype(f32)
        out.append((q * f16(d) + f16(lo)).astype(f32))
    return np.concatenate(out)


NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
                0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0], dtype=f32)


def nf4(x, g):
    out = []
    mids = (NF4[:-1] + (NF4[1:] - NF4[:-1]) / f32(2)).astype(f32)
    for b in x.reshape(-1, g):
        amax = f32(np.max(np.abs(b)))
        inv = f32(1) / amax
        n = (b * inv).astype(f32)
        idx = np.searchsorted(mids, n, side="left")  # x > mid goes up; a tie stays low
        out.append((NF4[idx] * amax).astype(f32))
    return np.concatenate(out)


def tensor(shape, heavy=False):
    n = int(np.prod(shape))
    v = rng.standard_t(3, n) if heavy else rng.standard_normal(n)
    v = (v * 0.05).astype(f32)
    return v


def main():
    out = {"casts": [], "blocks": [], "kmeans": [], "pq": []}
    for name, dt in MINIFLOATS.items():
        x = cast_inputs(dt)
        out["casts"].append({"format": name, "x": bits(x), "code": code_bits(x, dt),
                             "value": bits(cast(x, dt))})
    x = np.concatenate([rng.standard_normal(500) * 1e3, rng.standard_normal(500) * 1e-3,
                        np.array([65504, 65520, 70000, 1e-8, 3.3895e38], dtype=f32)]).astype(f32)
    with np.errstate(over="ignore"):  # f16 overflow to Inf is part of the test
        h = x.astype(np.float16)
    out["casts"].append({"format": "fp16", "x": bits(x),
                         "code": h.view(np.uint16).astype(np.uint32).tolist(),
                         "value": bits(h.astype(f32))})
    out["casts"].append({"format": "bf16", "x": bits(x),
                         "code": x.astype(ml_dtypes.bfloat16).view(np.uint16).astype(np.uint32).tolist(),
                         "value": bits(x.astype(ml_dtypes.bfloat16).astype(f32))})

    def block_case(name, cfg, shape, fn, heavy=True):
        x = tensor(shape, heavy)
        # A few blocks that stress the rules: all zero, one outlier, exact powers of two.
        x[:32] = 0
        x[64] = 7.9
        x[96:128] = np.exp2(rng.integers(-3, 3, 32)).astype(f32)
        out["blocks"].append({"name": name, "config": cfg, "shape": shape, "x": bits(x),
                              "dequantized": bits(fn(x))})

    mxcfg = lambda fmt: {"format": fmt, "granularity": {"kind": "group", "size": 32},
                         "scale_format": "e8m0", "scheme": "symmetric"}
    for fmt, emax in [("fp4-e2m1", 2), ("fp6-e2m3", 2), ("fp6-e3m2", 4), ("fp8-e4m3", 8), ("fp8-e5m2", 15)]:
        dt = MINIFLOATS[fmt]
        block_case("mx" + fmt, mxcfg(fmt), [8, 64], lambda x, dt=dt, emax=emax: mx(x, 32, dt, emax))
    c = mxcfg("int")
    c.update(bits=8, narrow_range=True)
    block_case("mxint8", c, [8, 64], lambda x: mxint8(x, 32))
    block_case("nvfp4", {"format": "fp4-e2m1", "granularity": {"kind": "group", "size": 16},
                         "scale_format": "e4m3", "scheme": "symmetric"}, [8, 64], nvfp4)
    for name, fn in [("q8_0", q8_0), ("q4_0", q4_0), ("q4_1", q4_1)]:
        block_case(name, {"format": name}, [8, 64], fn)
    block_case("nf4", {"format": "nf4", "granularity": {"kind": "group", "size": 64}}, [8, 128],
               lambda x: nf4(x, 64))
    block_case("fp8-e4m3-tensor", {"format": "fp8-e4m3"}, [8, 64],
               lambda x: (cast(x / f32(np.max(np.abs(x)) / f32(448)), ml_dtypes.float8_e4m3fn)
                          * f32(np.max(np.abs(x)) / f32(448))).astype(f32))

    from sklearn.cluster import KMeans
    for k, heavy in [(4, False), (16, True), (16, False)]:
        x = tensor([4000], heavy)
        km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x.astype(np.float64).reshape(-1, 1))
        out["kmeans"].append({"k": k, "x": bits(x), "sklearn_mse": float(km.inertia_) / len(x)})

    import faiss
    for k, d in [(16, 2), (256, 2), (64, 4)]:
        x = tensor([160, 64], True)
        subs = np.ascontiguousarray(x.reshape(-1, d))
        pq = faiss.ProductQuantizer(d, 1, int(np.log2(k)))
        pq.train(subs)
        rec = pq.decode(pq.compute_codes(subs))
        mse = float(np.mean((rec.astype(np.float64) - subs) ** 2))
        out["pq"].append({"k": k, "dim": d, "shape": [160, 64], "x": bits(x), "faiss_mse": mse})

    path = pathlib.Path(__file__).resolve().parents[2] / "crates/quant/tests/golden/formats.json"
    path.write_text(json.dumps(out))
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
