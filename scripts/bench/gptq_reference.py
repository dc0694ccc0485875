#!/usr/bin/env python3
"""GPTQ on the shipped MiniLM layer by the numpy port of IST-DASLab/gptq's fasterquant
(scripts/golden/make_layer.py) against `quantscope layer --method gptq`, same inputs and quantizer
(int4 signed symmetric, per output channel, min-max): prints both output errors and their ratio
(issue 14 asks for the core within 1.02× of the reference) and both times.

Run: cargo build --release -p quantscope-cli && python3 scripts/bench/gptq_reference.py
"""
import json
import pathlib
import subprocess
import sys
import time

import numpy as np

root = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(root / "scripts/golden"))
from make_layer import gptq  # noqa: E402

W = np.load(root / "assets/samples/minilm-l0-ffn-output.npy")
X = np.load(root / "assets/samples/minilm-l0-ffn-input.npy")
t = time.perf_counter()
Q, damp, loss = gptq(W, X, 4)
ref_s = time.perf_counter() - t
Y = X.astype(np.float64) @ W.astype(np.float64).T
ref = float(np.mean((Y - X.astype(np.float64) @ Q.T) ** 2))

cli = root / "target/release/quantscope"
t = time.perf_counter()
out = subprocess.run([cli, "layer", root / "assets/samples/minilm-l0-ffn-output.npy", "--activations",
                      root / "assets/samples/minilm-l0-ffn-input.npy", "--bits", "4", "--symmetric",
                      "--granularity", "channel", "--method", "gptq", "--json"],
                     check=True, capture_output=True, text=True).stdout
cli_s = time.perf_counter() - t
ours = json.loads(out)["output_mse"]
print(f"reference (numpy port) output MSE {ref:.6e}  in {ref_s:.2f} s")
print(f"quantscope layer       output MSE {ours:.6e}  in {cli_s:.2f} s (process, file reads included)")
print(f"ratio {ours / ref:.6f}")
