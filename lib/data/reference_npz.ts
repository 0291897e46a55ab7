/**
 * Reference (vmat-diffusion) processed npz, layouts v2.3 and v2.4 (spec 1.1-1.7), and the
 * `<case>_pred.npz` prediction files (spec 6.3).
 */
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { absentSdfValue, DEFAULT_SDF_CLIP_MM, signedDistanceField } from '../transforms/sdf';
import type { Case, CaseSource, Prescription, Shape3 } from './case';
import { anyNonZero, type NdArray } from './ndarray';
import { ndarray } from './npy';
import { isNdArray, isPickled, openNpz, writeNpz, type NpzEntry, type NpzWriteEntry, type OpenNpz } from './npz';
import { pickleMetadata } from './pickle';
import { PROSTATE_V23_STRUCTURES, PROSTATE_V24_STRUCTURES, targetDoseGy } from './profiles';
import { constraintVector, prostateCaseType, type ReferenceLayout } from './prostate_plan';
import { pyFloat, pyTuple, withIntKeys } from './pyobj';
import { arrayProblem, binaryProblem, checkDose } from './validate';

/** CT normalisation of the reference: clip(HU, −1000, 3000) / 4000 + 0.5 (spec 1.3) */
export function normaliseCt(hu: Float32Array): Float32Array {
  const out = new Float32Array(hu.length);
  for (let i = 0; i < hu.length; i++) {
    const h = hu[i] < -1000 ? -1000 : hu[i] > 3000 ? 3000 : hu[i];
    out[i] = h / 4000 + 0.5;
  }
  return out;
}

/** inverse of normaliseCt inside the clip range: HU = (ct − 0.5) × 4000 */
export function ctToHu(ct: Float32Array): Float32Array {
  const out = new Float32Array(ct.length);
  for (let i = 0; i < ct.length; i++) out[i] = (ct[i] - 0.5) * 4000;
  return out;
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return v && typeof v === 'object' && !Array.isArray(v) && !isNdArray(v) ? (v as Record<string, unknown>) : null;
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

/**
 * true when metadata says the case was written without dose (`dose_available: False`, written by
 * `vmat preprocess --allow-missing-dose`; the npz then has no `dose` member)
 */
export function doseMarkedMissing(md: Record<string, unknown>): boolean {
  return md.dose_available === false;
}

/** spacing per the reference fallback chain: voxel_spacing_mm → target_spacing_mm → (1, 1, 2) */
export function spacingFromMetadata(md: Record<string, unknown>): { spacing: Shape3; from: string } {
  for (const key of ['voxel_spacing_mm', 'target_spacing_mm']) {
    const v = md[key];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => num(x) !== null && (num(x) as number) > 0)) {
      return { spacing: v.map((x) => num(x) as number) as Shape3, from: key };
    }
  }
  return { spacing: [1, 1, 2], from: 'default' };
}

/** Rx (normalisation dose): normalization_dose_gy → prescription_info.primary_dose → null */
export function rxFromMetadata(md: Record<string, unknown>): { rx: number | null; from: string } {
  const n = num(md.normalization_dose_gy);
  if (n !== null && n > 0) return { rx: n, from: 'normalization_dose_gy' };
  const p = num(asRecord(md.prescription_info)?.primary_dose);
  if (p !== null && p > 0) return { rx: p, from: 'prescription_info.primary_dose' };
  return { rx: null, from: 'default' };
}

/** true if every value equals v */
function allEqual(a: Float32Array, v: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== v) return false;
  return true;
}

/** absent-structure SDF convention seen in a file: '+1' (v2.3), '0' (v2.4) or null (no absent channel / other) */
export function absentSdfConvention(masks: NdArray, sdf: NdArray | null): '+1' | '0' | null {
  if (!sdf) return null;
  const [C] = masks.shape;
  const n = masks.data.length / C;
  let seen: '+1' | '0' | null = null;
  for (let c = 0; c < C; c++) {
    const m = masks.data.subarray(c * n, (c + 1) * n) as Uint8Array;
    if (anyNonZero(m)) continue;
    const s = sdf.data.subarray(c * n, (c + 1) * n) as Float32Array;
    if (allEqual(s, 1)) seen = '+1';
    else if (allEqual(s, 0)) seen = '0';
    else return null;
  }
  return seen;
}

