import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadCase, listCasePaths, detectSource } from '../../lib/data/load';
import { readOpenKbpCsvFolder, readOpenKbpDoseCsv, readOpenKbpNpz, writeOpenKbpDoseCsv } from '../../lib/data/openkbp';
import { OPENKBP } from './helpers';

const PATIENTS = ['pt_66', 'pt_91', 'pt_143', 'pt_170'];
const golden = JSON.parse(fs.readFileSync(path.join(OPENKBP, 'golden_metrics.json'), 'utf8')) as {
  reference_dvh_metrics: Record<string, Record<string, number>>;
  scale090: { per_patient_dose_error: Record<string, number> };
};

test('OpenKBP CSV folder and openkbp-npz give identical Cases for all 4 patients', async () => {
  for (const p of PATIENTS) {
    const a = await readOpenKbpCsvFolder(path.join(OPENKBP, 'csv', 'train-pats', p));
    const b = await readOpenKbpNpz(path.join(OPENKBP, 'npz', 'train', `${p}.npz`));
    assert.equal(a.source, 'openkbp-csv');
    assert.equal(b.source, 'openkbp-npz');
    const { source: _a, ...ra } = a;
    const { source: _b, ...rb } = b;
    assert.ok(isDeepStrictEqual(ra, rb), `${p}: CSV and npz Cases differ`);
    assert.equal(a.id, p);
    assert.equal(a.rxGy, 70);
    assert.ok(a.planType && a.planType.startsWith('PTV70'));
  }
  const p143 = await readOpenKbpCsvFolder(path.join(OPENKBP, 'csv', 'train-pats', 'pt_143'));
  assert.deepEqual([...p143.masks.keys()], ['SpinalCord', 'PTV70']); // present iff CSV exists
  assert.deepEqual(p143.prescriptions, [{ structure: 'PTV70', doseGy: 70 }]);
  assert.equal(p143.planType, 'PTV70');
  const p66 = await readOpenKbpNpz(path.join(OPENKBP, 'npz', 'train', 'pt_66.npz'));
  assert.equal(p66.masks.size, 10);
  assert.equal(p66.planType, 'PTV70+PTV63+PTV56');
  assert.deepEqual(p66.spacingMm, [4.688, 4.688, 3]);
  // 16-bit CT patient keeps values above 4095 - 1024
  const p91 = await readOpenKbpNpz(path.join(OPENKBP, 'npz', 'train', 'pt_91.npz'));
  assert.ok(p91.ct.reduce((a, b) => Math.max(a, b), -Infinity) > 3071);
  assert.equal(p91.ct.reduce((a, b) => Math.min(a, b), Infinity), -1024);
});

test('OAR mean doses match the official OpenKBP evaluator (golden_metrics.json)', async () => {
  for (const p of PATIENTS) {
    const c = await loadCase(path.join(OPENKBP, 'csv', 'train-pats', p));
    for (const [key, want] of Object.entries(golden.reference_dvh_metrics[p])) {
      const [metric, roi] = key.split('|');
      if (metric !== 'mean') continue;
      const m = c.masks.get(roi)!;
      let s = 0;
      let n = 0;
      for (let i = 0; i < m.length; i++) if (m[i]) {
        s += c.dose![i];
        n++;
      }
      assert.ok(Math.abs(s / n - want) < 1e-4, `${p} ${roi}: ${s / n} vs ${want}`);
    }
  }
});

test('dose CSV writer: official sparse format, values > 0 only, reads back; 0.9×reference reproduces the official dose error', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-okbp-'));
  for (const p of PATIENTS) {
    const c = await readOpenKbpNpz(path.join(OPENKBP, 'npz', 'train', `${p}.npz`));
    const pred = c.dose!.map((v) => v * 0.9);
    const f = path.join(tmp, `${p}.csv`);
    await writeOpenKbpDoseCsv(f, pred, c.possibleDoseMask);
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(text.startsWith(',data\n'));
    assert.ok(!/,0(\.0)?\n/.test(text) && !/,-/.test(text), 'only values > 0');
    const back = await readOpenKbpDoseCsv(f);
    let err = 0;
    let nmask = 0;
    for (let i = 0; i < back.length; i++) {
      assert.equal(back[i], c.possibleDoseMask![i] ? Math.fround(pred[i]) : 0);
      err += Math.abs(c.dose![i] - back[i]);
      nmask += c.possibleDoseMask![i];
    }
    const want = golden.scale090.per_patient_dose_error[p];
    assert.ok(Math.abs(err / nmask - want) < 1e-5, `${p}: ${err / nmask} vs ${want}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('listCasePaths and detectSource', async () => {
  const list = await listCasePaths(path.join(OPENKBP, 'csv', 'train-pats'));
  assert.deepEqual(list.map((p) => path.basename(p)), ['pt_143', 'pt_170', 'pt_66', 'pt_91']); // code-point order
  const npz = await listCasePaths(path.join(OPENKBP, 'npz', 'validation'));
  assert.equal(npz.length, 33);
  assert.deepEqual(npz, [...npz].sort());
  assert.equal(await detectSource(list[0]), 'openkbp-csv');
  assert.equal(await detectSource(npz[0]), 'openkbp-npz');
});
