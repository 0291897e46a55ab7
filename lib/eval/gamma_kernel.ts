/**
 * The per-point gamma search (pure arithmetic on typed arrays, shared by the main thread and the
 * worker threads). Definition = pymedphys `gamma_shell` (see gamma_shells.ts for the search
 * pattern): for reference point p with dose R,
 *   gamma(p) = min over shells d (d <= dta * max_gamma) of
 *              sqrt( (min over shell points s |E(p + s) - R| / delta)^2 + (d / dta)^2 ),
 *   delta = dose% / 100 * normalisation (global) or dose% / 100 * |R| (local),
 * E = trilinear interpolation of the evaluation dose, shell points outside the grid ignored
 * (pymedphys: +inf), then gamma > max_gamma -> max_gamma.
 *
 * Speed without changing the result:
 *  - shells are visited in increasing distance and the search stops once (d / dta) >= best
 *    gamma so far (pymedphys's own stopping rule, applied per point);
 *  - within a shell, a dose-difference threshold thr = delta * sqrt(best^2 - (d/dta)^2) is the
 *    largest |E - R| that could still improve gamma; a whole grid cell is skipped when its
 *    corner-value range [cellMin, cellMax] lies further than thr from R (a trilinear value never
 *    leaves the range of its 8 corners), and thr shrinks as better points are found;
 *  - inside a cell that survives, points come in compact sub-groups (gamma_shells.ts); a sub-group is
 *    skipped when the trilinear function's range over its fraction box (= the range of the 8 box
 *    corner values) is further than thr from R;
 *  - best starts at max_gamma when it is finite (anything above is clipped to it anyway);
 *  - reference points far from the grid faces skip all bounds tests (flat cell offsets).
 * The only approximation is floating-point: a point whose interpolated value rounds outside its
 * cell's corner range by an ulp may be skipped (changes gamma by ~1e-15).
 */
import { buildShellTable, type ShellTable } from './gamma_shells';

export interface GammaKernelParams {
  shape: [number, number, number];
  spacingMm: [number, number, number];
  dosePercent: number;
  dtaMm: number;
  interpFraction: number;
  /** Infinity when not given */
  maxGamma: number;
  local: boolean;
  normalisation: number;
}

export interface GammaKernelArrays {
  ref: Float64Array;
  ev: Float64Array;
  /** min / max of the evaluation dose over the corners of the cell whose lower corner is at each voxel (upper corner clamped to the grid) */
  cellMin: Float64Array;
  cellMax: Float64Array;
}

/** Holds the shell table and grows it on demand (only needed when max_gamma is infinite). */
export class ShellCache {
  table: ShellTable;
  private upTo: number;
  constructor(private readonly p: GammaKernelParams) {
    this.upTo = Number.isFinite(p.maxGamma) ? p.dtaMm * p.maxGamma : 2 * p.dtaMm;
    this.table = buildShellTable(p.spacingMm, p.dtaMm, p.interpFraction, p.maxGamma, this.upTo);
  }
  /** extends the table; returns false when no further shells exist */
  grow(): boolean {
    if (this.table.complete) return false;
    this.upTo *= 2;
    this.table = buildShellTable(this.p.spacingMm, this.p.dtaMm, this.p.interpFraction, this.p.maxGamma, this.upTo);
    return true;
  }
}

const caches = new Map<string, ShellCache>();

/** One shell cache per search pattern (spacing, DTA, interp_fraction, max_gamma), kept for the process. */
export function shellCacheFor(p: GammaKernelParams): ShellCache {
  const key = `${p.spacingMm.join(',')}|${p.dtaMm}|${p.interpFraction}|${p.maxGamma}`;
  let c = caches.get(key);
  if (!c) {
    if (caches.size > 16) caches.clear();
    c = new ShellCache(p);
    caches.set(key, c);
  }
  return c;
}

/** Corner-range arrays for the cell pruning: separable min/max over {i, min(i+1, n-1)} per axis. */
export function cellRange(
  ev: Float64Array,
  shape: readonly [number, number, number],
): { cellMin: Float64Array; cellMax: Float64Array } {
  const [n0, n1, n2] = shape;
  const s0 = n1 * n2;
  const s1 = n2;
  let mn = Float64Array.from(ev);
  let mx = Float64Array.from(ev);
  const pass = (stride: number, n: number, axisLen: (i: number) => number) => {
    const mn2 = new Float64Array(mn.length);
    const mx2 = new Float64Array(mx.length);
    for (let i = 0; i < mn.length; i++) {
      const last = axisLen(i) === n - 1;
      const j = last ? i : i + stride;
      mn2[i] = mn[i] < mn[j] ? mn[i] : mn[j];
      mx2[i] = mx[i] > mx[j] ? mx[i] : mx[j];
    }
    mn = mn2;
    mx = mx2;
  };
  pass(s0, n0, (i) => Math.floor(i / s0));
  pass(s1, n1, (i) => Math.floor(i / s1) % n1);
  pass(1, n2, (i) => i % n2);
  return { cellMin: mn, cellMax: mx };
}

