/**
 * `vmat bench gamma`: full-resolution 3%/3 mm global gamma (cutoff 10%, max_gamma 2 as the
 * reference project calls pymedphys) on a 96x96x64 smooth dose pair at 3.906x3.906x2.5 mm, timed
 * against the pymedphys `gamma_shell` peer (bench/peers/gamma_shell.py) in the same run.
 *
 * Peer choice: Debian's /usr/bin/python3 with python3-numba (pymedphys's default interpolation is
 * numba-compiled, single thread) when available; otherwise the first python3 with scipy or numpy
 * (the peer says which back-end it used). Same input arrays (written as .npy to a temp folder).
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, ndarray } from '../lib/data/npy';
import { gammaIndex, gammaStats } from '../lib/eval/gamma';
import { smoothDosePair } from '../lib/eval/smooth_dose';
import { printJson } from '../lib/cli/json';

/** pymedphys default on this machine class when no numba peer can run (issue 7) */
const PYMEDPHYS_US_PER_POINT = 47;

interface PeerResult {
  n_evaluated: number;
  pass_rate: number;
  pass_rate_le: number;
  mean_gamma: number;
  seconds: number;
  backend: string;
  python: string;
}

function findPython(): { python: string; backend: string } | null {
  const candidates: Array<[string, string]> = [
    ['/usr/bin/python3', 'numba'],
    ['python3', 'numba'],
    ['python3', 'scipy'],
    ['/usr/bin/python3', 'scipy'],
    ['python3', 'numpy'],
    ['/usr/bin/python3', 'numpy'],
  ];
  for (const [py, backend] of candidates) {
    const mod = backend === 'numpy' ? 'numpy' : `numpy, ${backend}`;
    const r = spawnSync(py, ['-c', `import ${mod}`], { encoding: 'utf8' });
    if (r.status === 0) return { python: py, backend };
  }
  return null;
}

