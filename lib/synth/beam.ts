/**
 * Beam geometry and depth dose of the synthetic VMAT model: for one gantry angle, where each
 * voxel projects in the beam's-eye view (BEV) at the isocentre plane and how much a unit of
 * fluence there deposits in it (radiological depth attenuation with build-up, inverse square).
 *
 * Conventions (IEC 61217, head-first supine): gantry 0 = source anterior, beam travelling
 * towards +Y (posterior); gantry 90 = source on the patient's left (+X). The arc rotates in the
 * axial (Y, X) plane about an isocentre; collimator 0, so BEV rows follow Z.
 *
 * Radiological depth is integrated along parallel rays (beam divergence is ignored for the
 * depth only: < 1 % path difference at SAD 1000 mm over a 35 cm wide pelvis) by resampling each
 * axial slice onto a beam-aligned grid, summing density along the beam, and interpolating back.
 * Hand-written: there is no JS library for radiotherapy ray tracing.
 */
import type { Grid } from './geometry';

export interface BeamPhysics {
  /** source-axis distance (mm) */
  sadMm: number;
  /** effective linear attenuation of a 6 MV beam in water (1/mm); 0.0045 = 4.5 %/cm */
  muPerMm: number;
  /** relative surface dose before build-up */
  surfaceDose: number;
  /** build-up length (mm): dose rises as 1 - (1 - surface) exp(-d / buildUp), d_max ~ 14 mm */
  buildUpMm: number;
}

/** 6 MV-like beam physics of the synthetic model (SAD 1000 mm, 4.5 %/cm attenuation, build-up 4 mm). */
export const DEFAULT_PHYSICS: BeamPhysics = { sadMm: 1000, muPerMm: 0.0045, surfaceDose: 0.4, buildUpMm: 4 };

/** tissue-phantom-ratio-like depth factor at radiological depth d (mm, water equivalent) */
export function depthFactor(d: number, ph: BeamPhysics): number {
  return Math.exp(-ph.muPerMm * d) * (1 - (1 - ph.surfaceDose) * Math.exp(-d / ph.buildUpMm));
}

/** depthFactor tabulated every `step` mm up to `maxMm` (linear interpolation; exp() per voxel per angle dominated the run time) */
export class DepthDoseTable {
  private readonly t: Float32Array;
  private readonly inv: number;
  constructor(
    ph: BeamPhysics,
    readonly maxMm = 800,
    readonly step = 0.25,
  ) {
    const n = Math.ceil(maxMm / step) + 2;
    this.t = new Float32Array(n);
    for (let i = 0; i < n; i++) this.t[i] = depthFactor(i * step, ph);
    this.inv = 1 / step;
  }

  at(d: number): number {
    const f = Math.min(Math.max(d, 0) * this.inv, this.t.length - 2);
    const i = Math.floor(f);
    const w = f - i;
    return this.t[i] + w * (this.t[i + 1] - this.t[i]);
  }
}

export interface BeamFrame {
  angleDeg: number;
  /** beam direction in (y, x) */
  dy: number;
  dx: number;
  /** BEV lateral axis in (y, x) */
  uy: number;
  ux: number;
}

/** Beam direction and BEV lateral axis in the axial (y, x) plane for a gantry angle in degrees (IEC 61217, HFS). */
export function beamFrame(angleDeg: number): BeamFrame {
  const t = (angleDeg * Math.PI) / 180;
  return { angleDeg, dy: Math.cos(t), dx: -Math.sin(t), uy: Math.sin(t), ux: Math.cos(t) };
}

/**
 * Radiological depth (mm water equivalent) of every voxel for one beam angle.
 * `density` is relative electron density over the grid (0 outside the body); `iso` in mm.
 * `inPlane` lists the (iy * nx + ix) columns that need a value (others are left 0).
 */
