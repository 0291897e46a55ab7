/**
 * 3-D gamma index with the semantics of pymedphys `gamma_shell` (the peer the reference project
 * used: `pymedphys.gamma(..., dose_percent_threshold=3, distance_mm_threshold=3,
 * lower_percent_dose_cutoff=10, max_gamma=2.0)`, spec 7.4), checked against a numpy
 * re-implementation of it (bench/peers/gamma_shell.py):
 *  - normalisation = max(reference) unless given; the low-dose cutoff (cutoffPercent of the
 *    normalisation) applies to the reference only; points below it are not evaluated (NaN);
 *  - evaluation dose trilinearly interpolated on pymedphys's spherical shells (interp_fraction 10:
 *    shells every dta/10 mm, points on a shell at most dta/10 mm apart);
 *  - global (|E - R| / normalisation) or local (|E - R| / R);
 *  - gamma > max_gamma is set to max_gamma; max_gamma absent = no limit;
 *  - an optional evaluation mask restricts the reference points only (the search always uses the
 *    whole evaluation grid), so a region pass rate equals masking the full map afterwards.
 * Reference and evaluation share one grid (same shape and spacing, origin 0).
 *
 * Pass rates: `pass_rate` = % of evaluated points with gamma < 1 (pymedphys convention),
 * `pass_rate_le` = % with gamma <= 1 (the reference project's convention).
 *
 * Kernels: the native addon's OpenMP search (native/src/gamma.cc) when it is built — same
 * algorithm and arithmetic as gamma_kernel.ts, bit-identical maps, reads float32 or float64 dose
 * arrays in place (no copies) — else the JavaScript kernel on worker threads. `kernel: 'js'` forces
 * the JavaScript one (tests compare the two).
 */
import { workerSource } from '../core/workers';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { VmatError } from '../core/errors';
import { nativeKernel, searchNative } from './gamma_native';
import type { NativeAddon } from '../engine/native_addon';
import { cellRange, gammaAtPoints, shellCacheFor, type GammaKernelParams } from './gamma_kernel';
import { runGammaChunks, type GammaJob } from './gamma_worker';

/** A non-finite dose value in a gamma input (which array, where, what). */
export class GammaNonFiniteError extends VmatError {
  constructor(
    readonly which: 'reference' | 'evaluation',
    readonly index: number,
    readonly value: number,
  ) {
    super(`gamma: ${which} dose has a non-finite value (${value}) at flat index ${index}`);
  }
}

export interface GammaOptions {
  /** dose-difference criterion in % (of the normalisation, or of the local reference dose) */
  dosePercent?: number;
  /** distance-to-agreement criterion in mm */
  dtaMm?: number;
  /** low-dose cutoff in % of the normalisation, applied to the reference */
  cutoffPercent?: number;
  /** clip and search limit; null/undefined = no limit (pymedphys default) */
  maxGamma?: number | null;
  local?: boolean;
  /** global normalisation dose; default max(reference) */
  normalisation?: number;
  interpFraction?: number;
  /** restrict reference points to mask > 0 */
  mask?: Uint8Array | null;
  /** threads (default: available cores, at most 8; gammaIndexSync: 1) */
  threads?: number;
  /** 'auto' (default): native addon when built, else JavaScript; 'native' fails without the addon */
  kernel?: 'auto' | 'native' | 'js';
}

export interface GammaMap {
  /** gamma per voxel, NaN where not evaluated */
  gamma: Float64Array;
  shape: [number, number, number];
  nEvaluated: number;
  normalisation: number;
  cutoffDose: number;
  seconds: number;
  threads: number;
  /** which search ran */
  kernel: 'native' | 'js';
}

export interface GammaStats {
  /** % of finite gamma < 1 (pymedphys) */
  pass_rate: number | null;
  /** % of finite gamma <= 1 (reference project) */
  pass_rate_le: number | null;
  mean_gamma: number | null;
  median_gamma: number | null;
  max_gamma: number | null;
  n_evaluated: number;
}

