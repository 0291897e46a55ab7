/**
 * The evaluation JSON of a set of predictions in the reference layout
 * (`evaluation_results.json`; the reference names it `baseline_evaluation_results.json`, spec 7.8), so notebooks written for the reference read it:
 * per_case_results[*].{case_id, spacing_mm, rx_gy, dose_metrics, gamma.{global_3mm3pct,
 * ptv_region_3mm3pct}, dvh_metrics, clinical_constraints, validation_warnings, framework_version}
 * and aggregate_metrics means/stds (np.std, ddof 0).
 *
 * Case evaluation order (spec 7.1): de-normalise the prediction with the CASE's Rx (the reference
 * multiplied by a fixed 70 Gy — a known defect, fixed here), validate (NaN/Inf/negative counts,
 * max > 1.2 Rx) into validation_warnings, sanitise (NaN/Inf/negative -> 0), dose metrics, gamma,
 * DVH metrics (numpy 'lower' Dx like the reference), clinical constraints.
 *
 * Gamma (spec 7.4): pymedphys semantics, 3%/3 mm global, cutoff 10%, max_gamma 2, evaluated at
 * decimation `gammaSubsample` (both volumes [::s] on every axis, spacing x s). ONE gamma map is
 * computed and reused: the PTV-region result is that map restricted to the union of the PTVs
 * dilated at full resolution by a box of half-widths max(1, round(5 mm / spacing)) per axis, then
 * decimated like the volumes (identical to the reference's second full-volume run, since a
 * reference point's gamma does not depend on which other points are evaluated).
 * Pass-rate keys: gamma_pass_rate = % gamma < 1 (pymedphys), gamma_pass_rate_le = % gamma <= 1
 * (the reference's convention; equal unless a gamma is exactly 1).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, VmatError } from '../core/errors';
import { createProgress } from '../core/progress';
import type { Case } from '../data/case';
import { caseIdOfPath, listCasePaths, loadCase } from '../data/load';
import { readPredictionNpz } from '../data/reference_npz';
import { npMean } from '../stats/npsum';
import { checkClinicalConstraints, PROSTATE_PTVS, type ClinicalResult, type ConstraintTable } from './clinical';
import { doseMetrics, type DoseMetrics } from './dose_error';
import { roundHalfEven, type DxMethod } from './dvh';
import { dvhMetrics, type DvhMetricsEntry } from './dvh_metrics';
import { gammaIndex, gammaStats, type GammaStats } from './gamma';

/** `framework_version` written into evaluation JSON files. */
export const FRAMEWORK_VERSION = '1.0.0';

export interface GammaResultJson {
  gamma_pass_rate: number | null;
  gamma_pass_rate_le: number | null;
  gamma_mean: number | null;
  gamma_median: number | null;
  gamma_max: number | null;
  voxels_evaluated: number;
  note?: string;
}

export interface CaseEvaluation {
  case_id: string;
  spacing_mm: number[];
  rx_gy: number;
  dose_metrics: DoseMetrics;
  gamma: { global_3mm3pct: GammaResultJson; ptv_region_3mm3pct: GammaResultJson; settings: Record<string, unknown> };
  dvh_metrics: Record<string, DvhMetricsEntry>;
  clinical_constraints: ClinicalResult;
  validation_warnings: string[];
  framework_version: string;
  model_type: string;
  architecture: string;
  timestamp: string;
}

export interface EvaluateCaseOptions {
  gammaSubsample?: number;
  /** skip gamma (results null with a note) */
  skipGamma?: boolean;
  dxMethod?: DxMethod;
  constraintTable?: ConstraintTable;
  modelType?: string;
  architecture?: string;
  gammaThreads?: number;
}

