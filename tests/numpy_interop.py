#!/usr/bin/env python3
"""NumPy opens every kind of file allconv writes, and agrees with the golden suite.

Run by .ci/run with Debian's python3-numpy (not a dependency of the build or of `make test`):
    python3 tests/numpy_interop.py build/allconv
"""
import json
import subprocess
import sys
import tempfile

import numpy as np

allconv = sys.argv[1] if len(sys.argv) > 1 else "build/allconv"
checked = 0

# 1. A model file: the arch text and every parameter.
with tempfile.TemporaryDirectory() as tmp:
    model = np.load("data/models/fashion-all-cnn-c.npz")
    assert bytes(model["arch"]).decode().startswith("input 1x28x28"), "arch entry"
    assert model["conv1.weight"].dtype == np.float32 and model["conv1.weight"].ndim == 4
    checked += 1
    # 2. visualize --raw writes an .npy numpy reads.
    subprocess.run([allconv, "visualize", "--model", "data/models/fashion-all-cnn-c.npz", "data/samples/t10k-0-ankle-boot.pgm",
                    "--out", f"{tmp}/v.png", "--raw", f"{tmp}/raw.npy"], check=True, capture_output=True)
    raw = np.load(f"{tmp}/raw.npy")
    assert raw.shape == (1, 3, 1, 28, 28), raw.shape
    checked += 1

# 3. Every golden file, and the conv cases recomputed by numpy itself.
suite = "data/golden"
manifest = json.load(open(f"{suite}/manifest.json"))
for case in manifest["cases"]:
    arrays = {k: np.load(f"{suite}/{f}") for group in ("inputs", "outputs") for k, f in case[group].items()}
    checked += 1
    if case["op"] != "conv":
        continue
    p = case["params"]
    k, s, pad = p["kernel"], p["stride"], p["padding"]
    x, w, b = (arrays[n].astype(np.float64) for n in ("x", "w", "b"))
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = arrays["y"].shape[2:]
    y = np.empty(arrays["y"].shape)
    for oy in range(oh):
        for ox in range(ow):
            y[:, :, oy, ox] = np.einsum("nckl,ockl->no", xp[:, :, oy * s:oy * s + k, ox * s:ox * s + k], w) + b
    tol = case["tolerance"]["float64"]["y"]
    assert np.allclose(y, arrays["y"], rtol=tol["rtol"], atol=tol["atol"]), case["name"]

print(f"numpy-interop: {checked} passed, 0 failed")
