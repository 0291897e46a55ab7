/**
 * Faster replacements for the stock tfjs `cpu` kernels that dominate a U-Net training step.
 * Measured on tfjs 4.22: elementwise kernels run ~25 ns/element (one shared loop calling the op
 * through a megamorphic closure), so Adam on 1.4M parameters took ~450 ms; non-contiguous `Slice`
 * (and `SplitV`, the gradient of a skip concat) copied one element at a time through TensorBuffer
 * index arithmetic (~5 s per 64^3 step); channel `Concat` ~60 ms for 8M values.
 *
 * The replacements are plain monomorphic loops over Float32Arrays, written by hand because tfjs
 * offers no faster primitive for them. Each handles float32 inputs in the common layouts (same
 * shape, scalar operand, operand broadcast along the last axis; contiguous runs for copies) and
 * hands everything else to the stock kernel, so semantics are tfjs' own (tests compare both).
 * They are installed only on the `native` path; the self-test's reference runs on stock kernels.
 *
 * With the native addon installed, large float32 elementwise ops, sums/means and row copies run in
 * its OpenMP kernels (native/src/elementwise.cc, copy_runs.cc), which are bit-identical to the JS
 * loops here (same operations in the same order, no fast-math); the JS loops stay as the fallback.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './native_addon';
import { allocF32 } from './buffer_pool';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type KernelArgs = Parameters<KernelFunc>[0];
interface CpuBackendLike {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}
type Fast = (args: KernelArgs, stock: KernelFunc) => ReturnType<KernelFunc>;

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Strided row copy (see copyRunsJs); the native addon's multi-threaded one when installed. */
export type CopyRuns = NativeAddon['copyRuns'];

/**
 * Copies `rows` runs of `run` float32 values from `src` (first at srcOff, next srcStride later) to
 * `dst` (dstOff, dstStride): the JS twin of the addon's strided copy, used for slicing and concat.
 */
export function copyRunsJs(
  src: Float32Array,
  srcOff: number,
  srcStride: number,
  dst: Float32Array,
  dstOff: number,
  dstStride: number,
  rows: number,
  run: number,
): void {
  for (let r = 0; r < rows; r++) {
    const s = srcOff + r * srcStride;
    const d = dstOff + r * dstStride;
    for (let j = 0; j < run; j++) dst[d + j] = src[s + j];
  }
}

/** The addon's kernels used here (see NativeAddon). */
export type NativeCpuKernels = Pick<NativeAddon, 'copyRuns' | 'binaryTiled' | 'unary' | 'reduceSum'>;

/**
 * Arrays shorter than this stay in JS: an N-API call plus waking the OpenMP threads costs a few
 * microseconds, which the JS loop (~1 ns/element) has finished by then.
 */
export const NATIVE_MIN_ELEMENTS = 16384;

let copyRuns: CopyRuns = copyRunsJs;
/** The addon passed to installFastCpuKernels (null: JS only). */
let addonInUse: NativeCpuKernels | null = null;
/** Its elementwise kernels, when it has them (else the JS loops run). */
let native: NativeCpuKernels | null = null;
const valuesOf = (b: CpuBackendLike, t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array;

/** Strided copy of a float32 slice (row-major), contiguous innermost runs copied in one loop. */
export function sliceFloat32(vals: Float32Array, shape: number[], begin: number[], sz: number[]): Float32Array {
  const rank = shape.length;
  const total = size(sz);
  const out = allocF32(total); // every element is written below
  if (total === 0) return out;
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  // innermost run: trailing dims taken whole, plus the first partial dim before them
  let k = rank - 1;
  let run = sz[k];
  while (k > 0 && sz[k] === shape[k]) {
    k--;
    run *= sz[k];
  }
  if (begin.slice(0, k).every((b, d) => b === 0 && sz[d] === shape[d])) {
    // outer dims taken whole: one strided row copy (channel split of NDHWC)
    const rowStride = k > 0 ? strides[k - 1] : 0;
    copyRuns(vals, begin[k] * strides[k], rowStride, out, 0, run, total / run, run);
    return out;
  }
  const idx = new Array<number>(k).fill(0); // odometer over dims [0, k)
  let o = 0;
  const outer = total / run;
  for (let it = 0; it < outer; it++) {
    let src = begin[k] * strides[k];
    for (let d = 0; d < k; d++) src += (begin[d] + idx[d]) * strides[d];
    for (let j = 0; j < run; j++) out[o + j] = vals[src + j];
    o += run;
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d] < sz[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

const fastSlice: Fast = (args, stock) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') return stock(args);
  const attrs = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [begin, sz] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin, attrs.size);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, sz);
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) return stock(args); // zero-copy view
  const backend = args.backend as unknown as CpuBackendLike;
  return backend.makeTensorInfo(sz, 'float32', sliceFloat32(valuesOf(backend, x), x.shape, begin, sz));
};

