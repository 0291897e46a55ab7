/**
 * Voxel-grid geometry for the synthetic cohort: a (Y, X, Z) grid with Y = anterior->posterior,
 * X = patient right->left, Z = inferior->superior, positions in mm relative to the grid centre,
 * and the few shape primitives the anatomy is drawn with (ellipsoids, capsules, margins).
 * Hand-written because they are a handful of loops over a bounding box; no library draws
 * analytic solids into a flat voxel array.
 */
import type { Shape3 } from '../data/case';

export type Vec3 = [number, number, number];

/** A (Y, X, Z) voxel grid with spacing in mm and positions measured from the grid centre. */
export class Grid {
  readonly n: number;
  constructor(
    readonly shape: Shape3,
    readonly spacing: Shape3,
  ) {
    this.n = shape[0] * shape[1] * shape[2];
  }

  /** mm position of voxel centre index i along axis a (0 at the grid centre) */
  pos(a: 0 | 1 | 2, i: number): number {
    return (i - (this.shape[a] - 1) / 2) * this.spacing[a];
  }

  /** fractional index of mm position p along axis a */
  idx(a: 0 | 1 | 2, p: number): number {
    return p / this.spacing[a] + (this.shape[a] - 1) / 2;
  }

  index(iy: number, ix: number, iz: number): number {
    return (iy * this.shape[1] + ix) * this.shape[2] + iz;
  }

  /** inclusive voxel index range along axis a covering [lo, hi] mm, clamped to the grid */
  range(a: 0 | 1 | 2, lo: number, hi: number): [number, number] {
    const i0 = Math.max(0, Math.ceil(this.idx(a, lo) - 1e-9));
    const i1 = Math.min(this.shape[a] - 1, Math.floor(this.idx(a, hi) + 1e-9));
    return [i0, i1];
  }

  /** calls fn for every voxel whose centre lies in the mm box [lo, hi] */
  forBox(lo: Vec3, hi: Vec3, fn: (i: number, y: number, x: number, z: number) => void): void {
    const [y0, y1] = this.range(0, lo[0], hi[0]);
    const [x0, x1] = this.range(1, lo[1], hi[1]);
    const [z0, z1] = this.range(2, lo[2], hi[2]);
    for (let iy = y0; iy <= y1; iy++) {
      const y = this.pos(0, iy);
      for (let ix = x0; ix <= x1; ix++) {
        const x = this.pos(1, ix);
        const base = (iy * this.shape[1] + ix) * this.shape[2];
        for (let iz = z0; iz <= z1; iz++) fn(base + iz, y, x, this.pos(2, iz));
      }
    }
  }
}

/** rotation matrix (row-major 3x3) from rotations about the y, x and z axes (radians), applied z then x then y */
export function rotation(ay: number, ax: number, az: number): number[] {
  const [cy, sy, cx, sx, cz, sz] = [Math.cos(ay), Math.sin(ay), Math.cos(ax), Math.sin(ax), Math.cos(az), Math.sin(az)];
  const Ry = [1, 0, 0, 0, cy, -sy, 0, sy, cy]; // rotation in the (x, z) plane
  const Rx = [cx, 0, sx, 0, 1, 0, -sx, 0, cx]; // rotation in the (y, z) plane
  const Rz = [cz, -sz, 0, sz, cz, 0, 0, 0, 1]; // rotation in the (y, x) plane
  return mul3(Ry, mul3(Rx, Rz));
}

function mul3(a: number[], b: number[]): number[] {
  const r = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) r[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return r;
}

export interface EllipsoidSpec {
  centre: Vec3;
  /** semi-axes (mm) along the ellipsoid's own y, x, z axes */
  semi: Vec3;
  /** optional rotation (see `rotation`); body axes -> grid axes */
  rot?: number[];
  /** optional radial shape perturbation: radius factor 1 + f(unit direction in body frame) */
  perturb?: (uy: number, ux: number, uz: number) => number;
}

