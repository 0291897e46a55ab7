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
import { AdamW, clipGradNorm, cosineLr } from '../../lib/train/adamw';
import { makeSplitFor } from '../../lib/data/split_lock';
import { tf } from '../../lib/engine';
import { phantomCase } from './phantom';

function cohort(n: number) {
  return Array.from({ length: n }, (_, i) =>
    phantomCase({
      id: `case_${String(i).padStart(2, '0')}`,
      shape: [16, 16, 12],
      shift: [(i % 3) - 1, ((i * 2) % 3) - 1, 0],
      radius: 3 + (i % 2),
      rxGy: i % 4 === 3 ? 60 : 70,
    }),
  );
}

const tiny = {
  patchSize: 16,
  baseChannels: 4,
  levels: 3,
  batchSize: 2,
  patchesPerVolume: 1,
  valEvery: 1,
  patience: 10,
  quiet: true,
  lr: 1e-3,
};

test('AdamW: hand-computed first step with decoupled decay; clipping; cosine schedule', async () => {
  await initEngine({ quiet: true });
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = new AdamW([{ params: new Map([['p', p]]), weightDecay: 0.1 }]);
  opt.apply(new Map([['p', tf.tensor1d([0.5, -0.25])]]), 0.01);
  // step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) = ±lr; decay p·(1 − lr·wd)
  const v = p.dataSync();
  assert.ok(Math.abs(v[0] - (1 * (1 - 0.001) - 0.01)) < 1e-6);
  assert.ok(Math.abs(v[1] - (-2 * (1 - 0.001) + 0.01)) < 1e-6);
  const g = new Map([['a', tf.tensor1d([3, 4])]]);
  assert.equal(clipGradNorm(g, 1), 5);
  const c = g.get('a')!.dataSync();
  assert.ok(Math.abs(c[0] - 0.6) < 1e-5 && Math.abs(c[1] - 0.8) < 1e-5);
  assert.equal(cosineLr(0, 1e-4, 10), 1e-4);
  assert.ok(Math.abs(cosineLr(10, 1e-4, 10) - 1e-6) < 1e-15);
  assert.ok(Math.abs(cosineLr(5, 1e-4, 10) - (1e-6 + (1e-4 - 1e-6) / 2)) < 1e-15);
  opt.dispose();
});

test('AdamW + clip_grad_norm_ follow the torch peer over 5 steps', async () => {
  await initEngine({ quiet: true });
  const peer = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'train', 'adamw_peer.json'), 'utf8'));
  const p = tf.variable(tf.tensor1d(peer.p0, 'float32'));
  const opt = new AdamW([{ params: new Map([['p', p]]), weightDecay: 0.01 }]);
  peer.grads.forEach((g: number[], k: number) => {
    const gm = new Map([['p', tf.tensor1d(g, 'float32')]]);
    clipGradNorm(gm, 1.0);
    opt.apply(gm, peer.lrs[k]);
    const got = p.dataSync();
    peer.trajectory[k].forEach((want: number, i: number) =>
      assert.ok(Math.abs(got[i] - want) < 2e-6, `step ${k} [${i}] ${got[i]} vs ${want}`),
    );
  });
  opt.dispose();
});

test('locked split: stratified by plan type and target-volume tertile, independent of the training seed', () => {
  const infos = Array.from({ length: 20 }, (_, i) => ({
    id: `c${String(i).padStart(2, '0')}`,
    planType: i < 10 ? 'sib_2level' : 'single_rx',
    targetVolumeCc: 50 + i,
    institution: null,
  }));
  const a = makeSplitFor(infos, { val: 0.1, test: 0.1, seed: 1 });
  assert.deepEqual(a, makeSplitFor([...infos].reverse(), { val: 0.1, test: 0.1, seed: 1 }));
  assert.equal(a.test.length, 2);
  assert.equal(a.val.length, 2);
  assert.equal(a.train.length, 16);
  assert.equal(a.test.filter((id) => Number(id.slice(1)) < 10).length, 1, 'one test case per plan type');
  assert.deepEqual(a.strata_keys, ['plan_type', 'target_volume_tertile']);
});

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

test('a checkpoint folder replaced while the process dies is recovered (no window without checkpoints/last)', async () => {
  const { withAtomicDir, recoverAtomicDir } = await import('../../lib/core/atomic');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-atomic-dir-'));
  const target = path.join(root, 'last');
  await withAtomicDir(target, async (tmp) => fs.writeFileSync(path.join(tmp, 'v'), '1'));
  await withAtomicDir(target, async (tmp) => fs.writeFileSync(path.join(tmp, 'v'), '2'));
  assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  assert.deepEqual(fs.readdirSync(root), ['last'], 'no temporary or previous folder left behind');
  // the state between the two renames of a replacement: the previous version beside a missing target
  fs.renameSync(target, path.join(root, '.last.previous'));
  assert.equal(recoverAtomicDir(target), true);
  assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  // a failing fill leaves the old folder in place
  await assert.rejects(
    withAtomicDir(target, async () => {
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  assert.deepEqual(fs.readdirSync(root), ['last']);
  fs.rmSync(root, { recursive: true, force: true });
});
