import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, ndarray } from '../../lib/data/npy';
import { readNpz, isNdArray, writeNpz } from '../../lib/data/npz';
import { writeReferenceNpz } from '../../lib/data/reference_npz';
import type { Case } from '../../lib/data/case';

const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');
const fixtures = path.join(__dirname, '..', 'fixtures');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-cli-eval-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('vmat gamma --json reproduces the peer pass rate; npz:key inputs; bad input errors', async () => {
  const spec = JSON.parse(fs.readFileSync(path.join(fixtures, 'eval', 'gamma_cases.json'), 'utf8'));
  const c = spec.cases.find((x: { name: string }) => x.name === 'thin_slices_masked');
  const z = await readNpz(path.join(fixtures, 'eval', `gamma_${c.name}.npz`));
  const write = (k: string) => {
    const e = z.get(k);
    assert.ok(isNdArray(e));
    const f = path.join(tmp, `${k}.npy`);
    fs.writeFileSync(f, encodeNpy(e));
    return f;
  };
  const [ref, ev, mask] = [write('ref'), write('eval'), write('mask')];
  const sp = c.spacing_mm.join(',');
  const r = run(['gamma', '--ref', ref, '--eval', ev, '--spacing-mm', sp, '--max-gamma', '2', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const k of ['pass_rate', 'pass_rate_le', 'n_evaluated', 'mean_gamma', 'seconds']) assert.ok(k in out, k);
  assert.ok(Math.abs(out.pass_rate - c.pass_rate) < 0.1);
  assert.equal(out.n_evaluated, c.n_evaluated);
  const masked = JSON.parse(
    run([
      'gamma',
      '--ref',
      path.join(fixtures, 'eval', `gamma_${c.name}.npz:ref`),
      '--eval',
      path.join(fixtures, 'eval', `gamma_${c.name}.npz:eval`),
      '--spacing-mm',
      sp,
      '--max-gamma',
      '2',
      '--mask',
      mask,
      '--json',
    ]).stdout,
  );
  assert.ok(Math.abs(masked.pass_rate - c.masked.pass_rate) < 1e-9);
  // bad input: wrong spacing count, shape mismatch, NaN, missing npz key
  let b = run(['gamma', '--ref', ref, '--eval', ev, '--spacing-mm', '1,1', '--json']);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /--spacing-mm: expected 3 values/);
  const small = path.join(tmp, 'small.npy');
  fs.writeFileSync(small, encodeNpy(ndarray(new Float32Array(8), [2, 2, 2])));
  b = run(['gamma', '--ref', ref, '--eval', small, '--spacing-mm', sp]);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /small\.npy: expected shape \(20, 20, 8\)/);
  const nan = path.join(tmp, 'nan.npy');
  const d = new Float32Array(8).fill(1);
  d[3] = NaN;
  fs.writeFileSync(nan, encodeNpy(ndarray(d, [2, 2, 2])));
  b = run(['gamma', '--ref', nan, '--eval', nan, '--spacing-mm', '1,1,1']);
  assert.match(b.stderr, /nan\.npy: expected finite reference dose values, found NaN at flat index 3/);
  b = run([
    'gamma',
    '--ref',
    `${path.join(fixtures, 'eval', `gamma_${c.name}.npz`)}:nokey`,
    '--eval',
    ev,
    '--spacing-mm',
    sp,
  ]);
  assert.match(b.stderr, /missing key/);
});

