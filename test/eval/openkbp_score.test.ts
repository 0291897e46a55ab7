import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCase } from '../../lib/data/load';
import { OPENKBP_SHAPE, readOpenKbpDoseCsv, writeOpenKbpDoseCsv } from '../../lib/data/openkbp';
import { openKbpDvhMetrics } from '../../lib/eval/openkbp_score';
import { scoreOpenKbpDirs } from '../../lib/eval/openkbp_score_dirs';

const REF = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp', 'csv', 'train-pats');
const GOLDEN = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp', 'golden_metrics.json');
const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');
const available = fs.existsSync(REF) && fs.existsSync(GOLDEN);
const IDS = ['pt_143', 'pt_170', 'pt_91', 'pt_66'];

/** the two golden predictions of golden_metrics.json, written as official pt_N.csv files */
async function writePredictions(root: string): Promise<void> {
  for (const pred of ['scale090', 'pool2_nearest']) {
    const dir = path.join(root, pred);
    fs.mkdirSync(dir, { recursive: true });
    for (const id of IDS) {
      const c = await loadCase(path.join(REF, id));
      const ref = await readOpenKbpDoseCsv(path.join(REF, id, 'dose.csv'), OPENKBP_SHAPE, 'float64');
      let p: Float64Array;
      if (pred === 'scale090') p = ref.map((v) => 0.9 * v);
      else {
        // mean of each aligned 2x2x2 block, nearest-neighbour upsampled, times the possible-dose mask
        p = new Float64Array(ref.length);
        const mask = c.possibleDoseMask as Uint8Array;
        const at = (a: number, b: number, d: number) => (a * 128 + b) * 128 + d;
        for (let a = 0; a < 128; a += 2)
          for (let b = 0; b < 128; b += 2)
            for (let d = 0; d < 128; d += 2) {
              let s = 0;
              for (let i = 0; i < 2; i++)
                for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) s += ref[at(a + i, b + j, d + k)];
              for (let i = 0; i < 2; i++)
                for (let j = 0; j < 2; j++)
                  for (let k = 0; k < 2; k++) {
                    const q = at(a + i, b + j, d + k);
                    p[q] = mask[q] ? s / 8 : 0;
                  }
            }
      }
      await writeOpenKbpDoseCsv(path.join(dir, `${id}.csv`), p, undefined, 'float64');
    }
  }
}

test(
  'OpenKBP scores equal the official evaluator (golden values, 1e-9), library and CLI',
  { skip: !available && 'shared OpenKBP data not present' },
  async () => {
    const golden = JSON.parse(fs.readFileSync(GOLDEN, 'utf8'));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-okbp-'));
    try {
      await writePredictions(tmp);
      for (const pred of ['scale090', 'pool2_nearest']) {
        const g = golden[pred];
        const r = await scoreOpenKbpDirs(REF, path.join(tmp, pred), { quiet: true });
        assert.ok(
          Math.abs(r.dose_score - g.dose_score) < 1e-9,
          `${pred} dose score ${r.dose_score} vs ${g.dose_score}`,
        );
        assert.ok(Math.abs(r.dvh_score - g.dvh_score) < 1e-9, `${pred} DVH score ${r.dvh_score} vs ${g.dvh_score}`);
        assert.equal(r.n_dvh_cells, g.n_dvh_entries ?? 66);
        if (g.per_patient_dose_error)
          for (const [id, v] of Object.entries(g.per_patient_dose_error as Record<string, number>))
            assert.ok(Math.abs(r.per_patient[id].dose_error - v) < 1e-9, `${pred} ${id}`);
        for (const id of IDS) {
          for (const [k, v] of Object.entries(golden.reference_dvh_metrics[id] as Record<string, number>)) {
            assert.ok(
              Math.abs(r.per_patient[id].reference_dvh[k] - v) < 1e-9,
              `${id} ${k}: ${r.per_patient[id].reference_dvh[k]} vs ${v}`,
            );
          }
        }
      }
      // the CLI, once (scale090)
      const cli = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'score', '--ref-dir', REF, '--pred-dir', path.join(tmp, 'scale090'), '--json'],
        { encoding: 'utf8' },
      );
      assert.equal(cli.status, 0, cli.stderr);
      const out = JSON.parse(cli.stdout);
      assert.ok(Math.abs(out.dose_score - golden.scale090.dose_score) < 1e-9);
      assert.ok(Math.abs(out.dvh_score - golden.scale090.dvh_score) < 1e-9);
      assert.equal(out.n_patients, 4);
      assert.deepEqual(Object.keys(out.per_patient).sort(), [...IDS].sort());
      // a missing prediction is a clear error
      fs.rmSync(path.join(tmp, 'scale090', 'pt_91.csv'));
      const bad = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'score', '--ref-dir', REF, '--pred-dir', path.join(tmp, 'scale090'), '--json'],
        { encoding: 'utf8' },
      );
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /missing pt_91/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);

test('OpenKBP D_0.1_cc uses n = max(1, round(100 / voxel mm^3)) and linear percentiles', () => {
  const masks = new Map([
    ['Brainstem', Uint8Array.from([1, 1, 1, 1, 0])],
    ['PTV70', Uint8Array.from([0, 1, 1, 1, 1])],
  ]);
  const dose = [10, 20, 30, 40, 50];
  // 3.906 x 3.906 x 2.5 mm = 38.14 mm^3 -> n = 3 of N = 4 -> q = 25 -> 17.5
  const m = openKbpDvhMetrics(dose, masks, [3.906, 3.906, 2.5]);
  assert.equal(m['D_0.1_cc|Brainstem'], 17.5);
  assert.equal(m['mean|Brainstem'], 25);
  assert.ok(Math.abs(m['D_95|PTV70'] - 21.5) < 1e-12);
  assert.ok(Math.abs(m['D_99|PTV70'] - 20.3) < 1e-12);
  assert.ok(Math.abs(m['D_1|PTV70'] - 49.7) < 1e-12);
  assert.equal(Object.keys(m).length, 5);
});
