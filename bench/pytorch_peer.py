#!/usr/bin/env python3
"""PyTorch eager peer of DqMlNet's SmallCnn training step (benchmark only, never part of the product).

Same architecture as src/Core/Models/SmallCnn.cs in FP mode: normalise, conv3x3(32)-ReLU-maxpool,
conv3x3(64)-ReLU-maxpool, fc(256)-ReLU-fc(10); Adam 1e-3; cross-entropy; random data. Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = (x - 0.5) / 0.5
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def median_ms(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=15)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = SmallCnn()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        loss.item()
        (logits.argmax(1) == y).sum().item()

    def fwdbwd():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()

    step_ms = median_ms(step, a.warmup, a.steps)
    fwdbwd_ms = median_ms(fwdbwd, a.warmup, a.steps)
    n = 2048
    m1, m2 = torch.rand(n, n), torch.rand(n, n)
    mm_ms = median_ms(lambda: torch.mm(m1, m2), 2, 6)
    cfg = torch.__config__.show()
    blas = "unknown"
    for key in ("BLAS_INFO=", "LAPACK_INFO="):
        if key in cfg:
            blas = cfg.split(key, 1)[1].split(",")[0].strip()
            break
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "step_ms": step_ms,
        "fwdbwd_ms": fwdbwd_ms,
        "step_images_per_s": a.batch / (step_ms / 1000),
        "mm_gflops": 2 * n ** 3 / (mm_ms / 1000) / 1e9,
    }))


if __name__ == "__main__":
    main()
