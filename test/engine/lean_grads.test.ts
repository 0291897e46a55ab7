/**
 * The lean backward pass (lib/engine/lean_grads.ts), the recomputation of GroupNorm+activation
 * and concat outputs (lib/engine/ops_native.ts) and the buffer pool (lib/engine/buffer_pool.ts):
 * gradients bit-identical to tf.variableGrads, recomputed activations bit-identical to saved
 * ones, no tensor left behind, and a buffer handed to user code never recycled.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, setOps, referenceOps, initEngine, leanVariableGrads, type EngineOps } from '../../lib/engine';
import { buildUNetParams, unetForward, type UNetSpec } from '../../bench/train_step';
import { fastOpSets } from './helpers';
import { allocF32, bufferPoolStats, MIN_POOLED_ELEMENTS } from '../../lib/engine/buffer_pool';

const spec: UNetSpec = { inChannels: 3, base: 8, levels: 3, act: 'silu' };
const native = fastOpSets()[0];

before(async () => {
  await initEngine({ quiet: true });
});
after(() => {
  delete process.env.VMAT_RECOMPUTE_MB;
  setOps(referenceOps);
});

/** loss and every gradient of the bench U-Net on a 2 x 16³ batch, by `grads` */
function lossAndGrads(
  ops: EngineOps,
  grads: typeof leanVariableGrads,
): { loss: number; grads: Float32Array[]; leaked: number } {
  setOps(ops);
  const p = buildUNetParams(spec);
  const x = tf.randomNormal([2, 16, 16, 16, 3], 0, 1, 'float32', 11) as tf.Tensor5D;
  const y = tf.randomNormal([2, 16, 16, 16, 1], 0, 1, 'float32', 12) as tf.Tensor5D;
  const before = tf.memory().numTensors;
  const r = grads(() => tf.mean(tf.squaredDifference(unetForward(p, spec, x), y)) as tf.Scalar, [...p.values()]);
  const out = {
    loss: r.value.dataSync()[0],
    grads: [...p.values()].map((v) => Float32Array.from(r.grads[v.name].dataSync())),
  };
  tf.dispose([r.value, ...Object.values(r.grads)]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([x, y, ...p.values()]);
  return { ...out, leaked };
}

function assertBitEqual(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((g, i) => {
    const d = g.findIndex((v, k) => !Object.is(v, b[i][k]));
    assert.equal(d, -1, `${what}: gradient ${i} differs at ${d}: ${g[d]} vs ${b[i][d]}`);
  });
}

test('reference ops: leanVariableGrads equals tf.variableGrads bit for bit, nothing leaks', () => {
  const a = lossAndGrads(referenceOps, tf.variableGrads as typeof leanVariableGrads);
  const b = lossAndGrads(referenceOps, leanVariableGrads);
  assert.equal(b.loss, a.loss);
  assertBitEqual(b.grads, a.grads, 'lean vs variableGrads');
  assert.equal(b.leaked, 0);
});

test(
  'native ops: lean gradients, with and without recomputation, equal tf.variableGrads bit for bit',
  { skip: native.skip },
  () => {
    process.env.VMAT_RECOMPUTE_MB = '100000'; // never recompute
    const a = lossAndGrads(native.ops!, tf.variableGrads as typeof leanVariableGrads);
    const b = lossAndGrads(native.ops!, leanVariableGrads);
    process.env.VMAT_RECOMPUTE_MB = '0'; // recompute every GroupNorm+activation / concat input of a conv
    const c = lossAndGrads(native.ops!, leanVariableGrads);
    delete process.env.VMAT_RECOMPUTE_MB;
    assert.equal(b.loss, a.loss);
    assert.equal(c.loss, a.loss);
    assertBitEqual(b.grads, a.grads, 'lean');
    assertBitEqual(c.grads, a.grads, 'lean + recomputation');
    assert.equal(b.leaked, 0);
    assert.equal(c.leaked, 0);
    // and the native path still matches the reference semantics
    const ref = lossAndGrads(referenceOps, leanVariableGrads);
    assert.ok(Math.abs(c.loss - ref.loss) / ref.loss < 1e-5, `loss ${c.loss} vs reference ${ref.loss}`);
  },
);

test('leanVariableGrads: variables the loss does not use are left out; no variable at all is an error', () => {
  setOps(referenceOps);
  const a = tf.variable(tf.tensor1d([1, 2, 3]), true, `lean-a-${Math.random()}`);
  const b = tf.variable(tf.tensor1d([4]), true, `lean-b-${Math.random()}`);
  const before = tf.memory().numTensors;
  const r = leanVariableGrads(() => tf.sum(tf.square(a)) as tf.Scalar, [a, b]);
  assert.deepEqual(Object.keys(r.grads), [a.name]);
  assert.deepEqual([...r.grads[a.name].dataSync()], [2, 4, 6]);
  tf.dispose([r.value, ...Object.values(r.grads)]);
  assert.throws(() => leanVariableGrads(() => tf.scalar(1), [b]), /Cannot find a connection/);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b]);
});

test('buffer pool: a released buffer is reused, one read through dataSync never is', { skip: native.skip }, () => {
  const n = MIN_POOLED_ELEMENTS * 2;
  // released without being read: comes back
  const a = allocF32(n);
  a.fill(1);
  tf.tensor(a, [n], 'float32').dispose();
  const s0 = bufferPoolStats();
  assert.ok(s0.installed, 'the native path installs the pool');
  const again = allocF32(n);
  assert.equal(again, a, 'the released buffer is handed out again');
  // read by user code, then disposed: stays the caller's
  again.fill(2);
  const t = tf.tensor(again, [n], 'float32');
  const seen = t.dataSync();
  t.dispose();
  const other = allocF32(n);
  assert.notEqual(other, again);
  other.fill(3);
  assert.equal(seen[0], 2);
  assert.equal(seen[n - 1], 2);
  // a zero-copy slice shares the buffer: recycled only when both are gone
  const b = allocF32(n);
  b.fill(4);
  const whole = tf.tensor(b, [2, n / 2], 'float32');
  const half = tf.slice(whole, [1, 0], [1, n / 2]);
  whole.dispose();
  assert.notEqual(allocF32(n), b, 'still used by the slice');
  const viaKernel = tf.neg(half);
  half.dispose();
  assert.equal(viaKernel.dataSync()[0], -4);
  viaKernel.dispose();
});
