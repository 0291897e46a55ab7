/**
 * A tiny U-Net (the train-step bench model) trained with Adam: the tensor count is stable
 * across steps on every path, and the native path trains to the same parameters as the
 * reference path (3 Adam steps from identical weights).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, setOps, referenceOps, initEngine, resetEngine, type EngineOps } from '../../lib/engine';
import { buildUNetParams, unetForward, type UNetSpec } from '../../bench/train_step';
import { fastOpSets, relErr } from './helpers';
import { installFastCpuKernels, uninstallFastCpuKernels } from '../../lib/engine/cpu_kernels';

const spec: UNetSpec = { inChannels: 3, base: 4, levels: 3, act: 'silu' };

before(async () => {
  await tf.setBackend('cpu');
});

/** Trains `steps` Adam steps; returns tensor counts after each step and the final parameters. */
function train(ops: EngineOps, steps: number): { counts: number[]; params: Float32Array[]; losses: number[] } {
  setOps(ops);
  const p = buildUNetParams(spec);
  const x = tf.randomNormal([2, 8, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor5D;
  const y = tf.randomNormal([2, 8, 8, 8, 1], 0, 1, 'float32', 6) as tf.Tensor5D;
  const opt = tf.train.adam(1e-2);
  const counts: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(() => tf.mean(tf.squaredDifference(unetForward(p, spec, x), y)) as tf.Scalar, true, [
      ...p.values(),
    ]);
    losses.push(loss!.dataSync()[0]);
    loss!.dispose();
    counts.push(tf.memory().numTensors);
  }
  const params = [...p.values()].map((v) => Float32Array.from(v.dataSync()));
  tf.dispose([x, y, ...p.values()]);
  opt.dispose();
  setOps(referenceOps);
  return { counts, params, losses };
}

test('reference path: tensor count stable over 4 Adam steps', () => {
  const { counts } = train(referenceOps, 4);
  assert.equal(counts[3], counts[1], `tensor counts per step: ${counts}`);
});

for (const set of fastOpSets()) {
  test(
    `${set.name} path: tensor count stable, and same parameters as the reference after 3 steps`,
    { skip: set.skip },
    async () => {
      const ref = train(referenceOps, 3);
      installFastCpuKernels();
      try {
        const fast = train(set.ops!, 4);
        assert.equal(fast.counts[3], fast.counts[1], `tensor counts per step: ${fast.counts}`);
        const again = train(set.ops!, 3);
        assert.ok(
          Math.abs(again.losses[2] - ref.losses[2]) / ref.losses[2] < 1e-4,
          `loss ${again.losses} vs ${ref.losses}`,
        );
        again.params.forEach((v, i) =>
          assert.ok(relErr(v, ref.params[i]) < 1e-4, `param ${i}: rel err ${relErr(v, ref.params[i])}`),
        );
      } finally {
        uninstallFastCpuKernels();
      }
    },
  );
}

test('initEngine(native) then a training step leaves no tensors behind', { skip: fastOpSets()[0].skip }, async () => {
  resetEngine();
  const info = await initEngine({ backend: 'native', quiet: true, threads: 1 });
  assert.equal(info.opsPath, 'native');
  const p = buildUNetParams(spec);
  const x = tf.randomNormal([1, 8, 8, 8, 3]) as tf.Tensor5D;
  const opt = tf.train.adam(1e-3);
  const step = () =>
    opt.minimize(() => tf.mean(tf.square(unetForward(p, spec, x))) as tf.Scalar, true, [...p.values()])?.dispose();
  step();
  const before = tf.memory().numTensors;
  step();
  step();
  assert.equal(tf.memory().numTensors, before);
  resetEngine();
});
