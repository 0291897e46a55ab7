/**
 * Differentiable DVH points (the corrected versions) and their exact counterparts.
 *
 * Soft Dx (here D95): the dose q that a fraction x of the structure receives *softly*:
 *     mean_i σ((d_i − q)/τ) = x/100
 * solved for q by bisection (it is monotone in q). As τ → 0 it tends to the exact Dx. Its gradient
 * follows from the implicit-function theorem:
 *     ∂q/∂d_i = σ'_i / Σ_j σ'_j     (σ'_i = σ(1−σ) at (d_i − q)/τ)
 * — non-negative weights summing to 1, concentrated on voxels near the quantile. The loss adds
 * q as Σ_i w_i·d_i + const, so tfjs propagates exactly this gradient.
 *
 * Why not the reference's histogram D95 (kept below only to document the defect, spec 5.4): its
 * bin weights exp(−(cdf_rev − 0.95)²/2T²) at T = 0.1 give weight ≈ 0.88 to every empty bin below
 * the structure's minimum, so for d ~ N(1, 0.02) it returns ≈ 0.50 instead of ≈ 0.967.
 */

/** Exact Dx (same unit as `values`) as the evaluation computes it: np.percentile(values, 100 − x, method='lower'), x in %. */
export function exactDx(values: ArrayLike<number>, x: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const a = Float64Array.from(values).sort();
  return a[Math.floor(((100 - x) / 100) * (n - 1))];
}

/** exact Vx as a fraction: share of voxels with value ≥ threshold */
export function exactVx(values: ArrayLike<number>, threshold: number): number {
  let c = 0;
  for (let i = 0; i < values.length; i++) if (values[i] >= threshold) c++;
  return values.length ? c / values.length : NaN;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export interface SoftQuantile {
  /** the soft Dx value */
  q: number;
  /** ∂q/∂d_i for each input value (sums to 1) */
  weights: Float64Array;
}

/**
 * Soft Dx with temperature `tau` (same units as the values): q with mean σ((d − q)/τ) = x/100.
 * Default τ = 0.002 in normalised dose (0.14 Gy at Rx 70 Gy).
 */
export function softDx(values: ArrayLike<number>, x = 95, tau = 0.002): SoftQuantile {
  const n = values.length;
  if (n === 0) return { q: NaN, weights: new Float64Array(0) };
  const frac = x / 100;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  // f(q) = mean σ((d−q)/τ) − frac is decreasing in q; widen the bracket until it changes sign
  lo -= 30 * tau;
  hi += 30 * tau;
  const f = (q: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += sigmoid((values[i] - q) / tau);
    return s / n - frac;
  };
  for (let it = 0; it < 60 && hi - lo > 1e-9 * Math.max(1, Math.abs(hi)); it++) {
    const mid = 0.5 * (lo + hi);
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  const q = 0.5 * (lo + hi);
  const weights = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = sigmoid((values[i] - q) / tau);
    weights[i] = s * (1 - s);
    sum += weights[i];
  }
  if (sum > 0) for (let i = 0; i < n; i++) weights[i] /= sum;
  else {
    // every voxel is far from q (cannot happen for a solved q, kept for safety): share equally
    weights.fill(1 / n);
  }
  return { q, weights };
}

/** soft Vx fraction: mean σ((d − thr)/τ); τ default 0.01 (0.7 Gy at Rx 70) */
export function softVx(values: ArrayLike<number>, threshold: number, tau = 0.01): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += sigmoid((values[i] - threshold) / tau);
  return values.length ? s / values.length : NaN;
}

/**
 * The reference's histogram soft D95 (spec 5.4), for comparison only — do not train with it.
 * 100 bins on [0, 1.5], Gaussian soft assignment σ = width/2, reverse-cumulative histogram,
 * weights exp(−(cdf_rev − 0.95)²/2T²) normalised, value Σ w·centre.
 */
export function referenceHistogramD95(
  values: ArrayLike<number>,
  temperature = 0.1,
  nBins = 100,
  maxDose = 1.5,
): number {
  const n = values.length;
  const width = maxDose / nBins;
  const centres = Array.from({ length: nBins }, (_, i) => (i + 0.5) * width);
  const sigma = width / 2;
  const hist = new Float64Array(nBins);
  for (let i = 0; i < n; i++) {
    let tot = 0;
    const a = new Float64Array(nBins);
    for (let k = 0; k < nBins; k++) {
      a[k] = Math.exp(-((values[i] - centres[k]) ** 2) / (2 * sigma * sigma));
      tot += a[k];
    }
    for (let k = 0; k < nBins; k++) hist[k] += tot > 0 ? a[k] / tot : 0;
  }
  // reverse cumulative from the top bin down
  let cum = 0;
  let wsum = 0;
  let acc = 0;
  for (let r = 0; r < nBins; r++) {
    const k = nBins - 1 - r;
    cum += hist[k];
    const cdfRev = cum / n;
    const w = Math.exp(-((cdfRev - 0.95) ** 2) / (2 * temperature * temperature));
    wsum += w;
    acc += w * centres[k];
  }
  return acc / wsum;
}
