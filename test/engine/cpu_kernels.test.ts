/**
 * The faster cpu kernels (lib/engine/cpu_kernels.ts) against tfjs' stock kernels: identical
 * results (same float32 bits; any NaN equals any NaN) for slices, splits, concats, broadcasting
 * binary ops, unary ops and sums/means, incl. the cases they hand back to the stock kernels (other
 * dtypes, general broadcasts). Every case runs with the JS loops only and, when the addon is built,
 * with the addon installed: then arrays of NATIVE_MIN_ELEMENTS or more take its multi-threaded
 * kernels (checked by counting the calls), smaller ones the JS loops.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { tf } from '../../lib/engine';
import {
  installFastCpuKernels,
  uninstallFastCpuKernels,
  fastCpuKernelsInstalled,
  type NativeCpuKernels,
} from '../../lib/engine/cpu_kernels';
import { loadNativeAddon } from '../../lib/engine/native_addon';
import { resolveThreads } from '../../lib/engine/paths';
import { rand } from './helpers';

const { addon, reason } = loadNativeAddon();
const threads = resolveThreads(process.env.VMAT_THREADS, os.availableParallelism?.() ?? os.cpus().length);

before(async () => {
  await tf.setBackend('cpu');
  addon?.setThreads(threads);
});
after(() => {
  uninstallFastCpuKernels();
});

/** The addon with every kernel call counted, to check which path a case took. */
const calls = { copyRuns: 0, binaryTiled: 0, unary: 0, reduceSum: 0 };
const countingAddon: NativeCpuKernels | null =
  addon &&
  (Object.fromEntries(
    (Object.keys(calls) as Array<keyof typeof calls>).map((k) => [
      k,
      (...a: unknown[]) => {
        calls[k]++;
        (addon[k] as (...b: unknown[]) => void)(...a);
      },
    ]),
  ) as unknown as NativeCpuKernels);
const variants: Array<[string, NativeCpuKernels | null]> = [['js kernels', null]];
if (countingAddon) variants.push(['native kernels', countingAddon]);
let current: NativeCpuKernels | null = null;

type Result = { shape: number[]; values: ArrayLike<number> };

/** Runs f with stock kernels, then with the fast ones; returns both results. */
function both(f: () => tf.Tensor | tf.Tensor[]): [Result[], Result[]] {
  const run = (): Result[] => {
    const results: Result[] = [];
    tf.tidy(() => {
      const r = f();
      for (const t of Array.isArray(r) ? r : [r])
        results.push({ shape: t.shape.slice(), values: t.dataSync().slice() });
    });
    return results;
  };
  uninstallFastCpuKernels();
  const stock = run();
  installFastCpuKernels(current);
  assert.ok(fastCpuKernelsInstalled());
  const fast = run();
  return [stock, fast];
}

/** Index of the first element that differs (Object.is: -0 and 0 differ, NaN equals NaN), or -1. */
function firstDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return i;
  return -1;
}

/**
 * Asserts stock and fast results are identical, with each variant. `native`: which addon kernel the
 * case must reach on the native variant (large arrays), or undefined for no check.
 */
function assertSame(f: () => tf.Tensor | tf.Tensor[], what: string, native?: keyof typeof calls) {
  for (const [name, kernels] of variants) {
    current = kernels;
    const before = native ? calls[native] : 0;
    const [stock, fast] = both(f);
    assert.equal(fast.length, stock.length, `${what} (${name})`);
    stock.forEach((s, i) => {
      assert.deepEqual(fast[i].shape, s.shape, `${what} (${name}): shape`);
      const at = firstDifference(fast[i].values, s.values);
      assert.equal(at, -1, `${what} (${name}): element ${at}: fast ${fast[i].values[at]} vs stock ${s.values[at]}`);
    });
    if (native && kernels) assert.ok(calls[native] > before, `${what} (${name}): native ${native} not used`);
  }
}

/** Normal values with zeros, signed zeros, subnormals, huge values, infinities and NaN sprinkled in. */
function withEdgeValues(shape: number[], scale = 1, seed = 7): tf.Tensor {
  const specials = [0, -0, 1e-40, -3e-39, 1e-30, 3e38, -3e38, Infinity, -Infinity, NaN, 1, -1, 88.7, -104];
  return tf.tidy(() => {
    const v = Float32Array.from(rand(shape, scale).dataSync());
    for (let i = seed % 13, k = 0; i < v.length; i += 13 + (k % 7), k++) v[i] = specials[k % specials.length];
    return tf.tensor(v, shape);
  });
}

