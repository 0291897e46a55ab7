/**
 * A small VMAT-like physical dose model for the synthetic cohort (not a painted mask).
 *
 * One coplanar 360 degree arc sampled at `arcAngles` control points. Each control point is a
 * broad beam from a point source at SAD 1000 mm with
 *   - an MLC aperture conformal to the targets' beam's-eye-view projection (one open interval
 *     per BEV row, i.e. per leaf pair, plus a small margin),
 *   - a non-negative fluence map inside the aperture (intensity modulation),
 *   - lateral spread: Gaussian penumbra + weak wide scatter (fluence.ts),
 *   - depth dose from CT-derived radiological depth (attenuation with build-up) and the
 *     inverse-square law (beam.ts).
 * The fluence maps are optimised by spectral projected gradient (Barzilai-Borwein steps with a
 * non-monotone line search; projection = clip at 0 and outside the aperture; in this problem it
 * reached in 60 iterations the objective FISTA needed ~150 for) on a quadratic-penalty plan
 * objective evaluated on a sample of voxels: PTV under/over-dose at each prescription level,
 * rectum/bladder/femur/bowel upper doses, and a normal-tissue objective whose allowed dose
 * falls with distance from the targets. The dose is then scaled so PTV70 D95 equals the
 * prescription (times a small per-case jitter, as clinical normalisation varies).
 *
 * Hand-written: no JS library models radiotherapy dose; the objective/optimiser are the
 * textbook fluence-map optimisation (e.g. Webb 2001; Romeijn et al. 2006, Phys Med Biol).
 */
import type { Anatomy } from './anatomy';
import {
  type BeamPhysics,
  type BevGrid,
  DEFAULT_PHYSICS,
  DepthDoseTable,
  beamFrame,
  makeBevGrid,
  project,
  radiologicalDepth,
} from './beam';
import { type SpreadKernel, makeSpreadKernel, spread } from './fluence';
import { squaredDistanceToFeatures } from '../transforms/edt';
import { centroidIndex, union } from './geometry';
import { doseAtVolume } from '../eval/dvh';

export interface DoseModelOptions {
  /** control points of the arc (36-72 is typical of the model's trade-off) */
  arcAngles: number;
  iterations: number;
  physics: BeamPhysics;
  bevCellMm: number;
  penumbraSigmaMm: number;
  scatterSigmaMm: number;
  scatterWeight: number;
  /** aperture margin around the target projection (mm) */
  apertureMarginMm: number;
  /** PTV70 D95 after normalisation, as a multiple of the prescription */
  d95Factor: number;
}

/** Defaults of the synthetic dose model (arc sampling, optimiser iterations, beam physics, BEV cell mm, objectives). */
export const DEFAULT_DOSE_OPTIONS: DoseModelOptions = {
  arcAngles: 36,
  iterations: 40,
  physics: DEFAULT_PHYSICS,
  bevCellMm: 4,
  penumbraSigmaMm: 3.2,
  scatterSigmaMm: 15,
  scatterWeight: 0.06,
  apertureMarginMm: 3,
  d95Factor: 1,
};

/** target structure name -> prescription (Gy) */
export type TargetLevels = Array<{ name: string; gy: number }>;

export interface PlanResult {
  /** Gy over the anatomy grid (0 outside the body) */
  doseGy: Float32Array;
  gantryAnglesDeg: number[];
  /** relative meterset weight per control point (sums to 1) */
  controlPointWeights: number[];
  /** per control point: [row][left, right] MLC aperture edges at the isocentre plane (mm), rows of bev.dz mm */
  apertures: Array<Float32Array>;
  bev: BevGrid;
  isoMm: [number, number, number];
  /** objective value per iteration (relative dose units) */
  objective: number[];
  /** factor applied to reach the PTV70 D95 goal */
  normalisation: number;
}

interface VoxelObjective {
  lo: number;
  wLo: number;
  hi1: number;
  wHi1: number;
  hi2: number;
  wHi2: number;
}

/** indices of mask voxels, thinned to at most `cap` by a fixed stride (deterministic) */
function sample(mask: Uint8Array, cap: number, exclude?: Uint8Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] && !(exclude && exclude[i])) idx.push(i);
  if (idx.length <= cap) return idx;
  const stride = idx.length / cap;
  const out: number[] = [];
  for (let k = 0; k < cap; k++) out.push(idx[Math.floor(k * stride)]);
  return out;
}

