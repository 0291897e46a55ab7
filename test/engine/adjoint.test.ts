/**
 * Adjoint (dot-product) test of the convolution gradients, independent of any other
 * implementation: for a linear map A, grad_x sum(A(x) * r) = A^T r, so <A x, r> must equal
 * <x, A^T r> (and likewise for the filter, since conv is bilinear). Run for the reference ops and
 * every fast path present. Sums in float64.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type EngineOps } from '../../lib/engine';
import { fastOpSets, rand, referenceOps } from './helpers';

before(async () => {
  await tf.setBackend('cpu');
});

function dot(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

function checkAdjoint(op: (x: tf.Tensor5D, w: tf.Tensor5D) => tf.Tensor5D, xShape: number[], wShape: number[]) {
  const x = rand(xShape) as tf.Tensor5D;
  const w = rand(wShape, 0.3) as tf.Tensor5D;
  const y = op(x, w);
  const r = rand(y.shape);
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor5D, b as tf.Tensor5D), r)))([
    x,
    w,
  ]);
  const lhs = dot(y, r);
  for (const [name, rhs] of [
    ['x', dot(x, gx)],
    ['w', dot(w, gw)],
  ] as const) {
    const rel = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), 1e-12);
    assert.ok(rel < 1e-4, `<A ${name}, r> = ${lhs} vs <${name}, A^T r> = ${rhs} (rel ${rel})`);
  }
  tf.dispose([x, w, y, r, gx, gw]);
}

const sets: Array<{ name: string; ops: EngineOps | null; skip: string | false }> = [
  { name: 'reference', ops: referenceOps, skip: false },
  ...fastOpSets(),
];

for (const set of sets) {
  describe(`adjoint test, ops path '${set.name}'`, { skip: set.skip }, () => {
    const ops = set.ops!;
    for (const [k, s, xs] of [
      [3, 1, [2, 5, 4, 6, 3]],
      [3, 2, [2, 5, 7, 4, 3]],
      [1, 2, [1, 5, 4, 3, 2]],
      [1, 1, [2, 3, 3, 3, 4]],
    ] as const) {
      test(`conv3d k${k} s${s} x[${xs}]`, () => {
        checkAdjoint((x, w) => ops.conv3d(x, w, s), [...xs], [k, k, k, xs[4], 4]);
      });
    }
    test('convTranspose3d2x', () => {
      checkAdjoint((x, w) => ops.convTranspose3d2x(x, w), [2, 3, 2, 3, 5], [2, 2, 2, 5, 3]);
    });
  });
}
