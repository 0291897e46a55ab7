/**
 * Every fast op set vs the reference ops (stock tfjs `cpu`, lib/engine/ops_reference.ts):
 * forward and all gradients, relative L2 error < 1e-4, on random inputs incl. stride 2, odd
 * sizes, batch 2, kernels 1 and 3.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../lib/engine';
import { fastOpSets, rand, referenceOps, relErr, TOL, valueAndGrads } from './helpers';

before(async () => {
  await tf.setBackend('cpu');
});

const convCases: Array<{ x: number[]; k: number; cout: number; stride: 1 | 2 }> = [
  { x: [2, 5, 6, 7, 3], k: 3, cout: 4, stride: 1 },
  { x: [2, 5, 6, 7, 3], k: 3, cout: 4, stride: 2 },
  { x: [1, 7, 4, 5, 2], k: 3, cout: 3, stride: 2 },
  { x: [2, 5, 6, 3, 4], k: 1, cout: 5, stride: 1 },
  { x: [2, 5, 6, 3, 4], k: 1, cout: 5, stride: 2 },
  { x: [1, 8, 8, 8, 9], k: 3, cout: 16, stride: 1 },
];

for (const set of fastOpSets()) {
  describe(`ops path '${set.name}' equals the reference`, { skip: set.skip }, () => {
    const ops = set.ops!;
    for (const c of convCases) {
      test(`conv3d x[${c.x}] k${c.k} s${c.stride} -> ${c.cout}ch: forward, dx, dw`, () => {
        const x = rand(c.x);
        const w = rand([c.k, c.k, c.k, c.x[4], c.cout], 0.3);
        const out = tf.tidy(() => referenceOps.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, c.stride));
        const r = rand(out.shape);
        const got = valueAndGrads((a, b) => ops.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.stride), [x, w], r);
        const want = valueAndGrads(
          (a, b) => referenceOps.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.stride),
          [x, w],
          r,
        );
        ['forward', 'dx', 'dw'].forEach((what, i) =>
          assert.ok(relErr(got[i], want[i]) < TOL, `${what}: rel err ${relErr(got[i], want[i])}`),
        );
        tf.dispose([x, w, out, r]);
      });
    }

    for (const [stride, k] of [
      [1, 3],
      [2, 3],
      [1, 1],
    ] as const) {
      test(`conv3dBias k${k} s${stride} (batch 2, odd sizes): forward, dx, dw, db`, () => {
        const x = rand([2, 5, 3, 7, 3]);
        const w = rand([k, k, k, 3, 4], 0.3);
        const b = rand([4]);
        const out = tf.tidy(() => referenceOps.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, stride));
        const r = rand(out.shape);
        const f = (o: typeof ops) => (a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          (o.conv3dBias as NonNullable<typeof o.conv3dBias>)(
            a as tf.Tensor5D,
            ww as tf.Tensor5D,
            bb as tf.Tensor1D,
            stride,
          );
        const got = valueAndGrads(f(ops), [x, w, b], r);
        const want = valueAndGrads(f(referenceOps), [x, w, b], r);
        ['forward', 'dx', 'dw', 'db'].forEach((what, i) =>
          assert.ok(relErr(got[i], want[i]) < TOL, `${what}: rel err ${relErr(got[i], want[i])}`),
        );
      });
    }

    test('convTranspose3d2x (batch 2, odd sizes): forward, dx, dw', () => {
      const x = rand([2, 3, 5, 2, 6]);
      const w = rand([2, 2, 2, 6, 4], 0.3);
      const r = rand([2, 6, 10, 4, 4]);
      const got = valueAndGrads((a, b) => ops.convTranspose3d2x(a as tf.Tensor5D, b as tf.Tensor5D), [x, w], r);
      const want = valueAndGrads(
        (a, b) => referenceOps.convTranspose3d2x(a as tf.Tensor5D, b as tf.Tensor5D),
        [x, w],
        r,
      );
      ['forward', 'dx', 'dw'].forEach((what, i) =>
        assert.ok(relErr(got[i], want[i]) < TOL, `${what}: rel err ${relErr(got[i], want[i])}`),
      );
    });

    for (const act of ['none', 'relu', 'silu'] as const) {
      test(`groupNormAct(${act}) batch 2, 3 groups: forward, dx, dgamma, dbeta`, () => {
        const x = rand([2, 3, 4, 5, 6], 2, 0.5);
        const g = rand([6], 0.5, 1);
        const b = rand([6], 0.5);
        const r = rand(x.shape);
        const f = (o: typeof ops) => (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          (o.groupNormAct as NonNullable<typeof o.groupNormAct>)(
            a as tf.Tensor5D,
            gg as tf.Tensor1D,
            bb as tf.Tensor1D,
            3,
            act,
          );
        const got = valueAndGrads(f(ops), [x, g, b], r);
        const want = valueAndGrads(f(referenceOps), [x, g, b], r);
        ['forward', 'dx', 'dgamma', 'dbeta'].forEach((what, i) =>
          assert.ok(relErr(got[i], want[i]) < TOL, `${what}: rel err ${relErr(got[i], want[i])}`),
        );
      });
    }

    test('groupNorm (plain, eps 1e-3): forward and gradients', () => {
      const x = rand([1, 4, 3, 3, 8], 3);
      const g = rand([8], 0.5, 1);
      const b = rand([8]);
      const r = rand(x.shape);
      const f = (o: typeof ops) => (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        o.groupNorm(a as tf.Tensor5D, gg as tf.Tensor1D, bb as tf.Tensor1D, 4, 1e-3);
      const got = valueAndGrads(f(ops), [x, g, b], r);
      const want = valueAndGrads(f(referenceOps), [x, g, b], r);
      got.forEach((v, i) => assert.ok(relErr(v, want[i]) < TOL, `output ${i}: rel err ${relErr(v, want[i])}`));
    });

    for (const name of ['relu', 'silu'] as const) {
      test(`${name}: forward and gradient (rank 5 and rank 2)`, () => {
        for (const shape of [
          [2, 3, 4, 5, 3],
          [7, 11],
        ]) {
          const x = rand(shape, 3);
          const r = rand(shape);
          const got = valueAndGrads((a) => ops[name](a), [x], r);
          const want = valueAndGrads((a) => referenceOps[name](a), [x], r);
          got.forEach((v, i) =>
            assert.ok(relErr(v, want[i]) < TOL, `${name} ${shape} output ${i}: rel err ${relErr(v, want[i])}`),
          );
        }
      });
    }

    test('upsampleTrilinear2x (batch 2, odd sizes, size-1 axis): forward and gradient', () => {
      for (const shape of [
        [2, 3, 5, 4, 3],
        [1, 1, 2, 3, 2],
      ]) {
        const x = rand(shape);
        const r = rand([shape[0], 2 * shape[1], 2 * shape[2], 2 * shape[3], shape[4]]);
        const got = valueAndGrads((a) => ops.upsampleTrilinear2x(a as tf.Tensor5D), [x], r);
        const want = valueAndGrads((a) => referenceOps.upsampleTrilinear2x(a as tf.Tensor5D), [x], r);
        got.forEach((v, i) =>
          assert.ok(relErr(v, want[i]) < TOL, `[${shape}] output ${i}: rel err ${relErr(v, want[i])}`),
        );
      }
    });

    test('maxPool3d2x: forward and gradient, incl. tied maxima (ReLU zeros) and odd sizes', () => {
      const cases: Array<[string, tf.Tensor]> = [
        ['random', rand([2, 4, 6, 4, 3])],
        ['relu ties', tf.relu(rand([1, 4, 4, 6, 5]))],
        ['odd sizes', rand([2, 5, 3, 7, 2])],
        ['all equal', tf.fill([1, 2, 2, 2, 2], 0.5)],
      ];
      for (const [what, x] of cases) {
        const [n, d, h, w, c] = x.shape;
        const r = rand([n, Math.floor(d / 2), Math.floor(h / 2), Math.floor(w / 2), c]);
        const got = valueAndGrads((a) => ops.maxPool3d2x(a as tf.Tensor5D), [x], r);
        const want = valueAndGrads((a) => referenceOps.maxPool3d2x(a as tf.Tensor5D), [x], r);
        got.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(want[i]), `${what}: output ${i}`));
      }
    });

    test('a wrong filter shape is rejected with a message', () => {
      const x = rand([1, 4, 4, 4, 3]);
      const w = rand([3, 3, 3, 2, 4]);
      assert.throws(() => ops.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1), /channels/);
    });
  });
}