/** union of present PTVs dilated by a box of half-widths max(1, round(5 mm / spacing)) per axis (reference PTV region) */
export function ptvRegionMask(c: Pick<Case, 'masks' | 'shape' | 'spacingMm'>, marginMm = 5): Uint8Array | null {
  const [n0, n1, n2] = c.shape;
  const n = n0 * n1 * n2;
  let m: Uint8Array | null = null;
  for (const name of PROSTATE_PTVS) {
    const pm = c.masks.get(name);
    if (!pm) continue;
    m ??= new Uint8Array(n);
    for (let i = 0; i < n; i++) if (pm[i]) m[i] = 1;
  }
  if (!m) return null;
  const r = c.spacingMm.map((s) => Math.max(1, roundHalfEven(marginMm / s)));
  const strides = [n1 * n2, n2, 1];
  const dims = [n0, n1, n2];
  for (let axis = 0; axis < 3; axis++) {
    const out = new Uint8Array(n);
    const st = strides[axis];
    const len = dims[axis];
    for (let i = 0; i < n; i++) {
      if (!m[i]) continue;
      const pos = Math.floor(i / st) % len;
      const lo = Math.max(0, pos - r[axis]);
      const hi = Math.min(len - 1, pos + r[axis]);
      for (let p = lo; p <= hi; p++) out[i + (p - pos) * st] = 1;
    }
    m = out;
  }
  return m;
}

/**
 * The evaluation's gamma (spec 7.4): global 3%/3 mm, 10 % low-dose cutoff on the reference, max γ 2,
 * normalised to max(reference), on both volumes taken as volume[::s, ::s, ::s] (spacing × s); one
 * gamma map, its statistics over every evaluated point and over the PTV region (ptvRegionMask,
 * decimated the same way; null without a PTV). Doses in Gy on the case grid, (Y, X, Z) C order.
 */
export async function gamma3mm3pct(
  targetGy: ArrayLike<number>,
  predGy: ArrayLike<number>,
  c: Pick<Case, 'masks' | 'shape' | 'spacingMm'>,
  subsample: number,
  threads?: number,
): Promise<{ global: GammaStats; ptvRegion: GammaStats | null }> {
  const r = decimate(Float64Array.from(targetGy), c.shape, subsample);
  const e = decimate(Float64Array.from(predGy), c.shape, subsample);
  const sp = c.spacingMm.map((x) => x * subsample);
  const map = await gammaIndex(r.data, e.data, r.shape, sp, {
    dosePercent: 3,
    dtaMm: 3,
    cutoffPercent: 10,
    maxGamma: 2,
    threads,
  });
  const region = ptvRegionMask(c);
  return {
    global: gammaStats(map.gamma),
    ptvRegion: region ? gammaStats(map.gamma, decimate(region, c.shape, subsample).data) : null,
  };
}

/** volume[::s, ::s, ::s] of a (Y, X, Z) C-order volume, with its new shape (s = 1 returns the input). */
export function decimate<T extends Float32Array | Float64Array | Uint8Array>(
  v: T,
  shape: readonly number[],
  s: number,
): { data: T; shape: [number, number, number] } {
  if (s === 1) return { data: v, shape: [shape[0], shape[1], shape[2]] };
  const ns = shape.map((d) => Math.ceil(d / s)) as [number, number, number];
  const out = new (v.constructor as new (n: number) => T)(ns[0] * ns[1] * ns[2]);
  let q = 0;
  for (let i = 0; i < shape[0]; i += s)
    for (let j = 0; j < shape[1]; j += s)
      for (let k = 0; k < shape[2]; k += s) out[q++] = v[(i * shape[1] + j) * shape[2] + k];
  return { data: out, shape: ns };
}

function gammaJson(stats: ReturnType<typeof gammaStats>, note?: string): GammaResultJson {
  const out: GammaResultJson = {
    gamma_pass_rate: stats.pass_rate,
    gamma_pass_rate_le: stats.pass_rate_le,
    gamma_mean: stats.mean_gamma,
    gamma_median: stats.median_gamma,
    gamma_max: stats.max_gamma,
    voxels_evaluated: stats.n_evaluated,
  };
  if (stats.n_evaluated === 0) out.note = note ?? 'no voxels evaluated (no finite gamma)';
  else if (note) out.note = note;
  return out;
}

