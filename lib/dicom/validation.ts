/**
 * The reference's checks on a preprocessed case (spec 1.4, 1.7, 2.2 steps 11-12), with its
 * metadata types — numpy scalars where numpy produces them (np.bool_ from comparisons on arrays,
 * np.uint64 from `mask.sum()`, np.float64 from `uint64 / uint64`), Python types elsewhere:
 * `validate_preprocessed_data`, `quantify_truncation`, `validate_sdf` and the DVH (D95) check.
 * Volumes are cropped, (Y, X, Z) C order.
 */
import type { Shape3 } from '../core/shape';
import { npBool, npFloat64, npUint64, pyFloat, pyTuple } from '../data/pyobj';

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

function count(m: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < m.length; i++) n += m[i];
  return n;
}

/** `quantify_truncation(mask)` (spec 1.7) */
export function quantifyTruncation(m: Uint8Array, shape: Shape3): { info: Record<string, unknown>; percent: number } {
  const total = count(m);
  if (total === 0) return { info: { exists: false, truncated: false, truncation_percent: pyFloat(0) }, percent: 0 };
  const [ny, nx, nz] = shape;
  const faces = { y_min: 0, y_max: 0, x_min: 0, x_max: 0, z_min: 0, z_max: 0 };
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const o = (y * nx + x) * nz;
      for (let z = 0; z < nz; z++) {
        if (!m[o + z]) continue;
        if (y === 0) faces.y_min++;
        if (y === ny - 1) faces.y_max++;
        if (x === 0) faces.x_min++;
        if (x === nx - 1) faces.x_max++;
        if (z === 0) faces.z_min++;
        if (z === nz - 1) faces.z_max++;
      }
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
 * The voxels scipy's `binary_erosion(~mask, iterations=2)` keeps (6-connected cross, border 0):
 * at least 2 voxels from every face and farther than city-block distance 2 from the mask.
 * Returned as a 0/1 "blocked" volume: 1 where the erosion removed the voxel.
 */
function erodedOutsideBlocked(m: Uint8Array, shape: Shape3): Uint8Array {
  const [ny, nx, nz] = shape;
  const blocked = new Uint8Array(m.length);
  // dilate the mask by the L1 ball of radius 2 = two 6-neighbour dilations
  let cur = m;
  for (let it = 0; it < 2; it++) {
    const next = new Uint8Array(m.length);
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const o = (y * nx + x) * nz;
        for (let z = 0; z < nz; z++) {
          if (!cur[o + z]) continue;
          const i = o + z;
          next[i] = 1;
          if (z > 0) next[i - 1] = 1;
          if (z < nz - 1) next[i + 1] = 1;
          if (x > 0) next[i - nz] = 1;
          if (x < nx - 1) next[i + nz] = 1;
          if (y > 0) next[i - nx * nz] = 1;
          if (y < ny - 1) next[i + nx * nz] = 1;
        }
      }
    }
    cur = next;
  }
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const o = (y * nx + x) * nz;
      const edgeYX = y < 2 || y > ny - 3 || x < 2 || x > nx - 3;
      for (let z = 0; z < nz; z++) blocked[o + z] = edgeYX || z < 2 || z > nz - 3 || cur[o + z] ? 1 : 0;
    }
  }
  return blocked;
}

/** `validate_sdf` for one channel (spec 1.4); `sdf` as written to the npz */
export function validateSdf(m: Uint8Array, sdf: Float32Array, shape: Shape3): Record<string, unknown> {
  const inside = count(m);
  if (inside === 0) return { exists: false, valid: true };
  let insideNeg = 0;
  for (let i = 0; i < m.length; i++) if (m[i] && sdf[i] <= 0) insideNeg++;
  const blocked = erodedOutsideBlocked(m, shape);
  let out = 0;
  let outPos = 0;
  for (let i = 0; i < m.length; i++) {
    if (blocked[i]) continue;
    out++;
    if (sdf[i] >= 0) outPos++;
  }
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

/** float32 mean and std of `values` where `mask` (numpy float32 results, here in float64 then rounded) */
function maskedMeanStd(values: Float32Array, mask: (i: number) => boolean): { mean: number; std: number; n: number } {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!mask(i)) continue;
    s += values[i];
    n++;
  }
  const mean = n ? s / n : NaN;
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    if (!mask(i)) continue;
    const d = values[i] - mean;
    ss += d * d;
  }
  return { mean: Math.fround(mean), std: Math.fround(Math.sqrt(ss / n)), n };
}

/** Inputs of validatePreprocessed (all cropped, (Y, X, Z)). */
export interface ValidationInput {
  layout: 'v2.3' | 'v2.4';
  shape: Shape3;
  ct: Float32Array;
  /** normalised dose, or null for a case written without dose */
  dose: Float32Array | null;
  masks: Uint8Array[];
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
  const ptv70Exists = count(ptv70) > 0;
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
      const st = maskedMeanStd(v.dose, (i) => ptv70[i] !== 0);
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
    const ptvCh = v.layout === 'v2.4' && v.masks.length > 8 ? [0, 1, 8] : [0, 1];
    const any = new Uint8Array(ptv70.length);
    for (const c of ptvCh) {
      const m = v.masks[c];
      if (m) for (let i = 0; i < any.length; i++) any[i] |= m[i];
    }
    const nIn = count(any);
    if (nIn > 0 && nIn < any.length) {
      const inS = maskedMeanStd(v.dose, (i) => any[i] !== 0);
      const outS = maskedMeanStd(v.dose, (i) => any[i] === 0);
      registration = inS.mean > outS.mean;
      checks.registration_valid = B(registration);
      checks.dose_in_ptv = pyFloat(inS.mean);
      checks.dose_outside_ptv = pyFloat(outS.mean);
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
  masks: Uint8Array[],
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
    if (!m) continue;
    const n = count(m);
    if (n === 0) continue;
    const gy = new Float64Array(n);
    let k = 0;
    let low = 0;
    for (let i = 0; i < m.length; i++) {
      if (!m[i]) continue;
      const g = Math.fround(doseNorm[i] * rx32);
      gy[k++] = g;
      if (g < 0.1) low++;
    }
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