/** float32 values spread over every exponent in [-|lim|, |lim|] (strided bit patterns) plus specials. */
function floatSweep(count: number, lim: number): tf.Tensor {
  const limitBits = new Uint32Array(new Float32Array([lim]).buffer)[0];
  const bits = new Uint32Array(count);
  const step = Math.floor((2 * limitBits) / count);
  for (let i = 0; i < count; i++) {
    const b = i * step;
    bits[i] = b < limitBits ? b : (b - limitBits) | 0x80000000;
  }
  const v = new Float32Array(bits.buffer);
  v.set([
    1,
    -1,
    0.5,
    Math.LN2 / 2,
    1.5 * Math.LN2,
    2 ** -28,
    88.72283935546875,
    -87.33654,
    -103.97,
    Infinity,
    -Infinity,
    NaN,
  ]);
  return tf.tensor1d(v);
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
    assertSame(() => tf.concat([a, b], axis), `concat axis ${axis}`, 'copyRuns');
    assertSame(() => tf.concat([a, b, a], axis), `concat3 axis ${axis}`, 'copyRuns');
    assertSame(() => tf.split(tf.concat([a, b], axis), [a.shape[axis], b.shape[axis]], axis), `split axis ${axis}`);
  }
  const c1 = rand([2, 3, 1]);
  const c4 = rand([2, 3, 4]);
  assertSame(() => tf.concat([c1, c4], -1), 'uneven channels');
  assertSame(() => tf.concat([tf.tensor([1, 2], [2], 'int32'), tf.tensor([3], [1], 'int32')], 0), 'int32 concat');
});

/** Every binary op on (x, y); `native`: whether the fast kernel must reach the addon. */
function assertBinarySame(x: tf.Tensor, y: tf.Tensor, what: string, native: boolean) {
  const k = native ? 'binaryTiled' : undefined;
  assertSame(() => tf.add(x, y), `add ${what}`, k);
  assertSame(() => tf.sub(x, y), `sub ${what}`, k);
  assertSame(() => tf.mul(x, y), `mul ${what}`, k);
  assertSame(() => tf.div(x, tf.add(tf.abs(y), 0.5)), `div ${what}`, k);
  assertSame(() => tf.div(x, y), `div by raw values ${what}`, k);
  assertSame(() => tf.squaredDifference(x, y), `squaredDifference ${what}`, k);
}

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
  for (const [x, y, what] of pairs) assertBinarySame(x, y, what, false);
  assertSame(() => tf.add(tf.tensor([1, 2], [2], 'int32'), tf.tensor([3, 4], [2], 'int32')), 'int32 add');
});

test('binary ops on large arrays (native kernels when built): every layout, odd sizes, edge values', () => {
  // [2, 8, 16, 16, 10]: 20480 values per sample, so per-sample broadcasts reach the addon too
  const big = [2, 8, 16, 16, 10];
  const x = withEdgeValues(big, 3, 1);
  const y = withEdgeValues(big, 2, 5);
  const odd = [2, 9, 13, 11, 13]; // 33462 values: no layout divides the parallel blocks evenly
  const xo = rand(odd);
  const pairs: Array<[tf.Tensor, tf.Tensor, string]> = [
    [x, y, 'same shape'],
    [x, tf.scalar(1.7), 'scalar b'],
    [tf.scalar(-0.3), x, 'scalar a (left)'],
    [x, withEdgeValues([10], 1, 3), 'channel vector b'],
    [withEdgeValues([1, 1, 1, 1, 10], 1, 4), y, 'channel vector a (left)'],
    [x, rand([16, 10]), 'trailing 2-D b (short tile)'],
    [x, rand([8, 16, 16, 10]), 'trailing 4-D b (tile longer than a block)'],
    [rand([1, 8, 16, 16, 10]), y, 'trailing 4-D a (left, long tile)'],
    [x, rand([2, 1, 1, 1, 10]), 'per-sample channels b (FiLM)'],
    [rand([2, 1, 1, 1, 10]), y, 'per-sample channels a (left)'],
    [x, rand([2, 1, 16, 16, 10]), 'per-sample trailing block b'],
    [xo, rand(odd), 'odd same shape'],
    [xo, rand([13]), 'odd channel vector b'],
    [rand([13]), xo, 'odd channel vector a (left)'],
    [xo, rand([2, 1, 1, 1, 13]), 'odd per-sample b'],
  ];
  for (const [p, q, what] of pairs) assertBinarySame(p, q, what, true);
  // subnormal and overflowing products, quotients and squares
  const tiny = tf.mul(rand(big), 1e-20);
  assertBinarySame(tiny, tf.mul(rand(big), 1e-20), 'subnormal range', true);
  assertBinarySame(tf.mul(rand(big), 1e20), tf.mul(rand([10]), 1e20), 'overflow range', true);
  assertSame(
    () => tf.add(tf.range(0, 20000, 1, 'int32'), tf.range(0, 20000, 1, 'int32')),
    'large int32 add falls back',
  );
  const general = rand([2, 8, 1, 16, 10]);
  assertSame(() => tf.add(x, general), 'large general broadcast falls back');
});

