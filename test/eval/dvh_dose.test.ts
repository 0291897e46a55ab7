import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dvhCurve, dvhPoints, StructureDose, structureValues, type DxMethod } from '../../lib/eval/dvh';
import { doseMetrics, dmeanErrorGy, maeAboveGy, maeGy, signedMeanErrorGy } from '../../lib/eval/dose_error';
import { evaluateCase, ptvRegionMask } from '../../lib/eval/evaluation_json';
import { checkClinicalConstraints } from '../../lib/eval/clinical';
import { ptvLevelGy } from '../../lib/data/profiles';
import type { Case } from '../../lib/data/case';

const peers = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'eval', 'eval_peers.json'), 'utf8'));
const close = (a: number, b: number, tol: number, msg: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);

test('Dx / D0.1cc / D2cc on tiny (1-5 voxel) and larger structures match numpy for every method', () => {
  for (const c of peers.dx) {
    const vals = c.values as number[];
    const mask = new Uint8Array(vals.length).fill(1);
    for (const method of ['linear', 'lower', 'exact'] as DxMethod[]) {
      const p = dvhPoints(vals, mask, c.spacing_mm, { method, vGy: [45, 60, 70.5] });
      assert.equal(p.method, method);
      for (const k of ['D98', 'D95', 'D50', 'D5', 'D2', 'D0.1cc', 'D2cc']) {
        const s = new StructureDose(Float64Array.from(vals), c.spacing_mm[0] * c.spacing_mm[1] * c.spacing_mm[2]);
        const got =
          k === 'D0.1cc' ? s.dcc(0.1, method) : k === 'D2cc' ? s.dcc(2, method) : s.dx(Number(k.slice(1)), method);
        close(got, c[method][k], 1e-12, `n=${vals.length} ${method} ${k}`);
      }
      close(p.Dmean, c.Dmean, 1e-12, 'Dmean');
      for (const [x, v] of Object.entries(c.V as Record<string, number>)) close(p.V[x], v, 1e-12, `V${x}`);
    }
  }
});