/**
 * Layout of a reference file from the file itself: 8 channels → v2.3; 9 channels → v2.4 unless
 * the absent-structure SDFs are +1.0 (the v2.3 script run with the 9-entry mapping, spec 1.6) or,
 * with no absent channel to tell, `script_version` starts with '2.3'.
 */
export function detectLayout(channels: number, convention: '+1' | '0' | null, scriptVersion: unknown): ReferenceLayout {
  if (channels === 8) return 'v2.3';
  if (convention === '+1') return 'v2.3';
  if (convention === '0') return 'v2.4';
  return typeof scriptVersion === 'string' && scriptVersion.startsWith('2.3') ? 'v2.3' : 'v2.4';
}

async function getArray(z: OpenNpz, key: string): Promise<NdArray> {
  const e = await z.get(key);
  if (!isNdArray(e)) throw new DataError(z.file, key, 'a numeric array', 'a pickled object');
  return e;
}

function fail(p: DataError | null): void {
  if (p) throw p;
}

/**
 * Reads a reference npz (v2.3 or v2.4) into a Case: CT back to HU, dose × Rx to Gy (`dose` null
 * for a case written without dose: no `dose` member and metadata `dose_available` False), masks by
 * channel name (metadata `structure_channels` if present, else the v2.3/v2.4 profile), SDFs kept
 * in `case.sdf`, `beam*`/other arrays in `extras`. Rx and spacing are read per case; if
 * metadata lacks them the reference defaults (70 Gy; 1×1×2 mm) are used and a warning is
 * recorded in `case.warnings` and `metadata.vmat_warnings`. Masks and SDFs are views into the
 * decoded member buffers (no copies); copy before mutating if the case is shared.
 */
