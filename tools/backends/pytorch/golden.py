#!/usr/bin/env python3
"""A backend nobody here wrote, checked by the golden suite: PyTorch.

Computes every case of an allconv golden suite with PyTorch's own operators and
its own autograd (the three visualization rules as custom autograd functions at
the ReLU), writes the outputs as .npy files under OUT, and leaves the judging
to allconv:

    /usr/bin/python3 tools/backends/pytorch/golden.py data/golden /tmp/torch-out
    build/allconv golden check data/golden --backend-outputs /tmp/torch-out --precision float64

(`--dtype float32` computes in single precision; check it with --precision float32.)
Needs Debian's python3-torch and python3-numpy. A backend author can copy this
file: each case is a few lines of the framework's own calls.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


# ---- the three rules: what a ReLU sends down (README, "Conventions") --------

class GuidedRelu(torch.autograd.Function):
    """Forward as ReLU; backward R * [f > 0] * [R > 0]."""
    @staticmethod
    def forward(ctx, f):
        ctx.save_for_backward(f)
        return f.clamp(min=0)

    @staticmethod
    def backward(ctx, r):
        (f,) = ctx.saved_tensors
        return r * (f > 0) * (r > 0)


class DeconvRelu(torch.autograd.Function):
    """Forward as ReLU; backward R * [R > 0], ignoring the forward pass."""
    @staticmethod
    def forward(ctx, f):
        return f.clamp(min=0)

    @staticmethod
    def backward(ctx, r):
        return r * (r > 0)


def relu(rule):
    """Backprop is PyTorch's own ReLU: its gradient at f == 0 is 0, as ours."""
    return {"backprop": torch.relu, "deconvnet": DeconvRelu.apply, "guided": GuidedRelu.apply}[rule]


# ---- the single-layer cases ----------------------------------------------------

def conv(p, a):
    x, w, b = (a[k].requires_grad_() for k in ("x", "w", "b"))
    y = F.conv2d(x, w, b, stride=p["stride"], padding=p["padding"])
    y.backward(a["dy"])
    return {"y": y, "dx": x.grad, "dw": w.grad, "db": b.grad}


def maxpool(p, a):
    x = a["x"].requires_grad_()
    y, idx = F.max_pool2d(x, p["kernel"], p["stride"], p["padding"], return_indices=True)
    y.backward(a["dy"])
    return {"y": y, "switches": idx, "dx": x.grad}  # PyTorch's indices: iy * W + ix in the plane, as ours


def relu_backward(p, a):
    f = a["f"].requires_grad_()
    y = relu(p["rule"])(f)
    y.backward(a["r"])
    return {"y": y, "out": f.grad}


def gap(p, a):
    x = a["x"].requires_grad_()
    y = x.mean(dim=(2, 3))
    y.backward(a["dy"])
    return {"y": y, "dx": x.grad}


def softmax_cross_entropy(p, a):
    z = a["logits"].requires_grad_()
    loss = F.cross_entropy(z, a["labels"])  # the mean over the batch
    loss.backward()
    return {"probs": F.softmax(z, dim=1), "loss": loss.reshape(1), "dlogits": z.grad}


def softmax(p, a):
    z = a["logits"].requires_grad_()
    probs = F.softmax(z, dim=1)
    probs.backward(a["dprobs"])
    return {"probs": probs, "dlogits": z.grad}


def dropout(p, a):
    x = a["x"].requires_grad_()
    mask = (a["u"] >= p["p"]).to(x.dtype) / (1 - p["p"])  # inverted dropout, the case's uniform numbers
    y = x * mask
    y.backward(a["dy"])
    return {"y": y, "dx": x.grad}


# ---- whole networks -------------------------------------------------------------

