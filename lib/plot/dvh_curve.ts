/**
 * Cumulative DVH curve for display, as the reference DVH figure (spec 9.2 fig 4): `bins` equal
 * dose steps from 0 to maxDoseGy (default 1.15·Rx), y = % of the structure's voxels receiving
 * ≥ that dose (equal voxel weights, no partial volumes). DVH *metrics* (Dx, Vx) come from
 * lib/eval, and so does the curve (lib/eval/dvh.ts dvhCurve); this only fixes the display bins.
 */
import { dvhCurve } from '../eval/dvh';
import type { DvhCurve } from './dvh_figure';

/**
 * Cumulative DVH of `dose` (Gy, any grid) inside `mask` (same grid) at `bins` + 1 dose edges over
 * [0, maxDoseGy]: % of the structure's voxels with dose ≥ each edge (all 0 for an empty mask).
 */
export function cumulativeDvh(
  dose: ArrayLike<number>,
  mask: ArrayLike<number>,
  maxDoseGy: number,
  bins = 500,
): DvhCurve {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  if (!n) {
    const doseGy = Array.from({ length: bins + 1 }, (_, k) => (k * maxDoseGy) / bins);
    return { doseGy, volumePct: doseGy.map(() => 0) };
  }
  return dvhCurve(dose, mask, { bins, maxGy: maxDoseGy });
}