function runPeer(dir: string, spacing: number[], maxGamma: number, skip: boolean): PeerResult | { error: string } {
  if (skip) return { error: 'skipped (--no-peer)' };
  const found = findPython();
  if (!found) return { error: 'no python3 with numpy found' };
  const script = path.join(__dirname, 'peers', 'gamma_shell.py');
  const args = [
    script,
    path.join(dir, 'ref.npy'),
    path.join(dir, 'ev.npy'),
    spacing.join(','),
    '3',
    '3',
    '10',
    String(maxGamma),
    '0',
    found.backend,
  ];
  const r = spawnSync(found.python, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return { error: `peer failed: ${r.stderr.slice(-2000)}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as PeerResult;
  return { ...out, python: found.python };
}

/** the two dose pairs timed: a typical model error (~96% pass) and a poor one (~82% pass, more points search to 6 mm) */
const PAIRS: Array<{ name: string; shiftMm: [number, number, number]; scale: number }> = [
  { name: 'typical', shiftMm: [4, -3, 4], scale: 1.06 },
  { name: 'hard', shiftMm: [6, -4, 5], scale: 1.1 },
];

export function registerBench(group: Command): void {
  group
    .command('gamma')
    .description('full-resolution 3%/3mm global gamma on 96x96x64 smooth dose pairs vs the pymedphys gamma_shell peer')
    .option('--threads <n>', 'worker threads for vmat (default: all cores, max 8)')
    .option('--shape <a,b,c>', 'grid shape', '96,96,64')
    .option(
      '--pairs <names>',
      `dose pairs to time (${PAIRS.map((p) => p.name).join(',')})`,
      PAIRS.map((p) => p.name).join(','),
    )
    .option('--no-peer', 'skip the python peer')
    .option('--json', 'print one JSON object')
    .action(async (opts: { threads?: string; shape: string; pairs: string; peer: boolean; json?: boolean }) => {
      const shape = opts.shape.split(',').map(Number) as [number, number, number];
      const spacing: [number, number, number] = [3.906, 3.906, 2.5];
      const maxGamma = 2;
      const threads = opts.threads ? Number(opts.threads) : undefined;
      const wanted = opts.pairs.split(',');
      const results: Record<string, unknown> = {};
      const f = (x: number | null | undefined, d = 2) => (x == null ? 'n/a' : x.toFixed(d));
      for (const pairSpec of PAIRS.filter((p) => wanted.includes(p.name))) {
        const pair = smoothDosePair(shape, spacing, { shiftMm: pairSpec.shiftMm, scale: pairSpec.scale });
        const single = await gammaIndex(pair.ref, pair.ev, shape, spacing, { maxGamma, threads: 1 });
        // first threaded call starts the worker pool; time a second call as well (pool warm, as in `vmat evaluate`)
        const cold = await gammaIndex(pair.ref, pair.ev, shape, spacing, { maxGamma, threads });
        const multi = await gammaIndex(pair.ref, pair.ev, shape, spacing, { maxGamma, threads });
        const sSingle = gammaStats(single.gamma);
        const sMulti = gammaStats(multi.gamma);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-bench-gamma-'));
        let peer: PeerResult | { error: string };
        try {
          fs.writeFileSync(path.join(dir, 'ref.npy'), encodeNpy(ndarray(Float64Array.from(pair.ref), [...shape])));
          fs.writeFileSync(path.join(dir, 'ev.npy'), encodeNpy(ndarray(Float64Array.from(pair.ev), [...shape])));
          peer = runPeer(dir, spacing, maxGamma, !opts.peer);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        const n = single.nEvaluated;
        const usSingle = (1e6 * single.seconds) / n;
        const usMulti = (1e6 * multi.seconds) / n;
        const r = {
          case: {
            pair: pairSpec,
            shape,
            spacing_mm: spacing,
            criteria: '3%/3mm global, cutoff 10%, max_gamma 2',
            n_evaluated: n,
          },
          vmat_1_thread: {
            seconds: single.seconds,
            us_per_point: usSingle,
            pass_rate: sSingle.pass_rate,
            pass_rate_le: sSingle.pass_rate_le,
            mean_gamma: sSingle.mean_gamma,
          },
          vmat_threads: {
            threads: multi.threads,
            seconds: multi.seconds,
            seconds_first_call_with_pool_start: cold.seconds,
            us_per_point: usMulti,
            pass_rate: sMulti.pass_rate,
          },
          peer: 'error' in peer ? peer : { ...peer, us_per_point: (1e6 * peer.seconds) / peer.n_evaluated },
          speedup_vs_peer:
            'error' in peer
              ? null
              : { one_thread: peer.seconds / single.seconds, threads: peer.seconds / multi.seconds },
          speedup_vs_pymedphys_47us_per_point: {
            one_thread: PYMEDPHYS_US_PER_POINT / usSingle,
            threads: PYMEDPHYS_US_PER_POINT / usMulti,
          },
          pass_rate_difference_pp:
            'error' in peer || sSingle.pass_rate === null ? null : sSingle.pass_rate - peer.pass_rate,
        };
        results[pairSpec.name] = r;
        if (opts.json) continue;
        console.log(
          `gamma bench [${pairSpec.name}]: ${shape.join('x')} at ${spacing.join('x')} mm, 3%/3mm global, cutoff 10%, max_gamma 2, ${n} points evaluated`,
        );
        console.log(
          `  vmat 1 thread : ${f(single.seconds, 3)} s (${f(usSingle)} us/point), pass rate ${f(sSingle.pass_rate, 4)}% (<1), ${f(sSingle.pass_rate_le, 4)}% (<=1)`,
        );
        console.log(
          `  vmat ${multi.threads} threads: ${f(multi.seconds, 3)} s (${f(usMulti)} us/point; first call incl. worker start ${f(cold.seconds, 3)} s), pass rate ${f(sMulti.pass_rate, 4)}%`,
        );
        if ('error' in peer) console.log(`  peer          : ${peer.error}`);
        else {
          console.log(
            `  peer          : pymedphys gamma_shell re-implementation, ${peer.backend} back-end (${peer.python}), 1 thread: ${f(peer.seconds, 2)} s (${f((1e6 * peer.seconds) / peer.n_evaluated)} us/point), pass rate ${f(peer.pass_rate, 4)}%`,
          );
          console.log(
            `  speed-up vs peer: ${f(peer.seconds / single.seconds, 1)}x (1 thread), ${f(peer.seconds / multi.seconds, 1)}x (${multi.threads} threads); pass-rate difference ${f(r.pass_rate_difference_pp, 4)} pp`,
          );
        }
        console.log(
          `  speed-up vs pymedphys default (~${PYMEDPHYS_US_PER_POINT} us/point): ${f(PYMEDPHYS_US_PER_POINT / usSingle, 1)}x (1 thread), ${f(PYMEDPHYS_US_PER_POINT / usMulti, 1)}x (${multi.threads} threads)`,
        );
      }
      if (opts.json) printJson(results);
    });
}