/** per-table flat offsets of each cell's lower corner and corner strides, for one grid's strides */
interface FlatCells {
  s0: number;
  s1: number;
  base: Int32Array;
  d0: Int32Array;
  d1: Int32Array;
  d2: Int32Array;
}
const flatCache = new WeakMap<ShellTable, FlatCells>();

function flatCells(t: ShellTable, s0: number, s1: number): FlatCells {
  const hit = flatCache.get(t);
  if (hit && hit.s0 === s0 && hit.s1 === s1) return hit;
  const n = t.off0.length;
  const f: FlatCells = {
    s0,
    s1,
    base: new Int32Array(n),
    d0: new Int32Array(n),
    d1: new Int32Array(n),
    d2: new Int32Array(n),
  };
  for (let c = 0; c < n; c++) {
    f.base[c] = t.off0[c] * s0 + t.off1[c] * s1 + t.off2[c];
    f.d0[c] = t.up0[c] * s0;
    f.d1[c] = t.up1[c] * s1;
    f.d2[c] = t.up2[c];
  }
  flatCache.set(t, f);
  return f;
}

/**
 * No cell of the table can leave the grid or touch its first or last plane (strict: a cell on a
 * boundary plane may need the exact pymedphys in-grid test below, which interior points skip).
 */
function isInterior(t: ShellTable, i0: number, i1: number, i2: number, shape: readonly number[]): boolean {
  return (
    i0 > t.reachLo[0] &&
    i0 + t.reachHi[0] < shape[0] - 1 &&
    i1 > t.reachLo[1] &&
    i1 + t.reachHi[1] < shape[1] - 1 &&
    i2 > t.reachLo[2] &&
    i2 + t.reachHi[2] < shape[2] - 1
  );
}

/** pymedphys/scipy in-grid test of point (i * spacing + offset) on every axis, in double arithmetic. */
function insideGrid(raw: Float64Array, j: number, i0: number, i1: number, i2: number, p: GammaKernelParams): boolean {
  const [n0, n1, n2] = p.shape;
  const [h0, h1, h2] = p.spacingMm;
  const x0 = i0 * h0 + raw[j];
  const x1 = i1 * h1 + raw[j + 1];
  const x2 = i2 * h2 + raw[j + 2];
  return x0 >= 0 && x0 <= (n0 - 1) * h0 && x1 >= 0 && x1 <= (n1 - 1) * h1 && x2 >= 0 && x2 <= (n2 - 1) * h2;
}

/**
 * Gamma at the reference points points[from..to) (flat C-order indices), written to out[point].
 * Returns nothing; NaN is written where gamma is undefined (local gamma with R = 0).
 */