test('sum and mean over leading, trailing, middle, all and non-contiguous axes, keepDims', () => {
  const x = rand([2, 3, 4, 5], 3, 1);
  const axesList: Array<number | number[] | undefined> = [
    undefined,
    0,
    1,
    3,
    -1,
    [0, 1],
    [2, 3],
    [0, 1, 2],
    [1, 2],
    [1, 3],
    [0, 2],
  ];
  for (const axis of axesList) {
    for (const keep of [false, true]) {
      assertSame(() => tf.sum(x, axis, keep), `sum axis ${JSON.stringify(axis)} keepDims ${keep}`);
      assertSame(() => tf.mean(x, axis, keep), `mean axis ${JSON.stringify(axis)} keepDims ${keep}`);
    }
  }
  assertSame(() => tf.sum(tf.tensor([1, 2, 3], [3], 'int32')), 'int32 sum');
});

test('sum and mean on large arrays (native kernels when built): leading, middle, trailing, all axes', () => {
  // 61440 values; counts 4, 12, 3 ... so the mean's divisions are inexact; inner sizes 15360, 1280
  // and 10 cover whole, partial and single column blocks
  const x = rand([4, 12, 16, 8, 10], 3, 1);
  const axesList: Array<number | number[] | undefined> = [
    undefined,
    0,
    [0, 1],
    [0, 1, 2, 3],
    1,
    [1, 2, 3],
    [2, 3],
    4,
    [3, 4],
    [1, 2, 3, 4],
    [0, 1, 2, 3, 4],
  ];
  for (const axis of axesList) {
    for (const keep of [false, true]) {
      assertSame(() => tf.sum(x, axis, keep), `sum axis ${JSON.stringify(axis)} keepDims ${keep}`, 'reduceSum');
      assertSame(() => tf.mean(x, axis, keep), `mean axis ${JSON.stringify(axis)} keepDims ${keep}`, 'reduceSum');
    }
  }
  const odd = rand([3, 7, 11, 13, 7]);
  for (const axis of [[1, 2, 3], 0, 4]) {
    assertSame(() => tf.mean(odd, axis), `odd mean axis ${JSON.stringify(axis)}`, 'reduceSum');
  }
  const edgy = withEdgeValues([2, 8, 16, 16, 10], 1, 2);
  assertSame(() => tf.sum(edgy, [1, 2, 3]), 'sum with edge values', 'reduceSum');
  assertSame(() => tf.mean(edgy, 4), 'mean with edge values', 'reduceSum');
  assertSame(() => tf.sum(tf.range(0, 20000, 1, 'int32')), 'large int32 sum falls back');
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

test('unary ops on large arrays (native kernels when built), exp and sigmoid over the whole float range', () => {
  const x = withEdgeValues([2, 8, 16, 16, 10], 4, 6);
  for (const [name, f] of [
    ['sqrt', tf.sqrt],
    ['square', tf.square],
    ['neg', tf.neg],
    ['exp', tf.exp],
    ['abs', tf.abs],
    ['sigmoid', tf.sigmoid],
  ] as const) {
    assertSame(() => f(x), name, 'unary');
  }
  assertSame(() => tf.sqrt(tf.abs(x)), 'sqrt of |x|', 'unary');
  // 2^20 values over every float exponent up to |x| = 110: exp, sigmoid must agree bit for bit
  // with V8's Math.exp everywhere, incl. the reduced-argument branches, overflow and underflow
  const sweep = floatSweep(1 << 20, 110);
  assertSame(() => tf.exp(sweep), 'exp sweep', 'unary');
  assertSame(() => tf.sigmoid(sweep), 'sigmoid sweep', 'unary');
  assertSame(() => tf.sqrt(tf.abs(sweep)), 'sqrt sweep', 'unary');
});

test('gradients through the fast kernels equal stock gradients (concat skip + broadcast bias)', () => {
  const a = rand([1, 3, 4, 2, 3]);
  const b = rand([1, 3, 4, 2, 5]);
  const bias = rand([8]);
  assertSame(
    () =>
      tf.grads((p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.add(tf.concat([p, q], 4), c))))([
        a,
        b,
        bias,
      ]),
    'grads',
  );
  const film = rand([2, 1, 1, 1, 8]);
  const h = rand([2, 3, 2, 2, 8]);
  const filmLoss = (p: tf.Tensor, q: tf.Tensor) => tf.mean(tf.sigmoid(tf.add(tf.mul(p, tf.add(q, 1)), q)));
  assertSame(() => tf.grads(filmLoss)([h, film]), 'FiLM grads (per-sample broadcast, middle-axes reduction)');
  const bigFilm = rand([2, 1, 1, 1, 16]);
  const bigH = rand([2, 8, 16, 16, 16]);
  assertSame(() => tf.grads(filmLoss)([bigH, bigFilm]), 'large FiLM grads', 'reduceSum');
});

test(
  "the native exp is V8's Math.exp bit for bit on doubles (float32 results alone would hide most differences)",
  {
    skip: addon ? false : `native addon ${reason}`,
  },
  () => {
    // float32 inputs over exp's whole float range, then random doubles over its double range,
    // near-zero values and the special cases of the algorithm's branches
    const n = 1 << 20;
    const x = new Float64Array(n);
    x.set(floatSweep(n >> 1, 110).dataSync());
    const specials = [
      0,
      -0,
      1,
      -1,
      2 ** -28,
      -(2 ** -30),
      709.78,
      709.79,
      -745.13,
      -745.14,
      -708.4,
      1e-310,
      3.4e38,
      -3.4e38,
      Infinity,
      -Infinity,
      NaN,
    ];
    x.set(specials, n >> 1);
    const r = noise(n, 9);
    for (let i = (n >> 1) + specials.length; i < n; i++)
      x[i] = r[i] * (i % 3 === 0 ? 187.5 : i % 3 === 1 ? 0.75 : 2.5e-7);
    const got = new Float64Array(n);
    addon!.expF64(x, got);
    const at = firstDifference(got, x.map(Math.exp));
    assert.equal(at, -1, `exp(${x[at]}): native ${got[at]} vs Math.exp ${Math.exp(x[at])}`);
  },
);

test('native kernels are used when the addon is built', { skip: addon ? false : `native addon ${reason}` }, () => {
  assert.ok(
    variants.length === 2 && calls.binaryTiled > 0 && calls.unary > 0 && calls.reduceSum > 0,
    JSON.stringify(calls),
  );
});

/** Deterministic pseudo-random floats in [-4, 4). */
function noise(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 32) * 8 - 4;
  }
  return v;
}