/** Evaluates one case: prediction in Gy (same grid as the case) against the case's dose. */
export async function evaluateCase(
  c: Case,
  predGyIn: ArrayLike<number>,
  opts: EvaluateCaseOptions = {},
): Promise<CaseEvaluation> {
  if (!c.dose) throw new VmatError(`evaluate: case ${c.id} has no reference dose`);
  const n = c.dose.length;
  if (predGyIn.length !== n)
    throw new VmatError(
      `evaluate: prediction for ${c.id} has ${predGyIn.length} voxels, the case has ${n} (shape ${c.shape.join('x')})`,
    );
  const warnings: string[] = [];
  const sanitise = (label: string, src: ArrayLike<number>): Float64Array => {
    let nan = 0;
    let inf = 0;
    let neg = 0;
    let mx = -Infinity;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = src[i];
      if (Number.isNaN(v)) nan++;
      else if (!Number.isFinite(v)) inf++;
      else if (v < 0) neg++;
      else {
        out[i] = v;
        if (v > mx) mx = v;
      }
    }
    if (nan) warnings.push(`${label}: ${nan} NaN values set to 0`);
    if (inf) warnings.push(`${label}: ${inf} infinite values set to 0`);
    if (neg) warnings.push(`${label}: ${neg} negative values set to 0`);
    if (mx > 1.2 * c.rxGy)
      warnings.push(`${label}: max ${mx.toFixed(2)} Gy exceeds 1.2 x Rx (${(1.2 * c.rxGy).toFixed(2)} Gy)`);
    return out;
  };
  const pred = sanitise('prediction', predGyIn);
  const target = sanitise('target', c.dose);

  const dm = doseMetrics(pred, target, c.masks);

  const s = opts.gammaSubsample ?? 1;
  if (!Number.isInteger(s) || s < 1)
    throw new VmatError(`evaluate: gamma subsample must be a positive integer, found ${s}`);
  const settings = {
    dose_percent: 3,
    dta_mm: 3,
    lower_cutoff_percent: 10,
    max_gamma: 2,
    local: false,
    interp_fraction: 10,
    subsample: s,
    normalisation: 'max(reference)',
  };
  let gamma: CaseEvaluation['gamma'];
  if (opts.skipGamma) {
    const empty = gammaJson(
      { pass_rate: null, pass_rate_le: null, mean_gamma: null, median_gamma: null, max_gamma: null, n_evaluated: 0 },
      'gamma skipped',
    );
    gamma = { global_3mm3pct: empty, ptv_region_3mm3pct: { ...empty }, settings };
  } else {
    const g = await gamma3mm3pct(target, pred, c, s, opts.gammaThreads);
    gamma = {
      global_3mm3pct: gammaJson(g.global),
      ptv_region_3mm3pct: g.ptvRegion
        ? gammaJson(g.ptvRegion)
        : gammaJson(gammaStats(new Float64Array(0)), 'no PTV present'),
      settings,
    };
  }

  const dvh = dvhMetrics(pred, target, c.masks, c.structureNames, c.spacingMm, {
    method: opts.dxMethod ?? 'lower',
    rxGy: c.rxGy,
    prescriptions: c.prescriptions,
  });
  const clinical = checkClinicalConstraints(dvh, c.rxGy, {
    table: opts.constraintTable,
    prescriptions: c.prescriptions,
  });
  return {
    case_id: c.id,
    spacing_mm: [...c.spacingMm],
    rx_gy: c.rxGy,
    dose_metrics: dm,
    gamma,
    dvh_metrics: dvh,
    clinical_constraints: clinical,
    validation_warnings: warnings,
    framework_version: FRAMEWORK_VERSION,
    model_type: opts.modelType ?? 'baseline_unet',
    architecture: opts.architecture ?? 'unknown',
    timestamp: new Date().toISOString(),
  };
}

const std0 = (v: number[]): number | null => {
  if (!v.length) return null;
  const m = npMean(v);
  return Math.sqrt(npMean(v.map((x) => (x - m) * (x - m))));
};
const meanOrNull = (v: number[]): number | null => (v.length ? npMean(v) : null);

export interface EvaluationJson {
  model_type: string;
  architecture: string;
  framework_version: string;
  n_cases: number;
  timestamp: string;
  gamma_subsample: number;
  aggregate_metrics: Record<string, unknown>;
  per_case_results: CaseEvaluation[];
}

