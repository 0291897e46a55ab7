/**
 * Model bundles: the manifest is validated on read (errors name the file and key), the shipped
 * OpenKBP model's manifest.json says the same as the reader of its pre-bundle layout, overrides
 * switch test-time augmentation, and state files of the trainers before the engine still resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  applyOverrides,
  legacyManifest,
  parseManifest,
  predictorFeatures,
  readManifest,
  type PredictorSpec,
} from '../../lib/infer/bundle';
import { parseRunState, runStateFromLegacy } from '../../lib/train/run_state';

const SHIPPED = path.join(__dirname, '..', '..', 'models', 'openkbp-64-b16');

test('the shipped OpenKBP bundle: manifest.json = the legacy layout reader (ensemble, TTA, phases, refiner)', () => {
  const m = readManifest(SHIPPED);
  const legacy = legacyManifest(SHIPPED);
  assert.deepEqual(m.predictor, legacy.predictor);
  assert.equal(m.predictor.kind, 'cascade');
  assert.deepEqual(predictorFeatures(m.predictor), { tta: true, phaseTta: true });
  // a copy without manifest.json (the layout as shipped before bundles) is read the same way
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-legacy-'));
  try {
    fs.cpSync(SHIPPED, dir, { recursive: true, filter: (src) => !src.endsWith('weights.bin') });
    fs.rmSync(path.join(dir, 'manifest.json'));
    assert.deepEqual(readManifest(dir).predictor, m.predictor);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('overrides: tta off removes every mirror, on mirrors every network; phase TTA added or removed', () => {
  const p = readManifest(SHIPPED).predictor;
  const off = applyOverrides(p, { tta: false, phaseTta: false });
  assert.deepEqual(predictorFeatures(off), { tta: false, phaseTta: false });
  assert.ok(!JSON.stringify(off).includes('mirrored'));
  const on = applyOverrides(off, { tta: true, phaseTta: true });
  assert.deepEqual(on, p, 'switching both back on restores the shipped composition');
  const sw: PredictorSpec = {
    kind: 'sliding_window',
    net: { kind: 'network', checkpoint: '.' },
    input: {
      profile: 'prostate-v2.3',
      ct: 'clip(HU,-1000,3000)/4000+0.5',
      structures: ['PTV70'],
      sdfClipMm: 50,
      absentSdfValue: 1,
      constraintDim: 13,
    },
    patch_size: 64,
    overlap: 32,
  };
  const changed = applyOverrides(sw, { patchSize: 32, tta: true });
  assert.equal(changed.kind === 'sliding_window' && changed.patch_size, 32);
  assert.equal(changed.kind === 'sliding_window' && changed.overlap, 16, 'overlap follows a new patch size');
  assert.equal(changed.kind === 'sliding_window' && changed.net.kind, 'mirrored');
});

test('a malformed manifest is a DataError naming the file and the key', () => {
  const good = readManifest(SHIPPED);
  assert.throws(
    () =>
      parseManifest({ ...good, predictor: { kind: 'resampled', net: { kind: 'netwrk', checkpoint: '.' } } }, 'm.json'),
    (e: Error) => e.message.startsWith('m.json [predictor') && /vmat-model-bundle/.test(e.message),
  );
  assert.throws(() => parseManifest({ ...good, version: 2 }, 'm.json'), /\[version\]/);
  assert.throws(() => readManifest(path.join(os.tmpdir(), 'no-such-model-folder')), /no such folder/);
});

test('run states of the three trainers before the engine resume (converted, typed)', () => {
  const rng = { c: 1, s0: 0.1, s1: 0.2, s2: 0.3 };
  const prostate = runStateFromLegacy(
    {
      epoch: 4,
      globalStep: 50,
      rng,
      bestValue: 2.5,
      bestEpoch: 3,
      bestCheckpoint: 'best-epoch=003-val_mae_gy=2.500',
      checksWithoutImprovement: 1,
      history: [{ epoch: 0, lr: 1e-3, seconds: 2, train_loss: 1 }],
      elapsedSeconds: 100,
    },
    'state.json',
  );
  assert.deepEqual([prostate.epoch, prostate.stepInEpoch, prostate.globalStep], [5, 0, 50]);
  assert.equal(prostate.best?.checkpoint, 'best-epoch=003-val_mae_gy=2.500');
  const kbp = runStateFromLegacy(
    {
      epoch: 2,
      stepInEpoch: 7,
      order: ['pt_1', 'pt_2'],
      globalStep: 345,
      rng,
      lossSum: 3,
      lossN: 7,
      best: { dose_score: 3.1, dvh_score: 2.4, epoch: 1, global_step: 300 },
      history: [],
      elapsedSeconds: 600,
      finished: false,
    },
    'state.json',
  );
  assert.deepEqual([kbp.epoch, kbp.stepInEpoch, kbp.order.length, kbp.samples], [2, 7, 2, 7]);
  assert.equal(kbp.best?.value, 3.1);
  const refiner = runStateFromLegacy({ step: 120, rng, lossSum: 1, lossN: 120, elapsedSeconds: 60 }, 'state.json');
  assert.deepEqual([refiner.epoch, refiner.stepInEpoch, refiner.globalStep], [0, 120, 120]);
  // the engine's own format round-trips and rejects a broken one naming the key
  assert.deepEqual(parseRunState({ format: 'vmat-run-state-1', ...kbp }, 'state.json'), kbp);
  assert.throws(
    () => parseRunState({ format: 'vmat-run-state-1', ...kbp, epoch: -1 }, 'state.json'),
    /state\.json \[epoch\]/,
  );
  assert.throws(() => runStateFromLegacy({ something: 1 }, 'state.json'), /state\.json \[rng\]/);
});
