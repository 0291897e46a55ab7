/**
 * Cumulative DVH curve for display, as the reference DVH figure (spec 9.2 fig 4): `bins` equal
 * dose steps from 0 to maxDoseGy (default 1.15·Rx), y = % of the structure's voxels receiving
 * ≥ that dose (equal voxel weights, no partial volumes). DVH *metrics* (Dx, Vx) come from
 * lib/eval; this is only the plotted curve.
 */
import type { DvhCurve } from './dvh_figure';

export function cumulativeDvh(
  dose: ArrayLike<number>,
  mask: ArrayLike<number>,
  maxDoseGy: number,
  bins = 500,
): DvhCurve {
  const hist = new Float64Array(bins + 1);
  let n = 0;
  const step = maxDoseGy / bins;
  for (let i = 0; i < dose.length; i++) {
    if (!mask[i]) continue;
    n++;
    // voxel counts toward every edge d_k = k·step with d_k <= dose
    const k = Math.min(bins, Math.floor(Math.max(0, dose[i]) / step + 1e-9));
    hist[k]++;
  }
  const doseGy: number[] = new Array(bins + 1);
  const volumePct: number[] = new Array(bins + 1);
  let above = 0;
  for (let k = bins; k >= 0; k--) {
    above += hist[k];
    doseGy[k] = k * step;
    volumePct[k] = n > 0 ? (100 * above) / n : 0;
  }
  return { doseGy, volumePct };
}