test('cumulative DVH curve is a step function of % volume >= dose', () => {
  const dose = [1, 2, 2, 3, 5];
  const c = dvhCurve(dose, [1, 1, 1, 1, 1], { binWidthGy: 1 });
  assert.deepEqual(c.doseGy, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(c.volumePct, [100, 100, 80, 40, 20, 20]);
  const b = dvhCurve(dose, [0, 1, 1, 1, 0], { bins: 3, maxGy: 3 });
  assert.deepEqual(b.volumePct, [100, 100, 100, 100 / 3]);
});

test('DVH bad input: empty mask, shape mismatch, NaN, spacing count', () => {
  assert.throws(() => structureValues([1, 2, 3], [0, 0, 0]), /mask is empty/);
  assert.throws(() => structureValues([1, 2, 3], [1, 1]), /mask has 2 voxels, dose has 3/);
  assert.throws(() => structureValues([1, NaN, 3], [1, 1, 1]), /non-finite/);
  assert.throws(() => dvhPoints([1, 2], [1, 1], [1, 1]), /3 positive spacing values/);
});

function peerCase(): { c: Case; pred: Float64Array } {
  const pc = peers.case;
  const n = pc.shape[0] * pc.shape[1] * pc.shape[2];
  const masks = new Map<string, Uint8Array>();
  for (const [name, idx] of Object.entries(pc.masks as Record<string, number[]>)) {
    const m = new Uint8Array(n);
    for (const i of idx) m[i] = 1;
    masks.set(name, m);
  }
  const c: Case = {
    id: 'peer_case',
    source: 'synthetic',
    shape: pc.shape,
    spacingMm: pc.spacing_mm,
    ct: new Float32Array(n),
    dose: Float32Array.from(pc.target),
    structureNames: ['PTV70', 'PTV56', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel'],
    masks,
    rxGy: pc.rx_gy,
    prescriptions: [{ structure: 'PTV70', doseGy: 70 }],
    metadata: {},
  };
  return { c, pred: Float64Array.from(pc.pred) };
}

test('dose metrics block matches the reference definitions (numpy)', () => {
  const pc = peers.case;
  const p = Float64Array.from(pc.pred, (v: number) => Math.max(v, 0));
  const t = Float64Array.from(pc.target);
  const { c } = peerCase();
  const dm = doseMetrics(p, t, c.masks);
  for (const [k, v] of Object.entries(pc.dose_metrics as Record<string, number | Record<string, number>>)) {
    if (typeof v === 'number') close(dm[k as 'mae_gy'] as number, v, 1e-12, k);
    else for (const [s, x] of Object.entries(v)) close(dm.per_structure_mae[s], x, 1e-12, `per_structure_mae ${s}`);
  }
  assert.equal(maeGy(p, t), dm.mae_gy);
  close(maeAboveGy(p, t, 0.5 * dm.target_max_gy), dm.mae_gy_above_50pct as number, 1e-15, 'mae above');
  const rect = c.masks.get('Rectum') as Uint8Array;
  close(dmeanErrorGy(p, t, rect), dm.per_structure_dmean_error.Rectum, 1e-15, 'dmean error');
  const sm = signedMeanErrorGy(p, t, rect);
  close(sm, dm.per_structure_dmean_error.Rectum, 1e-12, 'signed mean error = Dmean error');
  assert.throws(() => maeGy([1, 2], [1]), /prediction has 2 voxels, reference has 1/);
});

test('evaluateCase: reference layout, DVH (lower), PTV region, clinical checks, validation warnings', async () => {
  const pc = peers.case;
  const { c, pred } = peerCase();
  const ev = await evaluateCase(c, pred, { gammaSubsample: 1, gammaThreads: 1 });
  const negatives = (pc.pred as number[]).filter((v) => v < 0).length;
  assert.ok(negatives > 0);
  assert.deepEqual(ev.validation_warnings, [`prediction: ${negatives} negative values set to 0`]);
  // the Case holds the reference dose as float32, hence ~1e-6 Gy tolerances below
  close(ev.dose_metrics.mae_gy, pc.dose_metrics.mae_gy, 1e-5, 'mae');
  for (const [s, e] of Object.entries(pc.dvh_metrics as Record<string, Record<string, number>>)) {
    const got = ev.dvh_metrics[s] as Record<string, unknown>;
    assert.equal(got.exists, true, s);
    assert.equal(got.dx_method, 'lower');
    for (const [k, v] of Object.entries(e)) close(got[k] as number, v, 1e-5, `${s}.${k}`);
  }
  assert.deepEqual(ev.dvh_metrics.PTV56, { exists: false });
  // PTV region = box dilation of PTV70 with half-widths max(1, round(5 / spacing))
  const region = ptvRegionMask(c) as Uint8Array;
  assert.deepEqual(
    Array.from(region.keys()).filter((i) => region[i]),
    pc.ptv_region,
  );
  const g = ev.gamma;
  assert.ok(g.global_3mm3pct.voxels_evaluated > 0);
  assert.ok(
    g.ptv_region_3mm3pct.voxels_evaluated > 0 &&
      g.ptv_region_3mm3pct.voxels_evaluated <= g.global_3mm3pct.voxels_evaluated,
  );
  assert.ok((g.global_3mm3pct.gamma_pass_rate_le as number) >= (g.global_3mm3pct.gamma_pass_rate as number));
  const cc = ev.clinical_constraints;
  assert.equal(cc.summary.total_constraints + cc.summary.not_evaluated, 2 * 3 + 4 + 4 + 2 + 2 + 2);
  assert.equal(cc.structures.PTV70.constraints_checked[0].limit, 66.5);
  assert.ok(cc.missing.some((m) => m.structure === 'Bladder'));
  assert.equal(cc.overall_pass, cc.summary.failed === 0);
  assert.equal(cc.compliance_rate, Math.round((1000 * cc.summary.passed) / cc.summary.total_constraints) / 10);
  // a JSON round trip keeps the access paths notebooks use
  const j = JSON.parse(JSON.stringify(ev));
  assert.equal(typeof j.dose_metrics.mae_gy, 'number');
  assert.equal(typeof j.gamma.global_3mm3pct.gamma_pass_rate, 'number');
  assert.equal(typeof j.gamma.ptv_region_3mm3pct.gamma_pass_rate, 'number');
  assert.equal(typeof j.dvh_metrics.PTV70.D95_error, 'number');
});

test('clinical limits scale with the case prescription (fixed-70 defect fixed)', () => {
  assert.equal(ptvLevelGy('PTV70', 70), 70);
  assert.equal(ptvLevelGy('PTV70', 78, [{ structure: 'PTV70', doseGy: 78 }]), 78);
  assert.equal(ptvLevelGy('PTV56', 78, [{ structure: 'PTV70', doseGy: 78 }]), 56);
  const entry = { exists: true as const, pred_D95: 72, pred_V95: 99, pred_V100: 90, pred_max_gy: 80 };
  const at70 = checkClinicalConstraints({ PTV70: entry }, 70, { table: 'coverage' });
  const at78 = checkClinicalConstraints({ PTV70: entry }, 78, {
    table: 'coverage',
    prescriptions: [{ structure: 'PTV70', doseGy: 78 }],
  });
  assert.equal(at70.structures.PTV70.constraints_checked[0].limit, 66.5);
  assert.equal(at70.structures.PTV70.constraints_checked[0].passed, true);
  assert.equal(at78.structures.PTV70.constraints_checked[0].limit, 74.1);
  assert.equal(at78.structures.PTV70.constraints_checked[0].passed, false);
  const head = checkClinicalConstraints({ PTV70: entry }, 70, { table: 'head' });
  assert.deepEqual(
    head.structures.PTV70.constraints_checked.map((c) => [c.metric, c.limit, c.passed]),
    [
      ['V100', 95, false],
      ['Dmax', 74.9, false],
    ],
  );
  const oar = checkClinicalConstraints({ Bowel: { exists: true, pred_max_gy: 51.9, pred_V45_cc: 195.5 } }, 70);
  assert.deepEqual(
    oar.structures.Bowel.constraints_checked.map((c) => c.passed),
    [true, false],
  );
});
