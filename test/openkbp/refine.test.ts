import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine, tf } from '../../lib/engine';
import { createModel } from '../../lib/models';
import { saveCheckpoint, loadCheckpoint } from '../../lib/models/checkpoint';
import { loadCase } from '../../lib/data/load';
import type { Case } from '../../lib/data/case';
import { OPENKBP_STRUCTURES } from '../../lib/data/profiles';
import { OPENKBP_IN_CHANNELS, openKbpRecipe, normaliseCtHuOpenKbp } from '../../lib/inputs/openkbp64';
import {
  REFINER_IN_CHANNELS,
  REFINER_LR_CHANNEL_PAIRS,
  refinerCase,
  writeRefinerBox,
} from '../../lib/inputs/refiner128';
import { refineGy } from '../../lib/infer/cascade';
import { mirroredNet, networkNet } from '../../lib/infer/volume_net';
import { buildPredictor, loadBundle, readManifest } from '../../lib/infer/bundle';
import { runInference } from '../../lib/infer/run_inference';
import { coarseStageSpec, refinerTrainOptions, trainRefiner } from '../../lib/openkbp/refiner_task';
import { downUpDose } from '../../lib/openkbp/floor';
import { maxWeightDiff } from './helpers';
import { flipAxis1 } from '../../lib/transforms/volume_ops';

const ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp');
const CSV = path.join(ROOT, 'csv', 'train-pats');
const NPZ_TRAIN = path.join(ROOT, 'npz', 'train');
const NPZ_VAL = path.join(ROOT, 'npz', 'validation');
const available = fs.existsSync(CSV) && fs.existsSync(NPZ_TRAIN);
let cached: Case | null = null;
async function patient(): Promise<Case> {
  cached ??= await loadCase(path.join(CSV, 'pt_170'));
  return cached;
}

test(
  'refiner inputs: channel order, L/R flip mirrors axis 1 and swaps the parotids',
  { skip: !available },
  async () => {
    const c = await patient();
    const coarse = downUpDose(c.dose!, c.possibleDoseMask!);
    const rc = refinerCase(c, coarse);
    const P: [number, number, number] = [4, 8, 4];
    const o: [number, number, number] = [60, 40, 70];
    const nc = REFINER_IN_CHANNELS;
    const x = new Float32Array(P[0] * P[1] * P[2] * nc);
    const y = new Float32Array(P[0] * P[1] * P[2]);
    const xf = new Float32Array(x.length);
    writeRefinerBox(rc, o, P, false, x, y);
    // the flipped read of the mirrored box holds the same voxels, mirrored
    writeRefinerBox(rc, [o[0], 128 - o[1] - P[1], o[2]], P, true, xf);
    const at = (a: number, b: number, cc: number) => (a * 128 + b) * 128 + cc;
    const rp = 2 + OPENKBP_STRUCTURES.indexOf('RightParotid');
    const lp = 2 + OPENKBP_STRUCTURES.indexOf('LeftParotid');
    for (let a = 0; a < P[0]; a++)
      for (let b = 0; b < P[1]; b++)
        for (let cc = 0; cc < P[2]; cc++) {
          const k = (a * P[1] + b) * P[2] + cc;
          const i = at(o[0] + a, o[1] + b, o[2] + cc);
          assert.equal(x[k * nc], Math.fround(coarse[i] / 70));
          assert.equal(x[k * nc + 1], Math.fround(normaliseCtHuOpenKbp(c.ct[i])));
          assert.equal(x[k * nc + nc - 1], c.possibleDoseMask![i] ? 1 : 0);
          assert.equal(y[k], Math.fround(c.dose![i] / 70));
          const kf = (a * P[1] + (P[1] - 1 - b)) * P[2] + cc;
          for (let ch = 0; ch < nc; ch++) {
            const src = ch === rp ? lp : ch === lp ? rp : ch;
            assert.equal(xf[kf * nc + ch], x[k * nc + src], `channel ${ch} at ${a},${b},${cc}`);
          }
        }
  },
);

