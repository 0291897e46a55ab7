/** The training engine (lib/train/engine.ts): a stop request saves a resumable checkpoint; every checkpoint is a bundle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { initEngine } from '../../lib/engine';
import { train } from '../../lib/prostate/train_task';
import { TrainingInterrupted } from '../../lib/train/signals';
import { trainOptions } from '../../lib/prostate/options';
import { loadCheckpoint } from '../../lib/models/checkpoint';
import { phantomCohort as cohort, TINY_TRAINING as tiny } from '../prostate/phantom';

test('a stop request inside an epoch saves a resumable checkpoint (exit code 75); the resumed run equals an uninterrupted one', async () => {
  await initEngine({ quiet: true });
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-train-stop-'));
  const cases = cohort(6);
  const base = { ...tiny, cases, dataDir: null, runsDir: runs, epochs: 2, seed: 9, valSplit: 0.2, testSplit: 0.2 };
  const a = await train(trainOptions({ ...base, expName: 'straight' }));
  // 4 training cases × 1 patch / batch 2 = 2 steps per epoch: stop after step 3 = inside epoch 2
  await assert.rejects(
    train(trainOptions({ ...base, expName: 'stopped', stopAfterSteps: 3 })),
    (e: unknown) => e instanceof TrainingInterrupted && e.exitCode === 75 && /--resume/.test(e.message),
  );
  const state = JSON.parse(fs.readFileSync(path.join(runs, 'stopped', 'checkpoints', 'last', 'state.json'), 'utf8'));
  assert.deepEqual([state.epoch, state.stepInEpoch, state.globalStep], [1, 1, 3]);
  assert.ok(!fs.existsSync(path.join(runs, 'stopped', 'training_summary.json')), 'no summary for an interrupted run');
  const b = await train(trainOptions({ ...base, expName: 'stopped', resume: true }));
  assert.equal(b.stoppedBy, 'max_epochs');
  const la = loadCheckpoint(a.lastCheckpoint);
  const lb = loadCheckpoint(b.lastCheckpoint);
  for (const [k, v] of la.model.params)
    assert.deepEqual(Array.from(lb.model.params.get(k)!.dataSync()), Array.from(v.dataSync()), k);
  assert.deepEqual(
    b.history.map((r) => [r.train_loss, r.val_mae_gy, r.val_gamma]),
    a.history.map((r) => [r.train_loss, r.val_mae_gy, r.val_gamma]),
  );
  [la.model, lb.model].forEach((m) => m.dispose());
  // every checkpoint is a model bundle that predicts like the sliding window of its weights
  const { loadBundle } = await import('../../lib/infer/bundle');
  const bundle = loadBundle(b.bestCheckpoint!);
  assert.match(bundle.predictor.describe(), /^sliding_window\(network/);
  const gy = bundle.predictor.predictGy(cases[0]);
  assert.equal(gy.length, 16 * 16 * 12);
  bundle.predictor.dispose();
  fs.rmSync(runs, { recursive: true, force: true });
});