/** aggregate block of the reference (means and np.std ddof 0 over cases) */
export function aggregateMetrics(cases: CaseEvaluation[]): Record<string, unknown> {
  const nums = (f: (c: CaseEvaluation) => number | null | undefined) =>
    cases.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const mae = nums((c) => c.dose_metrics.mae_gy);
  const g = nums((c) => c.gamma.global_3mm3pct.gamma_pass_rate);
  const gl = nums((c) => c.gamma.global_3mm3pct.gamma_pass_rate_le);
  const pg = nums((c) => c.gamma.ptv_region_3mm3pct.gamma_pass_rate);
  const pgl = nums((c) => c.gamma.ptv_region_3mm3pct.gamma_pass_rate_le);
  const names = [...new Set(cases.flatMap((c) => Object.keys(c.dose_metrics.per_structure_mae)))];
  const perStructure: Record<string, { mean: number | null; std: number | null; n_cases: number }> = {};
  for (const s of names) {
    const v = nums((c) => c.dose_metrics.per_structure_mae[s]);
    perStructure[s] = { mean: meanOrNull(v), std: std0(v), n_cases: v.length };
  }
  return {
    mae_gy_mean: meanOrNull(mae),
    mae_gy_std: std0(mae),
    gamma_pass_rate_mean: meanOrNull(g),
    gamma_pass_rate_std: std0(g),
    gamma_pass_rate_le_mean: meanOrNull(gl),
    gamma_pass_rate_le_std: std0(gl),
    ptv_gamma_pass_rate_mean: meanOrNull(pg),
    ptv_gamma_pass_rate_std: std0(pg),
    ptv_gamma_pass_rate_le_mean: meanOrNull(pgl),
    ptv_gamma_pass_rate_le_std: std0(pgl),
    per_structure_mae: perStructure,
  };
}

export interface EvaluatePredictionsOptions extends EvaluateCaseOptions {
  predDir: string;
  dataDir: string;
  /** only these case ids (default: every prediction whose case is in dataDir) */
  caseIds?: string[];
  onProgress?: (done: number, total: number, info: string) => void;
  quiet?: boolean;
}

/** Evaluates every `<case>_pred.npz` in predDir whose case is in dataDir (paired by stem, as compute_test_metrics.py). */
export async function evaluatePredictions(opts: EvaluatePredictionsOptions): Promise<EvaluationJson> {
  if (!fs.existsSync(opts.predDir) || !fs.statSync(opts.predDir).isDirectory())
    throw new DataError(opts.predDir, null, 'a folder of <case>_pred.npz files', 'no such folder');
  const cases = new Map((await listCasePaths(opts.dataDir)).map((p) => [caseIdOfPath(p), p]));
  const preds = fs
    .readdirSync(opts.predDir)
    .filter((f) => f.endsWith('_pred.npz') && !f.startsWith('.'))
    .sort()
    .map((f) => ({ id: f.slice(0, -'_pred.npz'.length), file: path.join(opts.predDir, f) }))
    .filter((p) => cases.has(p.id) && (!opts.caseIds || opts.caseIds.includes(p.id)));
  if (!preds.length)
    throw new DataError(opts.predDir, null, `<case>_pred.npz files whose case is in ${opts.dataDir}`, 'none');
  const progress = createProgress({
    label: 'evaluate',
    total: preds.length,
    onUpdate: opts.onProgress,
    quiet: opts.quiet,
  });
  const results: CaseEvaluation[] = [];
  for (const p of preds) {
    const c = await loadCase(cases.get(p.id) as string);
    const pr = await readPredictionNpz(p.file);
    if (pr.shape.join(',') !== c.shape.join(','))
      throw new DataError(p.file, 'dose', `shape (${c.shape.join(', ')}) of case ${p.id}`, `(${pr.shape.join(', ')})`);
    const predGy = new Float64Array(pr.dose.length);
    for (let i = 0; i < predGy.length; i++) predGy[i] = pr.dose[i] * c.rxGy;
    results.push(await evaluateCase(c, predGy, opts));
    progress.tick(1, p.id);
  }
  progress.stop();
  return {
    model_type: opts.modelType ?? 'baseline_unet',
    architecture: opts.architecture ?? 'unknown',
    framework_version: FRAMEWORK_VERSION,
    n_cases: results.length,
    timestamp: new Date().toISOString(),
    gamma_subsample: opts.gammaSubsample ?? 1,
    aggregate_metrics: aggregateMetrics(results),
    per_case_results: results,
  };
}
