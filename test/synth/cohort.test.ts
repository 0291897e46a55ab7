/**
 * The synthetic cohort end to end: files written by generateCohort, read back with the data
 * layer's readReferenceNpz, checked against the clinical ranges the cohort promises (issue 2),
 * for a realistic dose fall-off, and for byte-identical regeneration.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Case } from '../../lib/data/case';
import { readReferenceNpz } from '../../lib/data/reference_npz';
import { readSplit } from '../../lib/data/split';
import { squaredDistanceToFeatures } from '../../lib/transforms/edt';
import { type CohortResult, assignPlanTypes, generateCohort } from '../../lib/synth/cohort';
import { doseAtVolume, volumeAtDose } from '../../lib/eval/dvh';
import { synthesizeCase } from '../../lib/synth/synth_case';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-synth-test-'));
let v23: CohortResult;
let v24: CohortResult;
const cases = new Map<string, Case>();

before(async () => {
  // default grid (96x96x64): what `vmat synth` writes unless told otherwise
  v23 = await generateCohort({ out: path.join(tmp, 'v23'), cases: 3, seed: 11, layout: 'v2.3', threads: 2 });
  v24 = await generateCohort({ out: path.join(tmp, 'v24'), cases: 5, seed: 12, layout: 'v2.4', threads: 2 });
  for (const f of [...v23.files, ...v24.files]) cases.set(f, await readReferenceNpz(f));
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('cohort writes one npz per case, split.json and batch_summary.json', () => {
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'v23')).sort(), [
    'batch_summary.json',
    'split.json',
    'synth_0001.npz',
    'synth_0002.npz',
    'synth_0003.npz',
  ]);
  const split = readSplit(path.join(tmp, 'v23', 'split.json'));
  assert.deepEqual([...split.train, ...split.val, ...split.test].sort(), ['synth_0001', 'synth_0002', 'synth_0003']);
  assert.deepEqual(split, v23.split);
  const summary = JSON.parse(fs.readFileSync(path.join(tmp, 'v24', 'batch_summary.json'), 'utf8'));
  assert.equal(summary.total_cases, 5);
  assert.equal(summary.script_version, '2.4.0');
});

test('plan types: SIB and single-Rx in v2.3; all four reference types in v2.4', () => {
  const t23 = v23.cases.map((c) => c.planType).sort();
  assert.ok(t23.includes('sib_2level') && t23.includes('single_rx'), t23.join(','));
  assert.deepEqual([...new Set(v24.cases.map((c) => c.planType))].sort(), [
    'nodal_only',
    'sib_2level',
    'sib_3level',
    'single_rx',
  ]);
  // a large cohort has about 35 % SIB plans
  const big = assignPlanTypes(100, 3, 'v2.3');
  assert.equal(big.filter((t) => t === 'sib_2level').length, 35);
});

test('readReferenceNpz reads what was written: layout, Rx, spacing, plan type, structures', () => {
  for (const [f, c] of cases) {
    const v24file = f.includes(`${path.sep}v24${path.sep}`);
    assert.equal(c.source, v24file ? 'vmat-npz-v2.4' : 'vmat-npz-v2.3', f);
    assert.equal(c.rxGy, 70);
    assert.deepEqual(c.spacingMm, [3.90625, 3.90625, 2.5]);
    assert.deepEqual(c.shape, [96, 96, 64]);
    const expected = (v24file ? v24 : v23).cases.find((r) => r.file === f)!;
    assert.equal(c.planType, expected.planType);
    for (const nm of ['PTV70', 'Prostate', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel'])
      assert.ok(c.masks.has(nm), `${f}: ${nm}`);
    assert.equal(c.masks.has('PTV56'), expected.planType.startsWith('sib'));
    assert.equal(c.masks.has('PTV50.4'), expected.planType === 'sib_3level' || expected.planType === 'nodal_only');
    assert.equal(c.constraints?.[0], 1);
    assert.ok(c.extras?.has('beam0_mlc_a') && c.extras.get('beam0_mlc_a')!.shape[0] === 36);
    assert.deepEqual(c.warnings ?? [], []);
  }
});

test('the written case equals the in-memory case (CT within float32 normalisation, dose within 1e-4 Gy, masks exact)', async () => {
  const r = synthesizeCase({ id: 'synth_0001', seed: 11, planType: v23.cases[0].planType, layout: 'v2.3' });
  const c = cases.get(v23.files[0])!;
  for (const [nm, m] of r.case.masks) assert.deepEqual(c.masks.get(nm), m, nm);
  let maxDose = 0;
  let maxHu = 0;
  for (let i = 0; i < c.ct.length; i++) {
    maxDose = Math.max(maxDose, Math.abs(c.dose![i] - r.case.dose![i]));
    const hu = Math.min(3000, Math.max(-1000, r.case.ct[i]));
    maxHu = Math.max(maxHu, Math.abs(c.ct[i] - hu));
  }
  assert.ok(maxDose < 1e-4, `dose differs by ${maxDose} Gy`);
  assert.ok(maxHu < 0.5, `CT differs by ${maxHu} HU`);
});

test('DVH numbers fall in the clinical ranges the cohort promises', () => {
  for (const [f, c] of cases) {
    const d = c.dose!;
    const d95 = doseAtVolume(d, c.masks.get('PTV70')!, 95);
    assert.ok(d95 >= 66.5 && d95 <= 72, `${f}: PTV70 D95 ${d95}`);
    if (c.masks.has('PTV56')) {
      const v = doseAtVolume(d, c.masks.get('PTV56')!, 95);
      assert.ok(v >= 53.2, `${f}: PTV56 D95 ${v}`);
    }
    if (c.masks.has('PTV50.4')) {
      const v = doseAtVolume(d, c.masks.get('PTV50.4')!, 95);
      assert.ok(v >= 47.88, `${f}: PTV50.4 D95 ${v}`);
    }
    const rv = volumeAtDose(d, c.masks.get('Rectum')!, 70);
    const bv = volumeAtDose(d, c.masks.get('Bladder')!, 70);
    assert.ok(rv < 20, `${f}: rectum V70 ${rv}`);
    assert.ok(bv < 30, `${f}: bladder V70 ${bv}`);
    // hot spots stay clinical-ish: PTV70 D2 <= 112 % of Rx
    const d2 = doseAtVolume(d, c.masks.get('PTV70')!, 2);
    assert.ok(d2 <= 78.4, `${f}: PTV70 D2 ${d2}`);
    // the femoral heads are spared
    for (const fem of ['Femur_L', 'Femur_R'])
      assert.ok(volumeAtDose(d, c.masks.get(fem)!, 50) < 10, `${f}: ${fem} V50`);
  }
});

test('dose falls off gradually outside the targets (not a painted step, not zero)', () => {
  for (const [f, c] of cases) {
    const n = c.ct.length;
    const targets = new Uint8Array(n);
    for (const nm of ['PTV70', 'PTV56', 'PTV50.4']) {
      const m = c.masks.get(nm);
      if (m) for (let i = 0; i < n; i++) targets[i] |= m[i];
    }
    const d2 = squaredDistanceToFeatures(targets, c.shape, c.spacingMm);
    const shells = [
      [0, 5],
      [5, 10],
      [10, 20],
      [20, 30],
      [40, 60],
    ];
    const means = shells.map(([lo, hi]) => {
      let s = 0;
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (targets[i] || c.ct[i] < -800) continue;
        const r = Math.sqrt(d2[i]);
        if (r > lo && r <= hi) {
          s += c.dose![i];
          k++;
        }
      }
      return s / k / c.rxGy;
    });
    const msg = `${f}: shell means ${means.map((m) => m.toFixed(2)).join(' ')}`;
    for (let k = 1; k < means.length; k++) assert.ok(means[k] < means[k - 1], msg);
    for (let k = 1; k < 4; k++) assert.ok(means[k - 1] - means[k] < 0.3, `${msg} (step)`);
    assert.ok(means[0] > 0.6 && means[0] < 1.0, msg);
    assert.ok(means[2] > 0.2 && means[2] < 0.75, msg);
    assert.ok(means[4] > 0.03, `${msg} (no low-dose bath)`);
  }
});

test('same arguments give byte-identical files, whatever the number of threads', async () => {
  const a = await generateCohort({
    out: path.join(tmp, 'det-a'),
    cases: 3,
    seed: 4,
    layout: 'v2.4',
    shape: [64, 64, 40],
    spacingMm: [5, 5, 4],
    threads: 1,
  });
  const b = await generateCohort({
    out: path.join(tmp, 'det-b'),
    cases: 3,
    seed: 4,
    layout: 'v2.4',
    shape: [64, 64, 40],
    spacingMm: [5, 5, 4],
    threads: 2,
  });
  const names = fs.readdirSync(path.join(tmp, 'det-a')).sort();
  assert.deepEqual(names, fs.readdirSync(path.join(tmp, 'det-b')).sort());
  for (const nm of names) {
    assert.ok(
      fs.readFileSync(path.join(tmp, 'det-a', nm)).equals(fs.readFileSync(path.join(tmp, 'det-b', nm))),
      `${nm} differs`,
    );
  }
  assert.deepEqual(a.split, b.split);
  // a different seed gives different patients
  const c = await generateCohort({
    out: path.join(tmp, 'det-c'),
    cases: 1,
    seed: 5,
    layout: 'v2.4',
    shape: [64, 64, 40],
    spacingMm: [5, 5, 4],
    threads: 1,
  });
  assert.ok(!fs.readFileSync(c.files[0]).equals(fs.readFileSync(a.files[0])));
});
