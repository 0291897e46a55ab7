#!/usr/bin/python3
"""PyTorch peer for `vmat bench train-step`: the identical 3-D U-Net, one Adam step timed.

Architecture (must match bench/train_step.ts): levels L, widths base*2^i; level 0 = two 3x3x3
convs; level i>0 = 3x3x3 stride-2 conv then 3x3x3 conv; each conv bias-free + GroupNorm + act;
decoder = ConvTranspose3d(k2, s2, bias-free) + GN + act, concat skip, two 3x3x3 convs; 1x1x1 conv
with bias to 1 channel; MSE loss; Adam(lr 1e-3). Prints one JSON line on stdout.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn


def groups_for(c):
    return min(8, c)


class ConvGNAct(nn.Module):
    def __init__(self, cin, cout, stride, act):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.gn = nn.GroupNorm(groups_for(cout), cout, eps=1e-5)
        self.act = nn.SiLU() if act == "silu" else nn.ReLU()

    def forward(self, x):
        return self.act(self.gn(self.conv(x)))


class UpGNAct(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.up = nn.ConvTranspose3d(cin, cout, 2, stride=2, bias=False)
        self.gn = nn.GroupNorm(groups_for(cout), cout, eps=1e-5)
        self.act = nn.SiLU() if act == "silu" else nn.ReLU()

    def forward(self, x):
        return self.act(self.gn(self.up(x)))


class UNet3D(nn.Module):
    def __init__(self, cin, base, levels, act):
        super().__init__()
        ch = [base * 2**i for i in range(levels)]
        self.enc = nn.ModuleList()
        for i, c in enumerate(ch):
            first = ConvGNAct(cin if i == 0 else ch[i - 1], c, 1 if i == 0 else 2, act)
            self.enc.append(nn.Sequential(first, ConvGNAct(c, c, 1, act)))
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(levels - 2, -1, -1):
            self.up.append(UpGNAct(ch[i + 1], ch[i], act))
            self.dec.append(nn.Sequential(ConvGNAct(2 * ch[i], ch[i], 1, act), ConvGNAct(ch[i], ch[i], 1, act)))
        self.out = nn.Conv3d(ch[0], 1, 1, bias=True)

    def forward(self, x):
        skips = []
        for blk in self.enc:
            x = blk(x)
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return self.out(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--in-channels", type=int, default=9)
    ap.add_argument("--base-channels", type=int, default=16)
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--act", default="relu")
    ap.add_argument("--forward-only", action="store_true")
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet3D(a.in_channels, a.base_channels, a.levels, a.act)
    params = sum(p.numel() for p in model.parameters())
    p = a.patch
    x = torch.randn(a.batch, a.in_channels, p, p, p)
    y = torch.randn(a.batch, 1, p, p, p)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        if a.forward_only:
            with torch.no_grad():
                model(x)
            return
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        opt.step()

    if a.forward_only:
        model.eval()
    for _ in range(a.warmup):
        step()
    walls, cpus = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    out = {
        "peer": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "ms_per_step_median": statistics.median(walls),
        "ms_per_step_all": walls,
        "cpu_ms_per_step": statistics.mean(cpus),
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": params,
        "voxels_per_s": a.batch * p**3 / (statistics.median(walls) / 1000),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