function checkInputs(
  ref: ArrayLike<number>,
  ev: ArrayLike<number>,
  shape: readonly number[],
  spacingMm: readonly number[],
  mask: Uint8Array | null | undefined,
): void {
  if (shape.length !== 3)
    throw new VmatError(`gamma: expected a 3-D shape, found ${shape.length} dimensions [${shape.join(', ')}]`);
  if (spacingMm.length !== 3)
    throw new VmatError(`gamma: expected 3 spacing values (mm, array axis order), found ${spacingMm.length}`);
  if (!spacingMm.every((s) => Number.isFinite(s) && s > 0))
    throw new VmatError(`gamma: spacing must be positive mm, found [${spacingMm.join(', ')}]`);
  const n = shape[0] * shape[1] * shape[2];
  if (ref.length !== n)
    throw new VmatError(`gamma: reference has ${ref.length} voxels, expected ${n} for shape [${shape.join(', ')}]`);
  if (ev.length !== n)
    throw new VmatError(`gamma: evaluation has ${ev.length} voxels, reference shape [${shape.join(', ')}] has ${n}`);
  if (mask && mask.length !== n) throw new VmatError(`gamma: mask has ${mask.length} voxels, expected ${n}`);
  if (shape.some((s) => s < 2))
    throw new VmatError(`gamma: every axis needs at least 2 voxels, found [${shape.join(', ')}]`);
}

function checkFinite(ref: ArrayLike<number>, ev: ArrayLike<number>): void {
  const n = ref.length;
  for (const [name, a] of [
    ['reference', ref],
    ['evaluation', ev],
  ] as const) {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(a[i])) throw new GammaNonFiniteError(name, i, a[i]);
    }
  }
}

interface Prepared {
  params: GammaKernelParams;
  ref: Float64Array;
  ev: Float64Array;
  points: Int32Array;
  cutoffDose: number;
}

function prepare(
  ref: ArrayLike<number>,
  ev: ArrayLike<number>,
  shape: readonly number[],
  spacingMm: readonly number[],
  o: GammaOptions,
  shared: boolean,
): Prepared {
  checkInputs(ref, ev, shape, spacingMm, o.mask);
  checkFinite(ref, ev);
  const { dosePercent, dtaMm, cutoffPercent, interpFraction, maxGamma } = criteria(o);
  const n = ref.length;
  const alloc = (len: number) => (shared ? new Float64Array(new SharedArrayBuffer(len * 8)) : new Float64Array(len));
  const r = alloc(n);
  const e = alloc(n);
  let mx = -Infinity;
  for (let i = 0; i < n; i++) {
    r[i] = ref[i];
    e[i] = ev[i];
    if (r[i] > mx) mx = r[i];
  }
  const normalisation = o.normalisation ?? mx;
  const cutoffDose = (cutoffPercent / 100) * normalisation;
  let count = 0;
  for (let i = 0; i < n; i++) if (r[i] >= cutoffDose && (!o.mask || o.mask[i])) count++;
  const points = shared ? new Int32Array(new SharedArrayBuffer(count * 4)) : new Int32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (r[i] >= cutoffDose && (!o.mask || o.mask[i])) points[k++] = i;
  return {
    params: {
      shape: [shape[0], shape[1], shape[2]],
      spacingMm: [spacingMm[0], spacingMm[1], spacingMm[2]],
      dosePercent,
      dtaMm,
      interpFraction,
      maxGamma,
      local: !!o.local,
      normalisation,
    },
    ref: r,
    ev: e,
    points,
    cutoffDose,
  };
}

/** the criteria with their defaults, validated */
function criteria(o: GammaOptions) {
  const dosePercent = o.dosePercent ?? 3;
  const dtaMm = o.dtaMm ?? 3;
  const cutoffPercent = o.cutoffPercent ?? 10;
  const interpFraction = o.interpFraction ?? 10;
  const maxGamma = o.maxGamma == null ? Infinity : o.maxGamma;
  if (!(dosePercent > 0) || !(dtaMm > 0))
    throw new VmatError(`gamma: dose % and DTA must be > 0, found ${dosePercent}%, ${dtaMm} mm`);
  if (!(maxGamma > 0)) throw new VmatError(`gamma: max_gamma must be > 0, found ${maxGamma}`);
  if (!(interpFraction > 0)) throw new VmatError(`gamma: interp_fraction must be > 0, found ${interpFraction}`);
  return { dosePercent, dtaMm, cutoffPercent, interpFraction, maxGamma };
}

function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

/** both arrays as they are when they share a float type (no copy), else both as Float64Array */
function doseArrays(
  ref: ArrayLike<number>,
  ev: ArrayLike<number>,
): [Float32Array, Float32Array] | [Float64Array, Float64Array] {
  if (ref instanceof Float32Array && ev instanceof Float32Array) return [ref, ev];
  if (ref instanceof Float64Array && ev instanceof Float64Array) return [ref, ev];
  return [Float64Array.from(ref), Float64Array.from(ev)];
}

