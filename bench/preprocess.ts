/**
 * `vmat bench preprocess`: `vmat preprocess` on one 300 × 300 × 160 CT case with 9 structures (two
 * VMAT arcs of 90 control points, dose on a 2.5 mm grid) against the Python peer
 * (test/fixtures/dicom/reference_preprocess.py: pydicom + scikit-image + scipy, the reference's
 * steps, SimpleITK's B-spline resampling by scipy) on the same case in the same run. The case is
 * made by the independent pydicom generator (test/fixtures/dicom/make_dicom_cases.py --bench).
 * Both sides are timed from inside their process (no interpreter/runtime start-up), single case,
 * no plots; rounds alternate and the best of each side is reported. The outputs are compared
 * (test/fixtures/dicom/compare_npz.py) so the speed is for the same result.
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { printJson } from '../lib/cli/json';

const FIXTURES = path.join(__dirname, '..', 'test', 'fixtures', 'dicom');
const PYTHON = process.env.VMAT_DICOM_PYTHON ?? '/usr/bin/python3';

function pythonReady(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy, skimage, pydicom'], { encoding: 'utf8' });
  return r.status === 0
    ? null
    : `peer not available: ${PYTHON} with numpy, scipy, scikit-image and pydicom (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
}

function py(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status };
}

export function registerBench(group: Command): void {
  group
    .command('preprocess')
    .description(
      'vmat preprocess vs the Python reference peer (pydicom + scikit-image + scipy) on a 300x300x160 CT case with 9 structures',
    )
    .option('--rounds <n>', 'alternating rounds (best of each side is reported)', '1')
    .option('--case-dir <dir>', 'an existing input folder of case folders (default: generate the bench case)')
    .option('--no-peer', 'skip the Python peer')
    .option('--json', 'print one JSON object')
    .action(async (opts: { rounds: string; caseDir?: string; peer: boolean; json?: boolean }) => {
      // loaded here, not at registration (the CLI starts without dcmjs/zod/jszip)
      const { preprocessBatch } = await import('../lib/dicom/batch');
      const rounds = Math.max(1, Number(opts.rounds) || 1);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-bench-preprocess-'));
      try {
        const missing = pythonReady();
        let input = opts.caseDir;
        if (!input) {
          if (missing)
            throw new Error(`the bench case is made by ${path.join(FIXTURES, 'make_dicom_cases.py')}: ${missing}`);
          input = path.join(tmp, 'in');
          const g = py([path.join(FIXTURES, 'make_dicom_cases.py'), input, '--bench']);
          if (g.status !== 0) throw new Error(`case generator failed: ${g.stderr.slice(-2000)}`);
        }
        const vmatSec: number[] = [];
        const peerSec: number[] = [];
        let peerError: string | null = !opts.peer ? 'skipped (--no-peer)' : missing;
        let agreement: Record<string, unknown> | null = null;
        for (let r = 0; r < rounds; r++) {
          const outV = path.join(tmp, `vmat${r}`);
          const t0 = process.hrtime.bigint();
          const rep = await preprocessBatch(input, outV, { layout: 'v2.4', jobs: 1, skipPlots: true, quiet: true });
          vmatSec.push(Number(process.hrtime.bigint() - t0) / 1e9);
          if (rep.failures.length)
            throw new Error(`vmat preprocess failed: ${rep.failures.map((f) => f.reason).join('; ')}`);
          if (peerError) continue;
          const outP = path.join(tmp, `peer${r}`);
          const p = py([path.join(FIXTURES, 'reference_preprocess.py'), '--input_dir', input, '--output_dir', outP]);
          if (p.status !== 0) {
            peerError = `peer failed: ${p.stderr.slice(-2000)}`;
            continue;
          }
          const res = JSON.parse(p.stdout.trim().split('\n').pop() as string) as {
            seconds: number;
            failed: Record<string, string>;
          };
          if (Object.keys(res.failed).length) {
            peerError = `peer failed on ${JSON.stringify(res.failed)}`;
            continue;
          }
          peerSec.push(res.seconds);
          if (!agreement) {
            const id = rep.results[0].caseId;
            const c = py([
              path.join(FIXTURES, 'compare_npz.py'),
              path.join(outP, `${id}.npz`),
              path.join(outV, `${id}.npz`),
            ]);
            if (c.status === 0) {
              const j = JSON.parse(c.stdout) as {
                arrays: Record<string, { equal: boolean; max_abs_diff: number }>;
                metadata_diffs: unknown[];
                rx_gy: number;
              };
              agreement = {
                identical: Object.entries(j.arrays)
                  .filter(([, v]) => v.equal)
                  .map(([k]) => k),
                dose_max_abs_diff_pct_rx: 100 * (j.arrays.dose?.max_abs_diff ?? NaN),
                masks_sdf_max_abs_diff: j.arrays.masks_sdf?.max_abs_diff ?? null,
                metadata_differences: j.metadata_diffs.length,
              };
            }
          }
          fs.rmSync(outP, { recursive: true, force: true });
          fs.rmSync(outV, { recursive: true, force: true });
        }
        const bestV = Math.min(...vmatSec);
        const bestP = peerSec.length ? Math.min(...peerSec) : null;
        const out = {
          case: 'one 300x300x160 CT (1.2 x 1.2 x 2.5 mm), 9 structures, 2 arcs x 90 control points, RTDOSE 2.5 x 2.5 x 3 mm',
          rounds,
          vmat_seconds: vmatSec,
          peer_seconds: peerSec,
          peer: peerError
            ? { error: peerError }
            : { python: PYTHON, script: 'test/fixtures/dicom/reference_preprocess.py' },
          speedup_vs_peer: bestP === null ? null : bestP / bestV,
          agreement,
        };
        if (opts.json) printJson(out);
        else {
          console.log(`preprocess bench: ${out.case}`);
          console.log(
            `  vmat preprocess (1 case, in process): best ${bestV.toFixed(2)} s of ${vmatSec.map((s) => s.toFixed(2)).join(', ')}`,
          );
          if (peerError) console.log(`  peer: ${peerError}`);
          else {
            console.log(
              `  Python peer (pydicom + scikit-image + scipy): best ${bestP!.toFixed(2)} s of ${peerSec.map((s) => s.toFixed(2)).join(', ')}`,
            );
            console.log(`  speed-up vs peer: ${(bestP! / bestV).toFixed(1)}x (goal >= 3x)`);
          }
          if (agreement) console.log(`  same result: ${JSON.stringify(agreement)}`);
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
}
