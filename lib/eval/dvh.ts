/**
 * Dose-volume histograms and DVH points of one structure (binary mask, every voxel the same
 * volume, no partial volumes — as both peers do).
 *
 * Dx (dose received by at least x% of the volume) has three selectable definitions; every result
 * says which one it used:
 *  - 'linear': np.percentile(values, 100 - x) with numpy's default linear interpolation — the
 *    OpenKBP evaluator (openkbp.md 2.2);
 *  - 'lower':  np.percentile(values, 100 - x, method='lower') = ascending a[floor((n-1)(100-x)/100)]
 *    — the reference evaluation's `compute_dvh_metrics` (spec 7.3);
 *  - 'exact':  the voxel-step DVH. With doses sorted descending s_1 >= ... >= s_n, the cumulative
 *    DVH V(d) = #{voxels >= d} / n is a step function, and Dx = max{d : V(d) >= x/100} = s_k with
 *    k = ceil(x n / 100) (k >= 1; D0 = Dmax): the minimum dose of the hottest x% of voxels.
 * D_V cc (e.g. D0.1cc, D2cc): 'linear'/'lower' use OpenKBP's rule n_v = max(1, round(V / voxel cc)),
 * q = 100 - n_v / n * 100, np.percentile(values, q, method); 'exact' takes s_k with
 * k = min(n, max(1, ceil(V / voxel cc - 1e-9))), the minimum dose of the hottest V cc.
 * Vx (x in Gy) = 100 · #{voxels >= x} / n; Vx_cc = #{voxels >= x} · voxel cc.
 * Dmean = np.mean order (npsum.ts); Dmax/Dmin = extremes.
 */
import { VmatError } from '../core/errors';
import { npMean } from '../stats/npsum';
import { percentileSorted, type PercentileMethod } from '../stats/percentile';

export type DxMethod = PercentileMethod | 'exact';

/** values of `dose` inside mask > 0 (float64), checked for shape and emptiness */
export function structureValues(dose: ArrayLike<number>, mask: ArrayLike<number>, name = 'mask'): Float64Array {
  if (dose.length !== mask.length)
    throw new VmatError(`${name}: mask has ${mask.length} voxels, dose has ${dose.length}`);
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  if (n === 0) throw new VmatError(`${name}: the mask is empty (no voxel > 0)`);
  const out = new Float64Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]) out[k++] = dose[i];
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(out[i]))
      throw new VmatError(`${name}: dose inside the structure has a non-finite value (${out[i]})`);
  return out;
}

/** A structure's dose values sorted ascending, with the helpers every DVH point needs. */
export class StructureDose {
  readonly sorted: Float64Array;
  readonly n: number;
  readonly meanGy: number;
  readonly voxelCc: number;
  constructor(
    values: Float64Array,
    /** voxel volume in mm^3 (product of the spacing, as OpenKBP's np.prod(voxel_dimensions)) */
    readonly voxelMm3: number,
  ) {
    this.sorted = Float64Array.from(values).sort();
    this.n = values.length;
    this.meanGy = npMean(values);
    this.voxelCc = voxelMm3 / 1000;
  }
  get maxGy(): number {
    return this.sorted[this.n - 1];
  }
  get minGy(): number {
    return this.sorted[0];
  }
  get volumeCc(): number {
    return this.n * this.voxelCc;
  }

  /** dose received by at least x % of the volume */
  dx(x: number, method: DxMethod): number {
    if (!(x >= 0 && x <= 100)) throw new VmatError(`Dx: x must be in [0, 100], found ${x}`);
    if (method === 'exact') {
      const k = Math.max(1, Math.ceil((x * this.n) / 100 - 1e-9));
      return this.sorted[this.n - Math.min(k, this.n)];
    }
    return percentileSorted(this.sorted, 100 - x, method);
  }

  /** minimum dose to the hottest `cc` cubic centimetres */
  dcc(cc: number, method: DxMethod): number {
    if (!(cc > 0)) throw new VmatError(`D_cc: volume must be > 0 cc, found ${cc}`);
    if (method === 'exact') {
      const k = Math.min(this.n, Math.max(1, Math.ceil((cc * 1000) / this.voxelMm3 - 1e-9)));
      return this.sorted[this.n - k];
    }
    // OpenKBP: n = max(1, round(100 / voxel_volume_mm3)) for 0.1 cc, q = 100 - n / N * 100
    const nv = Math.max(1, roundHalfEven((cc * 1000) / this.voxelMm3));
    const q = 100 - (nv / this.n) * 100;
    return percentileSorted(this.sorted, Math.max(0, q), method);
  }

