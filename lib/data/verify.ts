/**
 * `verify-npz`: the checks of the reference `validate_preprocessed_data` / `validate_sdf` /
 * `quantify_truncation` (spec 1.3-1.7, 2.2 step 12) applied to a file, collecting every problem
 * instead of stopping at the first.
 *
 * Errors (file unusable or fails a reference critical check): unreadable/non-zip, missing or
 * mis-typed keys, shape mismatches, non-binary masks, NaN, CT outside [−0.01, 1.26], negative
 * dose, no PTV70, PTV70 mean normalised dose outside (0.85, 1.15), registration (mean dose in the
 * PTV union ≤ outside), SDF sign disagreeing with the mask (spec 1.4 validity), SDF outside
 * [−1, 1], 8 channels with script_version 2.4, metadata not a dict.
 * Warnings: dose max ≥ 1.5 (dose_reasonable), critical truncation > 5% on PTV70/PTV56/Rectum/
 * Bladder (+PTV50.4 in v2.4), no masks_sdf, absent-structure SDF not the layout's convention,
 * 9 channels with script_version 2.3, constraints differing from spec 1.5, spacing or Rx missing
 * from metadata (fallbacks used), volume_shape mismatch.
 */
import { DataError } from '../core/errors';
import type { Shape3 } from './case';
import { detectKind, loadCase } from './load';
import { anyNonZero, type NdArray } from './ndarray';
import { isNdArray, isPickled, openNpz, type OpenNpz } from './npz';
import { PROSTATE_V23_STRUCTURES, PROSTATE_V24_STRUCTURES } from './profiles';
import { constraintVector } from './prostate_plan';
import { absentSdfConvention, detectLayout, doseMarkedMissing, rxFromMetadata, spacingFromMetadata } from './reference_npz';
import { arrayProblem, binaryProblem, scanDose } from './validate';

export interface VerifyResult {
  file: string;
  ok: boolean;
  source: string | null;
  errors: string[];
  warnings: string[];
}

/** Runs every applicable check on one case file or OpenKBP folder; never throws for bad data. */
export async function verifyCaseFile(file: string): Promise<VerifyResult> {
  const r: VerifyResult = { file, ok: false, source: null, errors: [], warnings: [] };
  try {
    const kind = await detectKind(file);
    if (kind === 'vmat-npz') await verifyReference(file, r);
    else await verifyOpenKbp(file, r);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    r.errors.push(e.message);
  }
  r.ok = r.errors.length === 0;
  return r;
}

async function verifyOpenKbp(file: string, r: VerifyResult): Promise<void> {
  const c = await loadCase(file);
  r.source = c.source;
  if (!c.dose) r.warnings.push(`${file} [dose]: no dose (inference-only patient)`);
  if (!c.masks.has('PTV70')) r.errors.push(`${file} [PTV70]: expected PTV70 (every OpenKBP plan has one), found none`);
  const pdm = c.possibleDoseMask;
  if (!pdm || !anyNonZero(pdm)) r.errors.push(`${file} [possible_dose_mask]: expected a non-empty mask, found empty`);
  else if (c.dose) {
    let outside = 0;
    for (let i = 0; i < pdm.length; i++) if (!pdm[i] && c.dose[i] !== 0) outside++;
    if (outside) r.warnings.push(`${file} [dose]: ${outside} non-zero dose voxels outside possible_dose_mask`);
  }
}

async function arr(z: OpenNpz, key: string, r: VerifyResult): Promise<NdArray | null> {
  try {
    const e = await z.get(key);
    if (!isNdArray(e)) {
      r.errors.push(`${z.file} [${key}]: expected a numeric array, found a pickled object`);
      return null;
    }
    return e;
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    r.errors.push(e.message);
    return null;
  }
}

/** 3-D binary erosion, 6-connected cross, voxels outside the grid count as 0 (scipy defaults) */
export function erode6(m: Uint8Array, shape: Shape3, iterations: number): Uint8Array {
  const [n0, n1, n2] = shape;
  let cur = m;
  for (let it = 0; it < iterations; it++) {
    const out = new Uint8Array(cur.length);
    for (let a = 0; a < n0; a++) {
      for (let b = 0; b < n1; b++) {
        for (let c = 0; c < n2; c++) {
          const i = (a * n1 + b) * n2 + c;
          if (!cur[i]) continue;
          if (a === 0 || a === n0 - 1 || b === 0 || b === n1 - 1 || c === 0 || c === n2 - 1) continue;
          if (cur[i - n1 * n2] && cur[i + n1 * n2] && cur[i - n2] && cur[i + n2] && cur[i - 1] && cur[i + 1]) out[i] = 1;
        }
      }
    }
    cur = out;
  }
  return cur;
}