export function gammaAtPoints(
  p: GammaKernelParams,
  a: GammaKernelArrays,
  cache: ShellCache,
  points: Int32Array,
  from: number,
  to: number,
  out: Float64Array,
): void {
  const [n0, n1, n2] = p.shape;
  const s0 = n1 * n2;
  const s1 = n2;
  const { ref, ev, cellMin, cellMax } = a;
  const frac0 = p.dosePercent / 100;
  let t = cache.table;
  let box = t.box;
  let fr = t.frac;
  let fc = flatCells(t, s0, s1);
  for (let q = from; q < to; q++) {
    const idx = points[q];
    const R = ref[idx];
    const delta = p.local ? Math.abs(R) * frac0 : p.normalisation * frac0;
    if (!(delta > 0)) {
      out[idx] = NaN;
      continue;
    }
    const i0 = Math.floor(idx / s0);
    const i1 = Math.floor(idx / s1) % n1;
    const i2 = idx % n2;
    let best = p.maxGamma;
    let best2 = best * best;
    // far enough from every face that no cell of the table leaves the grid: no bounds tests needed
    let interior = isInterior(t, i0, i1, i2, p.shape);
    for (let k = 0; ; k++) {
      if (k >= t.nShells) {
        if (!cache.grow()) break;
        t = cache.table;
        box = t.box;
        fr = t.frac;
        fc = flatCells(t, s0, s1);
        interior = isInterior(t, i0, i1, i2, p.shape);
      }
      const dd2 = t.dd2[k];
      if (dd2 >= best2) break;
      let thr = delta * Math.sqrt(best2 - dd2);
      let found = false;
      const cEnd = t.cellStart[k + 1];
      for (let c = t.cellStart[k]; c < cEnd; c++) {
        let base: number;
        let edge = false;
        if (interior) base = idx + fc.base[c];
        else {
          const a0 = i0 + t.off0[c];
          if (a0 < 0 || a0 + t.up0[c] > n0 - 1) continue;
          const a1 = i1 + t.off1[c];
          if (a1 < 0 || a1 + t.up1[c] > n1 - 1) continue;
          const a2 = i2 + t.off2[c];
          if (a2 < 0 || a2 + t.up2[c] > n2 - 1) continue;
          base = a0 * s0 + a1 * s1 + a2;
          // exact pymedphys in-grid test for points snapped onto a first/last grid plane (rare)
          const mg = t.marginal[c];
          edge =
            mg !== 0 &&
            (((mg & 1) !== 0 && (a0 === 0 || a0 === n0 - 1)) ||
              ((mg & 2) !== 0 && (a1 === 0 || a1 === n1 - 1)) ||
              ((mg & 4) !== 0 && (a2 === 0 || a2 === n2 - 1)));
        }
        const lo = cellMin[base] - R;
        const hi = R - cellMax[base];
        if ((lo > hi ? lo : hi) >= thr) continue;
        const d0 = fc.d0[c];
        const d1 = fc.d1[c];
        const d2 = fc.d2[c];
        const c000 = ev[base];
        const c001 = ev[base + d2];
        const c010 = ev[base + d1];
        const c011 = ev[base + d1 + d2];
        const c100 = ev[base + d0];
        const c101 = ev[base + d0 + d2];
        const c110 = ev[base + d0 + d1];
        const c111 = ev[base + d0 + d1 + d2];
        const gEnd = t.subStart[c + 1];
        const multi = gEnd - t.subStart[c] > 1;
        for (let g = t.subStart[c]; g < gEnd; g++) {
          if (multi) {
            // range of the trilinear function over the sub-group's fraction box = range at its 8 corners
            const b = 6 * g;
            const f0a = box[b],
              f0b = box[b + 1],
              f1a = box[b + 2],
              f1b = box[b + 3],
              f2a = box[b + 4],
              f2b = box[b + 5];
            const e00a = c000 + f2a * (c001 - c000),
              e00b = c000 + f2b * (c001 - c000);
            const e01a = c010 + f2a * (c011 - c010),
              e01b = c010 + f2b * (c011 - c010);
            const e10a = c100 + f2a * (c101 - c100),
              e10b = c100 + f2b * (c101 - c100);
            const e11a = c110 + f2a * (c111 - c110),
              e11b = c110 + f2b * (c111 - c110);
            const y0aa = e00a + f1a * (e01a - e00a),
              y0ab = e00b + f1a * (e01b - e00b);
            const y0ba = e00a + f1b * (e01a - e00a),
              y0bb = e00b + f1b * (e01b - e00b);
            const y1aa = e10a + f1a * (e11a - e10a),
              y1ab = e10b + f1a * (e11b - e10b);
            const y1ba = e10a + f1b * (e11a - e10a),
              y1bb = e10b + f1b * (e11b - e10b);
            const v1 = y0aa + f0a * (y1aa - y0aa),
              v2 = y0ab + f0a * (y1ab - y0ab);
            const v3 = y0ba + f0a * (y1ba - y0ba),
              v4 = y0bb + f0a * (y1bb - y0bb);
            const v5 = y0aa + f0b * (y1aa - y0aa),
              v6 = y0ab + f0b * (y1ab - y0ab);
            const v7 = y0ba + f0b * (y1ba - y0ba),
              v8 = y0bb + f0b * (y1bb - y0bb);
            const vmin = Math.min(v1, v2, v3, v4, v5, v6, v7, v8);
            const vmax = Math.max(v1, v2, v3, v4, v5, v6, v7, v8);
            // small slack: the corner values and the point values are rounded differently
            const slack = 1e-12 * (Math.abs(vmin) + Math.abs(vmax));
            const l1 = vmin - R - slack;
            const l2 = R - vmax - slack;
            if ((l1 > l2 ? l1 : l2) >= thr) continue;
          }
          for (let j = t.ptStart[g] * 3, jEnd = t.ptStart[g + 1] * 3; j < jEnd; j += 3) {
            if (edge && !insideGrid(t.raw, j, i0, i1, i2, p)) continue;
            const f0 = fr[j];
            const f1 = fr[j + 1];
            const f2 = fr[j + 2];
            const x00 = c000 + f2 * (c001 - c000);
            const x01 = c010 + f2 * (c011 - c010);
            const x10 = c100 + f2 * (c101 - c100);
            const x11 = c110 + f2 * (c111 - c110);
            const y0 = x00 + f1 * (x01 - x00);
            const y1 = x10 + f1 * (x11 - x10);
            const v = y0 + f0 * (y1 - y0);
            const diff = v > R ? v - R : R - v;
            if (diff < thr) {
              thr = diff;
              found = true;
            }
          }
        }
      }
      if (found) {
        const g = thr / delta;
        best2 = g * g + dd2;
        best = Math.sqrt(best2);
      }
    }
    out[idx] = best === Infinity ? NaN : best;
  }
}
