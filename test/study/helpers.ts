/** Shared by the study tests: the CLI, the scipy peer, report comparison to a tolerance. */
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'vmat.js');
export const PEER = path.join(ROOT, 'test', 'fixtures', 'study', 'scipy_peer.py');

export function vmat(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; timeout?: number } = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...o.env },
    timeout: o.timeout ?? 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** a python with numpy + scipy (the PATH python first, then Debian's), or null */
export function python(): string | null {
  for (const py of [
    ...(process.env.VMAT_PEER_PYTHON ? [process.env.VMAT_PEER_PYTHON] : []),
    'python3',
    '/usr/bin/python3',
  ])
    if (spawnSync(py, ['-c', 'import numpy, scipy'], { stdio: 'ignore' }).status === 0) return py;
  return null;
}

export interface PeerOutput {
  scipy: string;
  aggregates: Record<string, Record<string, Record<string, unknown>>>;
  comparisons: Array<Record<string, unknown>>;
}

export function runPeer(studyFile: string): PeerOutput {
  const py = python();
  assert.ok(py, 'python3 with numpy and scipy is needed for the statistics peer (bash scripts/setup.sh installs them)');
  const r = spawnSync(py, [PEER, studyFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PeerOutput;
}

export function close(a: unknown, b: unknown, label: string, tol = 1e-6): void {
  if (b === null || b === undefined) {
    assert.ok(a === null || a === undefined, `${label}: got ${String(a)}, peer has none`);
    return;
  }
  assert.equal(typeof a, 'number', `${label}: got ${String(a)}, peer ${String(b)}`);
  const d = Math.abs((a as number) - (b as number));
  assert.ok(d <= tol * Math.max(1, Math.abs(b as number)), `${label}: ${String(a)} vs peer ${String(b)} (diff ${d})`);
}

/** every number the peer computes equals the report's (relative 1e-6); returns how many were compared */
export function assertReportMatchesPeer(rep: object, peer: PeerOutput): number {
  const report = rep as {
    aggregates: Record<string, Record<string, Record<string, unknown>>>;
    comparisons: Array<Record<string, unknown>>;
  };
  let n = 0;
  for (const [cond, byMetric] of Object.entries(peer.aggregates))
    for (const [metric, p] of Object.entries(byMetric)) {
      const r = report.aggregates[cond]?.[metric];
      assert.ok(r, `report lacks the aggregate ${cond} ${metric}`);
      for (const k of ['mean', 'sd', 'ci_low', 'ci_high']) {
        close(r[k], p[k], `${cond} ${metric} ${k}`);
        n++;
      }
      assert.equal(r.n_cases, p.n_cases, `${cond} ${metric} n_cases`);
      for (const [seed, v] of Object.entries(p.per_seed_means as Record<string, number | null>)) {
        close((r.per_seed_means as Record<string, number | null>)[seed], v, `${cond} ${metric} seed ${seed} mean`);
        n++;
      }
    }
  for (const p of peer.comparisons) {
    const label = `${String(p.family)} ${String(p.condition)}-${String(p.against)} ${String(p.metric)}`;
    const r = report.comparisons.find(
      (c) => c.family === p.family && c.condition === p.condition && c.against === p.against && c.metric === p.metric,
    );
    assert.ok(r, `report lacks the comparison ${label}`);
    assert.equal(r.n_pairs, p.n_pairs, `${label} n_pairs`);
    if (p.refused) {
      assert.equal(r.p_value, null, `${label}: the report tested it with ${String(r.n_pairs)} pairs`);
      assert.ok(r.refused, `${label}: no refusal reason`);
      continue;
    }
    for (const k of [
      'statistic',
      'p_value',
      'p_holm',
      'cohens_d',
      'mean_diff',
      'mean_diff_ci_low',
      'mean_diff_ci_high',
      'sd_diff',
    ]) {
      close(r[k], p[k], `${label} ${k}`);
      n++;
    }
    assert.equal(r.significant, p.significant, `${label} significant`);
  }
  return n;
}