const fastSplitV: Fast = (args, stock) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') return stock(args);
  const attrs = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const sliceStock = (tf.getKernel('Slice', 'cpu') as tf.KernelConfig).kernelFunc;
  return sizes.map((s) => {
    const sz = x.shape.slice();
    sz[axis] = s;
    const sub = {
      inputs: { x },
      backend: args.backend,
      attrs: { begin: begin.slice(), size: sz } as unknown as tf.NamedAttrMap,
    };
    begin[axis] += s;
    return fastSlice(sub, stockKernels.get('Slice') ?? sliceStock) as tf.TensorInfo;
  });
};

const fastConcat: Fast = (args, stock) => {
  const xs = Object.values(args.inputs) as tf.TensorInfo[];
  if (xs.length < 2 || xs.some((t) => t.dtype !== 'float32' || t.shape.length === 0)) return stock(args);
  const rank = xs[0].shape.length;
  const axis = tf.util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, xs[0].shape)[0];
  for (const t of xs) {
    if (t.shape.length !== rank || t.shape.some((d, i) => i !== axis && d !== xs[0].shape[i])) return stock(args);
  }
  const outer = size(xs[0].shape.slice(0, axis));
  const runs = xs.map((t) => size(t.shape.slice(axis)));
  const rowLen = runs.reduce((a, b) => a + b, 0);
  const out = allocF32(outer * rowLen); // the copies cover every element
  const backend = args.backend as unknown as CpuBackendLike;
  let col = 0;
  xs.forEach((t, k) => {
    copyRuns(valuesOf(backend, t), 0, runs[k], out, col, rowLen, outer, runs[k]);
    col += runs[k];
  });
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((a, t) => a + t.shape[axis], 0);
  return backend.makeTensorInfo(shape, 'float32', out);
};

/** Op codes shared with the addon (BinOp in native/src/ops.h): keep the order. */
const enum Bin {
  Add,
  Sub,
  Mul,
  Div,
  SqDiff,
}

/** out[i] = a[i] op b[j] where j = i mod bn (bn = b's length: 1 for a scalar, C for a last-axis vector). */
function binaryTiled(op: Bin, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  const bn = b.length;
  switch (op) {
    case Bin.Add:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = a[i] + b[j];
      break;
    case Bin.Sub:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = a[i] - b[j];
      break;
    case Bin.Mul:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = a[i] * b[j];
      break;
    case Bin.Div:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = a[i] / b[j];
      break;
    case Bin.SqDiff:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) {
        const d = a[i] - b[j];
        out[i] = d * d;
      }
      break;
  }
}

/** Same with the tiled operand first: out[i] = b[j] op a[i]. */
function binaryTiledLeft(op: Bin, tiled: Float32Array, full: Float32Array, out: Float32Array): void {
  const n = out.length;
  const bn = tiled.length;
  switch (op) {
    case Bin.Add:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = tiled[j] + full[i];
      break;
    case Bin.Sub:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = tiled[j] - full[i];
      break;
    case Bin.Mul:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = tiled[j] * full[i];
      break;
    case Bin.Div:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) out[i] = tiled[j] / full[i];
      break;
    case Bin.SqDiff:
      for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) {
        const d = tiled[j] - full[i];
        out[i] = d * d;
      }
      break;
  }
}

/** out = full op tile (left: tile op full), tile repeated along full; natively for large arrays. */
function tiledOp(op: Bin, full: Float32Array, tile: Float32Array, out: Float32Array, left: boolean): void {
  if (native && out.length >= NATIVE_MIN_ELEMENTS) native.binaryTiled(op, full, tile, out, left);
  else if (left) binaryTiledLeft(op, tile, full, out);
  else binaryTiled(op, full, tile, out);
}

