/**
 * The faster cpu kernels (lib/engine/cpu_kernels.ts) against tfjs' stock kernels: identical
 * results for slices, splits, concats, broadcasting binary ops and unary ops, incl. the cases they
 * hand back to the stock kernels (other dtypes, general broadcasts); with the JS row copy and, when
 * the addon is built, the native one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../lib/engine';
import { installFastCpuKernels, uninstallFastCpuKernels, fastCpuKernelsInstalled, type CopyRuns } from '../../lib/engine/cpu_kernels';
import { loadNativeAddon } from '../../lib/engine/native_addon';
import { rand } from './helpers';

before(async () => {
  await tf.setBackend('cpu');
});
after(() => {
  uninstallFastCpuKernels();
});

const nativeCopy = loadNativeAddon().addon?.copyRuns.bind(loadNativeAddon().addon);
const copyVariants: Array<[string, CopyRuns | undefined]> = [['js row copy', undefined]];
if (nativeCopy) copyVariants.push(['native row copy', nativeCopy]);
let currentCopy: CopyRuns | undefined;

/** Runs f with stock kernels, then with the fast ones; returns both results as arrays. */
function both(f: () => tf.Tensor | tf.Tensor[]): [number[][], number[][]] {
  const run = () =>
    tf.tidy(() => {
      const r = f();
      return (Array.isArray(r) ? r : [r]).map((t) => [...t.shape, -1, ...Array.from(t.dataSync())]);
    });
  uninstallFastCpuKernels();
  const stock = run();
  installFastCpuKernels(currentCopy);
  assert.ok(fastCpuKernelsInstalled());
  const fast = run();
  return [stock, fast];
}

function assertSame(f: () => tf.Tensor | tf.Tensor[], what: string) {
  for (const [name, copy] of copyVariants) {
    currentCopy = copy;
    const [stock, fast] = both(f);
    assert.equal(fast.length, stock.length, `${what} (${name})`);
    stock.forEach((s, i) => assert.deepEqual(fast[i], s, `${what} (${name})`));
  }
}

test('slice: strided, contiguous, rank 1-5, int32 falls back', () => {
  const x = rand([2, 5, 4, 3, 6]);
  assertSame(() => tf.slice(x, [0, 1, 0, 1, 2], [2, 3, 4, 2, 3]), 'strided 5-D');
  assertSame(() => tf.slice(x, [1, 0, 0, 0, 0], [1, 5, 4, 3, 6]), 'contiguous');
  assertSame(() => tf.slice(x, [0, 0, 0, 0, 3], [-1, -1, -1, -1, 3]), 'last-axis half');
  const v = rand([10]);
  const m = rand([4, 7]);
  assertSame(() => tf.slice(v, [3], [4]), 'rank 1');
  assertSame(() => tf.slice(m, [1, 2], [2, 3]), 'rank 2');
  assertSame(() => tf.slice(tf.range(0, 24, 1, 'int32').reshape([2, 3, 4]), [0, 1, 1], [2, 2, 2]), 'int32');
});

test('split and concat along every axis, 2 and 3 pieces', () => {
  const a = rand([2, 3, 4, 5]);
  const b = rand([2, 3, 4, 5]);
  for (let axis = 0; axis < 4; axis++) {
    assertSame(() => tf.concat([a, b], axis), `concat axis ${axis}`);
    assertSame(() => tf.concat([a, b, a], axis), `concat3 axis ${axis}`);
    assertSame(() => tf.split(tf.concat([a, b], axis), [a.shape[axis], b.shape[axis]], axis), `split axis ${axis}`);
  }
  const c1 = rand([2, 3, 1]);
  const c4 = rand([2, 3, 4]);
  assertSame(() => tf.concat([c1, c4], -1), 'uneven channels');
  assertSame(() => tf.concat([tf.tensor([1, 2], [2], 'int32'), tf.tensor([3], [1], 'int32')], 0), 'int32 concat');
});

test('binary ops: same shape, scalar, last-axis broadcast either side, general broadcast falls back', () => {
  const a = rand([2, 3, 4, 5]);
  const pairs: Array<[tf.Tensor, tf.Tensor, string]> = [
    [a, rand([2, 3, 4, 5]), 'same'],
    [a, tf.scalar(1.7), 'scalar b'],
    [tf.scalar(-0.3), a, 'scalar a'],
    [a, rand([5]), 'vector b'],
    [rand([1, 1, 1, 5]), a, 'vector a'],
    [a, rand([4, 5]), 'trailing 2-D b'],
    [a, rand([2, 1, 4, 1]), 'general broadcast'],
    [rand([3, 1]), rand([1, 4]), 'outer product broadcast'],
    [rand([2, 3, 4, 5]), rand([2, 1, 1, 5]), 'per-sample channels b (FiLM)'],
    [rand([2, 1, 1, 5]), rand([2, 3, 4, 5]), 'per-sample channels a'],
    [rand([2, 3, 4, 5]), rand([2, 1, 4, 5]), 'per-sample trailing block'],
  ];
  for (const [x, y, what] of pairs) {
    assertSame(() => tf.add(x, y), `add ${what}`);
    assertSame(() => tf.sub(x, y), `sub ${what}`);
    assertSame(() => tf.mul(x, y), `mul ${what}`);
    assertSame(() => tf.div(x, tf.add(tf.abs(y), 0.5)), `div ${what}`);
    assertSame(() => tf.squaredDifference(x, y), `squaredDifference ${what}`);
  }
  assertSame(() => tf.add(tf.tensor([1, 2], [2], 'int32'), tf.tensor([3, 4], [2], 'int32')), 'int32 add');
});

test('sum and mean over leading, trailing, middle, all and non-contiguous axes, keepDims', () => {
  const x = rand([2, 3, 4, 5], 3, 1);
  const axesList: Array<number | number[] | undefined> = [undefined, 0, 1, 3, -1, [0, 1], [2, 3], [0, 1, 2], [1, 2], [1, 3], [0, 2]];
  for (const axis of axesList) {
    for (const keep of [false, true]) {
      assertSame(() => tf.sum(x, axis, keep), `sum axis ${JSON.stringify(axis)} keepDims ${keep}`);
      assertSame(() => tf.mean(x, axis, keep), `mean axis ${JSON.stringify(axis)} keepDims ${keep}`);
    }
  }
  assertSame(() => tf.sum(tf.tensor([1, 2, 3], [3], 'int32')), 'int32 sum');
});

test('unary ops', () => {
  const x = rand([3, 4, 5], 2);
  assertSame(() => tf.sqrt(tf.abs(x)), 'sqrt');
  assertSame(() => tf.square(x), 'square');
  assertSame(() => tf.neg(x), 'neg');
  assertSame(() => tf.exp(x), 'exp');
  assertSame(() => tf.abs(x), 'abs');
  assertSame(() => tf.sigmoid(x), 'sigmoid');
});

test('gradients through the fast kernels equal stock gradients (concat skip + broadcast bias)', () => {
  const a = rand([1, 3, 4, 2, 3]);
  const b = rand([1, 3, 4, 2, 5]);
  const bias = rand([8]);
  assertSame(
    () => tf.grads((p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.add(tf.concat([p, q], 4), c))))([a, b, bias]),
    'grads',
  );
  const film = rand([2, 1, 1, 1, 8]);
  const h = rand([2, 3, 2, 2, 8]);
  assertSame(
    () => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.sigmoid(tf.add(tf.mul(p, tf.add(q, 1)), q))))([h, film]),
    'FiLM grads (per-sample broadcast, middle-axes reduction)',
  );
});
