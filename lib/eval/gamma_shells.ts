/**
 * The search pattern of pymedphys `gamma_shell` (pymedphys 0.41 / HEAD,
 * `_gamma/implementation/shell.py` + `_utilities/createshells.py`), precomputed once per
 * (spacing, DTA, interp_fraction, max_gamma) so the per-point search only does arithmetic.
 *
 * Distance set (reproduced with the same floating-point operations as pymedphys):
 *   distance = 0, step = dta / interp_fraction; after each shell
 *   step = max(distance / interp_fraction / max_gamma, dta / interp_fraction); distance += step;
 *   the first distance >= dta is replaced by dta itself (`force_search_distances`);
 *   shells are searched while distance <= dta * max_gamma.
 * Shell at distance d with step s (`calculate_coordinates_shell_3d`): rows at elevations
 *   linspace(0, pi, ceil(pi d / s) + 1); each row has ceil(2 pi d sin(el) / s) + 1 points at
 *   azimuths linspace(0, 2 pi, m + 1)[:-1]; offsets (d sin el cos az, d sin el sin az, d cos el)
 *   go to array axes (0, 1, 2).
 *
 * Because reference points sit on the evaluation grid (same grid), a shell offset has the same
 * integer cell offset and the same trilinear fractions for every reference point. Offsets are
 * therefore stored in voxel units, grouped by the grid cell they fall in, so the search can skip a
 * whole cell when the cell's corner-value range cannot improve the current gamma.
 */

export interface ShellTable {
  /** distance (mm) of each shell, in search order */
  distance: number[];
  /** (distance / dta)^2 of each shell */
  dd2: Float64Array;
  /** cells of shell k are cellStart[k] .. cellStart[k + 1] - 1 */
  cellStart: Int32Array;
  /** per cell: integer offset of the cell's lower corner on each axis */
  off0: Int32Array;
  off1: Int32Array;
  off2: Int32Array;
  /** per cell: 1 when the cell spans to the next grid plane on that axis, 0 when all its points lie exactly on a plane */
  up0: Int32Array;
  up1: Int32Array;
  up2: Int32Array;
  /** per cell: its sub-groups are subStart[c] .. subStart[c + 1] - 1 */
  subStart: Int32Array;
  /** per sub-group: points are ptStart[g] .. ptStart[g + 1] - 1 */
  ptStart: Int32Array;
  /**
   * per sub-group: bounding box of its points' fractions (f0lo, f0hi, f1lo, f1hi, f2lo, f2hi);
   * a trilinear function's range over a box is the range of its values at the box's 8 corners,
   * which bounds |E - R| for the whole sub-group before its points are interpolated.
   */
  box: Float64Array;
  /** per point: trilinear fractions (3 per point) */
  frac: Float64Array;
  /**
   * per cell: bit a set when some point of the cell was snapped onto a grid plane on axis a
   * (offset within 1e-9 voxel of it but not exactly on it). For a reference point on the first or
   * last plane of that axis, whether pymedphys counts such a shell point inside the grid depends on
   * floating-point rounding of (i * spacing + offset), so the search redoes that test exactly.
   */
  marginal: Int32Array;
  /** per point: the raw shell offset in mm (3 per point), for the exact boundary test */
  raw: Float64Array;
  /** how far cells reach from the reference voxel: lower corner >= i - reachLo[a], upper corner <= i + reachHi[a] */
  reachLo: [number, number, number];
  reachHi: [number, number, number];
  /** number of shells actually generated (the schedule may end earlier when max_gamma is finite) */
  nShells: number;
  /** true when the schedule reached dta * max_gamma (no further shells exist) */
  complete: boolean;
}