export function radiologicalDepth(
  g: Grid,
  density: Float32Array,
  iso: [number, number, number],
  f: BeamFrame,
  inPlane: Int32Array,
  out: Float32Array,
  scratch?: { acc?: Float32Array },
): void {
  const [ny, nx, nz] = g.shape;
  const [sy, sx] = g.spacing;
  const h = Math.min(sy, sx);
  // beam-aligned grid covering the listed columns (the body) plus two steps on every side:
  // upstream of it the density is zero, so the march can start there
  let sMin = Infinity;
  let sMax = -Infinity;
  let lMin = Infinity;
  let lMax = -Infinity;
  for (let q = 0; q < inPlane.length; q++) {
    const iy = Math.floor(inPlane[q] / nx);
    const py = g.pos(0, iy) - iso[0];
    const px = g.pos(1, inPlane[q] - iy * nx) - iso[1];
    const s = py * f.dy + px * f.dx;
    const l = py * f.uy + px * f.ux;
    if (s < sMin) sMin = s;
    if (s > sMax) sMax = s;
    if (l < lMin) lMin = l;
    if (l > lMax) lMax = l;
  }
  const pad = Math.hypot(sy, sx) + 2 * h;
  const s0 = sMin - pad;
  const l0 = lMin - pad;
  const NS = Math.ceil((sMax + pad - s0) / h) + 1;
  const NL = Math.ceil((lMax + pad - l0) / h) + 1;
  // accumulated depth on the beam-aligned grid, per (l, s) with z contiguous
  const need = NL * NS * nz;
  let acc = scratch?.acc;
  if (!acc || acc.length < need) {
    acc = new Float32Array(Math.ceil(need * 1.25));
    if (scratch) scratch.acc = acc;
  }
  const run = new Float64Array(nz);
  for (let j = 0; j < NL; j++) {
    const l = l0 + j * h;
    run.fill(0);
    for (let i = 0; i < NS; i++) {
      const s = s0 + i * h;
      const y = iso[0] + s * f.dy + l * f.uy;
      const x = iso[1] + s * f.dx + l * f.ux;
      const fy = g.idx(0, y);
      const fx = g.idx(1, x);
      const base = (j * NS + i) * nz;
      const y0 = Math.floor(fy);
      const x0 = Math.floor(fx);
      if (y0 < -1 || y0 >= ny || x0 < -1 || x0 >= nx) {
        for (let z = 0; z < nz; z++) acc[base + z] = run[z];
        continue;
      }
      const wy = fy - y0;
      const wx = fx - x0;
      const okY0 = y0 >= 0;
      const okY1 = y0 + 1 < ny;
      const okX0 = x0 >= 0;
      const okX1 = x0 + 1 < nx;
      const w0 = okY0 && okX0 ? (1 - wy) * (1 - wx) : 0;
      const w1 = okY0 && okX1 ? (1 - wy) * wx : 0;
      const w2 = okY1 && okX0 ? wy * (1 - wx) : 0;
      const w3 = okY1 && okX1 ? wy * wx : 0;
      const yc0 = Math.max(0, y0);
      const yc1 = Math.min(ny - 1, y0 + 1);
      const xc0 = Math.max(0, x0);
      const xc1 = Math.min(nx - 1, x0 + 1);
      const o0 = (yc0 * nx + xc0) * nz;
      const o1 = (yc0 * nx + xc1) * nz;
      const o2 = (yc1 * nx + xc0) * nz;
      const o3 = (yc1 * nx + xc1) * nz;
      const hh = 0.5 * h;
      for (let z = 0; z < nz; z++) {
        const rho = w0 * density[o0 + z] + w1 * density[o1 + z] + w2 * density[o2 + z] + w3 * density[o3 + z];
        // depth at the sample centre: everything upstream plus half of this step
        acc[base + z] = run[z] + hh * rho;
        run[z] += rho * h;
      }
    }
  }
  // back to the voxel grid
  for (let q = 0; q < inPlane.length; q++) {
    const col = inPlane[q];
    const iy = Math.floor(col / nx);
    const ix = col - iy * nx;
    const py = g.pos(0, iy) - iso[0];
    const px = g.pos(1, ix) - iso[1];
    const s = py * f.dy + px * f.dx;
    const l = py * f.uy + px * f.ux;
    const fi = (s - s0) / h;
    const fj = (l - l0) / h;
    const i0 = Math.min(NS - 2, Math.max(0, Math.floor(fi)));
    const j0 = Math.min(NL - 2, Math.max(0, Math.floor(fj)));
    const wi = Math.min(1, Math.max(0, fi - i0));
    const wj = Math.min(1, Math.max(0, fj - j0));
    const b00 = (j0 * NS + i0) * nz;
    const b01 = (j0 * NS + i0 + 1) * nz;
    const b10 = ((j0 + 1) * NS + i0) * nz;
    const b11 = ((j0 + 1) * NS + i0 + 1) * nz;
    const c00 = (1 - wj) * (1 - wi);
    const c01 = (1 - wj) * wi;
    const c10 = wj * (1 - wi);
    const c11 = wj * wi;
    const ob = col * nz;
    for (let z = 0; z < nz; z++)
      out[ob + z] = c00 * acc[b00 + z] + c01 * acc[b01 + z] + c10 * acc[b10 + z] + c11 * acc[b11 + z];
  }
}

/** BEV grid at the isocentre plane: cells of `du` x `dz` mm, centred on the isocentre */
export interface BevGrid {
  nu: number;
  nz: number;
  du: number;
  dz: number;
  u0: number;
  z0: number;
}

/** A BEV grid of `du` × `dz` mm cells covering ±halfU × ±halfZ mm at the isocentre plane, centred (odd cell counts). */
export function makeBevGrid(halfU: number, halfZ: number, du: number, dz: number): BevGrid {
  const nu = 2 * Math.ceil(halfU / du) + 1;
  const nzb = 2 * Math.ceil(halfZ / dz) + 1;
  return { nu, nz: nzb, du, dz, u0: -((nu - 1) / 2) * du, z0: -((nzb - 1) / 2) * dz };
}

/**
 * Projection of a voxel centre (mm, relative to the isocentre) into the BEV at the
 * isocentre plane, with the inverse-square factor. Returns [u, z, isf].
 */
export function project(f: BeamFrame, py: number, px: number, pz: number, sad: number): [number, number, number] {
  const s = py * f.dy + px * f.dx;
  const l = py * f.uy + px * f.ux;
  const mag = sad / (sad + s);
  return [l * mag, pz * mag, mag * mag];
}