/** voxels inside an ellipsoid: fn(i) for each */
export function forEllipsoid(g: Grid, e: EllipsoidSpec, fn: (i: number, rNorm: number) => void): void {
  const rmax = Math.max(...e.semi) * 1.3;
  const c = e.centre;
  const R = e.rot;
  g.forBox([c[0] - rmax, c[1] - rmax, c[2] - rmax], [c[0] + rmax, c[1] + rmax, c[2] + rmax], (i, y, x, z) => {
    let dy = y - c[0];
    let dx = x - c[1];
    let dz = z - c[2];
    if (R) {
      // body coordinates = R^T * d
      const by = R[0] * dy + R[3] * dx + R[6] * dz;
      const bx = R[1] * dy + R[4] * dx + R[7] * dz;
      const bz = R[2] * dy + R[5] * dx + R[8] * dz;
      dy = by;
      dx = bx;
      dz = bz;
    }
    const qy = dy / e.semi[0];
    const qx = dx / e.semi[1];
    const qz = dz / e.semi[2];
    const r = Math.sqrt(qy * qy + qx * qx + qz * qz);
    let lim = 1;
    if (e.perturb && r > 0) lim = 1 + e.perturb(qy / r, qx / r, qz / r);
    if (r <= lim) fn(i, r / lim);
  });
}

/** Sets mask voxels inside an ellipsoid (centre and semi-axes in mm) to 1. */
export function paintEllipsoid(g: Grid, mask: Uint8Array, e: EllipsoidSpec): void {
  forEllipsoid(g, e, (i) => {
    mask[i] = 1;
  });
}

/** voxels within `radius` mm of the segment p0-p1: fn(i, distance) */
export function forCapsule(g: Grid, p0: Vec3, p1: Vec3, radius: number, fn: (i: number, d: number) => void): void {
  const lo: Vec3 = [0, 1, 2].map((a) => Math.min(p0[a], p1[a]) - radius) as Vec3;
  const hi: Vec3 = [0, 1, 2].map((a) => Math.max(p0[a], p1[a]) + radius) as Vec3;
  const v = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]];
  const vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] || 1;
  g.forBox(lo, hi, (i, y, x, z) => {
    const w0 = y - p0[0];
    const w1 = x - p0[1];
    const w2 = z - p0[2];
    const t = Math.min(1, Math.max(0, (w0 * v[0] + w1 * v[1] + w2 * v[2]) / vv));
    const d0 = w0 - t * v[0];
    const d1 = w1 - t * v[1];
    const d2 = w2 - t * v[2];
    const d = Math.sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    if (d <= radius) fn(i, d);
  });
}

/** Sets mask voxels within `radius` mm of the segment p0–p1 (mm) to 1. */
export function paintCapsule(g: Grid, mask: Uint8Array, p0: Vec3, p1: Vec3, radius: number): void {
  forCapsule(g, p0, p1, radius, (i) => {
    mask[i] = 1;
  });
}

/** capsules along a polyline */
export function paintTube(g: Grid, mask: Uint8Array, pts: Vec3[], radius: number): void {
  for (let k = 0; k + 1 < pts.length; k++) paintCapsule(g, mask, pts[k], pts[k + 1], radius);
}

/** PTV-style margins in mm, per anatomical direction */
export interface Margins {
  anterior: number;
  posterior: number;
  right: number;
  left: number;
  inferior: number;
  superior: number;
}

/** The same margin (mm) in every direction, except `posterior`. */
export function uniformMargins(mm: number, posterior = mm): Margins {
  return { anterior: mm, posterior, right: mm, left: mm, inferior: mm, superior: mm };
}

/**
 * Dilation by an anisotropic ellipsoidal structuring element whose semi-axis depends on the
 * direction (e.g. 7 mm everywhere but 5 mm posterior), the way planning systems grow a CTV
 * into a PTV. Voxels are treated as cubes: a voxel joins when the face-to-centre gap to some
 * mask voxel lies within the margin ellipsoid (so a 7 mm margin on a 3.9 mm grid adds 2 voxels).
 */
