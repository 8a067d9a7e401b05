#!/usr/bin/env python3
"""PyTorch on the networks `allconv bench` times (tools/bench_peers.sh runs it).

Prints one JSON object: forward ms/image of All-CNN-C on 3x32x32 at batch 1
and 16 on one thread, backward to the input, a training step, and training
images/s of the shipped model's architecture (width 1/3, 1x28x28, batch 64)
on 1 and 2 threads. The networks come from `allconv describe`'s spec text.
    /usr/bin/python3 tools/peers/pytorch_bench.py build/allconv
"""
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "backends", "pytorch"))
from golden import parse_spec, run_network  # noqa: E402  (the same spec reader the golden backend uses)

allconv = sys.argv[1] if len(sys.argv) > 1 else "build/allconv"


def network(*args):
    spec = subprocess.run([allconv, "describe", *args], capture_output=True, text=True, check=True).stdout
    text = spec.split("spec:\n", 1)[1]
    layers = parse_spec(text)
    c = int(text.split()[1].split("x")[0])
    params = {}
    for l in layers:
        if l["kind"] == "conv":
            w = torch.randn(l["out"], c, l["k"], l["k"]) * (2.0 / (c * l["k"] ** 2)) ** 0.5
            params[l["name"] + ".weight"], params[l["name"] + ".bias"] = w.requires_grad_(), torch.zeros(l["out"], requires_grad=True)
            c = l["out"]
    return layers, params


def median_ms(f, reps=7):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2] * 1e3


def main():
    torch.manual_seed(1)
    out = {"pytorch": torch.__version__}
    layers, params = network("all-cnn-c")
    torch.set_num_threads(1)
    for batch in (1, 16):
        x = torch.rand(batch, 3, 32, 32)
        with torch.no_grad():
            out[f"forward_b{batch}_ms_per_image"] = median_ms(lambda: run_network(layers, params, x)) / batch
    x = torch.rand(16, 3, 32, 32, requires_grad=True)
    fixed = {k: v.detach() for k, v in params.items()}

    def backward():
        x.grad = None
        run_network(layers, fixed, x).sum().backward()
    out["backward_to_input_b16_ms_per_image"] = median_ms(backward) / 16

    def step():
        for p in params.values():
            p.grad = None
        F.cross_entropy(run_network(layers, params, x.detach()).flatten(1), torch.full((16,), 3)).backward()
    out["training_step_b16_ms_per_image"] = median_ms(step) / 16
    layers, params = network("all-cnn-c", "--width", "0.3333", "--input", "1x28x28")
    opt = torch.optim.SGD(params.values(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    x, labels = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))

    def train():
        opt.zero_grad()
        F.cross_entropy(run_network(layers, params, x).flatten(1), labels).backward()
        opt.step()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        out[f"training_images_per_second_{threads}_threads"] = 64 / (median_ms(train) / 1e3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
