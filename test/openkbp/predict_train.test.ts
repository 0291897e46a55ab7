import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine, tf } from '../../lib/engine';
import { createModel } from '../../lib/models';
import { saveCheckpoint } from '../../lib/models/checkpoint';
import { loadCase } from '../../lib/data/load';
import { OPENKBP_IN_CHANNELS, openKbpRecipe } from '../../lib/inputs/openkbp64';
import { loadBundle } from '../../lib/infer/bundle';
import { runInference } from '../../lib/infer/run_inference';
import { trainOpenKbp, openKbpTrainOptions } from '../../lib/openkbp/train_task';
import { scoringReference } from '../../lib/openkbp/floor';
import { scoreOpenKbpPatient } from '../../lib/eval/openkbp_score';
import { scoreOpenKbpDirs } from '../../lib/eval/openkbp_score_dirs';
import { maxWeightDiff } from './helpers';

const ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp');
const CSV = path.join(ROOT, 'csv', 'train-pats');
const NPZ_TRAIN = path.join(ROOT, 'npz', 'train');
const NPZ_VAL = path.join(ROOT, 'npz', 'validation');
const available = fs.existsSync(CSV);
const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');

/** a tiny untrained OpenKBP model whose output is shifted positive so the CSVs are not empty */
async function tinyModelDir(root: string): Promise<string> {
  await initEngine({ quiet: true });
  const model = createModel({ inChannels: OPENKBP_IN_CHANNELS, baseChannels: 2, levels: 2 }, { seed: 3 });
  const b = model.params.get('out_conv.bias')!;
  b.assign(tf.fill(b.shape, 0.5));
  const dir = path.join(root, 'model');
  await saveCheckpoint(dir, { model, input: null, meta: { openkbp: openKbpRecipe() } });
  model.dispose();
  return dir;
}

function linkPatients(root: string, ids: string[]): string {
  const dir = path.join(root, 'refs');
  fs.mkdirSync(dir, { recursive: true });
  for (const id of ids) fs.cpSync(path.join(CSV, id), path.join(dir, id), { recursive: true });
  return dir;
}