/** linspace as numpy computes it (step = span / (num - 1); y = i * step + start; last = stop). */
function linspace(start: number, stop: number, num: number): number[] {
  const out = new Array<number>(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** pymedphys calculate_coordinates_shell_3d: the (x, y, z) offsets in mm of one shell. */
export function shellCoordinates3d(distance: number, stepSize: number): [number[], number[], number[]] {
  const nRows = Math.ceil((Math.PI * distance) / stepSize) + 1;
  const elevation = linspace(0, Math.PI, nRows);
  const xs: number[] = [];
  const ys: number[] = [];
  const zs: number[] = [];
  for (const phi of elevation) {
    const rowRadius = distance * Math.sin(phi);
    const amount = Math.ceil((2 * Math.PI * rowRadius) / stepSize) + 1;
    const azimuth = linspace(0, 2 * Math.PI, amount + 1);
    for (let j = 0; j < amount; j++) {
      const a = azimuth[j];
      xs.push(distance * Math.sin(phi) * Math.cos(a));
      ys.push(distance * Math.sin(phi) * Math.sin(a));
      zs.push(distance * Math.cos(phi));
    }
  }
  return [xs, ys, zs];
}

/** The pymedphys distance schedule: [distance, step used for that shell] pairs up to maxDistance. */
export function distanceSchedule(
  dtaMm: number,
  interpFraction: number,
  maxGamma: number,
  upTo: number,
): { shells: Array<[number, number]>; exhausted: boolean } {
  const maxTest = dtaMm * maxGamma;
  const out: Array<[number, number]> = [];
  let distance = 0;
  let step = dtaMm / interpFraction;
  const forced = [dtaMm];
  while (distance <= maxTest && distance <= upTo) {
    out.push([distance, step]);
    step = Math.max(distance / interpFraction / maxGamma, dtaMm / interpFraction);
    distance += step;
    if (forced.length && distance >= forced[0]) distance = forced.shift() as number;
  }
  return { shells: out, exhausted: distance > maxTest };
}

/** points per sub-group (cells are split into compact groups of at most this many points) */
export const SUBGROUP_POINTS = 12;

/** kd-split of point ids (fractions in f, 3 per id) into compact groups of <= maxPts points */
function kdSplit(ids: number[], f: number[], maxPts: number, out: number[][]): void {
  if (ids.length <= maxPts) {
    out.push(ids);
    return;
  }
  let bestAxis = 0;
  let bestExtent = -1;
  for (let a = 0; a < 3; a++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of ids) {
      lo = Math.min(lo, f[3 * i + a]);
      hi = Math.max(hi, f[3 * i + a]);
    }
    if (hi - lo > bestExtent) {
      bestExtent = hi - lo;
      bestAxis = a;
    }
  }
  const sorted = [...ids].sort((x, y) => f[3 * x + bestAxis] - f[3 * y + bestAxis]);
  const mid = sorted.length >> 1;
  kdSplit(sorted.slice(0, mid), f, maxPts, out);
  kdSplit(sorted.slice(mid), f, maxPts, out);
}

/** fractions this close to a grid plane are treated as on it (shell offsets like d·cos(pi/2) ≈ 1e-16). */
const SNAP = 1e-9;

/**
 * The search shells of the gamma index: evaluation-grid offsets (mm) at distances stepped by
 * dtaMm / interpFraction up to `upToMm` (at most maxGamma · dtaMm), grouped by the grid cell they
 * fall in so the interpolation of each cell is computed once; spacing in mm, array-axis order.
 */
export function buildShellTable(
  spacingMm: readonly [number, number, number],
  dtaMm: number,
  interpFraction: number,
  maxGamma: number,
  upToMm: number,
): ShellTable {
  const { shells: schedule, exhausted: complete } = distanceSchedule(dtaMm, interpFraction, maxGamma, upToMm);
  const off: number[][] = [[], [], []];
  const up: number[][] = [[], [], []];
  const cellStart: number[] = [];
  const subStart: number[] = [];
  const ptStart: number[] = [];
  const box: number[] = [];
  const frac: number[] = [];
  const raw: number[] = [];
  const marginal: number[] = [];
  const dd2: number[] = [];
  for (const [d, step] of schedule) {
    cellStart.push(off[0].length);
    dd2.push((d / dtaMm) * (d / dtaMm));
    const coords = shellCoordinates3d(d, step);
    const groups = new Map<string, { o: number[]; u: number[]; f: number[]; raw: number[]; marginal: number }>();
    for (let p = 0; p < coords[0].length; p++) {
      const o = [0, 0, 0];
      const u = [0, 0, 0];
      const f = [0, 0, 0];
      for (let a = 0; a < 3; a++) {
        const v = coords[a][p] / spacingMm[a];
        let fl = Math.floor(v);
        let fr = v - fl;
        if (fr < SNAP) fr = 0;
        else if (fr > 1 - SNAP) {
          fl += 1;
          fr = 0;
        }
        o[a] = fl;
        u[a] = fr === 0 ? 0 : 1;
        f[a] = fr;
      }
      const key = `${o[0]},${o[1]},${o[2]},${u[0]}${u[1]}${u[2]}`;
      let g = groups.get(key);
      if (!g) {
        g = { o, u, f: [], raw: [], marginal: 0 };
        groups.set(key, g);
      }
      g.f.push(f[0], f[1], f[2]);
      for (let a = 0; a < 3; a++) {
        g.raw.push(coords[a][p]);
        if (u[a] === 0 && coords[a][p] !== o[a] * spacingMm[a]) g.marginal |= 1 << a;
      }
    }
    for (const g of groups.values()) {
      for (let a = 0; a < 3; a++) {
        off[a].push(g.o[a]);
        up[a].push(g.u[a]);
      }
      marginal.push(g.marginal);
      subStart.push(ptStart.length);
      const subgroups: number[][] = [];
      kdSplit(
        Array.from({ length: g.f.length / 3 }, (_, i) => i),
        g.f,
        SUBGROUP_POINTS,
        subgroups,
      );
      for (const ids of subgroups) {
        ptStart.push(frac.length / 3);
        const lo = [Infinity, Infinity, Infinity];
        const hi = [-Infinity, -Infinity, -Infinity];
        for (const i of ids) {
          for (let a = 0; a < 3; a++) {
            const v = g.f[3 * i + a];
            frac.push(v);
            raw.push(g.raw[3 * i + a]);
            lo[a] = Math.min(lo[a], v);
            hi[a] = Math.max(hi[a], v);
          }
        }
        box.push(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]);
      }
    }
  }
  cellStart.push(off[0].length);
  subStart.push(ptStart.length);
  const reachLo: [number, number, number] = [0, 0, 0];
  const reachHi: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    for (let c = 0; c < off[a].length; c++) {
      reachLo[a] = Math.max(reachLo[a], -off[a][c]);
      reachHi[a] = Math.max(reachHi[a], off[a][c] + up[a][c]);
    }
  }
  ptStart.push(frac.length / 3);
  return {
    distance: schedule.map((s) => s[0]),
    dd2: Float64Array.from(dd2),
    cellStart: Int32Array.from(cellStart),
    off0: Int32Array.from(off[0]),
    off1: Int32Array.from(off[1]),
    off2: Int32Array.from(off[2]),
    up0: Int32Array.from(up[0]),
    up1: Int32Array.from(up[1]),
    up2: Int32Array.from(up[2]),
    subStart: Int32Array.from(subStart),
    ptStart: Int32Array.from(ptStart),
    box: Float64Array.from(box),
    frac: Float64Array.from(frac),
    marginal: Int32Array.from(marginal),
    raw: Float64Array.from(raw),
    reachLo,
    reachHi,
    nShells: schedule.length,
    complete,
  };
}
