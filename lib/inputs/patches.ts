/**
 * Patch sampling (spec 4.4) with padding: a volume smaller than the patch along an axis is padded
 * (CT with air, SDFs with "outside"/absent, dose with 0) instead of being rejected. Centres lie in
 * [half, max(half + 1, D − half)) of the padded axis; with probability 0.5 the centre is drawn
 * uniformly among valid voxels whose normalised dose > 0.1, else uniformly over valid centres.
 */
import type { Shape3 } from '../data/case';
import type { PreparedCase } from './case_inputs';
import type { Rng } from '../core/rng';

export interface Patch {
  /** planar channels, each size³ in (Y, X, Z) order: [CT, SDF…] */
  channels: Float32Array[];
  /** normalised dose size³, or null */
  dose: Float32Array | null;
  present: boolean[];
  size: number;
}

/** Padding (voxels) before each (Y, X, Z) axis so every axis is at least `size` long (the volume centred). */
export function padBefore(shape: Shape3, size: number): Shape3 {
  return shape.map((d) => (d < size ? Math.floor((size - d) / 2) : 0)) as Shape3;
}

/** The (Y, X, Z) shape after padding every axis shorter than a `size`-voxel patch up to `size`. */
export function paddedShape(shape: Shape3, size: number): Shape3 {
  return shape.map((d) => Math.max(d, size)) as Shape3;
}

/** valid centre range [lo, hi) of one padded axis */
export function centreRange(paddedDim: number, size: number): [number, number] {
  const half = Math.floor(size / 2);
  return [half, Math.max(half + 1, paddedDim - half)];
}

const highDoseCache = new WeakMap<PreparedCase, Map<number, Int32Array>>();

/** flat (original-grid) indices of voxels with dose > 0.1 whose padded position is a valid centre */
export function validHighDoseVoxels(pc: PreparedCase, size: number, threshold = 0.1): Int32Array {
  let bySize = highDoseCache.get(pc);
  if (!bySize) highDoseCache.set(pc, (bySize = new Map()));
  const hit = bySize.get(size);
  if (hit) return hit;
  const [Y, X, Z] = pc.shape;
  const pb = padBefore(pc.shape, size);
  const ps = paddedShape(pc.shape, size);
  const ranges = ps.map((d) => centreRange(d, size));
  const out: number[] = [];
  const dose = pc.dose;
  if (dose) {
    for (let y = 0; y < Y; y++) {
      const py = y + pb[0];
      if (py < ranges[0][0] || py >= ranges[0][1]) continue;
      for (let x = 0; x < X; x++) {
        const px = x + pb[1];
        if (px < ranges[1][0] || px >= ranges[1][1]) continue;
        for (let z = 0; z < Z; z++) {
          const pz = z + pb[2];
          if (pz < ranges[2][0] || pz >= ranges[2][1]) continue;
          const i = (y * X + x) * Z + z;
          if (dose[i] > threshold) out.push(i);
        }
      }
    }
  }
  const arr = Int32Array.from(out);
  bySize.set(size, arr);
  return arr;
}

/** A patch centre (voxels, padded coordinates): half of the draws at a valid voxel with normalised dose > 0.1 when any, else uniform over valid centres. */
export function samplePatchCentre(pc: PreparedCase, size: number, rng: Rng): Shape3 {
  const pb = padBefore(pc.shape, size);
  const ps = paddedShape(pc.shape, size);
  if (rng.next() < 0.5) {
    const cand = validHighDoseVoxels(pc, size);
    if (cand.length > 0) {
      const i = cand[rng.int(0, cand.length)];
      const [, X, Z] = pc.shape;
      const y = Math.floor(i / (X * Z));
      const x = Math.floor(i / Z) % X;
      const z = i % Z;
      return [y + pb[0], x + pb[1], z + pb[2]];
    }
  }
  return ps.map((d) => {
    const [lo, hi] = centreRange(d, size);
    return rng.int(lo, hi);
  }) as Shape3;
}

/** The size³ patch (every channel, the dose) centred at `centre` (padded voxel coordinates), padding values outside the volume. */
export function extractPatch(pc: PreparedCase, centre: Shape3, size: number): Patch {
  const [Y, X, Z] = pc.shape;
  const pb = padBefore(pc.shape, size);
  const half = Math.floor(size / 2);
  const start = [centre[0] - half - pb[0], centre[1] - half - pb[1], centre[2] - half - pb[2]];
  const n = size * size * size;
  const nc = pc.channels.length;
  const channels = Array.from({ length: nc }, (_, c) => new Float32Array(n).fill(pc.padValues[c]));
  const dose = pc.dose ? new Float32Array(n) : null;
  for (let a = 0; a < size; a++) {
    const y = start[0] + a;
    if (y < 0 || y >= Y) continue;
    for (let b = 0; b < size; b++) {
      const x = start[1] + b;
      if (x < 0 || x >= X) continue;
      const z0 = Math.max(0, -start[2]);
      const z1 = Math.min(size, Z - start[2]);
      if (z1 <= z0) continue;
      const src = (y * X + x) * Z + start[2];
      const dst = (a * size + b) * size;
      for (let c = 0; c < nc; c++) channels[c].set(pc.channels[c].subarray(src + z0, src + z1), dst + z0);
      if (dose && pc.dose) dose.set(pc.dose.subarray(src + z0, src + z1), dst + z0);
    }
  }
  return { channels, dose, present: [...pc.present], size };
}

/** interleaves planar channels into one channels-last buffer [size, size, size, C] at `offset` */
export function writeChannelsLast(channels: Float32Array[], out: Float32Array, offset = 0): void {
  const nc = channels.length;
  const n = channels[0].length;
  for (let c = 0; c < nc; c++) {
    const ch = channels[c];
    for (let i = 0; i < n; i++) out[offset + i * nc + c] = ch[i];
  }
}