test('vmat dvh --json: each method, Vx, empty-mask error', () => {
  const dose = path.join(tmp, 'dvh_dose.npy');
  const mask = path.join(tmp, 'dvh_mask.npy');
  const empty = path.join(tmp, 'dvh_empty.npy');
  const vals = Float32Array.from({ length: 24 }, (_, i) => 40 + i);
  fs.writeFileSync(dose, encodeNpy(ndarray(vals, [2, 3, 4])));
  const m = new Uint8Array(24);
  [3, 4, 9, 10, 20].forEach((i) => (m[i] = 1)); // 5 voxels: 43, 44, 49, 50, 60 Gy
  fs.writeFileSync(mask, encodeNpy(ndarray(m, [2, 3, 4])));
  fs.writeFileSync(empty, encodeNpy(ndarray(new Uint8Array(24), [2, 3, 4])));
  const get = (method: string) => {
    const r = run([
      'dvh',
      '--dose',
      dose,
      '--mask',
      mask,
      '--spacing-mm',
      '2,2,2',
      '--method',
      method,
      '--v-gy',
      '45,50',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const lin = get('linear');
  const low = get('lower');
  const ex = get('exact');
  // numpy: percentile([43,44,49,50,60], 5) = 43.2 (linear), 43 (lower); voxel-step D95 = min of hottest 95% -> 43
  assert.ok(Math.abs(lin.D95 - 43.2) < 1e-9);
  assert.equal(low.D95, 43);
  assert.equal(ex.D95, 43);
  assert.equal(ex.D50, 49);
  assert.equal(lin.Dmax, 60);
  assert.equal(lin.Dmean, 49.2);
  assert.deepEqual(lin.V, { '45': 60, '50': 40 });
  for (const k of ['D98', 'D95', 'D50', 'D2', 'Dmean', 'Dmax', 'D0.1cc']) assert.equal(typeof lin[k], 'number', k);
  const b = run(['dvh', '--dose', dose, '--mask', empty, '--spacing-mm', '2,2,2', '--json']);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /expected a non-empty mask/);
  assert.match(
    run(['dvh', '--dose', dose, '--mask', mask, '--spacing-mm', '2,2,2', '--method', 'nearest']).stderr,
    /--method: expected one of linear \| lower \| exact/,
  );
});

test('vmat stats wilcoxon / bootstrap --json match the peers', () => {
  const peers = JSON.parse(fs.readFileSync(path.join(fixtures, 'stats', 'stats_peers.json'), 'utf8'));
  const s = peers.wilcoxon_samples.n10_zeros_ties;
  const want = peers.wilcoxon.find(
    (w: Record<string, unknown>) =>
      w.case === 'n10_zeros_ties' &&
      w.zero_method === 'zsplit' &&
      w.method === 'approx' &&
      w.correction === true &&
      w.alternative === 'greater',
  );
  const r = run([
    'stats',
    'wilcoxon',
    '--x',
    s.x.join(','),
    '--y',
    s.y.join(','),
    '--zero-method',
    'zsplit',
    '--method',
    'approx',
    '--correction',
    '--alternative',
    'greater',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(Math.abs(out.statistic - want.statistic) < 1e-12);
  assert.ok(Math.abs(out.pvalue - want.pvalue) < 1e-12);
  const ref = peers.reference_bootstrap_ci;
  const b = JSON.parse(
    run(['stats', 'bootstrap', '--x', ref.x.join(','), '--resamples', '10000', '--seed', '42', '--json']).stdout,
  );
  assert.ok(Math.abs(b.low - ref.low) < 1e-12 && Math.abs(b.high - ref.high) < 1e-12);
  assert.match(run(['stats', 'wilcoxon', '--x', '1,2,x']).stderr, /--x: item 3 'x' is not a number/);
  assert.match(run(['stats', 'wilcoxon', '--x', '1,2,3', '--y', '1,2']).stderr, /--y: expected 3 values/);
});

test('vmat evaluate writes the reference evaluation JSON for every <case>_pred.npz with a case', async () => {
  const data = path.join(tmp, 'data');
  const preds = path.join(tmp, 'preds');
  fs.mkdirSync(preds, { recursive: true });
  const shape: [number, number, number] = [12, 12, 8];
  const n = 12 * 12 * 8;
  const mk = (id: string, rx: number): Case => {
    const dose = new Float32Array(n);
    const ptv = new Uint8Array(n);
    const rect = new Uint8Array(n);
    for (let i = 0; i < 12; i++)
      for (let j = 0; j < 12; j++)
        for (let k = 0; k < 8; k++) {
          const q = (i * 12 + j) * 8 + k;
          const r2 = (i - 6) ** 2 + (j - 6) ** 2 + (k - 4) ** 2;
          dose[q] = rx * Math.exp(-r2 / 30);
          if (r2 <= 4) ptv[q] = 1;
          if (i >= 9 && k >= 2 && k <= 5) rect[q] = 1;
        }
    return {
      id,
      source: 'vmat-npz-v2.3',
      shape,
      spacingMm: [3, 3, 3],
      ct: new Float32Array(n),
      dose,
      structureNames: ['PTV70', 'PTV56', 'Prostate', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel'],
      masks: new Map([
        ['PTV70', ptv],
        ['Rectum', rect],
      ]),
      rxGy: rx,
      prescriptions: [{ structure: 'PTV70', doseGy: rx }],
      metadata: { normalization_dose_gy: rx, voxel_spacing_mm: [3, 3, 3] },
    };
  };
  const cases = [mk('case_a', 70), mk('case_b', 60)];
  for (const c of cases) {
    await writeReferenceNpz(path.join(data, `${c.id}.npz`), c, { includeSdf: false });
    const pred = Float32Array.from(c.dose as Float32Array, (v) => (0.97 * v) / c.rxGy);
    await writeNpz(path.join(preds, `${c.id}_pred.npz`), [['dose', ndarray(pred, [...shape])]]);
  }
  await writeNpz(path.join(preds, 'orphan_pred.npz'), [['dose', ndarray(new Float32Array(n), [...shape])]]);
  const out = path.join(tmp, 'eval.json');
  const r = run([
    'evaluate',
    '--pred-dir',
    preds,
    '--data-dir',
    data,
    '--out',
    out,
    '--gamma-subsample',
    '1',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(j.n_cases, 2);
  assert.deepEqual(
    j.per_case_results.map((c: { case_id: string }) => c.case_id),
    ['case_a', 'case_b'],
  );
  const b = j.per_case_results[1];
  assert.equal(b.rx_gy, 60);
  // per-case Rx: a 3% under-dose is 3% of 60 Gy at the maximum, not of 70
  assert.ok(Math.abs(b.dose_metrics.target_max_gy - 60) < 0.01, String(b.dose_metrics.target_max_gy));
  assert.ok(Math.abs(b.dose_metrics.pred_max_gy - 0.97 * 60) < 0.01);
  assert.equal(b.clinical_constraints.structures.PTV70.constraints_checked[0].limit, 57);
  for (const c of j.per_case_results) {
    assert.equal(typeof c.gamma.global_3mm3pct.gamma_pass_rate, 'number');
    assert.equal(typeof c.gamma.ptv_region_3mm3pct.gamma_pass_rate, 'number');
    assert.equal(typeof c.dvh_metrics.PTV70.D95_error, 'number');
    assert.ok(c.dvh_metrics.PTV70.D95_error < 0);
  }
  const a = j.aggregate_metrics;
  const maes = j.per_case_results.map((c: { dose_metrics: { mae_gy: number } }) => c.dose_metrics.mae_gy);
  assert.ok(Math.abs(a.mae_gy_mean - (maes[0] + maes[1]) / 2) < 1e-12);
  assert.ok(Math.abs(a.mae_gy_std - Math.abs(maes[0] - maes[1]) / 2) < 1e-12, 'np.std ddof 0');
  assert.match(run(['evaluate', '--pred-dir', path.join(tmp, 'nope'), '--data-dir', data]).stderr, /no such folder/);
});
