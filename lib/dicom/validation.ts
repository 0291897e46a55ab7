/**
 * The reference's checks on a preprocessed case (spec 1.4, 1.7, 2.2 steps 11-12), with its
 * metadata types — numpy scalars where numpy produces them (np.bool_ from comparisons on arrays,
 * np.uint64 from `mask.sum()`, np.float64 from `uint64 / uint64`), Python types elsewhere:
 * `validate_preprocessed_data`, `quantify_truncation`, `validate_sdf` and the DVH (D95) check.
 * Volumes are cropped, (Y, X, Z) C order.
 */
import type { Shape3 } from '../core/shape';
import { npBool, npFloat64, npUint64, pyFloat, pyTuple } from '../data/pyobj';
import type { ChannelMask } from './crop';

/** D95 as the reference: `np.percentile(values, 5)` with linear interpolation */
export function percentile(values: Float64Array, q: number): number {
  const v = Float64Array.from(values).sort();
  const pos = (q / 100) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  const t = pos - lo;
  // numpy's _lerp: a + (b − a)·t, computed from the upper end when t ≥ 0.5
  const a = v[lo];
  const b = v[hi];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** np.bool_(cond) */
const B = (v: boolean) => npBool(v);

/** Structure names of the reference's STRUCTURE_CHANNELS (v2.3: 8; v2.4: 9) */
export function structureChannels(layout: 'v2.3' | 'v2.4'): string[] {
  const base = ['PTV70', 'PTV56', 'Prostate', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel'];
  return layout === 'v2.4' ? [...base, 'PTV50.4'] : base;
}

/** name of channel `ch` in truncation_info: STRUCTURE_CHANNELS.get(ch, f'channel_{ch}') */
export function channelName(layout: 'v2.3' | 'v2.4', ch: number): string {
  return structureChannels(layout)[ch] ?? `channel_${ch}`;
}

/** visits every voxel index of the bounding box `b` of a (Y, X, Z) volume */
function forBox(b: [number, number][], shape: Shape3, fn: (i: number) => void): void {
  const [, nx, nz] = shape;
  for (let y = b[0][0]; y < b[0][1]; y++) {
    for (let x = b[1][0]; x < b[1][1]; x++) {
      const o = (y * nx + x) * nz;
      for (let z = b[2][0]; z < b[2][1]; z++) fn(o + z);
    }
  }
}

/** `quantify_truncation(mask)` (spec 1.7): mask voxels on each of the 6 faces (edges counted on both faces) */
export function quantifyTruncation(m: ChannelMask, shape: Shape3): { info: Record<string, unknown>; percent: number } {
  const total = m.count;
  if (total === 0) return { info: { exists: false, truncated: false, truncation_percent: pyFloat(0) }, percent: 0 };
  const [ny, nx, nz] = shape;
  const d = m.data;
  const faces = { y_min: 0, y_max: 0, x_min: 0, x_max: 0, z_min: 0, z_max: 0 };
  for (let x = 0; x < nx; x++) {
    for (let z = 0; z < nz; z++) {
      faces.y_min += d[x * nz + z];
      faces.y_max += d[((ny - 1) * nx + x) * nz + z];
    }
  }
  for (let y = 0; y < ny; y++) {
    for (let z = 0; z < nz; z++) {
      faces.x_min += d[y * nx * nz + z];
      faces.x_max += d[(y * nx + nx - 1) * nz + z];
    }
    for (let x = 0; x < nx; x++) {
      faces.z_min += d[(y * nx + x) * nz];
      faces.z_max += d[(y * nx + x) * nz + nz - 1];
    }
  }
  const boundary = faces.y_min + faces.y_max + faces.x_min + faces.x_max + faces.z_min + faces.z_max;
  const percent = (boundary / total) * 100;
  return {
    info: {
      exists: true,
      truncated: B(boundary > 0),
      truncation_percent: npFloat64(percent),
      total_voxels: total,
      boundary_voxels: Object.fromEntries(Object.entries(faces).map(([k, v]) => [k, npUint64(v)])),
      touching_boundaries: Object.entries(faces)
        .filter(([, v]) => v > 0)
        .map(([k]) => k),
    },
    percent,
  };
}

/**
 * scipy's `binary_erosion(~mask, iterations=2)` (6-connected cross, voxels beyond the grid
 * count as 0) keeps the voxels at least 2 from every face and farther than city-block distance 2
 * from the mask. Returns a tester for "removed by the erosion" and the number of voxels kept,
 * working on the mask's bounding box ± 2 only.
 */
function erodedOutside(m: ChannelMask, shape: Shape3): { removed: (i: number) => boolean; kept: number } {
  const [ny, nx, nz] = shape;
  const interior = (v: number, n: number) => v >= 2 && v <= n - 3;
  const b = m.bounds!;
  const lo = b.map(([l]) => Math.max(0, l - 2));
  const hi = b.map(([, h], a) => Math.min(shape[a], h + 2));
  const [ly, lx, lz] = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
  // the mask dilated by the L1 ball of radius 2 = two 6-neighbour dilations, in the local box
  let cur = new Uint8Array(ly * lx * lz);
  for (let y = 0; y < ly; y++)
    for (let x = 0; x < lx; x++)
      for (let z = 0; z < lz; z++) cur[(y * lx + x) * lz + z] = m.data[((lo[0] + y) * nx + lo[1] + x) * nz + lo[2] + z];
  for (let it = 0; it < 2; it++) {
    const next = new Uint8Array(cur.length);
    for (let y = 0; y < ly; y++) {
      for (let x = 0; x < lx; x++) {
        const o = (y * lx + x) * lz;
        for (let z = 0; z < lz; z++) {
          if (!cur[o + z]) continue;
          const i = o + z;
          next[i] = 1;
          if (z > 0) next[i - 1] = 1;
          if (z < lz - 1) next[i + 1] = 1;
          if (x > 0) next[i - lz] = 1;
          if (x < lx - 1) next[i + lz] = 1;
          if (y > 0) next[i - lx * lz] = 1;
          if (y < ly - 1) next[i + lx * lz] = 1;
        }
      }
    }
    cur = next;
  }
  const dil = cur;
  let interiorCount = Math.max(0, ny - 4) * Math.max(0, nx - 4) * Math.max(0, nz - 4);
  for (let y = 0; y < ly; y++) {
    for (let x = 0; x < lx; x++) {
      for (let z = 0; z < lz; z++) {
        if (dil[(y * lx + x) * lz + z] && interior(lo[0] + y, ny) && interior(lo[1] + x, nx) && interior(lo[2] + z, nz))
          interiorCount--;
      }
    }
  }
  const removed = (i: number): boolean => {
    const z = i % nz;
    const x = Math.floor(i / nz) % nx;
    const y = Math.floor(i / (nz * nx));
    if (!interior(y, ny) || !interior(x, nx) || !interior(z, nz)) return true;
    const yy = y - lo[0];
    const xx = x - lo[1];
    const zz = z - lo[2];
    if (yy < 0 || xx < 0 || zz < 0 || yy >= ly || xx >= lx || zz >= lz) return false;
    return dil[(yy * lx + xx) * lz + zz] === 1;
  };
  return { removed, kept: interiorCount };
}

/** `validate_sdf` for one channel (spec 1.4); `sdf` as written to the npz */
export function validateSdf(m: ChannelMask, sdf: Float32Array, shape: Shape3): Record<string, unknown> {
  const inside = m.count;
  if (inside === 0) return { exists: false, valid: true };
  let insideNeg = 0;
  forBox(m.bounds!, shape, (i) => {
    if (m.data[i] && sdf[i] <= 0) insideNeg++;
  });
  const er = erodedOutside(m, shape);
  // (sdf >= 0) over the eroded outside = kept − (kept voxels with sdf < 0)
  let keptNegative = 0;
  for (let i = 0; i < sdf.length; i++) if (sdf[i] < 0 && !m.data[i] && !er.removed(i)) keptNegative++;
  const out = er.kept;
  const outPos = out - keptNegative;
  const inNeg = insideNeg / inside;
  // outside_positive is np.float64 when the eroded outside is non-empty, else the Python float 1.0;
  // `valid = a and b` returns a (np.bool_) when a is false, else b (np.bool_ or Python bool)
  const outPosV = out > 0 ? outPos / out : 1.0;
  const a = inNeg > 0.95;
  const valid = !a ? B(false) : out > 0 ? B(outPosV > 0.95) : outPosV > 0.95;
  return {
    exists: true,
    valid,
    inside_negative_pct: pyFloat(inNeg),
    outside_positive_pct: pyFloat(outPosV),
  };
}

/** min and max of a float32 volume */
function minMax(a: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** mean and std (float64 sums, reported as float32 like numpy's float32 results) of `values` at the voxels `at` visits */
function meanStd(
  values: Float32Array,
  visit: (fn: (i: number) => void) => void,
): { mean: number; std: number; n: number } {
  let s = 0;
  let n = 0;
  visit((i) => {
    s += values[i];
    n++;
  });
  const mean = s / n;
  let ss = 0;
  visit((i) => {
    const d = values[i] - mean;
    ss += d * d;
  });
  return { mean: Math.fround(mean), std: Math.fround(Math.sqrt(ss / n)), n };
}

/** Inputs of validatePreprocessed (all cropped, (Y, X, Z)). */
export interface ValidationInput {
  layout: 'v2.3' | 'v2.4';
  shape: Shape3;
  ct: Float32Array;
  /** normalised dose, or null for a case written without dose */
  dose: Float32Array | null;
  masks: ChannelMask[];
  /** min/max HU of the whole (uncropped) series */
  huMin: number;
  huMax: number;
}

/** Result: metadata `validation` (without truncation_info), `truncation_info`, and warnings. */
export interface ValidationResult {
  validation: Record<string, unknown>;
  truncationInfo: Record<string, unknown>;
  allCriticalPassed: boolean;
  ptv70DoseMean: number | null;
  warnings: string[];
}

/** `validate_preprocessed_data` (spec 1.7, 2.2 step 12). */
export function validatePreprocessed(v: ValidationInput): ValidationResult {
  const warnings: string[] = [];
  const checks: Record<string, unknown> = {};
  const [ctMin, ctMax] = minMax(v.ct);
  const ctOk = ctMin >= -0.01 && ctMax <= 1.26;
  checks.ct_range_valid = B(ctOk);
  checks.ct_min = pyFloat(ctMin);
  checks.ct_max = pyFloat(ctMax);
  checks.hu_clipped_low = B(v.huMin < -1000);
  checks.hu_clipped_high = B(v.huMax > 3000);
  checks.hu_original_range = pyTuple([pyFloat(v.huMin), pyFloat(v.huMax)]);
  const ptv70 = v.masks[0];
  const ptv70Exists = ptv70.count > 0;
  let ptv70Mean: number | null = null;
  let doseOk: boolean | null = null;
  let ptv70Adequate: boolean | null = null;
  let registration: boolean | null = null;
  if (v.dose) {
    const [dMin, dMax] = minMax(v.dose);
    doseOk = dMin >= -0.01;
    checks.dose_nonneg = B(doseOk);
    checks.dose_min = pyFloat(dMin);
    checks.dose_max = pyFloat(dMax);
    checks.dose_reasonable = B(dMax < 1.5);
    checks.ptv70_exists = B(ptv70Exists);
    if (ptv70Exists) {
      const dose = v.dose;
      const st = meanStd(dose, (fn) => forBox(ptv70.bounds!, v.shape, (i) => ptv70.data[i] && fn(i)));
      ptv70Mean = st.mean;
      checks.ptv70_dose_mean = pyFloat(st.mean);
      checks.ptv70_dose_std = pyFloat(st.std);
      ptv70Adequate = 0.85 < st.mean && st.mean < 1.15;
      checks.ptv70_dose_adequate = B(ptv70Adequate);
    } else {
      checks.ptv70_dose_mean = null;
      ptv70Adequate = false;
      checks.ptv70_dose_adequate = false;
    }
    const ptvCh = (v.layout === 'v2.4' && v.masks.length > 8 ? [0, 1, 8] : [0, 1]).filter(
      (c) => v.masks[c] && v.masks[c].count > 0,
    );
    // the union's bounding box, then mean inside it and mean outside = (total − inside) / (N − n)
    const ub: [number, number][] = [0, 1, 2].map(
      (a) =>
        [
          Math.min(...ptvCh.map((c) => v.masks[c].bounds![a][0])),
          Math.max(...ptvCh.map((c) => v.masks[c].bounds![a][1])),
        ] as [number, number],
    );
    let sIn = 0;
    let nIn = 0;
    if (ptvCh.length) {
      forBox(ub, v.shape, (i) => {
        for (const c of ptvCh) {
          if (v.masks[c].data[i]) {
            sIn += v.dose![i];
            nIn++;
            return;
          }
        }
      });
    }
    const N = v.dose.length;
    if (nIn > 0 && nIn < N) {
      let sAll = 0;
      for (let i = 0; i < N; i++) sAll += v.dose[i];
      const inMean = Math.fround(sIn / nIn);
      const outMean = Math.fround((sAll - sIn) / (N - nIn));
      registration = inMean > outMean;
      checks.registration_valid = B(registration);
      checks.dose_in_ptv = pyFloat(inMean);
      checks.dose_outside_ptv = pyFloat(outMean);
    } else checks.registration_valid = null;
  } else {
    // --allow-missing-dose: every dose-derived check is None
    checks.dose_nonneg = null;
    checks.dose_min = null;
    checks.dose_max = null;
    checks.dose_reasonable = null;
    checks.ptv70_exists = B(ptv70Exists);
    checks.ptv70_dose_mean = null;
    checks.ptv70_dose_std = null;
    checks.ptv70_dose_adequate = null;
    checks.registration_valid = null;
  }
  // truncation of every channel; critical: PTV70, PTV56, Rectum, Bladder (+ PTV50.4 in v2.4)
  const critical = v.layout === 'v2.4' ? [0, 1, 3, 4, 8] : [0, 1, 3, 4];
  const truncationInfo: Record<string, unknown> = {};
  let criticalTruncation = false;
  v.masks.forEach((m, ch) => {
    const name = channelName(v.layout, ch);
    const t = quantifyTruncation(m, v.shape);
    truncationInfo[name] = t.info;
    if (critical.includes(ch) && t.percent > 5.0) {
      criticalTruncation = true;
      warnings.push(`Critical truncation: ${name} has ${t.percent.toFixed(1)}% at boundary`);
    }
  });
  checks.critical_truncation = criticalTruncation;
  let all = v.dose ? ctOk && !!doseOk && ptv70Exists && !!ptv70Adequate : ctOk && ptv70Exists;
  if (registration === false) {
    all = false;
    warnings.push('CRITICAL: Registration check failed - dose higher outside PTV!');
  }
  checks.all_critical_passed = all;
  return { validation: checks, truncationInfo, allCriticalPassed: all, ptv70DoseMean: ptv70Mean, warnings };
}

/**
 * DVH sanity check (spec 2.2 step 11): D95 of each present PTV in Gy (v2.4: PTV70, PTV56,
 * PTV50.4; v2.3: PTV70 only, and no metadata entry) with warnings below 64 / 51 / 46 Gy or when
 * more than 5% of the PTV gets < 0.1 Gy.
 */
export function dvhValidation(
  layout: 'v2.3' | 'v2.4',
  doseNorm: Float32Array,
  rxGy: number,
  masks: ChannelMask[],
  shape: Shape3,
  caseId: string,
): { dvh: Record<string, unknown>; warnings: string[] } {
  const warnings: string[] = [];
  const dvh: Record<string, unknown> = {};
  const checks: Array<[number, string, number, number]> =
    layout === 'v2.4'
      ? [
          [0, 'PTV70', 64.0, 70.0],
          [1, 'PTV56', 51.0, 56.0],
          [8, 'PTV50.4', 46.0, 50.4],
        ]
      : [[0, 'PTV70', 64.0, 70.0]];
  const rx32 = Math.fround(rxGy);
  for (const [ch, name, threshold, rx] of checks) {
    const m = masks[ch];
    if (!m || m.count === 0) continue;
    const n = m.count;
    const gy = new Float64Array(n);
    let k = 0;
    let low = 0;
    forBox(m.bounds!, shape, (i) => {
      if (!m.data[i]) return;
      const g = Math.fround(doseNorm[i] * rx32);
      gy[k++] = g;
      if (g < 0.1) low++;
    });
    const d95 = percentile(gy, 5);
    if (layout === 'v2.4') dvh[name] = { d95_gy: pyFloat(d95), rx_gy: pyFloat(rx), n_voxels: n };
    if (d95 < threshold)
      warnings.push(
        `WARNING: ${name} D95 = ${d95.toFixed(1)} Gy < ${threshold.toFixed(1)} Gy — possible pipeline artifact for ${caseId}`,
      );
    if (low / n > 0.05)
      warnings.push(
        `WARNING: ${((100 * low) / n).toFixed(1)}% of ${name} voxels have near-zero dose — dose grid may not fully cover PTV for ${caseId}`,
      );
  }
  return { dvh, warnings };
}