export async function readReferenceNpz(file: string): Promise<Case> {
  const z = await openNpz(file);
  for (const k of ['ct', 'masks']) {
    if (!z.keys.includes(k)) throw new DataError(file, k, `key '${k}' (reference npz)`, `missing key (available: ${z.keys.join(', ')})`);
  }
  let metadata: Record<string, unknown> = {};
  if (z.keys.includes('metadata')) {
    const m = await z.get('metadata');
    const rec = isPickled(m) ? asRecord(m.value) : null;
    if (!rec) throw new DataError(file, 'metadata', 'a pickled dict (0-d object array)', isPickled(m) ? `pickled ${typeof m.value}` : `numeric array ${(m as NdArray).dtype}`);
    metadata = rec;
  }
  const ct = await getArray(z, 'ct');
  fail(arrayProblem(file, 'ct', ct, { dtypes: ['<f4'], ndim: 3 }));
  const shape = ct.shape as Shape3;
  // a case written without dose (`vmat preprocess --allow-missing-dose`) has no `dose` member and
  // says so in its metadata; any other file without `dose` is damaged
  let dose: NdArray | null = null;
  if (z.keys.includes('dose')) {
    dose = await getArray(z, 'dose');
    fail(arrayProblem(file, 'dose', dose, { dtypes: ['<f4'], shape }));
    checkDose(file, 'dose', dose.data as Float32Array);
  } else if (!doseMarkedMissing(metadata)) {
    throw new DataError(file, 'dose', "key 'dose' (reference npz), or metadata dose_available False", `missing key (available: ${z.keys.join(', ')})`);
  }
  const masks = await getArray(z, 'masks');
  fail(arrayProblem(file, 'masks', masks, { dtypes: ['|u1', '|b1'], shape: [null, ...shape] }));
  fail(binaryProblem(file, 'masks', masks.data as Uint8Array));
  const C = masks.shape[0];
  if (C !== 8 && C !== 9) throw new DataError(file, 'masks', '8 (v2.3) or 9 (v2.4) structure channels', `${C} channels`);
  let sdf: NdArray | null = null;
  if (z.keys.includes('masks_sdf')) {
    sdf = await getArray(z, 'masks_sdf');
    fail(arrayProblem(file, 'masks_sdf', sdf, { dtypes: ['<f4'], shape: [C, ...shape] }));
  }
  let constraints: Float32Array | undefined;
  if (z.keys.includes('constraints')) {
    const c = await getArray(z, 'constraints');
    fail(arrayProblem(file, 'constraints', c, { dtypes: ['<f4'], shape: [13] }));
    constraints = c.data as Float32Array;
  }
  const warnings: string[] = [];
  if (!z.keys.includes('metadata')) warnings.push('no metadata key');
  const layout = detectLayout(C, absentSdfConvention(masks, sdf), metadata.script_version);
  const source: CaseSource = layout === 'v2.3' ? 'vmat-npz-v2.3' : 'vmat-npz-v2.4';
  const { spacing, from: spFrom } = spacingFromMetadata(metadata);
  if (spFrom === 'default') warnings.push('metadata has no voxel_spacing_mm/target_spacing_mm; assumed (1, 1, 2) mm');
  const { rx, from: rxFrom } = rxFromMetadata(metadata);
  if (rx === null) warnings.push('metadata has no normalization_dose_gy/prescription_info.primary_dose; assumed Rx 70 Gy');
  const rxGy = rx ?? 70;
  void rxFrom;

  const names = channelNames(metadata, C);
  const n = shape[0] * shape[1] * shape[2];
  const maskMap = new Map<string, Uint8Array>();
  const sdfMap = sdf ? new Map<string, Float32Array>() : undefined;
  for (let c = 0; c < C; c++) {
    // views into the freshly decoded member buffers (owned by this case), not copies
    const m = (masks.data as Uint8Array).subarray(c * n, (c + 1) * n);
    if (anyNonZero(m)) maskMap.set(names[c], m);
    if (sdf && sdfMap) sdfMap.set(names[c], (sdf.data as Float32Array).subarray(c * n, (c + 1) * n));
  }
  let doseGy: Float32Array | null = null;
  if (dose) {
    doseGy = new Float32Array(n);
    const dd = dose.data as Float32Array;
    for (let i = 0; i < n; i++) doseGy[i] = dd[i] * rxGy;
  }

  const extras = new Map<string, NdArray>();
  for (const k of z.keys) {
    if (['ct', 'dose', 'masks', 'masks_sdf', 'constraints', 'metadata'].includes(k)) continue;
    const e: NpzEntry = await z.get(k);
    if (isNdArray(e)) extras.set(k, e);
  }
  const prescriptions: Prescription[] = [];
  for (const name of names) {
    const d = targetDoseGy(name);
    if (d !== null && maskMap.has(name)) prescriptions.push({ structure: name, doseGy: d });
  }
  prescriptions.sort((a, b) => b.doseGy - a.doseGy);
  const caseType = asRecord(metadata.case_type)?.type;
  const present = { ptv70: maskMap.has('PTV70'), ptv56: maskMap.has('PTV56'), ptv504: maskMap.has('PTV50.4') };
  if (warnings.length) metadata = { ...metadata, vmat_warnings: warnings };
  return {
    id: typeof metadata.case_id === 'string' ? metadata.case_id : path.basename(file).replace(/\.npz$/, ''),
    source,
    shape: [...shape] as Shape3,
    spacingMm: spacing,
    ct: ctToHu(ct.data as Float32Array),
    dose: doseGy,
    structureNames: names,
    masks: maskMap,
    sdf: sdfMap,
    sdfClipMm: sdf ? (num(metadata.sdf_clip_mm) ?? DEFAULT_SDF_CLIP_MM) : undefined,
    rxGy,
    prescriptions,
    constraints,
    planType: typeof caseType === 'string' ? caseType : prostateCaseType(present, layout),
    extras: extras.size ? extras : undefined,
    metadata,
    warnings: warnings.length ? warnings : undefined,
  };
}

/** channel names: metadata structure_channels {int: name} if it covers 0..C-1, else the profile */
function channelNames(md: Record<string, unknown>, C: number): string[] {
  const sc = asRecord(md.structure_channels);
  if (sc) {
    const names: string[] = [];
    for (let c = 0; c < C; c++) {
      const v = sc[String(c)];
      if (typeof v !== 'string') break;
      names.push(v);
    }
    if (names.length === C) return names;
  }
  return [...(C === 9 ? PROSTATE_V24_STRUCTURES : PROSTATE_V23_STRUCTURES)];
}

/** Options for writeReferenceNpz. */
export interface WriteReferenceOptions {
  /** default: from case.source, else 9 structure names → v2.4, else v2.3 */
  layout?: ReferenceLayout;
  /** SDF clip distance; default case.sdfClipMm ?? 50 */
  sdfClipMm?: number;
  /** write masks_sdf (default true) */
  includeSdf?: boolean;
}

