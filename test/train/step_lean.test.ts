/**
 * A whole training step through optimisationStep (lean backward pass, lib/engine/lean_grads.ts)
 * against the same step with tf.variableGrads (what optimisationStep did before): BaselineUNet3D
 * (FiLM, residuals, max pooling, up-sampling, skip concat) trained 3 AdamW steps with gradient
 * clipping from identical weights ends with bit-identical weights and losses, and the tensor count
 * is the same after every step (nothing leaks).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../lib/engine';
import { createModel } from '../../lib/models';
import { AdamW, clipGradNorm } from '../../lib/train/adamw';
import { optimisationStep, type StepInput } from '../../lib/train/step';

before(async () => {
  await initEngine({ quiet: true });
});

/** optimisationStep as it was before the lean backward pass (tf.variableGrads) */
function variableGradsStep(s: StepInput): number {
  const nameOfVar = new Map<string, string>();
  for (const [k, v] of s.trainable) nameOfVar.set(v.name, k);
  const { value, grads } = tf.variableGrads(s.loss, [...s.trainable.values()]);
  const g = new Map<string, tf.Tensor>();
  for (const [vn, t] of Object.entries(grads)) g.set(nameOfVar.get(vn) ?? vn, t);
  const loss = value.dataSync()[0];
  if (s.gradClip > 0) clipGradNorm(g, s.gradClip);
  s.optimizer.apply(g, s.lr);
  tf.dispose([value, ...g.values()]);
  return loss;
}

function train(step: (s: StepInput) => number): { weights: Float32Array[]; losses: number[]; counts: number[] } {
  const model = createModel({ baseChannels: 4, levels: 3, inChannels: 3 }, { seed: 7 });
  const x = tf.randomNormal([2, 16, 16, 8, 3], 0, 1, 'float32', 21) as tf.Tensor5D;
  const c = tf.randomUniform([2, 13], 0, 1, 'float32', 22) as tf.Tensor2D;
  const y = tf.randomUniform([2, 16, 16, 8, 1], 0, 1, 'float32', 23) as tf.Tensor5D;
  const optimizer = new AdamW([{ params: model.params, weightDecay: 1e-4 }]);
  const losses: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    losses.push(
      step({
        trainable: model.params,
        optimizer,
        lr: 1e-3,
        gradClip: 0.05, // small enough to clip: the clipping path is part of the step
        loss: () => tf.mean(tf.squaredDifference(model.apply(x, c), y)) as tf.Scalar,
        where: 'step_lean test',
      }),
    );
    counts.push(tf.memory().numTensors);
  }
  const weights = [...model.params.values()].map((v) => Float32Array.from(v.dataSync()));
  optimizer.dispose();
  model.dispose();
  tf.dispose([x, c, y]);
  return { weights, losses, counts };
}

test('optimisationStep: 3 steps give bit-identical weights to the tf.variableGrads step, nothing leaks', () => {
  const old = train(variableGradsStep);
  const lean = train(optimisationStep);
  assert.deepEqual(lean.losses, old.losses);
  assert.equal(lean.counts[2], lean.counts[0], `tensor counts after each step: ${lean.counts}`);
  assert.deepEqual(lean.counts, old.counts);
  lean.weights.forEach((w, i) => {
    const d = w.findIndex((v, k) => !Object.is(v, old.weights[i][k]));
    assert.equal(d, -1, `parameter ${i} differs at ${d}`);
  });
  assert.ok(old.weights.length > 20);
});
