/**
 * `vmat bench infer`: full-size sliding-window prediction of one case with the reference model
 * (BaselineUNet3D, base 48, 9 input channels, 23.7M parameters; patch 128, overlap 64, Gaussian
 * blending — spec 6.2) through the product's own path (lib/infer/sliding_window.ts predictVolume on
 * the engine), against PyTorch running the same network and windows (bench/peers/pytorch_infer.py,
 * Debian python3-torch, same shapes, random weights) in the same run, same thread count.
 * Prints seconds per case and the peak resident memory of both (vmat runs in a child process so its
 * peak is its own). Alternating rounds (`--rounds`) so both see the same machine load; best of rounds.
 * `--max-windows N` times the first N windows only (for quick runs; seconds per case are then
 * extrapolated per window and say so).
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../lib/core/errors';
import { printJson } from '../lib/cli/json';
import { PROJECT_ROOT } from '../lib/core/project';

// the project root in the sources and in the compiled CLI build alike
const REPO = PROJECT_ROOT;
const PEER = path.join(REPO, 'bench', 'peers', 'pytorch_infer.py');
const PEER_PYTHON = process.env.VMAT_TORCH_PYTHON ?? '/usr/bin/python3';

interface InferOpts {
  shape: string;
  inChannels: string;
  base: string;
  patch: string;
  overlap: string;
  threads?: string;
  rounds: string;
  maxWindows: string;
  peer: boolean;
  json?: boolean;
  worker?: boolean;
}

interface SideResult {
  seconds: number;
  windows: number;
  total_windows: number;
  seconds_per_window_median: number;
  rss_peak_mb: number;
  params: number;
  threads: number;
  [k: string]: unknown;
}

/** the vmat side, run in a child process (`--worker`) so its peak RSS is its own */
async function runWorker(o: InferOpts): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require('../lib/engine') as typeof import('../lib/engine');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const models = require('../lib/models') as typeof import('../lib/models');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sw = require('../lib/infer/sliding_window') as typeof import('../lib/infer/sliding_window');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vn = require('../lib/infer/volume_net') as typeof import('../lib/infer/volume_net');
  const threads = o.threads ? Number(o.threads) : undefined;
  const info = await engine.initEngine({ threads, quiet: true });
  const [Y, X, Z] = o.shape.split(',').map(Number) as [number, number, number];
  const nc = Number(o.inChannels);
  const P = Number(o.patch);
  const model = models.createModel({ baseChannels: Number(o.base), inChannels: nc, levels: 5 }, { seed: 0 });
  // inputs: seeded pseudo-random channels (a fast LCG; values do not change the timing)
  let s = 12345;
  const channels = Array.from({ length: nc }, () => {
    const a = new Float32Array(Y * X * Z);
    for (let i = 0; i < a.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = s / 4294967296 - 0.5;
    }
    return a;
  });
  const constraints = Float32Array.from({ length: 13 }, (_, i) => (i + 1) / 13);
  const starts = [Y, X, Z].map((d) => sw.windowStarts(Math.max(d, P), P, Number(o.overlap)));
  const totalWindows = starts[0].length * starts[1].length * starts[2].length;
  const maxW = Number(o.maxWindows) || totalWindows;
  const perWindow: number[] = [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createProgress } = require('../lib/core/progress') as typeof import('../lib/core/progress');
  const progress = createProgress({ label: 'bench infer (vmat)', total: maxW, quiet: !!o.json });
  let last = performance.now();
  const t0 = performance.now();
  // the product path; stopping after maxW windows (quick runs) ends the prediction early
  const stop = new Error('max-windows reached');
  try {
    sw.predictVolume(
      vn.networkNet(model),
      {
        id: 'bench',
        shape: [Y, X, Z],
        spacingMm: [1, 1, 1],
        rxGy: 70,
        channels,
        dose: null,
        present: Array.from({ length: nc - 1 }, () => true),
        constraints,
        padValues: Array.from({ length: nc }, () => 0),
        source: {} as never,
      },
      {
        patchSize: P,
        overlap: Number(o.overlap),
        onProgress: (done) => {
          const now = performance.now();
          perWindow.push((now - last) / 1000);
          last = now;
          progress.tick(1, `${perWindow[perWindow.length - 1].toFixed(1)} s/window`);
          if (done >= maxW && maxW < totalWindows) throw stop;
        },
      },
    );
  } catch (e) {
    if (e !== stop) throw e;
  }
  progress.stop();
  const seconds = (performance.now() - t0) / 1000;
  const sorted = [...perWindow].sort((a, b) => a - b);
  const out: SideResult = {
    seconds,
    windows: perWindow.length,
    total_windows: totalWindows,
    seconds_per_window_median: sorted[Math.floor(sorted.length / 2)],
    rss_peak_mb: process.resourceUsage().maxRSS / 1024,
    params: model.numParameters(),
    threads: info.threads,
    ops_path: info.opsPath,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runVmat(o: InferOpts): SideResult {
  const args = [
    path.join(REPO, 'bin', 'vmat.js'),
    'bench',
    'infer',
    '--worker',
    '--shape',
    o.shape,
    '--in-channels',
    o.inChannels,
    '--base',
    o.base,
    '--patch',
    o.patch,
    '--overlap',
    o.overlap,
    '--max-windows',
    o.maxWindows,
    ...(o.threads ? ['--threads', o.threads] : []),
    ...(o.json ? ['--json'] : []),
  ];
  // the child's progress lines (stderr) go straight to ours
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`vmat side failed (exit ${r.status}; its messages are above)`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as SideResult;
}

function runPeer(o: InferOpts, threads: number): SideResult | { error: string } {
  if (!fs.existsSync(PEER_PYTHON)) return { error: `${PEER_PYTHON} missing` };
  const probe = spawnSync(PEER_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { error: 'python3-torch not installed (apt-get install python3-torch)' };
  const r = spawnSync(
    PEER_PYTHON,
    [
      PEER,
      '--shape',
      o.shape,
      '--in-channels',
      o.inChannels,
      '--base',
      o.base,
      '--patch',
      o.patch,
      '--overlap',
      o.overlap,
      '--threads',
      String(threads),
      '--max-windows',
      o.maxWindows,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', o.json ? 'pipe' : 'inherit'] },
  );
  if (r.status !== 0) return { error: `peer failed (exit ${r.status})${r.stderr ? ': ' + r.stderr.slice(-1000) : ''}` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop() as string) as SideResult & { windows: number };
  const [Y, X, Z] = o.shape.split(',').map(Number);
  const P = Number(o.patch);
  const st = (L: number) => (L <= P ? 1 : Math.ceil((L - P) / (P - Number(o.overlap))) + 1);
  return { ...j, total_windows: st(Y) * st(X) * st(Z) };
}

export function registerBench(group: Command): void {
  group
    .command('infer')
    .description(
      'full-size sliding-window prediction (BaselineUNet3D base 48, patch 128, overlap 64) vs PyTorch: seconds per case and peak memory',
    )
    .option('--shape <y,x,z>', 'case shape (voxels)', '300,300,160')
    .option('--in-channels <n>', 'input channels (CT + structures)', '9')
    .option('--base <n>', 'base channels', '48')
    .option('--patch <n>', 'patch edge', '128')
    .option('--overlap <n>', 'window overlap', '64')
    .option('--threads <n>', 'threads for both (default: the engine default, all cores)')
    .option('--rounds <n>', 'alternating vmat/PyTorch rounds', '1')
    .option('--max-windows <n>', 'time only the first N windows (0 = the whole case)', '0')
    .option('--no-peer', 'skip PyTorch')
    .option('--json', 'print one JSON object')
    .option('--worker', 'internal: run the vmat side and print its JSON')
    .action(async (o: InferOpts) => {
      for (const k of ['inChannels', 'base', 'patch', 'overlap', 'rounds', 'maxWindows'] as const)
        if (!/^\d+$/.test(o[k]))
          throw new UsageError(
            `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: expected an integer, found '${o[k]}'`,
          );
      if (!/^\d+,\d+,\d+$/.test(o.shape)) throw new UsageError(`--shape: expected y,x,z, found '${o.shape}'`);
      if (o.worker) return runWorker(o);
      const log = (s: string) => {
        if (!o.json) console.log(s);
      };
      const rounds: Array<{ vmat: SideResult; pytorch: SideResult | { error: string } | null }> = [];
      for (let r = 0; r < Number(o.rounds); r++) {
        const vmat = runVmat(o);
        log(
          `round ${r + 1}: vmat ${vmat.seconds.toFixed(1)} s for ${vmat.windows}/${vmat.total_windows} windows (${vmat.seconds_per_window_median.toFixed(2)} s/window), peak RSS ${vmat.rss_peak_mb.toFixed(0)} MB`,
        );
        const pytorch = o.peer ? runPeer(o, vmat.threads) : null;
        if (pytorch && !('error' in pytorch))
          log(
            `         PyTorch ${pytorch.seconds.toFixed(1)} s for ${pytorch.windows} windows (${pytorch.seconds_per_window_median.toFixed(2)} s/window), peak RSS ${pytorch.rss_peak_mb.toFixed(0)} MB`,
          );
        else if (pytorch) log(`         PyTorch: ${pytorch.error}`);
        rounds.push({ vmat, pytorch });
      }
      const perCase = (x: SideResult) => (x.seconds / x.windows) * x.total_windows;
      const best = rounds.reduce((a, b) => (perCase(b.vmat) < perCase(a.vmat) ? b : a)).vmat;
      const peers = rounds.map((r) => r.pytorch).filter((p): p is SideResult => !!p && !('error' in p));
      const peerBest = peers.length ? peers.reduce((a, b) => (perCase(b) < perCase(a) ? b : a)) : null;
      const extrapolated = best.windows < best.total_windows;
      const out = {
        bench: 'infer',
        config: {
          shape: o.shape.split(',').map(Number),
          in_channels: Number(o.inChannels),
          base: Number(o.base),
          patch: Number(o.patch),
          overlap: Number(o.overlap),
          windows: best.total_windows,
          timed_windows: best.windows,
        },
        machine: { cpus: os.cpus().length, loadavg_end: os.loadavg() },
        vmat: { ...best, seconds_per_case: perCase(best), extrapolated },
        pytorch: peerBest ? { ...peerBest, seconds_per_case: perCase(peerBest) } : null,
        ratio_seconds_vmat_over_pytorch: peerBest ? perCase(best) / perCase(peerBest) : null,
        ratio_rss_vmat_over_pytorch: peerBest ? best.rss_peak_mb / peerBest.rss_peak_mb : null,
        rounds,
      };
      if (o.json) return printJson(out);
      log(
        `infer ${o.shape} (${best.total_windows} windows of ${o.patch}^3, overlap ${o.overlap}), BaselineUNet3D base ${o.base}, ${best.params} params, ${best.threads} threads${extrapolated ? ` (extrapolated from ${best.windows} windows)` : ''}:`,
      );
      log(
        `  vmat    ${perCase(best).toFixed(1)} s per case, peak RSS ${best.rss_peak_mb.toFixed(0)} MB (ops ${String(best.ops_path)})`,
      );
      if (peerBest)
        log(
          `  PyTorch ${perCase(peerBest).toFixed(1)} s per case, peak RSS ${peerBest.rss_peak_mb.toFixed(0)} MB (torch ${String(peerBest.torch)})\n  ratio vmat/PyTorch: time ${(out.ratio_seconds_vmat_over_pytorch as number).toFixed(2)}, memory ${(out.ratio_rss_vmat_over_pytorch as number).toFixed(2)} (best rounds; load average ${os
            .loadavg()
            .map((x) => x.toFixed(1))
            .join(' ')})`,
        );
    });
}