/**
 * Plans a VMAT-like dose on the anatomy: one optimised arc, dose in Gy on the anatomy's (Y, X, Z) grid,
 * scaled so the highest target's D95 = its prescription × d95Factor; also the control-point data.
 */
export function planDose(
  a: Anatomy,
  targets: TargetLevels,
  opts: Partial<DoseModelOptions> = {},
  onIteration?: (it: number) => void,
): PlanResult {
  const o = { ...DEFAULT_DOSE_OPTIONS, ...opts };
  const g = a.grid;
  const [ny, nx, nz] = g.shape;
  const n = g.n;
  const rxMax = Math.max(...targets.map((t) => t.gy));
  const tMasks = targets.map((t) => a.masks.get(t.name)).filter((m): m is Uint8Array => !!m);
  const targetUnion = union(...tMasks);
  const ci = centroidIndex(g, targetUnion);
  const iso: [number, number, number] = [g.pos(0, ci[0]), g.pos(1, ci[1]), g.pos(2, ci[2])];
  const sad = o.physics.sadMm;

  // ---- voxel coordinates relative to the isocentre
  const posY = new Float32Array(ny);
  const posX = new Float32Array(nx);
  const posZ = new Float32Array(nz);
  for (let i = 0; i < ny; i++) posY[i] = g.pos(0, i) - iso[0];
  for (let i = 0; i < nx; i++) posX[i] = g.pos(1, i) - iso[1];
  for (let i = 0; i < nz; i++) posZ[i] = g.pos(2, i) - iso[2];
  const cols: number[] = [];
  for (let c = 0; c < ny * nx; c++) {
    for (let z = 0; z < nz; z++)
      if (a.body[c * nz + z]) {
        cols.push(c);
        break;
      }
  }
  const inPlane = Int32Array.from(cols);

  // ---- BEV grid and conformal apertures
  const tIdx: number[] = [];
  for (let i = 0; i < n; i++) if (targetUnion[i]) tIdx.push(i);
  let rMax = 0;
  let zMax = 0;
  for (const i of tIdx) {
    const iz = i % nz;
    const c = (i - iz) / nz;
    rMax = Math.max(rMax, Math.hypot(posY[Math.floor(c / nx)], posX[c % nx]));
    zMax = Math.max(zMax, Math.abs(posZ[iz]));
  }
  const magMax = sad / (sad - rMax);
  const pad = 3 * o.scatterSigmaMm + o.apertureMarginMm + 2 * Math.max(...g.spacing);
  const bev = makeBevGrid(rMax * magMax + pad, zMax * magMax + pad, o.bevCellMm, o.bevCellMm);
  const nCells = bev.nu * bev.nz;
  const kernel: SpreadKernel = makeSpreadKernel(bev.du, bev.dz, o.penumbraSigmaMm, o.scatterSigmaMm, o.scatterWeight);
  const K = o.arcAngles;
  const angles = Array.from({ length: K }, (_, k) => ((k + 0.5) * 360) / K);
  const frames = angles.map(beamFrame);
  const apertureMask: Uint8Array[] = [];
  const apertureEdges: Float32Array[] = [];
  for (const f of frames) {
    const lo = new Float32Array(bev.nz).fill(Infinity);
    const hi = new Float32Array(bev.nz).fill(-Infinity);
    const hwU = 0.5 * (Math.abs(g.spacing[0] * f.uy) + Math.abs(g.spacing[1] * f.ux));
    const hwZ = 0.5 * g.spacing[2];
    for (const i of tIdx) {
      const iz = i % nz;
      const c = (i - iz) / nz;
      const [u, z, isf] = project(f, posY[Math.floor(c / nx)], posX[c % nx], posZ[iz], sad);
      const mag = Math.sqrt(isf);
      const r0 = Math.max(0, Math.floor((z - hwZ * mag - bev.z0) / bev.dz + 0.5));
      const r1 = Math.min(bev.nz - 1, Math.floor((z + hwZ * mag - bev.z0) / bev.dz + 0.5));
      for (let r = r0; r <= r1; r++) {
        lo[r] = Math.min(lo[r], u - hwU * mag);
        hi[r] = Math.max(hi[r], u + hwU * mag);
      }
    }
    const m = new Uint8Array(nCells);
    const edges = new Float32Array(bev.nz * 2);
    for (let r = 0; r < bev.nz; r++) {
      if (!(hi[r] >= lo[r])) continue;
      const a0 = lo[r] - o.apertureMarginMm;
      const a1 = hi[r] + o.apertureMarginMm;
      edges[2 * r] = a0;
      edges[2 * r + 1] = a1;
      for (let u = 0; u < bev.nu; u++) {
        const uc = bev.u0 + u * bev.du;
        if (uc >= a0 - 0.5 * bev.du && uc <= a1 + 0.5 * bev.du) m[r * bev.nu + u] = 1;
      }
    }
    apertureMask.push(m);
    apertureEdges.push(edges);
  }

  // ---- optimisation voxels and their objectives (relative dose: 1 = rxMax)
  const objectives: VoxelObjective[] = [];
  const optIdx: number[] = [];
  const taken = new Uint8Array(n);
  const add = (idx: number[], ob: VoxelObjective, weight: number) => {
    const w = idx.length ? weight / idx.length : 0;
    for (const i of idx) {
      if (taken[i] || !a.body[i]) continue;
      taken[i] = 1;
      optIdx.push(i);
      objectives.push({ lo: ob.lo, wLo: ob.wLo * w, hi1: ob.hi1, wHi1: ob.wHi1 * w, hi2: ob.hi2, wHi2: ob.wHi2 * w });
    }
  };
  const sortedTargets = [...targets].sort((p, q) => q.gy - p.gy);
  // where the top PTV overlaps the rectum, coverage is traded for rectal sparing (the usual
  // "PTV minus rectum" compromise): aim just below the prescription there
  const topT = a.masks.get(sortedTargets[0].name);
  const rect = a.masks.get('Rectum');
  if (topT && rect) {
    const overlap = new Uint8Array(n);
    for (let i = 0; i < n; i++) overlap[i] = topT[i] & rect[i];
    add(sample(overlap, 500), { lo: 0.93, wLo: 30, hi1: 0.97, wHi1: 20, hi2: 1.05, wHi2: 100 }, 0.3);
  }
  for (const t of sortedTargets) {
    const m = a.masks.get(t.name);
    if (!m) continue;
    const lvl = t.gy / rxMax;
    const top = t.gy === rxMax;
    add(
      sample(m, 2000),
      {
        lo: lvl * 1.0,
        wLo: top ? 100 : 70,
        hi1: lvl * (top ? 1.04 : 1.1),
        wHi1: top ? 20 : 6,
        hi2: top ? 1.06 : 1.0,
        wHi2: top ? 300 : 10,
      },
      1,
    );
  }
  const oar = (name: string, hi1: number, w1: number, hi2: number, w2: number, cap = 1000) => {
    const m = a.masks.get(name);
    if (m) add(sample(m, cap, targetUnion), { lo: 0, wLo: 0, hi1, wHi1: w1, hi2, wHi2: w2 }, 1);
  };
  oar('Rectum', 0.5, 2, 0.85, 5);
  oar('Bladder', 0.5, 1, 0.85, 3);
  oar('Femur_L', 0.45, 3, 0.66, 15, 500);
  oar('Femur_R', 0.45, 3, 0.66, 15, 500);
  oar('Bowel', 0.55, 5, 0.72, 20);
  // normal tissue: body voxels in a box around the targets, allowed dose falling with distance
  {
    const cand = new Uint8Array(n);
    const marginMm = 60;
    let zLo = Infinity;
    let zHi = -Infinity;
    for (const i of tIdx) {
      zLo = Math.min(zLo, posZ[i % nz]);
      zHi = Math.max(zHi, posZ[i % nz]);
    }
    for (let c = 0; c < ny * nx; c++) {
      const r = Math.hypot(posY[Math.floor(c / nx)], posX[c % nx]);
      if (r > rMax + marginMm) continue;
      for (let z = 0; z < nz; z++) {
        const i = c * nz + z;
        if (a.body[i] && !taken[i] && posZ[z] >= zLo - marginMm && posZ[z] <= zHi + marginMm) cand[i] = 1;
      }
    }
    const nt = sample(cand, 3500);
    const levels = sortedTargets
      .filter((t) => a.masks.has(t.name))
      .map((t) => {
        const d2 = squaredDistanceToFeatures(a.masks.get(t.name)!, g.shape, g.spacing);
        return { lvl: t.gy / rxMax, d: nt.map((i) => Math.sqrt(d2[i])) };
      });
    const w = 4 / Math.max(1, nt.length);
    nt.forEach((i, k) => {
      let allowed = 0.05;
      for (const L of levels) allowed = Math.max(allowed, L.lvl * (0.3 + 0.75 * Math.exp(-L.d[k] / 20)));
      taken[i] = 1;
      optIdx.push(i);
      objectives.push({ lo: 0, wLo: 0, hi1: allowed, wHi1: w, hi2: 1.1, wHi2: 0 });
    });
  }
  const nv = optIdx.length;

  // ---- per control point: depth dose x inverse square for every body voxel (kept for the
  // final dose) and bilinear BEV lookups for the optimisation voxels
  const depth = new Float32Array(n);
  const depthScratch: { acc?: Float32Array } = {};
  const bodyIdx: number[] = [];
  const bodySlot = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++)
    if (a.body[i]) {
      bodySlot[i] = bodyIdx.length;
      bodyIdx.push(i);
    }
  const nb = bodyIdx.length;
  const gains = new Float32Array(K * nb);
  const ddt = new DepthDoseTable(o.physics);
  const lkIdx = new Int32Array(K * nv);
  const lkW = new Float32Array(K * nv * 4);
  const bilinear = (u: number, z: number): [number, number, number] | null => {
    const fu = (u - bev.u0) / bev.du;
    const fz = (z - bev.z0) / bev.dz;
    const u0 = Math.floor(fu);
    const z0 = Math.floor(fz);
    if (u0 < 0 || z0 < 0 || u0 + 1 >= bev.nu || z0 + 1 >= bev.nz) return null;
    return [z0 * bev.nu + u0, fu - u0, fz - z0];
  };
  for (let k = 0; k < K; k++) {
    radiologicalDepth(g, a.density, iso, frames[k], inPlane, depth, depthScratch);
    {
      const f = frames[k];
      for (const col of inPlane) {
        const iy = Math.floor(col / nx);
        const sDepth = posY[iy] * f.dy + posX[col - iy * nx] * f.dx;
        const mag = sad / (sad + sDepth);
        const isf = mag * mag;
        for (let iz = 0, i = col * nz; iz < nz; iz++, i++) {
          const b = bodySlot[i];
          if (b >= 0) gains[k * nb + b] = ddt.at(depth[i]) * isf;
        }
      }
    }
    for (let v = 0; v < nv; v++) {
      const i = optIdx[v];
      const iz = i % nz;
      const c = (i - iz) / nz;
      const [u, z] = project(frames[k], posY[Math.floor(c / nx)], posX[c % nx], posZ[iz], sad);
      const b = bilinear(u, z);
      const slot = k * nv + v;
      if (!b) {
        lkIdx[slot] = -1;
        continue;
      }
      const gain = gains[k * nb + bodySlot[i]];
      lkIdx[slot] = b[0];
      lkW[4 * slot] = gain * (1 - b[1]) * (1 - b[2]);
      lkW[4 * slot + 1] = gain * b[1] * (1 - b[2]);
      lkW[4 * slot + 2] = gain * (1 - b[1]) * b[2];
      lkW[4 * slot + 3] = gain * b[1] * b[2];
    }
  }

  // ---- linear operator: fluence maps (K x cells) -> sample doses, and its adjoint
  const tmp = new Float32Array(nCells);
  const blurred = new Float32Array(nCells);
  const back = new Float32Array(nCells);
  const nu = bev.nu;
  const forward = (x: Float32Array, dOut: Float64Array) => {
    dOut.fill(0);
    for (let k = 0; k < K; k++) {
      spread(x.subarray(k * nCells, (k + 1) * nCells), nu, bev.nz, kernel, tmp, blurred);
      for (let v = 0; v < nv; v++) {
        const slot = k * nv + v;
        const c = lkIdx[slot];
        if (c < 0) continue;
        const w = 4 * slot;
        dOut[v] +=
          lkW[w] * blurred[c] +
          lkW[w + 1] * blurred[c + 1] +
          lkW[w + 2] * blurred[c + nu] +
          lkW[w + 3] * blurred[c + nu + 1];
      }
    }
  };
  const adjoint = (r: Float64Array, gOut: Float32Array) => {
    for (let k = 0; k < K; k++) {
      back.fill(0);
      for (let v = 0; v < nv; v++) {
        const slot = k * nv + v;
        const c = lkIdx[slot];
        if (c < 0 || r[v] === 0) continue;
        const w = 4 * slot;
        back[c] += lkW[w] * r[v];
        back[c + 1] += lkW[w + 1] * r[v];
        back[c + nu] += lkW[w + 2] * r[v];
        back[c + nu + 1] += lkW[w + 3] * r[v];
      }
      const gk = gOut.subarray(k * nCells, (k + 1) * nCells);
      spread(back, nu, bev.nz, kernel, tmp, gk);
      const m = apertureMask[k];
      for (let c = 0; c < nCells; c++) if (!m[c]) gk[c] = 0;
    }
  };
  const objGrad = (d: Float64Array, r: Float64Array): number => {
    let f = 0;
    for (let v = 0; v < nv; v++) {
      const ob = objectives[v];
      const dv = d[v];
      let gsum = 0;
      if (dv < ob.lo) {
        const e = ob.lo - dv;
        f += ob.wLo * e * e;
        gsum -= 2 * ob.wLo * e;
      }
      if (dv > ob.hi1) {
        const e = dv - ob.hi1;
        f += ob.wHi1 * e * e;
        gsum += 2 * ob.wHi1 * e;
      }
      if (dv > ob.hi2) {
        const e = dv - ob.hi2;
        f += ob.wHi2 * e * e;
        gsum += 2 * ob.wHi2 * e;
      }
      r[v] = gsum;
    }
    return f;
  };

  // ---- initial fluence: open apertures, scaled so the top PTV gets its dose on average
  const X = K * nCells;
  const x = new Float32Array(X);
  for (let k = 0; k < K; k++) for (let c = 0; c < nCells; c++) x[k * nCells + c] = apertureMask[k][c];
  const d = new Float64Array(nv);
  const r = new Float64Array(nv);
  forward(x, d);
  {
    const top = a.masks.get(sortedTargets[0].name)!;
    let s = 0;
    let m = 0;
    for (let v = 0; v < nv; v++)
      if (top[optIdx[v]]) {
        s += d[v];
        m++;
      }
    const scale = m && s > 0 ? m / s : 1;
    for (let j = 0; j < X; j++) x[j] *= scale;
  }
  // Lipschitz estimate of the gradient: 2 * largest eigenvalue of A^T W A (a few power iterations;
  // it only scales the first step and the safeguards, the spectral steps adapt from there)
  const wSum = new Float64Array(nv);
  for (let v = 0; v < nv; v++) wSum[v] = Math.max(objectives[v].wLo, objectives[v].wHi1 + objectives[v].wHi2);
  let L = 1;
  {
    let p = new Float32Array(x);
    const gp = new Float32Array(X);
    for (let it = 0; it < 12; it++) {
      forward(p, d);
      for (let v = 0; v < nv; v++) r[v] = wSum[v] * d[v];
      adjoint(r, gp);
      let nrm = 0;
      let pn = 0;
      for (let j = 0; j < X; j++) {
        nrm += gp[j] * gp[j];
        pn += p[j] * p[j];
      }
      L = Math.sqrt(nrm / Math.max(pn, 1e-30));
      const s = 1 / Math.sqrt(nrm || 1);
      p = new Float32Array(gp.map((q) => q * s));
    }
    L = 2 * L * 1.05;
  }

  const objective: number[] = [];
  // ---- spectral projected gradient (Birgin, Martinez & Raydan 2000): Barzilai-Borwein steps
  // with a non-monotone (last 10 values) Armijo line search
  const M = 10;
  const gamma = 1e-4;
  let grad = new Float32Array(X);
  forward(x, d);
  let f = objGrad(d, r);
  adjoint(r, grad);
  if (!(Number.isFinite(L) && L > 0 && Number.isFinite(f)))
    throw new Error(
      `planDose: degenerate optimisation problem (L=${L}, f=${f}; a synthetic anatomy always has targets inside the beams)`,
    );
  let alpha = 1 / L;
  const hist: number[] = [f];
  const xNew = new Float32Array(X);
  const dir = new Float32Array(X);
  let gNew = new Float32Array(X);
  for (let it = 0; it < o.iterations; it++) {
    objective.push(f);
    let gd = 0;
    for (let j = 0; j < X; j++) {
      const v = Math.max(0, x[j] - alpha * grad[j]) - x[j];
      dir[j] = v;
      gd += grad[j] * v;
    }
    if (gd >= 0) break; // stationary
    const fRef = Math.max(...hist.slice(-M));
    let lambda = 1;
    let fNew = Infinity;
    for (let ls = 0; ls < 20; ls++) {
      for (let j = 0; j < X; j++) xNew[j] = x[j] + lambda * dir[j];
      forward(xNew, d);
      fNew = objGrad(d, r);
      if (fNew <= fRef + gamma * lambda * gd) break;
      // safeguarded quadratic interpolation of the step
      const lq = (-gd * lambda * lambda) / (2 * (fNew - f - lambda * gd));
      lambda = lq >= 0.1 * lambda && lq <= 0.9 * lambda ? lq : lambda / 2;
    }
    adjoint(r, gNew);
    let ss = 0;
    let sy = 0;
    for (let j = 0; j < X; j++) {
      const sj = xNew[j] - x[j];
      ss += sj * sj;
      sy += sj * (gNew[j] - grad[j]);
    }
    alpha = sy > 0 ? Math.min(1e6 / L, Math.max(1e-3 / L, ss / sy)) : 100 / L;
    x.set(xNew);
    const tg = grad;
    grad = gNew;
    gNew = tg;
    f = fNew;
    hist.push(f);
    onIteration?.(it);
  }

  // ---- full-volume dose from the optimised fluence
  const dose = new Float32Array(n);
  const cpWeights: number[] = [];
  for (let k = 0; k < K; k++) {
    const xk = x.subarray(k * nCells, (k + 1) * nCells);
    let s = 0;
    for (let c = 0; c < nCells; c++) s += xk[c];
    cpWeights.push(s);
    spread(xk, nu, bev.nz, kernel, tmp, blurred);
    const f = frames[k];
    const gk = gains.subarray(k * nb, (k + 1) * nb);
    for (const col of inPlane) {
      const iy = Math.floor(col / nx);
      const ix = col - iy * nx;
      const py = posY[iy];
      const px = posX[ix];
      const sDepth = py * f.dy + px * f.dx;
      const l = py * f.uy + px * f.ux;
      const mag = sad / (sad + sDepth);
      const fu = (l * mag - bev.u0) / bev.du;
      const u0 = Math.floor(fu);
      if (u0 < 0 || u0 + 1 >= nu) continue;
      const wu = fu - u0;
      for (let iz = 0; iz < nz; iz++) {
        const i = col * nz + iz;
        const b = bodySlot[i];
        if (b < 0) continue;
        const fz = (posZ[iz] * mag - bev.z0) / bev.dz;
        const z0 = Math.floor(fz);
        if (z0 < 0 || z0 + 1 >= bev.nz) continue;
        const wz = fz - z0;
        const c = z0 * nu + u0;
        const fl =
          (1 - wz) * ((1 - wu) * blurred[c] + wu * blurred[c + 1]) +
          wz * ((1 - wu) * blurred[c + nu] + wu * blurred[c + nu + 1]);
        dose[i] += fl * gk[b];
      }
    }
  }
  const total = cpWeights.reduce((p, q) => p + q, 0) || 1;

  // ---- normalise: PTV70 (highest level) D95 = prescription x d95Factor
  const topMask = a.masks.get(sortedTargets[0].name)!;
  const d95 = doseAtVolume(dose, topMask, 95);
  if (!(d95 > 0 && Number.isFinite(d95)))
    throw new Error(
      `planDose: ${sortedTargets[0].name} D95 before normalisation is ${d95} Gy (the optimised fluence always doses the target)`,
    );
  const norm = d95 > 0 ? (rxMax * o.d95Factor) / d95 : 1;
  for (let i = 0; i < n; i++) dose[i] *= norm;
  return {
    doseGy: dose,
    gantryAnglesDeg: angles,
    controlPointWeights: cpWeights.map((w) => w / total),
    apertures: apertureEdges,
    bev,
    isoMm: iso,
    objective,
    normalisation: norm,
  };
}
