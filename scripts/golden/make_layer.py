#!/usr/bin/env python3
"""Golden vectors of the layer lab (quantscope-core's `layer` module), derived independently with numpy.

- RTN: the weight quantizer is torch.ao's per-channel / per-tensor min-max arithmetic of
  make_golden.py (float32, round half to even, multiply by 1/S), so Q(W) must match bit for bit.
- GPTQ: a line-by-line port of IST-DASLab/gptq's `GPTQ.fasterquant` (gptq.py: blocksize 128 or as
  given, percdamp 0.01, dead columns, act-order, groupsize with parameters found at each group's
  first column from W as the reference reads it), in float64, with the same quantizer. H is
  2/n XᵀX as `add_batch` accumulates it for one batch of n tokens.
- AWQ: llm-awq's `auto_scale` search (x_max = mean |x| per input channel, scales = x_max^α clamped
  at 1e-4 and normalised by sqrt(max·min), α in {0, 1/20, …, 19/20}, least output MSE).
- SmoothQuant: s = max|X|^α / max|W|^(1−α); W8A8 activations per tensor signed symmetric min-max.
- Hadamard: scipy-free Sylvester construction, block diagonal, normalised.

Run: python3 scripts/golden/make_layer.py  (needs numpy; writes crates/quant/tests/golden/layer.json,
which is committed: the tests need no Python)
"""
import json
import pathlib

import numpy as np

from make_golden import fake_quant, qparams

f32 = np.float32


def quantize_rows(w, bits, per="channel", group=None):
    """Signed symmetric min-max quantization of a 2-D float32 matrix: per tensor, per row, or per
    group of `group` consecutive values of a row."""
    w = w.astype(np.float32)
    out = np.empty_like(w)
    if per == "tensor":
        s, z, lo, hi = qparams(w.min(), w.max(), bits, True, True)
        return fake_quant(w, s, z, lo, hi)[1]
    g = w.shape[1] if group is None else group
    for r in range(w.shape[0]):
        for c in range(0, w.shape[1], g):
            v = w[r, c:c + g]
            s, z, lo, hi = qparams(v.min(), v.max(), bits, True, True)
            out[r, c:c + g] = fake_quant(v, s, z, lo, hi)[1]
    return out


def row_params(w, bits):
    """Per-row (scale, zp, qmin, qmax) of a float32 matrix."""
    return [qparams(f32(row.min()), f32(row.max()), bits, True, True) for row in w.astype(np.float32)]


def gptq(W, X, bits, blocksize=128, percdamp=0.01, groupsize=-1, actorder=False):
    """IST-DASLab/gptq fasterquant, float64, per-row symmetric signed quantizer."""
    W = W.astype(np.float64).copy()
    rows, columns = W.shape
    params = row_params(W.astype(np.float32), bits)  # find_params(W) before anything changes

    def quant(col, p):
        """fake_quant of each row's value with that row's parameters, all rows at once."""
        scale = np.array([q[0] for q in p], dtype=np.float32)
        zp = np.array([q[1] for q in p], dtype=np.int64)
        lo, hi = p[0][2], p[0][3]
        inv = (np.float32(1.0) / scale).astype(np.float32)
        q = np.clip(np.round((col.astype(np.float32) * inv).astype(np.float32)) + zp, lo, hi).astype(np.int64)
        return ((q - zp).astype(np.float32) * scale).astype(np.float32).astype(np.float64)

    n = X.shape[0]
    H = (2.0 / n) * (X.astype(np.float64).T @ X.astype(np.float64))
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    if actorder:
        perm = np.argsort(-np.diag(H), kind="stable")
        W = W[:, perm]
        H = H[perm][:, perm]
    Q = np.zeros_like(W)
    damp = percdamp * np.mean(np.diag(H))
    H[np.arange(columns), np.arange(columns)] += damp
    L = np.linalg.cholesky(H)
    Hinv = np.linalg.inv(L).T @ np.linalg.inv(L)  # cholesky_inverse
    Hinv = np.linalg.cholesky(Hinv).T  # cholesky(upper=True)
    loss = 0.0
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].copy()
        Err1 = np.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if groupsize != -1 and (i1 + i) % groupsize == 0:
                params = row_params(W[:, i1 + i:i1 + i + groupsize].astype(np.float32), bits)
            q = quant(w, params)
            Q[:, i1 + i] = q
            loss += float(np.sum((w - q) ** 2 / d ** 2) / 2)
            err1 = (w - q) / d
            W1[:, i:] -= np.outer(err1, Hinv1[i, i:])
            Err1[:, i] = err1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    if actorder:
        Q = Q[:, np.argsort(perm)]
    return Q, damp, loss


def hadamard(b):
    h = np.array([[1.0]])
    while h.shape[0] < b:
        h = np.block([[h, h], [h, -h]])
    return h / np.sqrt(b)


def metrics(X, W, Xq, Wq, W_eff):
    Y = X.astype(np.float64) @ W.astype(np.float64).T
    Yq = Xq @ Wq.T
    err = Y - Yq
    werr = W.astype(np.float64) - W_eff
    return {
        "output_mse": float(np.mean(err ** 2)),
        "output_sqnr_db": float(10 * np.log10(np.sum(Y ** 2) / np.sum(err ** 2))),
        "weight_mse": float(np.mean(werr ** 2)),
        "weight_sqnr_db": float(10 * np.log10(np.sum(W.astype(np.float64) ** 2) / np.sum(werr ** 2))),
        "per_output_mse": [float(v) for v in np.mean(err ** 2, axis=0)],
    }