  /** % of the volume receiving >= doseGy */
  vPct(doseGy: number): number {
    return (100 * this.countAtLeast(doseGy)) / this.n;
  }

  /** cc receiving >= doseGy */
  vCc(doseGy: number): number {
    return this.countAtLeast(doseGy) * this.voxelCc;
  }

  countAtLeast(doseGy: number): number {
    // first index with sorted[i] >= doseGy
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] >= doseGy) hi = mid;
      else lo = mid + 1;
    }
    return this.n - lo;
  }
}

/**
 * Dx (Gy) of the voxels of `dose` inside `mask` with the given definition (default 'lower', the
 * reference evaluation's); NaN for an empty mask.
 */
export function doseAtVolume(
  dose: ArrayLike<number>,
  mask: ArrayLike<number>,
  x: number,
  method: DxMethod = 'lower',
): number {
  for (let i = 0; i < mask.length; i++)
    if (mask[i]) return new StructureDose(structureValues(dose, mask), 1).dx(x, method);
  return NaN;
}

/** Vx: % of the voxels inside `mask` receiving at least `gy`; NaN for an empty mask */
export function volumeAtDose(dose: ArrayLike<number>, mask: ArrayLike<number>, gy: number): number {
  let n = 0;
  let hit = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    n++;
    if (dose[i] >= gy) hit++;
  }
  return n ? (100 * hit) / n : NaN;
}

/** Python round(): halves to even (OpenKBP's round(100 / voxel_volume)) */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export interface DvhCurve {
  /** bin lower edges in Gy: 0, w, 2w, ... */
  doseGy: number[];
  /** % of the structure volume receiving >= doseGy[i] */
  volumePct: number[];
}

/**
 * Cumulative DVH for plots: volumePct[i] = 100 · #{voxels >= doseGy[i]} / n at doses
 * 0, w, 2w, ... <= maxGy (default max dose rounded up to a bin), w = binWidthGy or maxGy / bins.
 */
export function dvhCurve(
  dose: ArrayLike<number>,
  mask: ArrayLike<number>,
  opts: { binWidthGy?: number; bins?: number; maxGy?: number } = {},
): DvhCurve {
  const s = new StructureDose(structureValues(dose, mask), 1);
  const mx = Math.max(s.maxGy, 0);
  const width = opts.binWidthGy ?? (opts.bins ? (opts.maxGy ?? Math.max(mx, 1e-9)) / opts.bins : 0.1);
  if (!(width > 0)) throw new VmatError(`dvhCurve: bin width must be > 0, found ${width}`);
  const maxGy = opts.maxGy ?? Math.ceil(mx / width - 1e-9) * width;
  const nb = Math.floor(maxGy / width + 1e-9) + 1;
  const doseGy: number[] = [];
  const volumePct: number[] = [];
  for (let i = 0; i < nb; i++) {
    doseGy.push(i * width);
    volumePct.push(s.vPct(i * width));
  }
  return { doseGy, volumePct };
}

export interface DvhPoints {
  method: DxMethod;
  n_voxels: number;
  volume_cc: number;
  D98: number;
  D95: number;
  D50: number;
  D2: number;
  Dmean: number;
  Dmax: number;
  Dmin: number;
  'D0.1cc': number;
  D2cc: number;
  /** % volume at >= each requested dose (Gy), keyed by the dose as given */
  V: Record<string, number>;
}

/** The standard DVH points of one structure (the `vmat dvh` output): Dx, Dmean, Dmax, Dmin, D0.1cc, D2cc in Gy, Vx in %; spacing in mm. */
export function dvhPoints(
  dose: ArrayLike<number>,
  mask: ArrayLike<number>,
  spacingMm: readonly number[],
  opts: { method?: DxMethod; vGy?: number[] } = {},
): DvhPoints {
  if (spacingMm.length !== 3 || !spacingMm.every((s) => s > 0))
    throw new VmatError(`dvh: expected 3 positive spacing values (mm), found [${spacingMm.join(', ')}]`);
  const method = opts.method ?? 'linear';
  const s = new StructureDose(structureValues(dose, mask), spacingMm[0] * spacingMm[1] * spacingMm[2]);
  const V: Record<string, number> = {};
  for (const x of opts.vGy ?? []) V[String(x)] = s.vPct(x);
  return {
    method,
    n_voxels: s.n,
    volume_cc: s.volumeCc,
    D98: s.dx(98, method),
    D95: s.dx(95, method),
    D50: s.dx(50, method),
    D2: s.dx(2, method),
    Dmean: s.meanGy,
    Dmax: s.maxGy,
    Dmin: s.minGy,
    'D0.1cc': s.dcc(0.1, method),
    D2cc: s.dcc(2, method),
    V,
  };
}