/** Is `small` tiled along the end of `big`? (scalar, or [.., C] / [1, .., 1, C] against [.., C]) */
function tilesLastAxes(small: number[], big: number[]): boolean {
  if (size(small) === 1) return true;
  if (small.length > big.length) return false;
  // drop leading 1s; the rest must equal big's trailing dims
  let s = 0;
  while (s < small.length && small[s] === 1) s++;
  const tail = small.slice(s);
  const bigTail = big.slice(big.length - tail.length);
  return tail.length > 0 && tail.every((d, i) => d === bigTail[i]);
}

function binaryKernel(op: Bin): Fast {
  return (args, stock) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
    const backend = args.backend as unknown as CpuBackendLike;
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (same || (a.shape.length >= b.shape.length && tilesLastAxes(b.shape, a.shape))) {
      const out = allocF32(size(a.shape));
      tiledOp(op, valuesOf(backend, a), valuesOf(backend, b), out, false);
      return backend.makeTensorInfo(a.shape.slice(), 'float32', out);
    }
    if (b.shape.length >= a.shape.length && tilesLastAxes(a.shape, b.shape)) {
      const out = allocF32(size(b.shape));
      tiledOp(op, valuesOf(backend, b), valuesOf(backend, a), out, true);
      return backend.makeTensorInfo(b.shape.slice(), 'float32', out);
    }
    // per-sample operand: [N, 1, .., 1, C] (FiLM) against [N, .., C], either side
    for (const [big, small, left] of [
      [a, b, false],
      [b, a, true],
    ] as const) {
      const n = big.shape[0];
      if (big.shape.length < 2 || small.shape.length !== big.shape.length || small.shape[0] !== n || n < 2) continue;
      if (!tilesLastAxes(small.shape.slice(1), big.shape.slice(1))) continue;
      const bv = valuesOf(backend, big);
      const sv = valuesOf(backend, small);
      const out = allocF32(bv.length);
      const per = bv.length / n;
      const sper = sv.length / n;
      for (let i = 0; i < n; i++) {
        const bs = bv.subarray(i * per, (i + 1) * per);
        const ss = sv.subarray(i * sper, (i + 1) * sper);
        const os = out.subarray(i * per, (i + 1) * per);
        tiledOp(op, bs, ss, os, left);
      }
      return backend.makeTensorInfo(big.shape.slice(), 'float32', out);
    }
    return stock(args);
  };
}

/** Op codes shared with the addon (UnOp in native/src/ops.h): keep the order. */
const enum Un {
  Sqrt,
  Square,
  Neg,
  Exp,
  Abs,
  Sigmoid,
}

function unaryJs(op: Un, v: Float32Array, out: Float32Array): void {
  const n = v.length;
  switch (op) {
    case Un.Sqrt:
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(v[i]);
      break;
    case Un.Square:
      for (let i = 0; i < n; i++) out[i] = v[i] * v[i];
      break;
    case Un.Neg:
      for (let i = 0; i < n; i++) out[i] = -v[i];
      break;
    case Un.Exp:
      for (let i = 0; i < n; i++) out[i] = Math.exp(v[i]);
      break;
    case Un.Abs:
      for (let i = 0; i < n; i++) out[i] = Math.abs(v[i]);
      break;
    case Un.Sigmoid:
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-v[i])); // the stock formula
      break;
  }
}

function unaryKernel(op: Un): Fast {
  return (args, stock) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32') return stock(args);
    const backend = args.backend as unknown as CpuBackendLike;
    const v = valuesOf(backend, x);
    const out = allocF32(v.length);
    if (native && v.length >= NATIVE_MIN_ELEMENTS) native.unary(op, v, out);
    else unaryJs(op, v, out);
    return backend.makeTensorInfo(x.shape.slice(), 'float32', out);
  };
}

