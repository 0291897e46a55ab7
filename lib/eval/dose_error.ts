/**
 * Voxel-wise dose errors between a prediction and its reference, in Gy.
 *  - `doseMetrics`: the reference's `compute_dose_metrics` block (spec 7.2): mae_gy / rmse_gy /
 *    max_error_gy over ALL voxels of the volume (air included — the reference's headline "MAE"),
 *    pred/target max and mean, mae_gy_above_{10,50,90}pct over voxels with target >= k% of
 *    max(target) (the GT maximum, not Rx), and per_structure_mae over each non-empty mask.
 *  - `maeGy` over a region (body mask, threshold, structure), signed mean error (pred - target),
 *    and per-structure Dmean error (mean(pred) - mean(target) over the structure).
 * Means use numpy's summation order (npsum.ts) so values agree with the reference to the last bits.
 */
import { VmatError } from '../core/errors';
import { npMean } from '../stats/npsum';

function checkPair(pred: ArrayLike<number>, target: ArrayLike<number>): void {
  if (pred.length !== target.length)
    throw new VmatError(`dose error: prediction has ${pred.length} voxels, reference has ${target.length}`);
  if (pred.length === 0) throw new VmatError('dose error: empty volumes');
}

function select(a: ArrayLike<number>, mask: ArrayLike<number> | null): Float64Array {
  if (!mask) return Float64Array.from(a);
  if (mask.length !== a.length) throw new VmatError(`dose error: mask has ${mask.length} voxels, dose has ${a.length}`);
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Float64Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]) out[k++] = a[i];
  return out;
}

/** mean |pred - target| over mask > 0 (all voxels when mask is null); NaN for an empty region */
export function maeGy(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  mask: ArrayLike<number> | null = null,
): number {
  checkPair(pred, target);
  const d = select(absDiff(pred, target), mask);
  return d.length ? npMean(d) : NaN;
}

/** Mean (pred − target) in Gy over mask > 0 (all voxels without a mask); positive = prediction too hot. Arrays share one grid. */
export function signedMeanErrorGy(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  mask: ArrayLike<number> | null = null,
): number {
  checkPair(pred, target);
  const d = new Float64Array(pred.length);
  for (let i = 0; i < d.length; i++) d[i] = pred[i] - target[i];
  const s = select(d, mask);
  return s.length ? npMean(s) : NaN;
}

/** mean |pred - target| over voxels where target >= thresholdGy */
export function maeAboveGy(pred: ArrayLike<number>, target: ArrayLike<number>, thresholdGy: number): number {
  checkPair(pred, target);
  const m = new Uint8Array(target.length);
  for (let i = 0; i < m.length; i++) m[i] = target[i] >= thresholdGy ? 1 : 0;
  return maeGy(pred, target, m);
}

/** Dmean(pred) − Dmean(target) in Gy over the structure `mask` (same grid as the doses); NaN for an empty mask. */
export function dmeanErrorGy(pred: ArrayLike<number>, target: ArrayLike<number>, mask: ArrayLike<number>): number {
  checkPair(pred, target);
  const p = select(pred, mask);
  const t = select(target, mask);
  return p.length ? npMean(p) - npMean(t) : NaN;
}

function absDiff(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const d = new Float64Array(a.length);
  for (let i = 0; i < d.length; i++) d[i] = Math.abs(a[i] - b[i]);
  return d;
}

export interface DoseMetrics {
  mae_gy: number;
  rmse_gy: number;
  max_error_gy: number;
  pred_max_gy: number;
  target_max_gy: number;
  pred_mean_gy: number;
  target_mean_gy: number;
  mae_gy_above_10pct: number | null;
  mae_gy_above_50pct: number | null;
  mae_gy_above_90pct: number | null;
  per_structure_mae: Record<string, number>;
  /** per-structure Dmean(pred) - Dmean(target) (not in the reference's block; added) */
  per_structure_dmean_error: Record<string, number>;
}

/** The reference's dose_metrics block (spec 7.2) plus per-structure Dmean errors; doses in Gy and masks on one grid. */
export function doseMetrics(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  masks: Map<string, Uint8Array>,
): DoseMetrics {
  checkPair(pred, target);
  const ad = absDiff(pred, target);
  const sq = new Float64Array(ad.length);
  let maxErr = 0;
  let pMax = -Infinity;
  let tMax = -Infinity;
  for (let i = 0; i < ad.length; i++) {
    sq[i] = ad[i] * ad[i];
    if (ad[i] > maxErr) maxErr = ad[i];
    if (pred[i] > pMax) pMax = pred[i];
    if (target[i] > tMax) tMax = target[i];
  }
  const above = (k: number): number | null => {
    const thr = (k / 100) * tMax;
    const m = new Uint8Array(target.length);
    let any = false;
    for (let i = 0; i < m.length; i++)
      if (target[i] >= thr) {
        m[i] = 1;
        any = true;
      }
    return any ? npMean(select(ad, m)) : null;
  };
  const perStructure: Record<string, number> = {};
  const perDmean: Record<string, number> = {};
  for (const [name, m] of masks) {
    if (m.length !== ad.length)
      throw new VmatError(`dose error: mask ${name} has ${m.length} voxels, dose has ${ad.length}`);
    const v = select(ad, m);
    if (!v.length) continue;
    perStructure[name] = npMean(v);
    perDmean[name] = dmeanErrorGy(pred, target, m);
  }
  return {
    mae_gy: npMean(ad),
    rmse_gy: Math.sqrt(npMean(sq)),
    max_error_gy: maxErr,
    pred_max_gy: pMax,
    target_max_gy: tMax,
    pred_mean_gy: npMean(Float64Array.from(pred)),
    target_mean_gy: npMean(Float64Array.from(target)),
    mae_gy_above_10pct: above(10),
    mae_gy_above_50pct: above(50),
    mae_gy_above_90pct: above(90),
    per_structure_mae: perStructure,
    per_structure_dmean_error: perDmean,
  };
}
