#!/usr/bin/python3
"""PyTorch peer for the memory of the product's training step (`vmat bench train-step
--memory-reference`): the reference BaselineUNet3D (the network of pytorch_infer.py, spec 3.1),
one AdamW step (lr 1e-3, weight decay 1e-4) on the MSE of a random batch, with gradient clipping
at norm 1.0, as lib/train/step.ts runs it. Prints one JSON line: ms per step, peak resident
memory (ru_maxrss), parameters. Run with Debian's /usr/bin/python3 (python3-torch).
Usage: python3 pytorch_train_baseline.py --patch 128 --batch 2 --base 48 --in-channels 9 --threads 2
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_infer import BaselineUNet3D  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--base", type=int, default=48)
    ap.add_argument("--in-channels", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = BaselineUNet3D(a.in_channels, a.base)
    params = sum(p.numel() for p in model.parameters())
    p = a.patch
    x = torch.randn(a.batch, a.in_channels, p, p, p)
    c = torch.rand(a.batch, 13)
    y = torch.rand(a.batch, 1, p, p, p)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    walls = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((model(x, c) - y) ** 2)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        walls.append((time.perf_counter() - t0) * 1000)
    out = {
        "peer": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "ms_per_step_median": sorted(walls)[len(walls) // 2],
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": params,
        "loss": float(loss),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