test(
  'refiner TTA is L/R equivariant: refining the mirrored patient gives the mirrored dose (the plain pass is not)',
  { skip: !available },
  async () => {
    await initEngine({ quiet: true });
    const c = await patient();
    const rc = refinerCase(c, downUpDose(c.dose!, c.possibleDoseMask!));
    const S: [number, number, number] = [128, 128, 128];
    const mirror = (v: ArrayLike<number>) => flipAxis1(Float32Array.from(v), S);
    const toU8 = (v: Float32Array) => Uint8Array.from(v);
    const structures = rc.structures.map((m) => (m ? toU8(mirror(m)) : null));
    const [r, l] = [OPENKBP_STRUCTURES.indexOf('RightParotid'), OPENKBP_STRUCTURES.indexOf('LeftParotid')];
    [structures[r], structures[l]] = [structures[l], structures[r]];
    const mirrored = {
      ...rc,
      ct: mirror(rc.ct),
      structures,
      pdm: toU8(mirror(rc.pdm)),
      coarse: mirror(rc.coarse),
      target: null,
    };
    const refiner = createModel({ inChannels: REFINER_IN_CHANNELS, baseChannels: 2, levels: 2 }, { seed: 7 });
    try {
      const gap = (tta: boolean) => {
        const plainNet = networkNet(refiner, { residualChannel: 0 }, false);
        const net = tta ? mirroredNet(plainNet, REFINER_LR_CHANNEL_PAIRS) : plainNet;
        const a = mirror(refineGy(net, rc));
        const b = refineGy(net, mirrored);
        let d = 0;
        for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
      };
      assert.ok(gap(false) > 0.01, `the untrained refiner is not symmetric by itself (${gap(false)} Gy)`);
      assert.ok(gap(true) < 1e-3, `TTA refinement is equivariant (max difference ${gap(true)} Gy)`);
    } finally {
      refiner.dispose();
    }
  },
);

