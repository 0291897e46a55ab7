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
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { VmatError } from '../core/errors';
import { cellRange, gammaAtPoints, shellCacheFor, type GammaKernelParams } from './gamma_kernel';
import { runGammaChunks, type GammaJob } from './gamma_worker';

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
  /** worker threads (default: available cores, at most 8); 1 = run on the calling thread */
  threads?: number;
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
  for (const [name, a] of [
    ['reference', ref],
    ['evaluation', ev],
  ] as const) {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(a[i]))
        throw new VmatError(`gamma: ${name} dose has a non-finite value (${a[i]}) at flat index ${i}`);
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
  const dosePercent = o.dosePercent ?? 3;
  const dtaMm = o.dtaMm ?? 3;
  const cutoffPercent = o.cutoffPercent ?? 10;
  const interpFraction = o.interpFraction ?? 10;
  const maxGamma = o.maxGamma == null ? Infinity : o.maxGamma;
  if (!(dosePercent > 0) || !(dtaMm > 0))
    throw new VmatError(`gamma: dose % and DTA must be > 0, found ${dosePercent}%, ${dtaMm} mm`);
  if (!(maxGamma > 0)) throw new VmatError(`gamma: max_gamma must be > 0, found ${maxGamma}`);
  if (!(interpFraction > 0)) throw new VmatError(`gamma: interp_fraction must be > 0, found ${interpFraction}`);
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

function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

/** Gamma map on the calling thread. */
export function gammaIndexSync(
  ref: ArrayLike<number>,
  ev: ArrayLike<number>,
  shape: readonly number[],
  spacingMm: readonly number[],
  opts: GammaOptions = {},
): GammaMap {
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
  };
}

/** points handed out at a time (dynamic scheduling: costs vary strongly between points) */
const CHUNK = 1024;

/** persistent worker pool (start-up ~0.2 s per worker is paid once per process) */
const pool: Worker[] = [];

function getWorkers(n: number): Worker[] {
  while (pool.length < n) {
    // workers start without the TypeScript loader: register tsx (resolved from here) first
    const tsxApi = require.resolve('tsx/cjs/api');
    const workerModule = path.join(__dirname, 'gamma_worker.ts');
    const w = new Worker(
      `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(workerModule)}).runGammaWorker();`,
      { eval: true },
    );
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
 * Gamma map on `threads` threads: the calling thread plus threads - 1 pooled workers share the
 * reference points through an atomic counter (shared memory, no copies). Small problems and
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
  if (threads <= 1) return gammaIndexSync(ref, ev, shape, spacingMm, opts);
  const t0 = process.hrtime.bigint();
  const p = prepare(ref, ev, shape, spacingMm, opts, true);
  if (p.points.length < 8 * CHUNK) return gammaIndexSync(ref, ev, shape, spacingMm, { ...opts, threads: 1 });
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
  const vals: number[] = [];
  for (let i = 0; i < gamma.length; i++) {
    if (mask && !mask[i]) continue;
    if (Number.isFinite(gamma[i])) vals.push(gamma[i]);
  }
  const n = vals.length;
  if (n === 0)
    return {
      pass_rate: null,
      pass_rate_le: null,
      mean_gamma: null,
      median_gamma: null,
      max_gamma: null,
      n_evaluated: 0,
    };
  let lt = 0;
  let le = 0;
  let sum = 0;
  let mx = -Infinity;
  for (const v of vals) {
    if (v < 1) lt++;
    if (v <= 1) le++;
    sum += v;
    if (v > mx) mx = v;
  }
  const sorted = Float64Array.from(vals).sort();
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {
    pass_rate: (100 * lt) / n,
    pass_rate_le: (100 * le) / n,
    mean_gamma: sum / n,
    median_gamma: median,
    max_gamma: mx,
    n_evaluated: n,
  };
}
