/**
 * The few DVH numbers the synthetic cohort checks itself with. Definitions match the reference
 * evaluation (spec 7.3): binary masks, equal voxel weights; Dx = np.percentile(values, 100 - x,
 * method='lower'), i.e. the sorted ascending a[floor((100 - x) / 100 * (n - 1))]; Vx = % of voxels
 * with dose >= x Gy.
 */

/** dose values (Gy) inside a mask */
export function valuesIn(dose: ArrayLike<number>, mask: Uint8Array): Float64Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i] ? 1 : 0;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[k++] = dose[i];
  return out;
}

/** Dx (Gy), nearest-rank lower; NaN for an empty mask */
export function doseAtVolume(dose: ArrayLike<number>, mask: Uint8Array, x: number): number {
  const v = valuesIn(dose, mask).sort();
  if (!v.length) return NaN;
  return v[Math.floor(((100 - x) / 100) * (v.length - 1))];
}

/** Vx (% of the structure receiving at least `gy`); NaN for an empty mask */
export function volumeAtDose(dose: ArrayLike<number>, mask: Uint8Array, gy: number): number {
  let n = 0;
  let hit = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    n++;
    if (dose[i] >= gy) hit++;
  }
  return n ? (100 * hit) / n : NaN;
}

export function maxIn(dose: ArrayLike<number>, mask: Uint8Array): number {
  let m = -Infinity;
  for (let i = 0; i < mask.length; i++) if (mask[i] && dose[i] > m) m = dose[i];
  return m;
}

export function meanIn(dose: ArrayLike<number>, mask: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    s += dose[i];
    n++;
  }
  return n ? s / n : NaN;
}