export function dilate(g: Grid, mask: Uint8Array, m: Margins): Uint8Array {
  const [ny, nx, nz] = g.shape;
  const [sy, sx, sz] = g.spacing;
  const offs: number[][] = [];
  const ry = Math.floor(Math.max(m.anterior, m.posterior) / sy + 0.5);
  const rx = Math.floor(Math.max(m.right, m.left) / sx + 0.5);
  const rz = Math.floor(Math.max(m.inferior, m.superior) / sz + 0.5);
  for (let dy = -ry; dy <= ry; dy++) {
    for (let dx = -rx; dx <= rx; dx++) {
      for (let dz = -rz; dz <= rz; dz++) {
        const ay = dy > 0 ? m.posterior : m.anterior;
        const ax = dx > 0 ? m.left : m.right;
        const az = dz > 0 ? m.superior : m.inferior;
        // voxels are cubes: the gap to a neighbour's face is |d| * s - s / 2
        const ey = Math.max(0, Math.abs(dy) * sy - sy / 2);
        const ex = Math.max(0, Math.abs(dx) * sx - sx / 2);
        const ez = Math.max(0, Math.abs(dz) * sz - sz / 2);
        const q =
          (ay > 0 ? ey / ay : ey === 0 ? 0 : Infinity) ** 2 +
          (ax > 0 ? ex / ax : ex === 0 ? 0 : Infinity) ** 2 +
          (az > 0 ? ez / az : ez === 0 ? 0 : Infinity) ** 2;
        if (q <= 1 + 1e-9) offs.push([dy, dx, dz]);
      }
    }
  }
  const out = new Uint8Array(mask);
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const base = (iy * nx + ix) * nz;
      for (let iz = 0; iz < nz; iz++) {
        if (!mask[base + iz]) continue;
        for (const [dy, dx, dz] of offs) {
          const y = iy + dy;
          const x = ix + dx;
          const z = iz + dz;
          if (y < 0 || y >= ny || x < 0 || x >= nx || z < 0 || z >= nz) continue;
          out[(y * nx + x) * nz + z] = 1;
        }
      }
    }
  }
  return out;
}

/** Voxel-wise union of binary masks of one grid. */
export function union(...masks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(masks[0].length);
  for (const m of masks) for (let i = 0; i < m.length; i++) if (m[i]) out[i] = 1;
  return out;
}

/** a AND NOT (b1 OR b2 ...), in place on a copy */
export function subtract(a: Uint8Array, ...bs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(a);
  for (const b of bs) for (let i = 0; i < b.length; i++) if (b[i]) out[i] = 0;
  return out;
}

/** Voxel-wise intersection of two binary masks of one grid. */
export function intersect(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] & b[i];
  return out;
}

/** Number of voxels set in a binary (0/1) mask. */
export function count(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** centroid in voxel indices (y, x, z); NaN for an empty mask */
export function centroidIndex(g: Grid, mask: Uint8Array): Vec3 {
  const [, nx, nz] = g.shape;
  let sy = 0;
  let sx = 0;
  let sz = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const iz = i % nz;
    const r = (i - iz) / nz;
    sy += Math.floor(r / nx);
    sx += r % nx;
    sz += iz;
    n++;
  }
  return [sy / n, sx / n, sz / n];
}

/** indices of mask voxels with at least one 6-neighbour outside the mask (or on the grid edge) */
export function surfaceVoxels(g: Grid, mask: Uint8Array): Int32Array {
  const [ny, nx, nz] = g.shape;
  const out: number[] = [];
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      for (let iz = 0; iz < nz; iz++) {
        const i = (iy * nx + ix) * nz + iz;
        if (!mask[i]) continue;
        if (
          iy === 0 ||
          iy === ny - 1 ||
          ix === 0 ||
          ix === nx - 1 ||
          iz === 0 ||
          iz === nz - 1 ||
          !mask[i - nx * nz] ||
          !mask[i + nx * nz] ||
          !mask[i - nz] ||
          !mask[i + nz] ||
          !mask[i - 1] ||
          !mask[i + 1]
        )
          out.push(i);
      }
    }
  }
  return Int32Array.from(out);
}