/**
 * The native search: one pass over each input for the finite check and max(reference), the point
 * selection and the OpenMP search in the addon (gamma_native.ts).
 */
function gammaNative(
  addon: NativeAddon,
  refIn: ArrayLike<number>,
  evIn: ArrayLike<number>,
  shape: readonly number[],
  spacingMm: readonly number[],
  o: GammaOptions,
  threads: number,
): GammaMap {
  const t0 = process.hrtime.bigint();
  checkInputs(refIn, evIn, shape, spacingMm, o.mask);
  const [ref, ev] = doseArrays(refIn, evIn);
  const [mx, badRef] = addon.gammaScan(ref);
  if (badRef >= 0) throw new GammaNonFiniteError('reference', badRef, ref[badRef]);
  const badEv = addon.gammaScan(ev)[1];
  if (badEv >= 0) throw new GammaNonFiniteError('evaluation', badEv, ev[badEv]);
  const c = criteria(o);
  const normalisation = o.normalisation ?? mx;
  const cutoffDose = (c.cutoffPercent / 100) * normalisation;
  const all = new Int32Array(ref.length);
  const points = all.subarray(0, addon.gammaSelect(ref, o.mask ?? null, cutoffDose, all));
  const params: GammaKernelParams = {
    shape: [shape[0], shape[1], shape[2]],
    spacingMm: [spacingMm[0], spacingMm[1], spacingMm[2]],
    dosePercent: c.dosePercent,
    dtaMm: c.dtaMm,
    interpFraction: c.interpFraction,
    maxGamma: c.maxGamma,
    local: !!o.local,
    normalisation,
  };
  const gamma = new Float64Array(ref.length).fill(NaN);
  searchNative(addon, ref, ev, points, params, gamma, threads);
  return {
    gamma,
    shape: params.shape,
    nEvaluated: countFinite(gamma),
    normalisation,
    cutoffDose,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    threads,
    kernel: 'native',
  };
}

/** Gamma map, computed synchronously (JavaScript kernel: on the calling thread; native: `threads` OpenMP threads, default 1). */
export function gammaIndexSync(
  ref: ArrayLike<number>,
  ev: ArrayLike<number>,
  shape: readonly number[],
  spacingMm: readonly number[],
  opts: GammaOptions = {},
): GammaMap {
  const addon = nativeKernel(opts.kernel);
  if (addon) return gammaNative(addon, ref, ev, shape, spacingMm, opts, opts.threads ?? 1);
  const t0 = process.hrtime.bigint();
  const p = prepare(ref, ev, shape, spacingMm, opts, false);
  const { cellMin, cellMax } = cellRange(p.ev, p.params.shape);
  const gamma = new Float64Array(ref.length).fill(NaN);
  gammaAtPoints(
    p.params,
    { ref: p.ref, ev: p.ev, cellMin, cellMax },
    shellCacheFor(p.params),
    p.points,
    0,
    p.points.length,
    gamma,
  );
  return {
    gamma,
    shape: p.params.shape,
    nEvaluated: countFinite(gamma),
    normalisation: p.params.normalisation,
    cutoffDose: p.cutoffDose,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    threads: 1,
    kernel: 'js',
  };
}

/** points handed out at a time (dynamic scheduling: costs vary strongly between points) */
const CHUNK = 1024;

/** persistent worker pool (start-up ~0.2 s per worker is paid once per process) */
const pool: Worker[] = [];

function getWorkers(n: number): Worker[] {
  while (pool.length < n) {
    // the compiled module, or the TypeScript source through tsx (workers start without a loader)
    const w = new Worker(workerSource(__dirname, 'gamma_worker', 'runGammaWorker'), { eval: true });
    w.unref();
    pool.push(w);
  }
  return pool.slice(0, n);
}

function runOnWorker(w: Worker, job: GammaJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { ok: boolean; error?: string }) => {
      w.off('error', onError);
      if (m.ok) resolve();
      else reject(new Error(`gamma worker failed: ${m.error}`));
    };
    const onError = (e: Error) => {
      w.off('message', onMessage);
      const i = pool.indexOf(w);
      if (i >= 0) pool.splice(i, 1);
      reject(e);
    };
    w.once('message', onMessage);
    w.once('error', onError);
    w.postMessage(job);
  });
}