test(
  'openkbp predict writes official CSVs (sorted rows, values > 0, inside the mask) that openkbp score accepts',
  { skip: !available },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-pred-'));
    try {
      const modelDir = await tinyModelDir(root);
      const refs = linkPatients(root, ['pt_143', 'pt_170']);
      const out = path.join(root, 'pred');
      const m = loadBundle(modelDir).predictor;
      const r = await runInference(m, { inputDir: refs, outputDir: out, npz: false, requireOpenKbp: true });
      assert.deepEqual(
        r.predictions.map((f) => f.id),
        ['pt_143', 'pt_170'],
      );
      const per: Record<string, number> = {};
      for (const id of ['pt_143', 'pt_170']) {
        const c = await loadCase(path.join(refs, id));
        const expected = m.predictGy(c);
        const lines = fs.readFileSync(path.join(out, `${id}.csv`), 'utf8').split('\n');
        assert.equal(lines[0], ',data');
        assert.equal(lines[lines.length - 1], '', 'trailing newline');
        const rows = lines.slice(1, -1);
        let prev = -1;
        let nPos = 0;
        for (let i = 0; i < expected.length; i++) if (expected[i] > 0) nPos++;
        assert.ok(nPos > 1000, `${id}: the test model predicts positive dose (${nPos} voxels)`);
        assert.equal(rows.length, nPos);
        for (const row of rows) {
          const [si, sv] = row.split(',');
          const idx = Number(si);
          const v = Number(sv);
          assert.ok(idx > prev, 'rows sorted by index');
          prev = idx;
          assert.ok(v > 0 && Number.isFinite(v));
          assert.equal(c.possibleDoseMask![idx], 1, `${id}: row ${idx} outside the possible-dose mask`);
          // same values as an in-process prediction (multi-threaded kernels may differ in the last bits)
          assert.ok(
            Math.abs(Math.fround(v) - expected[idx]) <= 1e-5 * Math.max(1, expected[idx]),
            `${id}: ${v} vs ${expected[idx]}`,
          );
        }
        per[id] = scoreOpenKbpPatient(scoringReference(c), expected).dose_error;
      }
      m.dispose();
      const s = await scoreOpenKbpDirs(refs, out, { quiet: true });
      assert.equal(s.n_patients, 2);
      for (const id of Object.keys(per)) assert.ok(Math.abs(s.per_patient[id].dose_error - per[id]) < 1e-6);
      // the CLI: predict one patient and score it
      const refs1 = path.join(root, 'refs1');
      fs.mkdirSync(refs1);
      fs.cpSync(path.join(CSV, 'pt_143'), path.join(refs1, 'pt_143'), { recursive: true });
      const out1 = path.join(root, 'pred1');
      const p = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'predict', '--model', modelDir, '--input-dir', refs1, '--out', out1, '--json'],
        { encoding: 'utf8' },
      );
      assert.equal(p.status, 0, p.stderr);
      assert.equal((JSON.parse(p.stdout) as { n_patients: number }).n_patients, 1);
      const sc = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'score', '--ref-dir', refs1, '--pred-dir', out1, '--json'],
        { encoding: 'utf8' },
      );
      assert.equal(sc.status, 0, sc.stderr);
      assert.ok(Math.abs((JSON.parse(sc.stdout) as { dose_score: number }).dose_score - per.pt_143) < 1e-6);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  'a checkpoint without an input recipe or manifest is refused, naming the folder',
  { skip: !available },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-bad-'));
    try {
      await initEngine({ quiet: true });
      const model = createModel({ inChannels: 9, baseChannels: 2, levels: 2 }, { seed: 1 });
      await saveCheckpoint(path.join(root, 'm'), { model, input: null });
      model.dispose();
      assert.throws(
        () => loadBundle(path.join(root, 'm')),
        (e: Error) => e.message.includes(path.join(root, 'm')) && /input recipe/.test(e.message),
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  'an ensemble folder (members/) predicts the mean of its models; a member with another recipe is refused',
  { skip: !available },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-ens-'));
    try {
      await initEngine({ quiet: true });
      const save = async (dir: string, seed: number, bias: number, recipe = openKbpRecipe()) => {
        const model = createModel({ inChannels: OPENKBP_IN_CHANNELS, baseChannels: 2, levels: 2 }, { seed });
        const b = model.params.get('out_conv.bias')!;
        b.assign(tf.fill(b.shape, bias));
        await saveCheckpoint(dir, { model, input: null, meta: { openkbp: recipe } });
        model.dispose();
      };
      const a = path.join(root, 'a');
      const b = path.join(root, 'b');
      await save(a, 3, 0.5);
      await save(b, 4, 0.2);
      const ens = path.join(root, 'ens');
      fs.cpSync(a, ens, { recursive: true });
      fs.cpSync(b, path.join(ens, 'members', 'm1'), { recursive: true });
      const c = await loadCase(path.join(CSV, 'pt_170'));
      for (const tta of [false, true]) {
        const [ma, mb, me] = [a, b, ens].map((d) => loadBundle(d, { tta }));
        assert.match(me.predictor.describe(), /ensemble/);
        const ga = ma.predictor.predictGy(c);
        const gb = mb.predictor.predictGy(c);
        const ge = me.predictor.predictGy(c);
        for (const m of [ma, mb, me]) m.predictor.dispose();
        // the up-sampling is linear with fixed weights, so the mean at 64³ is the mean at 128³
        let diff = 0;
        let spread = 0;
        for (let i = 0; i < ge.length; i++) {
          diff = Math.max(diff, Math.abs(ge[i] - 0.5 * (ga[i] + gb[i])));
          spread = Math.max(spread, Math.abs(ga[i] - gb[i]));
        }
        assert.ok(spread > 1, `the two models differ (${spread} Gy)`);
        assert.ok(diff < 1e-4, `tta ${tta}: ensemble vs mean of members differ by ${diff} Gy`);
      }
      // a member prepared differently (another dose scale) cannot be averaged: refused, naming the member folder
      await save(path.join(ens, 'members', 'm2'), 5, 0.2, { ...openKbpRecipe(), doseScaleGy: 80 });
      assert.throws(
        () => loadBundle(ens),
        (e: Error) => e.message.includes(path.join('members', 'm2')) && /doseScaleGy/.test(e.message),
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  'openkbp training resumes exactly: stopped by the time limit after 1 step, then resumed = uninterrupted',
  { skip: !available || !fs.existsSync(NPZ_TRAIN) },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-train-'));
    try {
      const base = {
        dataDir: NPZ_TRAIN,
        valDir: NPZ_VAL,
        runsDir: root,
        epochs: 2,
        trainLimit: 2,
        valLimit: 1,
        baseChannels: 2,
        levels: 2,
        warmupSteps: 2,
        quiet: true,
      };
      const a = await trainOpenKbp(openKbpTrainOptions({ ...base, expName: 'a' }));
      assert.equal(a.stoppedBy, 'max_epochs');
      assert.equal(a.history.length, 2);
      const b1 = await trainOpenKbp(openKbpTrainOptions({ ...base, expName: 'b', maxMinutes: 0 }));
      assert.equal(b1.stoppedBy, 'time_limit');
      assert.ok(b1.bestCheckpoint, 'a time-limited run still has a best checkpoint');
      const st = JSON.parse(fs.readFileSync(path.join(b1.lastCheckpoint, 'state.json'), 'utf8')) as {
        globalStep: number;
        stepInEpoch: number;
      };
      assert.deepEqual([st.globalStep, st.stepInEpoch], [1, 1]);
      const b2 = await trainOpenKbp(openKbpTrainOptions({ ...base, expName: 'b', resume: true }));
      assert.equal(b2.stoppedBy, 'max_epochs');
      const maxDiff = maxWeightDiff(a.lastCheckpoint, b2.lastCheckpoint);
      assert.ok(maxDiff < 1e-5, `weights after resume differ by ${maxDiff}`);
      const la = a.history[a.history.length - 1];
      const lb = b2.history[b2.history.length - 1];
      assert.ok(
        Math.abs((la.val_dose_score as number) - (lb.val_dose_score as number)) < 1e-4,
        `${la.val_dose_score} vs ${lb.val_dose_score}`,
      );
      // resuming with another architecture is refused
      await assert.rejects(
        trainOpenKbp(openKbpTrainOptions({ ...base, expName: 'b', resume: true, baseChannels: 4 })),
        /base_channels|shape/,
      );
      // fine-tuning starts from the given weights: with a vanishing learning rate one step leaves them as they were
      const c = await trainOpenKbp(
        openKbpTrainOptions({ ...base, expName: 'c', initFrom: a.lastCheckpoint, lr: 1e-12, maxMinutes: 0 }),
      );
      const initDiff = maxWeightDiff(a.lastCheckpoint, c.lastCheckpoint);
      assert.ok(initDiff < 1e-6, `fine-tuned weights moved by ${initDiff} at lr 1e-12`);
      const cfgC = JSON.parse(fs.readFileSync(path.join(c.runDir, 'training_config.json'), 'utf8')) as {
        training: { init_from: string };
      };
      assert.equal(cfgC.training.init_from, path.resolve(a.lastCheckpoint));
      await assert.rejects(
        trainOpenKbp(openKbpTrainOptions({ ...base, expName: 'd', initFrom: a.lastCheckpoint, baseChannels: 4 })),
        /model config/,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