/** (Σ mask voxels on each of the 6 faces) / total × 100, as quantify_truncation */
export function truncationPercent(m: Uint8Array, shape: Shape3): number {
  const [n0, n1, n2] = shape;
  let total = 0;
  let faces = 0;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        if (!m[(a * n1 + b) * n2 + c]) continue;
        total++;
        faces += Number(a === 0) + Number(a === n0 - 1) + Number(b === 0) + Number(b === n1 - 1) + Number(c === 0) + Number(c === n2 - 1);
      }
    }
  }
  return total ? (faces / total) * 100 : 0;
}

async function verifyReference(file: string, r: VerifyResult): Promise<void> {
  const z = await openNpz(file);
  const E = (key: string | null, expected: string, found: string): void => {
    r.errors.push(new DataError(file, key, expected, found).message);
  };
  const W = (key: string | null, expected: string, found: string): void => {
    r.warnings.push(new DataError(file, key, expected, found).message);
  };
  for (const k of ['ct', 'masks', 'constraints', 'metadata']) {
    if (!z.keys.includes(k)) E(k, `key '${k}'`, `missing key (available: ${z.keys.join(', ')})`);
  }
  if (!z.keys.includes('masks_sdf')) W('masks_sdf', "key 'masks_sdf' (training input)", 'missing (written with --no_sdf?)');

  const ct = z.keys.includes('ct') ? await arr(z, 'ct', r) : null;
  const ctOk = ct && !pushProblem(r, arrayProblem(file, 'ct', ct, { dtypes: ['<f4'], ndim: 3 }));
  const shape = (ctOk ? ct.shape : null) as Shape3 | null;
  const dose = z.keys.includes('dose') ? await arr(z, 'dose', r) : null;
  const doseOk = dose && !pushProblem(r, arrayProblem(file, 'dose', dose, { dtypes: ['<f4'], shape: shape ?? [null, null, null] }));
  const masks = z.keys.includes('masks') ? await arr(z, 'masks', r) : null;
  let masksOk = masks && !pushProblem(r, arrayProblem(file, 'masks', masks, { dtypes: ['|u1', '|b1'], shape: [null, ...(shape ?? [null, null, null])] }));
  if (masks && masksOk) masksOk = !pushProblem(r, binaryProblem(file, 'masks', masks.data as Uint8Array));
  const C = masks && masksOk ? masks.shape[0] : 0;
  if (masksOk && C !== 8 && C !== 9) {
    E('masks', '8 (v2.3) or 9 (v2.4) structure channels', `${C}`);
    masksOk = false;
  }
  const sdf = z.keys.includes('masks_sdf') ? await arr(z, 'masks_sdf', r) : null;
  const sdfOk = sdf && masksOk && !pushProblem(r, arrayProblem(file, 'masks_sdf', sdf, { dtypes: ['<f4'], shape: [...masks!.shape] }));
  const cons = z.keys.includes('constraints') ? await arr(z, 'constraints', r) : null;
  const consOk = cons && !pushProblem(r, arrayProblem(file, 'constraints', cons, { dtypes: ['<f4'], shape: [13] }));

  let md: Record<string, unknown> | null = null;
  if (z.keys.includes('metadata')) {
    try {
      const m = await z.get('metadata');
      if (isPickled(m) && m.value && typeof m.value === 'object' && !Array.isArray(m.value) && !isNdArray(m.value)) md = m.value as Record<string, unknown>;
      else E('metadata', 'a pickled dict (0-d object array)', isPickled(m) ? `pickled ${Array.isArray(m.value) ? 'list' : typeof m.value}` : 'a numeric array');
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      r.errors.push(e.message);
    }
  }
  const meta = md ?? {};
  // a case written without dose (`vmat preprocess --allow-missing-dose`): accepted, said so
  if (!z.keys.includes('dose')) {
    if (doseMarkedMissing(meta)) W('dose', "key 'dose'", 'none: the case was written without dose (metadata dose_available False; inference only)');
    else E('dose', "key 'dose'", `missing key (available: ${z.keys.join(', ')})`);
  }

  // layout / source
  const convention = masksOk && masks ? absentSdfConvention(masks, sdfOk ? sdf : null) : null;
  if (masksOk) {
    const layout = detectLayout(C, convention, meta.script_version);
    r.source = layout === 'v2.3' ? 'vmat-npz-v2.3' : 'vmat-npz-v2.4';
    const sv = meta.script_version;
    if (typeof sv === 'string') {
      if (sv.startsWith('2.4') && C === 8) E('masks', `9 channels for script_version ${sv}`, '8 channels');
      if (sv.startsWith('2.3') && C === 9) W('masks', `8 channels for script_version ${sv}`, '9 channels (v2.3 script run with the 9-entry oar_mapping; absent SDF +1.0 convention)');
      if (sv.startsWith('2.4') && convention === '+1') W('masks_sdf', `absent-structure SDF 0.0 for script_version ${sv}`, '+1.0 (v2.3 convention)');
      if (sv.startsWith('2.3') && convention === '0') W('masks_sdf', `absent-structure SDF +1.0 for script_version ${sv}`, '0.0 (v2.4 convention)');
    } else if (md) W('metadata', 'script_version', 'missing');
  }

  // metadata-derived values
  if (md) {
    const sp = spacingFromMetadata(md);
    if (sp.from !== 'voxel_spacing_mm') W('metadata', 'voxel_spacing_mm (3 positive mm)', sp.from === 'default' ? 'missing; (1, 1, 2) mm assumed' : `only ${sp.from}`);
    if (rxFromMetadata(md).rx === null) W('metadata', 'normalization_dose_gy or prescription_info.primary_dose', 'missing; Rx 70 Gy assumed');
    const vs = md.volume_shape;
    if (shape && Array.isArray(vs) && (vs.length !== 3 || vs.some((v, i) => Number(v) !== shape[i]))) W('metadata', `volume_shape (${shape.join(', ')})`, `(${vs.join(', ')})`);
    const val = md.validation as Record<string, unknown> | undefined;
    if (val && typeof val === 'object' && val.all_critical_passed === false) W('metadata', 'validation.all_critical_passed True', 'False (preprocessing flagged this case)');
  }

  // CT
  if (ctOk && ct) {
    const s = scanDose(ct.data as Float32Array);
    if (s.nonFinite >= 0) E('ct', 'finite CT values', `non-finite value at flat index ${s.nonFinite}`);
    if (s.min < -0.01 || s.max > 1.26) E('ct', 'normalised CT in [-0.01, 1.26]', `[${s.min.toFixed(4)}, ${s.max.toFixed(4)}]`);
  }
  // dose
  let doseFinite = false;
  if (doseOk && dose) {
    const s = scanDose(dose.data as Float32Array);
    if (s.nonFinite >= 0) E('dose', 'finite dose values', `${(dose.data as Float32Array)[s.nonFinite]} at flat index ${s.nonFinite}`);
    if (s.negative >= 0) E('dose', 'dose >= 0', `${(dose.data as Float32Array)[s.negative]} at flat index ${s.negative} (min ${s.min})`);
    if (s.max >= 1.5) W('dose', 'normalised dose max < 1.5', `${s.max.toFixed(4)}`);
    doseFinite = s.nonFinite < 0;
  }

  if (!masksOk || !masks || !shape) return;
  const names: string[] = [...(C === 9 ? PROSTATE_V24_STRUCTURES : PROSTATE_V23_STRUCTURES)];
  const n = shape[0] * shape[1] * shape[2];
  const ch = (name: string): Uint8Array | null => {
    const c = names.indexOf(name);
    return c < 0 ? null : (masks.data as Uint8Array).subarray(c * n, (c + 1) * n);
  };
  const has = (m: Uint8Array | null): m is Uint8Array => !!m && anyNonZero(m);
  const ptv70 = ch('PTV70');
  if (!has(ptv70)) E('masks', 'PTV70 (channel 0) present', 'empty');
  else if (doseOk && dose && doseFinite) {
    const d = dose.data as Float32Array;
    let s = 0;
    let k = 0;
    for (let i = 0; i < n; i++) if (ptv70[i]) {
      s += d[i];
      k++;
    }
    const mean = s / k;
    if (!(mean > 0.85 && mean < 1.15)) E('dose', 'PTV70 mean normalised dose in (0.85, 1.15)', mean.toFixed(4));
    // registration: mean dose in the union of PTVs > mean outside
    const union = new Uint8Array(n);
    for (const m of ['PTV70', 'PTV56', 'PTV50.4'].map(ch).filter(has)) for (let i = 0; i < n; i++) union[i] |= m[i];
    let sin = 0;
    let kin = 0;
    let sout = 0;
    let kout = 0;
    for (let i = 0; i < n; i++) {
      if (union[i]) {
        sin += d[i];
        kin++;
      } else {
        sout += d[i];
        kout++;
      }
    }
    if (kout > 0 && !(sin / kin > sout / kout)) E('dose', 'mean dose in PTV union > mean outside (registration)', `${(sin / kin).toFixed(4)} <= ${(sout / kout).toFixed(4)}`);
  }

  // truncation of critical structures
  const critical = ['PTV70', 'PTV56', 'Rectum', 'Bladder', ...(C === 9 ? ['PTV50.4'] : [])];
  for (const name of critical) {
    const m = ch(name);
    if (!has(m)) continue;
    const pct = truncationPercent(m, shape);
    if (pct > 5) W('masks', `${name} truncation <= 5%`, `${pct.toFixed(1)}% of voxels on the crop boundary`);
  }

  // SDF validity (spec 1.4)
  if (sdfOk && sdf) {
    const sd = sdf.data as Float32Array;
    const st = scanDose(sd);
    if (st.nonFinite >= 0) E('masks_sdf', 'finite SDF values', `non-finite value at flat index ${st.nonFinite}`);
    else if (st.min < -1 || st.max > 1) E('masks_sdf', 'SDF values in [-1, 1]', `[${st.min}, ${st.max}]`);
    names.forEach((name, c) => {
      const m = ch(name)!;
      const s = sd.subarray(c * n, (c + 1) * n);
      if (!has(m)) {
        if (!allSame(s, 1) && !allSame(s, 0)) W('masks_sdf', `${name} absent: SDF all +1.0 (v2.3) or 0.0 (v2.4)`, 'other values');
        return;
      }
      let inside = 0;
      let insideNeg = 0;
      for (let i = 0; i < n; i++) if (m[i]) {
        inside++;
        if (s[i] <= 0) insideNeg++;
      }
      const inv = new Uint8Array(n);
      for (let i = 0; i < n; i++) inv[i] = m[i] ? 0 : 1;
      const outer = erode6(inv, shape, 2);
      let out = 0;
      let outPos = 0;
      for (let i = 0; i < n; i++) if (outer[i]) {
        out++;
        if (s[i] >= 0) outPos++;
      }
      const inPct = (100 * insideNeg) / inside;
      const outPct = out ? (100 * outPos) / out : 100;
      if (!(inPct > 95 && outPct > 95)) {
        E('masks_sdf', `${name} SDF valid (>95% of inside <= 0 and >95% of eroded outside >= 0)`, `inside ${inPct.toFixed(1)}%, outside ${outPct.toFixed(1)}%`);
      }
    });
  }

  // constraints vs spec 1.5
  if (consOk && cons) {
    const rx = rxFromMetadata(meta).rx ?? 70;
    const layout = r.source === 'vmat-npz-v2.3' ? 'v2.3' : 'v2.4';
    const want = constraintVector({ ptv70: has(ptv70), ptv56: has(ch('PTV56')), ptv504: has(ch('PTV50.4')) }, rx, layout);
    const got = cons.data as Float32Array;
    const bad = [...want].map((w, i) => [i, w, got[i]] as const).filter(([, w, g]) => !(Math.abs(w - g) <= 1e-5 * Math.max(1, Math.abs(w))));
    if (bad.length) W('constraints', `spec 1.5 vector for Rx ${rx} and the PTVs present`, bad.map(([i, w, g]) => `[${i}] ${g} (expected ${w.toFixed(6)})`).join(', '));
  }
}

function allSame(a: Float32Array, v: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== v) return false;
  return true;
}

function pushProblem(r: VerifyResult, p: DataError | null): boolean {
  if (p) r.errors.push(p.message);
  return !!p;
}