/** v as [outer, mid, inner] summed over mid into out [outer, inner] (see reduceKernel). */
function reduceSumJs(
  v: Float32Array,
  outer: number,
  mid: number,
  inner: number,
  mean: boolean,
  out: Float32Array,
): void {
  const scale = mean ? mid : 1;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let acc = 0;
      const off = o * mid;
      if (mean) for (let j = 0; j < mid; j++) acc += Math.fround(v[off + j] / scale);
      else for (let j = 0; j < mid; j++) acc += v[off + j];
      out[o] = acc;
    }
    return;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    for (let r = 0; r < mid; r++) {
      const off = (o * mid + r) * inner;
      if (mean) for (let j = 0; j < inner; j++) acc[j] += Math.fround(v[off + j] / scale);
      else for (let j = 0; j < inner; j++) acc[j] += v[off + j];
    }
    out.set(acc, o * inner);
  }
}

/**
 * Sum (or mean, with each value divided by the count first as the stock Mean kernel does) over one
 * contiguous block of axes, accumulated in double in the stock kernel's order.
 */
function reduceKernel(mean: boolean): Fast {
  return (args, stock) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32' || x.shape.length === 0) return stock(args);
    const attrs = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util
      .parseAxisParam(attrs.axis, x.shape)
      .slice()
      .sort((a, b) => a - b);
    if (axes.length === 0 || new Set(axes).size !== axes.length || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1))
      return stock(args);
    const backend = args.backend as unknown as CpuBackendLike;
    const v = valuesOf(backend, x);
    // x viewed as [outer, mid, inner] with the reduced (contiguous) axes in the middle
    const outer = size(x.shape.slice(0, axes[0]));
    const mid = size(axes.map((ax) => x.shape[ax]));
    const inner = size(x.shape.slice(axes[axes.length - 1] + 1));
    const out = new Float32Array(outer * inner);
    if (native && v.length >= NATIVE_MIN_ELEMENTS) native.reduceSum(v, outer, mid, inner, mean, out);
    else reduceSumJs(v, outer, mid, inner, mean, out);
    const outShape = attrs.keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

const OVERRIDES: Record<string, Fast> = {
  Sum: reduceKernel(false),
  Mean: reduceKernel(true),
  Slice: fastSlice,
  SplitV: fastSplitV,
  Concat: fastConcat,
  Add: binaryKernel(Bin.Add),
  Sub: binaryKernel(Bin.Sub),
  Multiply: binaryKernel(Bin.Mul),
  RealDiv: binaryKernel(Bin.Div),
  SquaredDifference: binaryKernel(Bin.SqDiff),
  Sqrt: unaryKernel(Un.Sqrt),
  Square: unaryKernel(Un.Square),
  Neg: unaryKernel(Un.Neg),
  Exp: unaryKernel(Un.Exp),
  Abs: unaryKernel(Un.Abs),
  Sigmoid: unaryKernel(Un.Sigmoid),
};

const stockKernels = new Map<string, KernelFunc>();

/** whether the fast CPU kernels replace tfjs's cpu-backend kernels in this process */
export function fastCpuKernelsInstalled(): boolean {
  return stockKernels.size > 0;
}

/**
 * Installs the faster cpu kernels (idempotent); `addon` = the native addon, whose threaded row copy
 * and elementwise kernels then take the large arrays. Without it everything runs in JS.
 */
export function installFastCpuKernels(addon?: NativeCpuKernels | null): void {
  addonInUse = addon ?? null;
  copyRuns = addon ? addon.copyRuns.bind(addon) : copyRunsJs;
  // an addon built before the elementwise kernels existed (set-up not re-run) still has the row copy
  native = addon && typeof addon.binaryTiled === 'function' ? addon : null;
  if (stockKernels.size) return;
  for (const [name, fast] of Object.entries(OVERRIDES)) {
    const k = tf.getKernel(name, 'cpu');
    if (!k) continue;
    const stock = k.kernelFunc;
    stockKernels.set(name, stock);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({
      kernelName: name,
      backendName: 'cpu',
      kernelFunc: ((a: KernelArgs) => fast(a, stock)) as KernelFunc,
    });
  }
}

/**
 * Restores the stock kernels (the self-test's reference and the tests use them); returns the addon
 * that was in use (null: JS only) so the caller can reinstall the same configuration.
 */
export function uninstallFastCpuKernels(): NativeCpuKernels | null {
  const inUse = addonInUse;
  for (const [name, stock] of stockKernels) {
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: stock });
  }
  stockKernels.clear();
  copyRuns = copyRunsJs;
  addonInUse = native = null;
  return inUse;
}
