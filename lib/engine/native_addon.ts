/**
 * Loads the optional N-API addon in native/ (oneDNN convolutions, fused GroupNorm), built at set-up
 * by scripts/setup.d/20-engine.sh. Absent or broken addon => `null` plus the reason, never a throw:
 * the engine then falls back to the next path.
 */
import { PROJECT_ROOT } from '../core/project';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** An opaque native gamma search table (freed with the JS handle). */
export type GammaTableHandle = { readonly __gammaTable: unique symbol };

/** The addon's functions (see native/src/addon.cc). Shapes are plain number arrays. */
export interface NativeAddon {
  /** kind 0 conv / 1 transposed conv; dir 0 fwd / 1 backward-data / 2 backward-weights */
  convLike(
    kind: 0 | 1,
    dir: 0 | 1 | 2,
    srcShape: number[],
    wShape: number[],
    dstShape: number[],
    stride: number[],
    padL: number[],
    padR: number[],
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    /** [Cout]: added in fwd; receives the bias gradient in backward-weights */
    bias?: Float32Array | null,
  ): void;
  /** act 1 relu / 2 silu; backward: out = dy * act'(x) */
  eltwise(act: 1 | 2, backward: boolean, x: Float32Array, dy: Float32Array | null, out: Float32Array): void;
  groupNormFwd(
    n: number,
    s: number,
    c: number,
    groups: number,
    eps: number,
    act: 0 | 1 | 2,
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    /** [n, groups, 2] mean and 1/std: written (or, with statsIn, read instead of computed) */
    stats?: Float64Array | null,
    statsIn?: boolean,
  ): void;
  groupNormBwd(
    n: number,
    s: number,
    c: number,
    groups: number,
    eps: number,
    act: 0 | 1 | 2,
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    /** the forward's statistics (else recomputed from x) */
    stats?: Float64Array | null,
  ): void;
  /** x2 trilinear up-sampling (align_corners=False); backward maps dy (big) to dx (small) */
  upsample2x(backward: boolean, smallShape: number[], input: Float32Array, out: Float32Array): void;
  /** 2x2x2 max pooling; backward needs x and dy */
  maxPool2x(backward: boolean, xShape: number[], x: Float32Array, dy: Float32Array | null, out: Float32Array): void;
  /** dst[dstOff + r*dstStride + j] = src[srcOff + r*srcStride + j], r < rows, j < run */
  copyRuns(
    src: Float32Array,
    srcOff: number,
    srcStride: number,
    dst: Float32Array,
    dstOff: number,
    dstStride: number,
    rows: number,
    run: number,
  ): void;
  /**
   * out[i] = a[i] op b[i mod b.length] (left: b[i mod b.length] op a[i]); op 0 add, 1 sub, 2 mul,
   * 3 div, 4 squared difference. Bit-identical to the JS loops in cpu_kernels.ts.
   */
  binaryTiled(op: number, a: Float32Array, b: Float32Array, out: Float32Array, left: boolean): void;
  /** out[i] = op(x[i]); op 0 sqrt, 1 square, 2 neg, 3 exp (V8's Math.exp algorithm), 4 abs, 5 sigmoid */
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /**
   * v as [outer, mid, inner] summed over mid into out [outer, inner], in double, in mid order;
   * mean: each value divided by mid and rounded to float32 first (the stock Mean kernel's way)
   */
  reduceSum(v: Float32Array, outer: number, mid: number, inner: number, mean: boolean, out: Float32Array): void;
  /** out[i] = exp(x[i]) in double as the unary exp/sigmoid kernels compute it (tests compare it with Math.exp) */
  expF64(x: Float64Array, out: Float64Array): void;
  /**
   * Gamma shell search (native/src/gamma.cc, bit-identical to lib/eval/gamma_kernel.ts) over the
   * reference points (flat indices); writes gamma to out[point] (NaN where undefined, -1 where the
   * search ran past the end of an incomplete table). ref/ev: both Float32Array or both Float64Array.
   * Returns the number of points marked -1.
   */
  gammaSearch(
    ref: Float32Array | Float64Array,
    ev: Float32Array | Float64Array,
    points: Int32Array,
    out: Float64Array,
    params: {
      shape: readonly number[];
      spacingMm: readonly number[];
      dosePercent: number;
      maxGamma: number;
      local: boolean;
      normalisation: number;
    },
    table: GammaTableHandle,
    threads: number,
  ): number;
  /**
   * Groups shell points (coords [3 N] in mm, x/y/z -> array axes 0/1/2; shellStart [nShells + 1];
   * dd2 [nShells] = (distance / dta)^2) into grid cells with buildShellTable's arithmetic.
   */
  gammaTable(
    coords: Float64Array,
    shellStart: Int32Array,
    dd2: Float64Array,
    complete: boolean,
    spacingMm: readonly number[],
  ): GammaTableHandle;
  /** [max over the array, index of the first non-finite value or -1] */
  gammaScan(a: Float32Array | Float64Array): [number, number];
  /** writes the flat indices with ref >= cutoff (and mask != 0) to idx in increasing order; returns their count */
  gammaSelect(ref: Float32Array | Float64Array, mask: Uint8Array | null, cutoff: number, idx: Int32Array): number;
  /**
   * One fused optimizer update of a float32 variable into xOut/mOut/vOut, bit-identical to the JS
   * updates: mode 0 = tfjs Adam (c = [b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps, -lr]), mode 1 = torch
   * AdamW as lib/train/adamw.ts (c = [b1, 1-b1, b2, 1-b2, 1-lr*wd, sqrt(1-b2^t), eps, lr/(1-b1^t)]).
   */
  adamUpdate(
    mode: 0 | 1,
    x: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    xOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    c: Float32Array,
  ): void;
  /** GFLOP/s of oneDNN's sgemm on n x n x n (best 0.1 s batch within `seconds`) on `threads` threads */
  sgemmGflops(n: number, seconds: number, threads: number): number;
  setThreads(n: number): void;
  info(): { dnnl: string; threads: number; cachedPrimitives: number };
  clearCache(): void;
  /** frees an ArrayBuffer's memory now (it becomes detached: length 0); the caller guarantees no reader is left */
  detach(buffer: ArrayBuffer): void;
}

/** where the native oneDNN addon is built (scripts/setup.d/20-engine.sh) */
export const ADDON_PATH = path.join(PROJECT_ROOT, 'native', 'build', 'Release', 'vmat_native.node');

let cached: { addon: NativeAddon | null; reason: string } | null = null;

/** the native addon when it is built and loads, else null with the reason (the engine then falls back) */
export function loadNativeAddon(): { addon: NativeAddon | null; reason: string } {
  if (cached) return cached;
  if (process.env.VMAT_NATIVE_DISABLE === '1') {
    cached = { addon: null, reason: 'disabled by VMAT_NATIVE_DISABLE=1' };
  } else if (!fs.existsSync(ADDON_PATH)) {
    cached = {
      addon: null,
      reason: `not built (${path.relative(process.cwd(), ADDON_PATH)} missing; run bash scripts/setup.sh)`,
    };
  } else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = { addon: require(ADDON_PATH) as NativeAddon, reason: 'loaded' };
    } catch (e) {
      cached = { addon: null, reason: `failed to load: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  return cached;
}
