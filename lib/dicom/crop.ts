/**
 * The reference's crop box (spec 2.2 step 9, `compute_crop_box`), on sparse per-slice masks:
 * - centroid = truncated mean voxel index of the Prostate mask (channel 2), else PTV70
 *   (channel 0), else the volume centre;
 * - Y and X: a window of `inplaneSize` voxels starting at max(0, c − inplaneSize // 2), shifted
 *   back when it runs past the end; the whole axis when it is shorter;
 * - Z: the slices of every non-empty channel, ± ceil(zMarginMm / Δz), clamped; at least 128
 *   slices (expanded around the centre, then shifted back), or the whole series if shorter.
 * End indices are exclusive.
 */
import type { SparseMask } from './rtstruct';

/** the reference's minimum Z extent (voxels), for 128³ training patches */
export const MIN_Z = 128;

/** metadata `crop_box` in CT voxel indices (ends exclusive) */
export interface CropBox {
  y_start: number;
  y_end: number;
  x_start: number;
  x_end: number;
  z_start: number;
  z_end: number;
  /** (cy, cx, cz) */
  centroid_voxel: [number, number, number];
}

function voxelCount(m: SparseMask): number {
  let n = 0;
  for (const p of m.values()) for (let i = 0; i < p.length; i++) n += p[i];
  return n;
}

/** truncated mean (row, column, slice) of the set voxels, or null when empty */
function centroid(m: SparseMask, columns: number): [number, number, number] | null {
  let n = 0;
  let sy = 0;
  let sx = 0;
  let sz = 0;
  for (const [z, p] of m) {
    for (let i = 0; i < p.length; i++) {
      if (!p[i]) continue;
      n++;
      sy += Math.floor(i / columns);
      sx += i % columns;
      sz += z;
    }
  }
  // numpy's float64 mean of integer indices is the exact sum / n (sums stay below 2^53)
  return n ? [Math.trunc(sy / n), Math.trunc(sx / n), Math.trunc(sz / n)] : null;
}

function window(center: number, dim: number, size: number): [number, number] {
  let start = Math.max(0, center - Math.floor(size / 2));
  let end = start + size;
  if (end > dim) {
    end = dim;
    start = Math.max(0, end - size);
  }
  return [start, end];
}

/**
 * `compute_crop_box` for channel masks on a (rows, columns, slices) CT; `dz` is the mean slice
 * spacing (mm).
 */
export function computeCropBox(
  masks: SparseMask[],
  shape: [number, number, number],
  dz: number,
  inplaneSize = 300,
  zMarginMm = 30,
  minZ = MIN_Z,
): CropBox {
  const [rows, columns, slices] = shape;
  const ref = masks.length > 2 && voxelCount(masks[2]) > 0 ? masks[2] : masks[0];
  const c = centroid(ref, columns) ?? [Math.floor(rows / 2), Math.floor(columns / 2), Math.floor(slices / 2)];
  const [cy, cx, cz] = c;
  const [yStart, yEnd] = window(cy, rows, inplaneSize);
  const [xStart, xEnd] = window(cx, columns, inplaneSize);
  const used: number[] = [];
  for (let z = 0; z < slices; z++) if (masks.some((m) => m.get(z)?.some((v) => v !== 0))) used.push(z);
  let zStart: number;
  let zEnd: number;
  if (!used.length) {
    zStart = Math.max(0, cz - Math.floor(minZ / 2));
    zEnd = Math.min(slices, zStart + minZ);
  } else {
    const margin = Math.ceil(zMarginMm / dz);
    zStart = Math.max(0, used[0] - margin);
    zEnd = Math.min(slices, used[used.length - 1] + 1 + margin);
    if (zEnd - zStart < minZ) {
      const zc = Math.floor((zStart + zEnd) / 2);
      zStart = Math.max(0, zc - Math.floor(minZ / 2));
      zEnd = Math.min(slices, zStart + minZ);
      if (zEnd - zStart < minZ) zStart = Math.max(0, zEnd - minZ);
    }
  }
  return {
    y_start: yStart,
    y_end: yEnd,
    x_start: xStart,
    x_end: xEnd,
    z_start: zStart,
    z_end: zEnd,
    centroid_voxel: [cy, cx, cz],
  };
}

/** A cropped channel: its dense (Y, X, Z) 0/1 data, voxel count and bounding box [lo, hi) per axis (null when empty). */
export interface ChannelMask {
  data: Uint8Array;
  count: number;
  bounds: [number, number][] | null;
}

/**
 * A sparse mask cut to the crop box as a dense (Y, X, Z) 0/1 volume, written into `out` when
 * given (e.g. the channel's slice of the npz `masks` array), with its count and bounds.
 */
export function cropSparseMask(m: SparseMask, columns: number, box: CropBox, out?: Uint8Array): ChannelMask {
  const ny = box.y_end - box.y_start;
  const nx = box.x_end - box.x_start;
  const nz = box.z_end - box.z_start;
  const data = out ?? new Uint8Array(ny * nx * nz);
  let count = 0;
  const lo = [ny, nx, nz];
  const hi = [-1, -1, -1];
  for (const [z, p] of m) {
    if (z < box.z_start || z >= box.z_end) continue;
    const k = z - box.z_start;
    for (let y = 0; y < ny; y++) {
      const src = (box.y_start + y) * columns + box.x_start;
      let dst = y * nx * nz + k;
      for (let x = 0; x < nx; x++, dst += nz) {
        if (!p[src + x]) continue;
        data[dst] = 1;
        count++;
        if (y < lo[0]) lo[0] = y;
        if (y > hi[0]) hi[0] = y;
        if (x < lo[1]) lo[1] = x;
        if (x > hi[1]) hi[1] = x;
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
      }
    }
  }
  return {
    data,
    count,
    bounds: count
      ? [
          [lo[0], hi[0] + 1],
          [lo[1], hi[1] + 1],
          [lo[2], hi[2] + 1],
        ]
      : null,
  };
}
