/**
 * leanApply (lib/engine/lean_inference.ts): a forward run through it gives bit-identical output to
 * the plain tf.tidy forward and leaks no tensor (BaselineUNet3D, which frees its own intermediates
 * since the lean training pass), and a forward that frees nothing holds fewer bytes at its peak
 * through it; the plan traced on a 16³ input serves a 32³ one.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine, leanApply, conv3d, groupNormAct, maxPool3d2x, upsampleTrilinear2x } from '../../lib/engine';
import { createModel } from '../../lib/models';

before(async () => {
  await initEngine({ quiet: true });
});

/** runs fn and returns its result plus the engine's peak numBytes while it ran */
function peakBytes<T>(fn: () => T): { value: T; peak: number } {
  const engine = tf.engine() as unknown as { trackTensor: (a: unknown, b: unknown) => void };
  const orig = engine.trackTensor;
  let peak = tf.memory().numBytes;
  engine.trackTensor = function (this: unknown, a: unknown, b: unknown) {
    orig.call(this, a, b);
    peak = Math.max(peak, tf.memory().numBytes);
  };
  try {
    return { value: fn(), peak };
  } finally {
    engine.trackTensor = orig;
  }
}

test('leanApply: same output as tf.tidy, no leak (BaselineUNet3D, 32³ after a 16³ trace)', () => {
  const model = createModel({ baseChannels: 4, inChannels: 3, levels: 3 }, { seed: 3 });
  const x = tf.randomNormal([1, 32, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor5D;
  const c = tf.randomUniform([1, 13], 0, 1, 'float32', 2) as tf.Tensor2D;
  const plain = peakBytes(() => tf.tidy(() => model.apply(x, c)));
  const before = tf.memory().numTensors;
  const trace = () => [tf.zeros([1, 16, 16, 16, 3]), tf.zeros([1, 13])];
  const run = (xi: tf.Tensor, ci: tf.Tensor) => model.apply(xi as tf.Tensor5D, ci as tf.Tensor2D);
  leanApply(model, 'b1', run, [x, c], trace).dispose(); // first call traces
  assert.equal(tf.memory().numTensors, before, 'the trace leaks no tensor');
  const lean = peakBytes(() => leanApply(model, 'b1', run, [x, c], trace));
  assert.equal(tf.memory().numTensors, before + 1, 'only the result survives');
  const a = plain.value.dataSync();
  const b = lean.value.dataSync();
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `voxel ${i}: ${a[i]} vs ${b[i]}`);
  assert.ok(lean.peak <= 1.1 * plain.peak, `peak ${lean.peak} bytes vs ${plain.peak} with tf.tidy`);
  tf.dispose([plain.value, lean.value, x, c]);
  model.dispose();
});

test('leanApply: a forward that frees nothing holds fewer bytes at its peak', () => {
  const w1 = tf.randomNormal([3, 3, 3, 3, 8], 0, 0.2, 'float32', 4) as tf.Tensor5D;
  const w2 = tf.randomNormal([3, 3, 3, 16, 8], 0, 0.2, 'float32', 5) as tf.Tensor5D;
  const g = tf.ones([8]) as tf.Tensor1D;
  const b = tf.zeros([8]) as tf.Tensor1D;
  const key = {};
  // conv-GN-ReLU, pool, up, concat, conv: every intermediate left to the tidy
  const holding = (xi: tf.Tensor) => {
    const a = groupNormAct(conv3d(xi as tf.Tensor5D, w1), g, b, 4, 'relu');
    const u = upsampleTrilinear2x(maxPool3d2x(a));
    const h = groupNormAct(conv3d(tf.concat([u, a], 4) as tf.Tensor5D, w2), g, b, 4, 'relu');
    return tf.sum(h, 4);
  };
  const x = tf.randomNormal([1, 32, 32, 32, 3], 0, 1, 'float32', 6);
  const plain = peakBytes(() => tf.tidy(() => holding(x)));
  const trace = () => [tf.zeros([1, 8, 8, 8, 3])];
  leanApply(key, 'b1', holding, [x], trace).dispose();
  const lean = peakBytes(() => leanApply(key, 'b1', holding, [x], trace));
  const d = plain.value.dataSync().findIndex((v, i) => !Object.is(v, lean.value.dataSync()[i]));
  assert.equal(d, -1, 'same output');
  assert.ok(lean.peak < 0.7 * plain.peak, `peak ${lean.peak} bytes vs ${plain.peak} with tf.tidy`);
  tf.dispose([plain.value, lean.value, x, w1, w2, g, b]);
});
