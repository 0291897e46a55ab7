/** The prostate training task (lib/prostate/train_task.ts): exact resume after a kill, and the run records it writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { initEngine } from '../../lib/engine';
import { train } from '../../lib/prostate/train_task';
import { trainOptions } from '../../lib/prostate/options';
import { loadCheckpoint } from '../../lib/models/checkpoint';
import { phantomCohort as cohort, TINY_TRAINING as tiny } from './phantom';

test('resume after a kill reaches the same weights as an uninterrupted run (3 epochs vs 2 + 1)', async () => {
  await initEngine({ quiet: true });
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-train-'));
  const cases = cohort(6);
  const base = { ...tiny, cases, dataDir: null, runsDir: runs, epochs: 3, seed: 5, valSplit: 0.2, testSplit: 0.2 };
  const a = await train(trainOptions({ ...base, expName: 'straight' }));
  const b1 = await train(trainOptions({ ...base, expName: 'killed', stopAfterEpoch: 1 }));
  assert.equal(b1.stoppedBy, 'stop_after_epoch');
  assert.equal(b1.history.length, 2);
  const b2 = await train(trainOptions({ ...base, expName: 'killed', resume: true }));
  assert.equal(b2.history.length, 3);
  const la = loadCheckpoint(a.lastCheckpoint);
  const lb = loadCheckpoint(b2.lastCheckpoint);
  for (const [k, v] of la.model.params)
    assert.deepEqual(Array.from(lb.model.params.get(k)!.dataSync()), Array.from(v.dataSync()), k);
  assert.equal(la.optimizer!.step, lb.optimizer!.step);
  for (let e = 0; e < 3; e++) {
    assert.equal(a.history[e].train_loss, b2.history[e].train_loss, `epoch ${e} train loss`);
    assert.equal(a.history[e].val_mae_gy, b2.history[e].val_mae_gy, `epoch ${e} val MAE`);
  }
  // run records
  const dir = path.join(runs, 'straight');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'training_config.json'), 'utf8'));
  assert.equal(cfg.training.seed, 5);
  assert.equal(cfg.training.patch_size, 16);
  assert.equal(cfg.hparams.in_channels, 9);
  assert.ok(cfg.environment.engine.backend);
  const csv = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 4);
  assert.equal(
    csv[0],
    'epoch,global_step,lr,seconds,elapsed_minutes,train_loss,train_mse,train_neg,val_loss,val_mae_gy,val_mae_gy_ptv70,' +
      'val_d95_gap_gy,val_pred_d95_gy,val_target_d95_gy,val_underdose_pct,val_gamma,val_gamma_ptv,val_seconds',
  );
  const row = csv[1].split(',');
  const header = csv[0].split(',');
  for (const col of ['val_loss', 'val_gamma', 'val_gamma_ptv', 'val_pred_d95_gy', 'val_underdose_pct'])
    assert.ok(Number.isFinite(Number(row[header.indexOf(col)])) && row[header.indexOf(col)] !== '', `${col} logged`);
  const ckpts = fs.readdirSync(path.join(dir, 'checkpoints')).sort();
  assert.equal(ckpts.length, 2);
  assert.match(ckpts[0], /^best-epoch=00\d-val_mae_gy=\d+\.\d{3}$/);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'training_summary.json'), 'utf8'));
  assert.equal(summary.epochs_completed, 3);
  const tc = JSON.parse(fs.readFileSync(path.join(dir, 'test_cases.json'), 'utf8'));
  // the same split for both runs (and any seed): locked by the split seed
  assert.deepEqual(
    tc.test_cases,
    JSON.parse(fs.readFileSync(path.join(runs, 'killed', 'test_cases.json'), 'utf8')).test_cases,
  );
  assert.equal(tc.test_cases.length, 1);
  // a rerun into an existing run folder without --resume is refused
  await assert.rejects(train(trainOptions({ ...base, expName: 'straight' })), /--resume/);
  [la.model, lb.model].forEach((m) => m.dispose());
  fs.rmSync(runs, { recursive: true, force: true });
});