test(
  'native kernels give the same bits with one thread and with several',
  {
    skip: !addon ? `native addon ${reason}` : threads < 2 ? 'one thread (VMAT_THREADS=1): nothing to compare' : false,
  },
  () => {
    const native = addon!;
    const n = 3 * 65536 + 1234; // above the addon's parallel threshold, not a whole number of blocks
    const a = noise(n, 1);
    const runAll = (): Float32Array[] => {
      const outs: Float32Array[] = [];
      for (const [b, left] of [
        [noise(n, 2), false],
        [noise(1, 3), false],
        [noise(10, 4), true],
        [noise(70000, 5), true],
      ] as const) {
        for (let op = 0; op <= 4; op++) {
          const out = new Float32Array(n);
          native.binaryTiled(op, a, b, out, left);
          outs.push(out);
        }
      }
      for (let op = 0; op <= 5; op++) {
        const out = new Float32Array(n);
        native.unary(op, a, out);
        outs.push(out);
      }
      const v = noise(4 * 12 * 4096, 6);
      for (const [outer, mid, inner] of [
        [1, 48 * 4096, 1],
        [48, 4096, 1],
        [4, 12, 4096],
        [1, 48, 4096],
        [48, 4000, 1],
      ]) {
        for (const mean of [false, true]) {
          const out = new Float32Array(outer * inner);
          native.reduceSum(v.subarray(0, outer * mid * inner), outer, mid, inner, mean, out);
          outs.push(out);
        }
      }
      return outs;
    };
    try {
      native.setThreads(1);
      const one = runAll();
      native.setThreads(threads);
      const many = runAll();
      one.forEach((o, i) => assert.equal(firstDifference(many[i], o), -1, `result ${i}`));
    } finally {
      native.setThreads(threads);
    }
  },
);