test(
  'a zero-initialised refiner is the identity; a model folder with refiner/ refines in predict, refine:false skips it',
  { skip: !available },
  async () => {
    await initEngine({ quiet: true });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-refine-'));
    try {
      const c = await patient();
      const coarseModel = createModel({ inChannels: OPENKBP_IN_CHANNELS, baseChannels: 2, levels: 2 }, { seed: 3 });
      const b = coarseModel.params.get('out_conv.bias')!;
      b.assign(tf.fill(b.shape, 0.5));
      const dir = path.join(root, 'model');
      await saveCheckpoint(dir, { model: coarseModel, input: null, meta: { openkbp: openKbpRecipe() } });
      coarseModel.dispose();
      const refiner = createModel({ inChannels: REFINER_IN_CHANNELS, baseChannels: 2, levels: 2 }, { seed: 4 });
      for (const k of ['out_conv.weight', 'out_conv.bias'])
        refiner.params.get(k)!.assign(tf.zerosLike(refiner.params.get(k)!));
      const plain = loadBundle(dir).predictor;
      assert.match(plain.describe(), /^resampled/);
      const coarse = plain.predictGy(c);
      const ident = refineGy(networkNet(refiner, { residualChannel: 0 }, false), refinerCase(c, coarse));
      let maxDiff = 0;
      for (let i = 0; i < coarse.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ident[i] - coarse[i]));
      assert.ok(maxDiff < 1e-4, `identity refiner moved the dose by ${maxDiff} Gy`);
      // a non-zero refiner in the folder changes predict's output; refine: false gives the coarse dose
      refiner.params.get('out_conv.bias')!.assign(tf.fill([1], 0.1));
      await saveCheckpoint(path.join(dir, 'refiner'), {
        model: refiner,
        input: null,
        meta: { openkbp_refiner: { profile: 'openkbp-refine-128' } },
      });
      refiner.dispose();
      const withRef = loadBundle(dir).predictor;
      assert.match(withRef.describe(), /^cascade/);
      const refined = withRef.predictGy(c);
      const coarseStage = buildPredictor(dir, coarseStageSpec(readManifest(dir).predictor));
      const skipped = coarseStage.predictGy(c);
      coarseStage.dispose();
      assert.deepEqual(skipped, coarse);
      let changed = 0;
      for (let i = 0; i < coarse.length; i++)
        if (c.possibleDoseMask![i] && Math.abs(refined[i] - coarse[i]) > 1) changed++;
      assert.ok(changed > 1000, `the refiner changed ${changed} voxels`);
      for (let i = 0; i < refined.length; i++) if (!c.possibleDoseMask![i]) assert.equal(refined[i], 0);
      // predict on a folder goes through the refiner too
      const refs = path.join(root, 'refs');
      fs.mkdirSync(refs);
      fs.symlinkSync(path.join(CSV, 'pt_170'), path.join(refs, 'pt_170'));
      await runInference(withRef, { inputDir: refs, outputDir: path.join(root, 'pred'), npz: false });
      const rows = fs
        .readFileSync(path.join(root, 'pred', 'pt_170.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      const fromCsv = new Float32Array(refined.length);
      for (const r of rows) {
        const [i, v] = r.split(',');
        fromCsv[Number(i)] = Number(v);
      }
      let csvDiff = 0;
      for (let i = 0; i < refined.length; i++) csvDiff = Math.max(csvDiff, Math.abs(fromCsv[i] - refined[i]));
      assert.ok(csvDiff < 1e-3, `CSV vs refined differ by ${csvDiff}`);
      for (const m of [plain, withRef]) m.dispose();
      // a shipped folder with its own refiner/ serves as refine-train's coarse model (its 64³ stage alone)
      const cascade = await trainRefiner(
        refinerTrainOptions({
          dataDir: NPZ_TRAIN,
          valDir: NPZ_VAL,
          runsDir: root,
          expName: 'cascade',
          coarseModel: dir,
          steps: 1,
          patch: 16,
          baseChannels: 2,
          levels: 2,
          trainLimit: 1,
          valLimit: 1,
          warmupSteps: 1,
          quiet: true,
        }),
      );
      const v = cascade.history[cascade.history.length - 1];
      assert.ok(Number.isFinite(v.val_coarse_dose_score) && Number.isFinite(v.val_dose_score));
      // its checkpoints predict as a cascade over the coarse model's 64³ stage
      const casc = loadBundle(cascade.bestCheckpoint!);
      assert.match(casc.predictor.describe(), /^cascade\(resampled/);
      casc.predictor.dispose();
      // a refiner folder that is not one is refused with the file and what was expected
      const wrong = createModel({ inChannels: 5, baseChannels: 2, levels: 2 }, { seed: 1 });
      await saveCheckpoint(path.join(dir, 'refiner'), { model: wrong, input: null, meta: {} });
      wrong.dispose();
      assert.throws(() => loadBundle(dir), /openkbp_refiner/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  'refine-train: learns on patches, validates before/after, and resumes exactly after a stop',
  { skip: !available },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-refine-train-'));
    try {
      const base = {
        dataDir: NPZ_TRAIN,
        valDir: NPZ_VAL,
        steps: 3,
        patch: 16,
        baseChannels: 2,
        levels: 2,
        trainLimit: 2,
        valLimit: 1,
        warmupSteps: 1,
        quiet: true,
      };
      const a = await trainRefiner(refinerTrainOptions({ ...base, runsDir: root, expName: 'a' }));
      assert.equal(a.stoppedBy, 'max_epochs');
      const va = a.history[a.history.length - 1];
      assert.ok(Number.isFinite(va.val_dose_score) && Number.isFinite(va.val_coarse_dose_score));
      assert.ok(fs.existsSync(path.join(root, 'a', 'validation.json')));
      const b1 = await trainRefiner(refinerTrainOptions({ ...base, runsDir: root, expName: 'b', maxMinutes: 0 }));
      assert.equal(b1.stoppedBy, 'time_limit');
      assert.ok(b1.bestCheckpoint, 'a run stopped by the time limit is validated and has a best checkpoint');
      const b2 = await trainRefiner(refinerTrainOptions({ ...base, runsDir: root, expName: 'b', resume: true }));
      assert.equal(b2.stoppedBy, 'max_epochs');
      // training moved the zero output layer, and the resumed run ends where the uninterrupted one does
      const wa = loadCheckpoint(a.lastCheckpoint);
      const outW = wa.model.params.get('out_conv.weight')!.dataSync();
      assert.ok(
        outW.some((v) => v !== 0),
        'the output layer learned',
      );
      wa.model.dispose();
      const maxDiff = maxWeightDiff(a.lastCheckpoint, b2.lastCheckpoint);
      assert.ok(maxDiff < 1e-5, `weights after resume differ by ${maxDiff}`);
      await assert.rejects(
        trainRefiner(refinerTrainOptions({ ...base, runsDir: root, expName: 'a' })),
        /already has checkpoints/,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
