import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../lib/engine';
import { modelConfig } from '../../lib/models/config';
import type { DoseModel } from '../../lib/models';
import { predictVolume as predictWithNet, windowStarts, gaussianWeights1d } from '../../lib/infer/sliding_window';
import { mirroredNet, networkNet } from '../../lib/infer/volume_net';
import { prepareCase, inputRecipeFor, lrChannelPairs } from '../../lib/inputs/case_inputs';
import { phantomCase } from '../prostate/phantom';

/** a "model" returning one input channel, optionally transformed */
function channelModel(ch: number, levels = 3, f?: (t: tf.Tensor5D) => tf.Tensor5D): DoseModel {
  const config = modelConfig({ inChannels: 9, baseChannels: 4, levels });
  return {
    config,
    className: 'Identity',
    params: new Map(),
    apply: (x) => {
      const [b, y, xx, z] = x.shape;
      const s = tf.slice(x, [0, 0, 0, 0, ch], [b, y, xx, z, 1]) as tf.Tensor5D;
      return f ? f(s) : s;
    },
    numParameters: () => 0,
    dispose: () => {},
  };
}

/** the sliding window over a model, optionally mirrored (L/R TTA, pairs as structure indices) */
function predictVolume(
  model: DoseModel,
  pc: Parameters<typeof predictWithNet>[1],
  o: { patchSize: number; overlap: number; tta?: boolean; lrPairs?: Array<[number, number]> },
): Float32Array {
  const net = networkNet(model);
  const pairs = (o.lrPairs ?? []).map(([a, b]) => [a + 1, b + 1] as [number, number]);
  return predictWithNet(o.tta ? mirroredNet(net, pairs) : net, pc, o);
}

test('window starts and Gaussian weights (spec 6.2 examples)', () => {
  assert.deepEqual(windowStarts(300, 128, 64), [0, 64, 128, 172]);
  assert.deepEqual(windowStarts(160, 128, 64), [0, 32]);
  assert.deepEqual(windowStarts(100, 128, 64), [0]);
  assert.deepEqual(windowStarts(128, 128, 64), [0]);
  const g = gaussianWeights1d(128);
  assert.ok(Math.abs(g[0] - g[127]) < 1e-12, 'symmetric');
  assert.ok(Math.abs(g[0] - Math.exp(-(63.5 ** 2) / (2 * 32 * 32))) < 1e-12);
  assert.ok(g[63] === g[64] && g[63] > 0.999);
});

test('identity model reproduces the input exactly, edges and padding included', async () => {
  await initEngine({ quiet: true });
  for (const [shape, P, overlap] of [
    [[20, 37, 9], 16, 8],
    [[33, 17, 21], 8, 4],
    [[5, 6, 7], 16, 8],
  ] as const) {
    const c = phantomCase({ shape: [...shape] as [number, number, number] });
    const pc = prepareCase(c, inputRecipeFor([c]));
    const out = predictVolume(channelModel(0, P === 8 ? 3 : 4), pc, { patchSize: P, overlap });
    assert.equal(out.length, pc.channels[0].length);
    for (let i = 0; i < out.length; i++) assert.equal(out[i], pc.channels[0][i], `${shape} voxel ${i}`);
  }
});

test('clamp to [0, 1.5] and test-time flip averaging (a flip-equivariant model is unchanged)', async () => {
  await initEngine({ quiet: true });
  const c = phantomCase({ shape: [16, 20, 12] });
  const recipe = inputRecipeFor([c]);
  const pc = prepareCase(c, recipe);
  const scaled = predictVolume(
    channelModel(0, 3, (t) => tf.sub(tf.mul(t, 4), 1.5) as tf.Tensor5D),
    pc,
    { patchSize: 16, overlap: 8 },
  );
  for (let i = 0; i < scaled.length; i++) {
    const v = Math.min(Math.max(pc.channels[0][i] * 4 - 1.5, 0), 1.5);
    assert.ok(Math.abs(scaled[i] - v) < 1e-6);
  }
  const plain = predictVolume(channelModel(0), pc, { patchSize: 16, overlap: 8 });
  const tta = predictVolume(channelModel(0), pc, {
    patchSize: 16,
    overlap: 8,
    tta: true,
    lrPairs: lrChannelPairs(recipe.structures),
  });
  for (let i = 0; i < plain.length; i++) assert.ok(Math.abs(plain[i] - tta[i]) < 1e-6);
  // a model that reads Femur_L only: under TTA the flipped input's Femur_L channel is the mirrored
  // Femur_R, and flipping the output back lands it on the same voxels → mean of both channels
  const femL = 1 + recipe.structures.indexOf('Femur_L');
  const femR = 1 + recipe.structures.indexOf('Femur_R');
  const a = predictVolume(
    channelModel(femL, 3, (t) => tf.relu(tf.neg(t)) as tf.Tensor5D),
    pc,
    { patchSize: 16, overlap: 8, tta: true, lrPairs: lrChannelPairs(recipe.structures) },
  );
  const [Y, X, Z] = pc.shape;
  let maxErr = 0;
  for (let y = 0; y < Y; y++)
    for (let x = 0; x < X; x++)
      for (let z = 0; z < Z; z++) {
        const i = (y * X + x) * Z + z;
        const want = 0.5 * (Math.max(0, -pc.channels[femL][i]) + Math.max(0, -pc.channels[femR][i]));
        maxErr = Math.max(maxErr, Math.abs(a[i] - want));
      }
  assert.ok(maxErr < 1e-6, `tta mirror error ${maxErr}`);
});