def parse_spec(text):
    """The spec grammar of the README: one layer a line, named conv1, relu1, pool1, gap, softmax."""
    layers, counts = [], {}
    for line in text.replace(";", "\n").splitlines():
        words = line.split("#")[0].split()
        if not words or words[0] == "input":
            continue
        kind = words[0]
        opts = {w[0]: int(w[1:]) for w in words[1:] if w[0] in "ksp"}
        counts[kind] = counts.get(kind, 0) + 1
        name = {"conv": "conv", "relu": "relu", "maxpool": "pool", "dropout": "dropout"}.get(kind, kind)
        if kind in ("conv", "relu", "maxpool", "dropout"):
            name += str(counts[kind])
        out = int(words[1]) if kind == "conv" else None
        layers.append(dict(kind=kind, name=name, out=out, k=opts.get("k", 1),
                           s=opts.get("s", 1 if kind == "conv" else opts.get("k", 1)), p=opts.get("p", 0)))
    return layers


def run_network(layers, params, x, rule="backprop", until=None):
    """Forward through the layers (up to and including `until`); the logits are gap's output."""
    for l in layers:
        if l["kind"] == "conv":
            x = F.conv2d(x, params[l["name"] + ".weight"], params[l["name"] + ".bias"], stride=l["s"], padding=l["p"])
        elif l["kind"] == "relu":
            x = relu(rule)(x)
        elif l["kind"] == "maxpool":
            x = F.max_pool2d(x, l["k"], l["s"], l["p"])
        elif l["kind"] == "gap":
            x = x.mean(dim=(2, 3), keepdim=True)
        elif l["kind"] == "softmax":
            continue  # the logits are what goes into softmax
        if l["name"] == until:
            return x
    return x


def seed_of(target, out):
    """A one-hot seed at the target: class:K, unit:LAYER:C:Y:X, channel:LAYER:C (its strongest activation)."""
    parts = target.split(":")
    seed = torch.zeros_like(out)
    if parts[0] == "class":
        seed.view(-1)[int(parts[1])] = 1
    elif parts[0] == "unit":
        seed[0, int(parts[2]), int(parts[3]), int(parts[4])] = 1
    else:
        c = int(parts[2])
        seed[0, c].view(-1)[int(torch.argmax(out[0, c].reshape(-1)))] = 1  # argmax: the first of equal values
    return seed


def network(p, a):
    layers = parse_spec(p["spec"])
    params = {k: v.requires_grad_() for k, v in a.items() if k.startswith("conv")}
    logits = run_network(layers, params, a["x"]).flatten(1)
    loss = F.cross_entropy(logits, a["labels"])
    loss.backward()
    out = {"logits": logits, "loss": loss.reshape(1)}
    out.update({"grad." + k: v.grad for k, v in params.items()})
    image = a["x"][p["signal_image"]:p["signal_image"] + 1]
    for target in p["targets"]:
        kind = target.split(":")[0]
        until = None if kind == "class" else target.split(":")[1]
        for rule in ("backprop", "deconvnet", "guided"):
            x = image.clone().requires_grad_()
            y = run_network(layers, {k: v.detach() for k, v in params.items()}, x, rule, until)
            (y * seed_of(target, y.detach())).sum().backward()
            out[f"signal.{rule}.{kind}"] = x.grad
    return out


OPS = {"conv": conv, "maxpool": maxpool, "relu_backward": relu_backward, "gap": gap,
       "softmax_cross_entropy": softmax_cross_entropy, "softmax": softmax, "dropout": dropout, "network": network}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    dtype = torch.float32 if "--dtype=float32" in sys.argv or "float32" in sys.argv[1:] else torch.float64
    if len(args) < 2:
        sys.exit(__doc__)
    suite, out = args[0], args[1]
    manifest = json.load(open(os.path.join(suite, "manifest.json")))
    for case in manifest["cases"]:
        a = {}
        for k, f in case["inputs"].items():
            v = np.load(os.path.join(suite, f))
            a[k] = torch.from_numpy(v) if v.dtype.kind == "i" else torch.from_numpy(v).to(dtype)
        results = OPS[case["op"]](case["params"], a)
        for k, f in case["outputs"].items():
            os.makedirs(os.path.dirname(os.path.join(out, f)), exist_ok=True)
            v = results[k].detach()
            np.save(os.path.join(out, f), v.numpy() if v.dtype == torch.int64 else v.to(torch.float64).numpy())
    print(f"pytorch {torch.__version__} ({'float32' if dtype == torch.float32 else 'float64'}): "
          f"{len(manifest['cases'])} cases written to {out}")


if __name__ == "__main__":
    main()