function layoutOf(c: Case, opts: WriteReferenceOptions): ReferenceLayout {
  if (opts.layout) return opts.layout;
  if (c.source === 'vmat-npz-v2.3') return 'v2.3';
  if (c.source === 'vmat-npz-v2.4') return 'v2.4';
  return c.structureNames.length === 9 || c.masks.has('PTV50.4') ? 'v2.4' : 'v2.3';
}

/** builds the npz entries of writeReferenceNpz (exported for tests and byte-level checks) */
export function referenceNpzEntries(c: Case, opts: WriteReferenceOptions = {}): Array<[string, NpzWriteEntry]> {
  const layout = layoutOf(c, opts);
  const names = [...(layout === 'v2.4' ? PROSTATE_V24_STRUCTURES : PROSTATE_V23_STRUCTURES)];
  const shape = c.shape;
  const n = shape[0] * shape[1] * shape[2];
  if (c.ct.length !== n) throw new Error(`writeReferenceNpz ${c.id}: ct has ${c.ct.length} voxels, shape needs ${n} (a Case's arrays match its shape)`);
  if (c.dose && c.dose.length !== n) throw new Error(`writeReferenceNpz ${c.id}: dose has ${c.dose.length} voxels, shape needs ${n} (a Case's arrays match its shape)`);
  if (!(c.rxGy > 0)) throw new Error(`writeReferenceNpz ${c.id}: rxGy must be > 0 Gy, got ${c.rxGy} (every Case carries its prescription)`);
  const C = names.length;
  const masks = new Uint8Array(C * n);
  names.forEach((name, ci) => {
    const m = c.masks.get(name);
    if (!m) return;
    if (m.length !== n) throw new Error(`writeReferenceNpz ${c.id}: mask ${name} has ${m.length} voxels, shape needs ${n} (a Case's arrays match its shape)`);
    for (let i = 0; i < n; i++) masks[ci * n + i] = m[i] ? 1 : 0;
  });
  let doseN: Float32Array | null = null;
  if (c.dose) {
    doseN = new Float32Array(n);
    for (let i = 0; i < n; i++) doseN[i] = c.dose[i] / c.rxGy;
  }
  const present = { ptv70: c.masks.has('PTV70'), ptv56: c.masks.has('PTV56'), ptv504: c.masks.has('PTV50.4') };
  const constraints = c.constraints && c.constraints.length === 13 ? c.constraints : constraintVector(present, c.rxGy, layout);
  const clip = opts.sdfClipMm ?? c.sdfClipMm ?? DEFAULT_SDF_CLIP_MM;
  const includeSdf = opts.includeSdf ?? true;

  const entries: Array<[string, NpzWriteEntry]> = [['ct', ndarray(normaliseCt(c.ct), [...shape])]];
  if (doseN) entries.push(['dose', ndarray(doseN, [...shape])]);
  entries.push(['masks', ndarray(masks, [C, ...shape])]);
  if (includeSdf) {
    const sdf = new Float32Array(C * n);
    const reuse = c.sdf && (c.sdfClipMm ?? DEFAULT_SDF_CLIP_MM) === clip;
    names.forEach((name, ci) => {
      const m = c.masks.get(name);
      const dst = sdf.subarray(ci * n, (ci + 1) * n);
      if (!m) {
        dst.fill(absentSdfValue(layout));
        return;
      }
      const have = reuse ? c.sdf!.get(name) : undefined;
      dst.set(have && have.length === n ? have : signedDistanceField(masks.subarray(ci * n, (ci + 1) * n), shape, c.spacingMm, clip));
    });
    entries.push(['masks_sdf', ndarray(sdf, [C, ...shape])]);
  }
  entries.push(['constraints', ndarray(Float32Array.from(constraints), [13])]);
  entries.push(['metadata', { pickle: pickleMetadata(referenceMetadata(c, layout, names, includeSdf ? clip : null)) }]);
  for (const [k, v] of c.extras ?? []) entries.push([k, v]);
  return entries;
}

