#!/usr/bin/env python3
"""PyTorch (CPU) as a bench peer: the same cases as webgluon's, on the same weights and batch.

Started by bench/cases/_pytorch.ts as a child process:

    python3 bench/pytorch/bench.py --case siamese-train [--variant batched] --data DIR

DIR holds the harness's seeded weights and inputs as raw little-endian float32 files (conv1W.f32,
x1.f32, ...), in webgluon's layouts, which are PyTorch's too (conv OIHW, Linear (out, in) after
an NCHW flatten). The script prints one JSON line `{"ready": ...}`, then answers each line it
reads on stdin: `step` runs one step and prints `{"ms": <its own time>, "cpuMs": <its CPU time, all threads>, "value": ...}`, `check`
prints the values the systems compare, `quit` ends it. Threads = cores
(torch.set_num_threads(os.cpu_count())).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

SIAMESE = dict(batch=16, channels=1, size=105, conv1=64, conv2=64, kernel=5, hidden=256, out=2, margin=6.0, lr=0.001, feat=23)


def load(data_dir, name, shape):
    with open(os.path.join(data_dir, f"{name}.f32"), "rb") as f:
        raw = bytearray(f.read())
    return torch.frombuffer(raw, dtype=torch.float32).reshape(shape).clone()


class Tower(torch.nn.Module):
    """Conv 64@5 relu, max-pool 2, conv 64@5 relu, max-pool 2, dense 256 relu, dense 2 softrelu."""

    def __init__(self):
        super().__init__()
        s = SIAMESE
        self.conv1 = torch.nn.Conv2d(s["channels"], s["conv1"], s["kernel"])
        self.conv2 = torch.nn.Conv2d(s["conv1"], s["conv2"], s["kernel"])
        self.dense1 = torch.nn.Linear(s["conv2"] * s["feat"] * s["feat"], s["hidden"])
        self.dense2 = torch.nn.Linear(s["hidden"], s["out"])

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.dense1(torch.flatten(x, 1)))
        return F.softplus(self.dense2(x))

    def load_harness(self, data_dir):
        s = SIAMESE
        shapes = {
            "conv1W": (s["conv1"], s["channels"], s["kernel"], s["kernel"]), "conv1B": (s["conv1"],),
            "conv2W": (s["conv2"], s["conv1"], s["kernel"], s["kernel"]), "conv2B": (s["conv2"],),
            "dense1W": (s["hidden"], s["conv2"] * s["feat"] * s["feat"]), "dense1B": (s["hidden"],),
            "dense2W": (s["out"], s["hidden"]), "dense2B": (s["out"],),
        }
        with torch.no_grad():
            for layer in ("conv1", "conv2", "dense1", "dense2"):
                m = getattr(self, layer)
                m.weight.copy_(load(data_dir, f"{layer}W", shapes[f"{layer}W"]))
                m.bias.copy_(load(data_dir, f"{layer}B", shapes[f"{layer}B"]))


def contrastive(o1, o2, label, margin=SIAMESE["margin"]):
    """The tutorial's ContrastiveLoss, per row (N, 1)."""
    d2 = torch.sum(torch.square(o1 - o2), 1, keepdim=True)
    d = torch.sqrt(d2 + 1e-4)
    c = torch.clamp(margin - d, 0, margin)
    return 0.5 * ((1 - label) * d2 + label * torch.square(c))


def siamese_train(data_dir, batched):
    s = SIAMESE
    net = Tower()
    net.load_harness(data_dir)
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"], betas=(0.9, 0.999), eps=1e-8)
    shape = (s["batch"], s["channels"], s["size"], s["size"])
    h1, h2, hy = load(data_dir, "x1", shape), load(data_dir, "x2", shape), load(data_dir, "label", (s["batch"], 1))

    def step():
        # Uploading the batch is part of every system's step: here a copy into new tensors.
        x1, x2, y = h1.clone(), h2.clone(), hy.clone()
        opt.zero_grad(set_to_none=True)
        if batched:
            both = net(torch.cat([x1, x2], 0))
            o1, o2 = both[: s["batch"]], both[s["batch"]:]
        else:
            o1, o2 = net(x1), net(x2)
        loss = contrastive(o1, o2, y)
        # webgluon: loss.backward(); trainer.step(16) rescales by 1/16, i.e. the mean's gradient.
        mean = loss.mean()
        mean.backward()
        opt.step()
        return float(mean.item())

    return step, lambda: {}


def siamese_forward(data_dir):
    s = SIAMESE
    net = Tower()
    net.load_harness(data_dir)
    net.eval()
    shape = (s["batch"], s["channels"], s["size"], s["size"])
    h1, h2 = load(data_dir, "x1", shape), load(data_dir, "x2", shape)
    last = {"d": None}

    def step():
        with torch.no_grad():
            x1, x2 = h1.clone(), h2.clone()
            d = torch.sqrt(torch.sum(torch.square(net(x1) - net(x2)), 1))
            last["d"] = d
            return float(d[0].item())

    return step, lambda: {"distances": [float(f"{v:.6g}") for v in last["d"].tolist()]}


def contrastive_loss(data_dir, n, d):
    a = load(data_dir, "a", (n, d)).requires_grad_(True)
    b = load(data_dir, "b", (n, d)).requires_grad_(True)
    y = load(data_dir, "label", (n, 1))
    last = {"l": None}

    def step():
        # MXNet's grad_req 'write': each backward overwrites the gradients.
        a.grad = None
        b.grad = None
        loss = contrastive(a, b, y)
        loss.backward(torch.ones_like(loss))
        last["l"] = loss.detach()
        return None

    def check():
        return {
            "lossSum": float(last["l"].sum().item()),
            "gradAbsSumA": float(a.grad.abs().sum().item()),
            "gradAbsSumB": float(b.grad.abs().sum().item()),
        }

    return step, check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", required=True)
    p.add_argument("--variant", default="")
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--d", type=int, default=0)
    args = p.parse_args()
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    if args.case == "siamese-train":
        step, check = siamese_train(args.data, args.variant == "batched")
    elif args.case == "siamese-forward":
        step, check = siamese_forward(args.data)
    elif args.case == "contrastive-loss":
        step, check = contrastive_loss(args.data, args.n, args.d)
    else:
        raise SystemExit(f"unknown case {args.case}")
    mkldnn = torch.backends.mkldnn.is_available()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "mkldnn": mkldnn}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "step":
            t0, c0 = time.perf_counter(), time.process_time()
            v = step()
            ms = (time.perf_counter() - t0) * 1000
            cpu = (time.process_time() - c0) * 1000
            print(json.dumps({"ms": ms, "cpuMs": cpu, "value": v}), flush=True)
        elif cmd == "check":
            print(json.dumps({"check": check()}), flush=True)
        elif cmd == "quit":
            break


if __name__ == "__main__":
    main()