def main():
    rng = np.random.default_rng(20261206)
    out_f, in_f, tokens = 24, 64, 48
    W = (rng.standard_normal((out_f, in_f)) * 0.05).astype(np.float32)
    W[3, 17] = 0.9  # one outlier weight
    X = rng.standard_normal((tokens, in_f)).astype(np.float32)
    X[:, 5] *= 30.0  # two outlier activation channels
    X[:, 40] *= 12.0
    X[:, 9] = 0.0  # a dead input
    Xd = X.astype(np.float64)
    cases = []

    # RTN, int4 per output channel.
    Wq = quantize_rows(W, 4)
    cases.append({"name": "rtn int4 per channel", "method": "rtn", "bits": 4, "per": "channel",
                  "w_hat": [float(v) for v in Wq.ravel()],
                  **metrics(X, W, Xd, Wq.astype(np.float64), Wq.astype(np.float64))})

    # RTN, int4 per tensor: the outlier weight takes the scale.
    Wq = quantize_rows(W, 4, per="tensor")
    cases.append({"name": "rtn int4 per tensor", "method": "rtn", "bits": 4, "per": "tensor",
                  **metrics(X, W, Xd, Wq.astype(np.float64), Wq.astype(np.float64))})

    # SmoothQuant α = 0.5, W8A8 per tensor.
    xmax = np.abs(X).max(axis=0).astype(np.float64)
    wmax = np.abs(W).max(axis=0).astype(np.float64)
    s = np.where((xmax == 0) | (wmax == 0), 1.0, xmax ** 0.5 / np.where(wmax == 0, 1, wmax) ** 0.5)
    Ws = (W.astype(np.float64) * s).astype(np.float32)
    Xs = (Xd / s).astype(np.float32)
    Wq = quantize_rows(Ws, 8, per="tensor").astype(np.float64)
    Xq = quantize_rows(Xs, 8, per="tensor").astype(np.float64)
    cases.append({"name": "smoothquant 0.5 w8a8 per tensor", "method": "rtn", "bits": 8, "per": "tensor",
                  "smooth_alpha": 0.5, "act_bits": 8, "scales": [float(v) for v in s],
                  **metrics(X, W, Xq, Wq, Wq / s)})

    # Hadamard, blocks of 16, int4 per tensor.
    R = np.kron(np.eye(in_f // 16), hadamard(16))
    Wr = (W.astype(np.float64) @ R)
    Wq = quantize_rows(Wr.astype(np.float32), 4, per="tensor").astype(np.float64)
    cases.append({"name": "hadamard 16 int4 per tensor", "method": "rtn", "bits": 4, "per": "tensor",
                  "rotate_block": 16, **metrics(X, W, Xd @ R, Wq, Wq @ R.T)})

    # GPTQ, int4 per channel, blocks of 16 (three lazy updates), and with act-order and groups.
    for name, kw in [("gptq int4 per channel", {"blocksize": 16}),
                     ("gptq int4 per channel 128", {}),
                     ("gptq int4 g16 act-order", {"blocksize": 16, "groupsize": 16, "actorder": True}),
                     ("gptq int4 g16", {"blocksize": 32, "groupsize": 16})]:
        Q, damp, loss = gptq(W, X, 4, **kw)
        case = {"name": name, "method": "gptq", "bits": 4, "per": "channel",
                "gptq_block": kw.get("blocksize", 128), "act_order": kw.get("actorder", False),
                "damp": damp, "loss": loss, "w_hat": [float(v) for v in Q.ravel()],
                **metrics(X, W, Xd, Q, Q)}
        if "groupsize" in kw:
            case["per"] = "group"
            case["group"] = kw["groupsize"]
        cases.append(case)

    # AWQ, int4 per channel.
    x_mean = np.abs(Xd).mean(axis=0)
    Y = Xd @ W.astype(np.float64).T
    curve = []
    for k in range(20):
        a = k / 20
        sc = np.maximum(x_mean ** a, 1e-4)
        sc = sc / np.sqrt(sc.max() * sc.min())
        q = quantize_rows((W.astype(np.float64) * sc).astype(np.float32), 4).astype(np.float64) / sc
        curve.append(float(np.mean((Y - Xd @ q.T) ** 2)))
    best = int(np.argmin(curve))
    a = best / 20
    sc = np.maximum(x_mean ** a, 1e-4)
    sc = sc / np.sqrt(sc.max() * sc.min())
    Q = quantize_rows((W.astype(np.float64) * sc).astype(np.float32), 4).astype(np.float64) / sc
    cases.append({"name": "awq int4 per channel", "method": "awq", "bits": 4, "per": "channel",
                  "awq_alpha": a, "awq_curve": curve, **metrics(X, W, Xd, Q, Q)})

    doc = {
        "about": "scripts/golden/make_layer.py (numpy " + np.__version__ + ")",
        "out": out_f, "in": in_f, "tokens": tokens,
        "w": [float(v) for v in W.ravel()],
        "x": [float(v) for v in X.ravel()],
        "cases": cases,
    }
    path = pathlib.Path(__file__).resolve().parents[2] / "crates/quant/tests/golden/layer.json"
    path.write_text(json.dumps(doc, indent=None) + "\n")
    print(f"wrote {path} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