/**
 * Gamma map on `threads` threads (default: available cores, at most 8). Native kernel: OpenMP
 * threads in the addon. JavaScript kernel: the calling thread plus threads - 1 pooled workers share
 * the reference points through an atomic counter (shared memory, no copies); small problems and
 * threads = 1 run on the calling thread only.
 */
export async function gammaIndex(
  ref: ArrayLike<number>,
  ev: ArrayLike<number>,
  shape: readonly number[],
  spacingMm: readonly number[],
  opts: GammaOptions = {},
): Promise<GammaMap> {
  const threads = opts.threads ?? defaultThreads();
  const addon = nativeKernel(opts.kernel);
  if (addon) return gammaNative(addon, ref, ev, shape, spacingMm, opts, threads);
  if (threads <= 1) return gammaIndexSync(ref, ev, shape, spacingMm, opts);
  const t0 = process.hrtime.bigint();
  const p = prepare(ref, ev, shape, spacingMm, opts, true);
  if (p.points.length < 8 * CHUNK)
    return gammaIndexSync(ref, ev, shape, spacingMm, { ...opts, threads: 1, kernel: 'js' });
  const range = cellRange(p.ev, p.params.shape);
  const cellMin = new Float64Array(new SharedArrayBuffer(range.cellMin.length * 8));
  const cellMax = new Float64Array(new SharedArrayBuffer(range.cellMax.length * 8));
  cellMin.set(range.cellMin);
  cellMax.set(range.cellMax);
  const gamma = new Float64Array(new SharedArrayBuffer(ref.length * 8)).fill(NaN);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const job: GammaJob = {
    params: p.params,
    ref: p.ref,
    ev: p.ev,
    cellMin,
    cellMax,
    points: p.points,
    gamma,
    counter,
    chunk: CHUNK,
  };
  const workers = getWorkers(threads - 1);
  const done = workers.map((w) => runOnWorker(w, job));
  runGammaChunks(job);
  await Promise.all(done);
  return {
    gamma: new Float64Array(gamma),
    shape: p.params.shape,
    nEvaluated: countFinite(gamma),
    normalisation: p.params.normalisation,
    cutoffDose: p.cutoffDose,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    threads,
    kernel: 'js',
  };
}

function countFinite(g: Float64Array): number {
  let n = 0;
  for (let i = 0; i < g.length; i++) if (Number.isFinite(g[i])) n++;
  return n;
}

/**
 * Summary of a gamma map over its finite values, optionally restricted to mask > 0 (the
 * reference's `compute_gamma` result fields plus both pass-rate conventions). Median as numpy
 * (mean of the two middle values).
 */
export function gammaStats(gamma: Float64Array | Float32Array, mask?: Uint8Array | null): GammaStats {
  let n = 0;
  for (let i = 0; i < gamma.length; i++) if ((!mask || mask[i]) && Number.isFinite(gamma[i])) n++;
  if (n === 0)
    return {
      pass_rate: null,
      pass_rate_le: null,
      mean_gamma: null,
      median_gamma: null,
      max_gamma: null,
      n_evaluated: 0,
    };
  const vals = new Float64Array(n);
  let lt = 0;
  let le = 0;
  let sum = 0;
  let mx = -Infinity;
  for (let i = 0, k = 0; i < gamma.length; i++) {
    const v = gamma[i];
    if ((mask && !mask[i]) || !Number.isFinite(v)) continue;
    vals[k++] = v;
    if (v < 1) lt++;
    if (v <= 1) le++;
    sum += v;
    if (v > mx) mx = v;
  }
  let median: number;
  if (n % 2) median = selectKth(vals, (n - 1) / 2);
  else {
    // the upper middle value is the smallest of the part above the lower one after selection
    const lo = selectKth(vals, n / 2 - 1);
    let hi = Infinity;
    for (let i = n / 2; i < n; i++) if (vals[i] < hi) hi = vals[i];
    median = (lo + hi) / 2;
  }
  return {
    pass_rate: (100 * lt) / n,
    pass_rate_le: (100 * le) / n,
    mean_gamma: sum / n,
    median_gamma: median,
    max_gamma: mx,
    n_evaluated: n,
  };
}

/**
 * k-th smallest value (0-based) by quickselect (Hoare partition, median-of-three pivot), O(n)
 * expected instead of a full sort; reorders `a` so that a[0..k] <= a[k] <= a[k+1..].
 */
function selectKth(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // median of three to the middle
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
