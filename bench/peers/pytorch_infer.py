"""PyTorch peer for `vmat bench infer`: sliding-window prediction of one case with the reference
BaselineUNet3D (spec 3.1: ConvBlock3D = conv-GN-SiLU, FiLM from the constraint embedding, conv-GN-SiLU,
+ residual (1x1x1 conv when the width changes); MaxPool3d(2) down, trilinear x2 (align_corners=False)
up, concat [up, skip]; widths b, 2b, 4b, 8b, 8b bottleneck; GroupNorm groups = largest divisor <= 8;
1x1x1 output conv) and the sliding window of spec 6.2 (patch P, overlap O, starts range(0, L-P+1,
P-O) plus L-P, Gaussian blending sigma = P/4, out = sum(pred*g) / sum(g), clamp [0, 1.5]), eval mode,
fp32, no_grad, one patch per forward. Written for this benchmark from the spec (the reference
system's own code is not available here); same network and windows as the product, random
weights of the same shapes (seeded).

Prints one JSON line: seconds per case, seconds per patch, peak resident memory (ru_maxrss), params.
Usage: python3 pytorch_infer.py --shape 300,300,160 --in-channels 9 --base 48 --patch 128 --overlap 64 --threads 2
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def groups_for(c):
    return max(g for g in range(1, 9) if c % g == 0)


class ConvBlock3D(nn.Module):
    def __init__(self, cin, cout, cond_dim=256):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, padding=1)
        self.norm1 = nn.GroupNorm(groups_for(cout), cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups_for(cout), cout)
        self.cond_mlp = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 2 * cout))
        self.residual = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, cond):
        h = F.silu(self.norm1(self.conv1(x)))
        scale, shift = self.cond_mlp(cond).chunk(2, dim=1)
        h = h * (1 + scale[:, :, None, None, None]) + shift[:, :, None, None, None]
        h = F.silu(self.norm2(self.conv2(h)))
        return h + self.residual(x)


class BaselineUNet3D(nn.Module):
    def __init__(self, in_channels=9, base=48, constraint_dim=13, cond_dim=256):
        super().__init__()
        ch = [base, 2 * base, 4 * base, 8 * base]
        self.constraint_mlp = nn.Sequential(nn.Linear(constraint_dim, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))
        self.enc1 = ConvBlock3D(in_channels, ch[0])
        self.enc2 = ConvBlock3D(ch[0], ch[1])
        self.enc3 = ConvBlock3D(ch[1], ch[2])
        self.enc4 = ConvBlock3D(ch[2], ch[3])
        self.bottleneck = ConvBlock3D(ch[3], ch[3])
        self.dec4 = ConvBlock3D(2 * ch[3], ch[2])
        self.dec3 = ConvBlock3D(2 * ch[2], ch[1])
        self.dec2 = ConvBlock3D(2 * ch[1], ch[0])
        self.dec1 = ConvBlock3D(2 * ch[0], ch[0])
        self.out_conv = nn.Conv3d(ch[0], 1, 1)
        self.pool = nn.MaxPool3d(2)
        self.up = nn.Upsample(scale_factor=2, mode='trilinear', align_corners=False)

    def forward(self, x, constraints):
        cond = self.constraint_mlp(constraints)
        e1 = self.enc1(x, cond)
        e2 = self.enc2(self.pool(e1), cond)
        e3 = self.enc3(self.pool(e2), cond)
        e4 = self.enc4(self.pool(e3), cond)
        b = self.bottleneck(self.pool(e4), cond)
        d4 = self.dec4(torch.cat([self.up(b), e4], 1), cond)
        d3 = self.dec3(torch.cat([self.up(d4), e3], 1), cond)
        d2 = self.dec2(torch.cat([self.up(d3), e2], 1), cond)
        d1 = self.dec1(torch.cat([self.up(d2), e1], 1), cond)
        return self.out_conv(d1)


def window_starts(length, patch, overlap):
    if length <= patch:
        return [0]
    stride = patch - overlap
    s = list(range(0, length - patch + 1, stride))
    if s[-1] != length - patch:
        s.append(length - patch)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--shape', default='300,300,160')
    ap.add_argument('--in-channels', type=int, default=9)
    ap.add_argument('--base', type=int, default=48)
    ap.add_argument('--patch', type=int, default=128)
    ap.add_argument('--overlap', type=int, default=64)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--max-windows', type=int, default=0, help='time only the first N windows (0 = all)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    Y, X, Z = (int(v) for v in a.shape.split(','))
    P = a.patch
    model = BaselineUNet3D(a.in_channels, a.base).eval()
    params = sum(p.numel() for p in model.parameters())
    g = torch.randn(a.in_channels, Y, X, Z, generator=torch.Generator().manual_seed(1))
    constraints = torch.rand(1, 13, generator=torch.Generator().manual_seed(2))
    sigma = P / 4
    c = (P - 1) / 2
    g1 = torch.tensor([math.exp(-((i - c) ** 2) / (2 * sigma * sigma)) for i in range(P)], dtype=torch.float64)
    w3 = (g1[:, None, None] * g1[None, :, None] * g1[None, None, :]).float()
    # the product pads axes shorter than the patch; this benchmark's shapes are >= the patch
    assert min(Y, X, Z) >= P, 'shape must be >= patch on every axis'
    starts = [window_starts(n, P, a.overlap) for n in (Y, X, Z)]
    windows = [(i, j, k) for i in starts[0] for j in starts[1] for k in starts[2]]
    if a.max_windows:
        windows = windows[: a.max_windows]
    acc = torch.zeros(Y, X, Z, dtype=torch.float32)
    wsum = torch.zeros(Y, X, Z, dtype=torch.float32)
    t0 = time.perf_counter()
    per = []
    with torch.no_grad():
        for (i, j, k) in windows:
            t1 = time.perf_counter()
            x = g[None, :, i:i + P, j:j + P, k:k + P].contiguous()
            y = model(x, constraints)[0, 0]
            acc[i:i + P, j:j + P, k:k + P] += y * w3
            wsum[i:i + P, j:j + P, k:k + P] += w3
            per.append(time.perf_counter() - t1)
            print(f'bench infer (PyTorch): {len(per)}/{len(windows)} windows, {per[-1]:.1f} s/window', file=sys.stderr, flush=True)
        out = (acc / (wsum + 1e-8)).clamp_(0, 1.5)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'params': params,
        'windows': len(windows),
        'seconds': seconds,
        'seconds_per_window_median': sorted(per)[len(per) // 2],
        'rss_peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'checksum': float(out.double().sum()),
    }))


if __name__ == '__main__':
    main()