/** the metadata dict written with a case: case.metadata plus the keys the layout requires */
export function referenceMetadata(c: Case, layout: ReferenceLayout, names: string[], sdfClip: number | null): Record<string, unknown> {
  const md: Record<string | symbol, unknown> = { ...c.metadata };
  const present = { ptv70: c.masks.has('PTV70'), ptv56: c.masks.has('PTV56'), ptv504: c.masks.has('PTV50.4') };
  const wantVersion = layout === 'v2.4' ? '2.4.0' : '2.3.0';
  md.case_id = c.id;
  // fixed when the case has none, so the same Case always gives the same bytes
  md.processed_date = typeof md.processed_date === 'string' ? md.processed_date : '1970-01-01T00:00:00';
  md.script_version = typeof md.script_version === 'string' && md.script_version.startsWith(wantVersion.slice(0, 3)) ? md.script_version : wantVersion;
  if (!asRecord(md.prescription_info)) {
    md.prescription_info = { primary_dose: pyFloat(c.rxGy), fractions: 28, dose_per_fraction: pyFloat(c.rxGy / 28), source: 'default' };
  }
  if (!asRecord(md.case_type)) {
    md.case_type = {
      type: c.planType && /^(sib_2level|sib_3level|single_rx|nodal_only)$/.test(c.planType) ? c.planType : prostateCaseType(present, layout),
      ptv70_exists: present.ptv70,
      ptv56_exists: present.ptv56,
      ptv50_exists: layout === 'v2.4' ? present.ptv504 : false,
    };
  }
  md.normalization_dose_gy = pyFloat(c.rxGy);
  md.voxel_spacing_mm = pyTuple(c.spacingMm.map((x) => pyFloat(x)));
  md.volume_shape = pyTuple([...c.shape]);
  md.sdf_clip_mm = sdfClip === null ? null : pyFloat(sdfClip);
  md.structure_channels = withIntKeys(Object.fromEntries(names.map((nm, i) => [String(i), nm])));
  if (!c.dose) md.dose_available = false;
  else if (md.dose_available === false) delete md.dose_available;
  return md as Record<string, unknown>;
}

/**
 * Writes a case in the reference layout (spec 1.2-1.7), atomically and deterministically:
 * `ct` normalised <f4, `dose`/Rx <f4 (no `dose` member and metadata `dose_available` False when
 * `case.dose` is null), `masks` (C,Y,X,Z) |u1 in profile order, `masks_sdf`
 * (from case.sdf for present structures when the clip matches, else computed with
 * signedDistanceField; absent → +1.0 in v2.3, 0.0 in v2.4), `constraints` (13,) (case's or
 * computed per spec 1.5), `metadata` pickled dict, then `extras` (e.g. beam0_mlc_a).
 * Structures outside the layout's channel list (e.g. a body outline) are not written.
 */
export async function writeReferenceNpz(file: string, c: Case, opts: WriteReferenceOptions = {}): Promise<void> {
  await writeNpz(file, referenceNpzEntries(c, opts));
}

/**
 * Writes `<case>_pred.npz` as the reference inference does (spec 6.3): `dose` float32 (Y,X,Z)
 * normalised by Rx (callers clamp to [0, 1.5] as the reference does) and `metadata` = the input
 * case's metadata dict, pickled.
 */
export async function writePredictionNpz(file: string, doseNormalised: Float32Array, shape: Shape3, metadata: Record<string, unknown>): Promise<void> {
  const n = shape[0] * shape[1] * shape[2];
  if (doseNormalised.length !== n) throw new Error(`writePredictionNpz: ${doseNormalised.length} voxels for shape ${shape.join('x')}, which needs ${n} (predictors return the case's grid)`);
  await writeNpz(file, [
    ['dose', ndarray(doseNormalised, [...shape])],
    ['metadata', { pickle: pickleMetadata(metadata) }],
  ]);
}

/** Reads a prediction npz: `dose` (baseline) or `pred_dose` (DDPM), float32 (Y, X, Z) normalised by Rx; metadata {} if absent. */
export async function readPredictionNpz(file: string): Promise<{ dose: Float32Array; shape: Shape3; metadata: Record<string, unknown> }> {
  const z = await openNpz(file);
  const key = z.keys.includes('dose') ? 'dose' : z.keys.includes('pred_dose') ? 'pred_dose' : null;
  if (!key) throw new DataError(file, 'dose', "key 'dose' or 'pred_dose' (prediction npz)", `missing key (available: ${z.keys.join(', ')})`);
  const dose = await getArray(z, key);
  fail(arrayProblem(file, key, dose, { dtypes: ['<f4'], ndim: 3 }));
  let metadata: Record<string, unknown> = {};
  if (z.keys.includes('metadata')) {
    const m = await z.get('metadata');
    metadata = (isPickled(m) ? asRecord(m.value) : null) ?? {};
  }
  return { dose: dose.data as Float32Array, shape: dose.shape as Shape3, metadata };
}
