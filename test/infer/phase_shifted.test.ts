import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine, tf } from '../../lib/engine';
import { createModel } from '../../lib/models';
import { saveCheckpoint } from '../../lib/models/checkpoint';
import { loadCase } from '../../lib/data/load';
import type { Shape3 } from '../../lib/data/case';
import type { Case } from '../../lib/data/case';
import { OPENKBP_IN_CHANNELS, openKbpRecipe, prepareOpenKbp64 } from '../../lib/inputs/openkbp64';
import { BLOCK_PHASES, blockPhaseMeanGy, shiftOpenKbpCase } from '../../lib/infer/phase_shifted';
import { loadBundle, predictorFeatures } from '../../lib/infer/bundle';
import { runInference } from '../../lib/infer/run_inference';
import type { DosePredictor } from '../../lib/infer/predictor';
import { OPENKBP_SHAPE, readOpenKbpDoseCsv } from '../../lib/data/openkbp';

const CSV = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp', 'csv', 'train-pats');
const available = fs.existsSync(path.join(CSV, 'pt_170'));
const S: Shape3 = [128, 128, 128];
const at = (i: number, j: number, k: number) => (i * S[1] + j) * S[2] + k;

test('the 8 block phases are the corners of the unit cube, [0, 0, 0] first', () => {
  assert.equal(BLOCK_PHASES.length, 8);
  assert.deepEqual(BLOCK_PHASES[0], [0, 0, 0]);
  assert.equal(new Set(BLOCK_PHASES.map((p) => p.join(','))).size, 8);
  for (const p of BLOCK_PHASES) for (const v of p) assert.ok(v === 0 || v === 1);
});

test(
  'shiftOpenKbpCase moves CT, every structure and the possible-dose mask by the offset; air enters; names kept; dose dropped',
  { skip: !available },
  async () => {
    const c = await loadCase(path.join(CSV, 'pt_170'));
    const s: Shape3 = [1, 0, 1];
    const sh = shiftOpenKbpCase(c, s);
    assert.equal(sh.dose, null);
    assert.deepEqual([...sh.masks.keys()], [...c.masks.keys()]);
    for (const [i, j, k] of [
      [40, 60, 70],
      [64, 64, 64],
      [100, 20, 5],
    ]) {
      assert.equal(sh.ct[at(i + 1, j, k + 1)], c.ct[at(i, j, k)]);
      assert.equal(sh.possibleDoseMask![at(i + 1, j, k + 1)], c.possibleDoseMask![at(i, j, k)]);
    }
    for (const [name, m] of c.masks) {
      const moved = sh.masks.get(name)!;
      let inside = 0;
      for (let i = 0; i < 127; i++)
        for (let j = 0; j < 128; j++)
          for (let k = 0; k < 127; k++)
            if (m[at(i, j, k)]) {
              inside += 1;
              assert.equal(moved[at(i + 1, j, k + 1)], 1, `${name} at ${i},${j},${k}`);
            }
      assert.ok(inside > 0, name);
    }
    for (let j = 0; j < 128; j += 17) assert.equal(sh.ct[at(0, j, 50)], -1024);
    assert.equal(sh.possibleDoseMask![at(0, 64, 64)], 0);
  },
);

test(
  'blockPhaseMeanGy: 8 distinct re-samplings, and a shift-equivariant predictor comes back unchanged (shift-back direction, edges)',
  { skip: !available },
  async () => {
    const c = await loadCase(path.join(CSV, 'pt_170'));
    const seen: Case[] = [];
    // a predictor that reads the case's own 128³ mask: exactly equivariant under integer shifts
    const equivariant: DosePredictor = {
      modelType: 'test',
      architecture: 'test',
      predictGy: (x) => {
        seen.push(x);
        return Float32Array.from(x.possibleDoseMask!, (v) => 10 * v);
      },
      describe: () => 'test',
      dispose: () => {},
    };
    const out = blockPhaseMeanGy(c, equivariant);
    assert.equal(seen.length, 8);
    assert.equal(seen[0], c);
    const ct = seen.map((x) => prepareOpenKbp64(x).channels[0]);
    for (let a = 0; a < 8; a++)
      for (let b = a + 1; b < 8; b++) {
        let d = 0;
        for (let i = 0; i < ct[a].length; i++) d = Math.max(d, Math.abs(ct[a][i] - ct[b][i]));
        assert.ok(d > 0.01, `phases ${a} and ${b} give different 64³ inputs (${d})`);
      }
    let maxErr = 0;
    let inMask = 0;
    for (let i = 0; i < out.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(out[i] - 10 * c.possibleDoseMask![i]));
      inMask += c.possibleDoseMask![i];
    }
    assert.ok(inMask > 1000);
    assert.ok(maxErr < 1e-5, `equivariant predictor: phase mean differs from the input by ${maxErr}`);
  },
);

async function tinyModelDir(root: string, meta: Record<string, unknown>): Promise<string> {
  await initEngine({ quiet: true });
  const model = createModel({ inChannels: OPENKBP_IN_CHANNELS, baseChannels: 2, levels: 2 }, { seed: 7 });
  const b = model.params.get('out_conv.bias')!;
  b.assign(tf.fill(b.shape, 0.5));
  const dir = path.join(root, 'model');
  await saveCheckpoint(dir, { model, input: null, meta: { openkbp: openKbpRecipe(), ...meta } });
  model.dispose();
  return dir;
}

test(
  'phase-shifted predictor of a model folder (meta.predict_phase_tta): differs from one phase, zero outside the mask, equals the phase mean by hand, CSV = in-memory, override off',
  { skip: !available },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-phase-'));
    try {
      const dir = await tinyModelDir(root, { predict_phase_tta: true });
      const b = loadBundle(dir);
      assert.deepEqual(predictorFeatures(b.spec), { tta: false, phaseTta: true });
      const single = loadBundle(dir, { phaseTta: false });
      assert.equal(predictorFeatures(single.spec).phaseTta, false);
      const c = await loadCase(path.join(CSV, 'pt_170'));
      const one = single.predictor.predictGy(c);
      const eight = b.predictor.predictGy(c);
      const byHand = blockPhaseMeanGy(c, single.predictor);
      let diffOne = 0;
      let diffHand = 0;
      for (let i = 0; i < eight.length; i++) {
        if (!c.possibleDoseMask![i]) assert.equal(eight[i], 0);
        diffOne = Math.max(diffOne, Math.abs(eight[i] - one[i]));
        diffHand = Math.max(diffHand, Math.abs(eight[i] - byHand[i]));
      }
      assert.ok(diffOne > 0.1, `the phase mean differs from the single grid (${diffOne} Gy)`);
      assert.equal(diffHand, 0, `${diffHand}`);
      const refs = path.join(root, 'refs');
      fs.mkdirSync(refs);
      fs.cpSync(path.join(CSV, 'pt_170'), path.join(refs, 'pt_170'), { recursive: true });
      await runInference(b.predictor, { inputDir: refs, outputDir: path.join(root, 'pred'), npz: false });
      const csv = await readOpenKbpDoseCsv(path.join(root, 'pred', 'pt_170.csv'), OPENKBP_SHAPE, 'float64');
      let diffCsv = 0;
      for (let i = 0; i < eight.length; i++) diffCsv = Math.max(diffCsv, Math.abs(csv[i] - eight[i]));
      assert.ok(diffCsv < 1e-3, `CSV vs in-memory ${diffCsv}`);
      b.predictor.dispose();
      single.predictor.dispose();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
