/**
 * Training augmentation of one patch (spec 4.5), each step independent, in this order:
 * 1. TRUE left-right flip (p 0.5): mirror the patient's L/R axis = X = array axis 1 of (Y, X, Z)
 *    for every channel and the dose, then swap paired L/R structure channels (Femur_L/Femur_R,
 *    parotids) and their presence flags. (The reference flipped axis 0 = anterior/posterior and
 *    relabelled the femurs, spec 12.1.)
 * 2. translation (p 0.5): integer shifts per axis in [−m, m] (m = 16 at patch 128, scaled with
 *    the patch size), edge values repeated (scipy shift mode 'nearest', exact for integer shifts);
 * 3. rotation about Z (p 0.5): angle ~ U(−5°, 5°) in the (Y, X) plane, bilinear, edges repeated
 *    (ndimage.rotate reshape=False, order=1, mode='nearest');
 * 4. CT noise (p 0.3): CT += N(0, 0.02), clipped to [0, 1.26].
 * Dose values are never scaled.
 */
import type { Patch } from './patches';
import type { Rng } from '../core/rng';

export interface AugmentOptions {
  /** max translation in voxels (default round(16 · size / 128)) */
  translateMaxVoxels?: number;
  maxRotationDeg?: number;
  ctNoiseStd?: number;
}

/** mirrors axis 1 (X) of every planar size³ volume in place */
function flipX(v: Float32Array, size: number): void {
  for (let a = 0; a < size; a++)
    for (let b = 0; b < size >> 1; b++) {
      const r1 = (a * size + b) * size;
      const r2 = (a * size + (size - 1 - b)) * size;
      for (let c = 0; c < size; c++) {
        const t = v[r1 + c];
        v[r1 + c] = v[r2 + c];
        v[r2 + c] = t;
      }
    }
}

/** left-right flip of a patch; `lrPairs` index the structure list (channel = index + 1) */
export function flipLeftRight(p: Patch, lrPairs: Array<[number, number]>): void {
  for (const ch of p.channels) flipX(ch, p.size);
  if (p.dose) flipX(p.dose, p.size);
  for (const [a, b] of lrPairs) {
    [p.channels[a + 1], p.channels[b + 1]] = [p.channels[b + 1], p.channels[a + 1]];
    [p.present[a], p.present[b]] = [p.present[b], p.present[a]];
  }
}

function clampIdx(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Integer shift of a size³ patch (C order): out[y, x, z] = in[clamp(y − sy), clamp(x − sx), clamp(z − sz)], shifts in voxels. */
export function translate(v: Float32Array, size: number, s: [number, number, number]): Float32Array {
  const out = new Float32Array(v.length);
  for (let a = 0; a < size; a++) {
    const ya = clampIdx(a - s[0], size);
    for (let b = 0; b < size; b++) {
      const xb = clampIdx(b - s[1], size);
      const src = (ya * size + xb) * size;
      const dst = (a * size + b) * size;
      for (let c = 0; c < size; c++) out[dst + c] = v[src + clampIdx(c - s[2], size)];
    }
  }
  return out;
}

/** Rotation of a size³ patch (C order) by `deg` degrees about its centre in the (Y, X) plane, bilinear, edge-clamped. */
export function rotateZ(v: Float32Array, size: number, deg: number): Float32Array {
  const out = new Float32Array(v.length);
  const t = (deg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cen = (size - 1) / 2;
  for (let a = 0; a < size; a++)
    for (let b = 0; b < size; b++) {
      // inverse map: source coordinates of output (a, b)
      const dy = a - cen;
      const dx = b - cen;
      let sy = cos * dy + sin * dx + cen;
      let sx = -sin * dy + cos * dx + cen;
      sy = Math.min(Math.max(sy, 0), size - 1);
      sx = Math.min(Math.max(sx, 0), size - 1);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, size - 1);
      const x1 = Math.min(x0 + 1, size - 1);
      const fy = sy - y0;
      const fx = sx - x0;
      const w00 = (1 - fy) * (1 - fx);
      const w01 = (1 - fy) * fx;
      const w10 = fy * (1 - fx);
      const w11 = fy * fx;
      const r00 = (y0 * size + x0) * size;
      const r01 = (y0 * size + x1) * size;
      const r10 = (y1 * size + x0) * size;
      const r11 = (y1 * size + x1) * size;
      const dst = (a * size + b) * size;
      for (let c = 0; c < size; c++)
        out[dst + c] = w00 * v[r00 + c] + w01 * v[r01 + c] + w10 * v[r10 + c] + w11 * v[r11 + c];
    }
  return out;
}

/** applies the four random steps in place; returns which were applied (for tests/logging) */
export function augmentPatch(
  p: Patch,
  rng: Rng,
  lrPairs: Array<[number, number]>,
  o: AugmentOptions = {},
): { flipped: boolean; shift: [number, number, number] | null; rotationDeg: number | null; noise: boolean } {
  const size = p.size;
  const m = o.translateMaxVoxels ?? Math.max(1, Math.round((16 * size) / 128));
  const maxRot = o.maxRotationDeg ?? 5;
  const noiseStd = o.ctNoiseStd ?? 0.02;
  const flipped = rng.next() < 0.5;
  if (flipped) flipLeftRight(p, lrPairs);
  let shift: [number, number, number] | null = null;
  if (rng.next() < 0.5) {
    shift = [rng.int(-m, m + 1), rng.int(-m, m + 1), rng.int(-m, m + 1)];
    const s = shift;
    p.channels = p.channels.map((ch) => translate(ch, size, s));
    if (p.dose) p.dose = translate(p.dose, size, s);
  }
  let rotationDeg: number | null = null;
  if (rng.next() < 0.5) {
    const deg = rng.uniform(-maxRot, maxRot);
    rotationDeg = deg;
    p.channels = p.channels.map((ch) => rotateZ(ch, size, deg));
    if (p.dose) p.dose = rotateZ(p.dose, size, deg);
  }
  const noise = rng.next() < 0.3;
  if (noise) {
    const ct = p.channels[0];
    for (let i = 0; i < ct.length; i++) ct[i] = Math.min(Math.max(ct[i] + noiseStd * rng.normal(), 0), 1.26);
  }
  return { flipped, shift, rotationDeg, noise };
}
