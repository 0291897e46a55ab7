/**
 * OpenKBP patients (openkbp.md section 1): the dataset's own folder of sparse CSVs and the
 * lossless "openkbp-npz 1" layout (data/openkbp/README.md). Both produce identical Cases.
 *
 * CSV: header `,data`, rows `<flat C-order index>,<value>` (value empty for masks); CT value
 * − 1024 = HU (no row → −1024 HU); a structure is present iff its CSV exists; voxel size from
 * voxel_dimensions.csv; dose grid 128³.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { writeFileAtomic } from '../core/atomic';
import type { Case, Prescription, Shape3 } from './case';
import { anyNonZero, type NdArray } from './ndarray';
import { isNdArray, openNpz } from './npz';
import { OPENKBP_STRUCTURES, OPENKBP_TARGETS, targetDoseGy } from './profiles';
import { arrayProblem, binaryProblem, checkDose } from './validate';

/** The OpenKBP grid (voxels, array order (Y, X, Z) = the challenge's CSV index order). */
export const OPENKBP_SHAPE: Shape3 = [128, 128, 128];
/** the three dose levels of every OpenKBP plan; normalisation dose is the highest */
export const OPENKBP_RX_GY = 70;

interface SparseCsv {
  index: Int32Array;
  /** NaN where the value column is empty (mask files) */
  value: Float64Array;
}

/** parses a sparse `,data` CSV; every malformed line is a DataError naming file and line */
function parseSparseCsv(file: string, text: string, nvox: number): SparseCsv {
  const lines = text.split('\n');
  if (lines[0].replace(/\r$/, '') !== ',data') throw new DataError(file, null, "header ',data'", JSON.stringify(lines[0].slice(0, 40)));
  const index = new Int32Array(lines.length);
  const value = new Float64Array(lines.length);
  let n = 0;
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li];
    if (line.length === 0 || line === '\r') continue;
    const comma = line.indexOf(',');
    if (comma <= 0) throw new DataError(file, `line ${li + 1}`, "'<index>,<value>'", JSON.stringify(line.slice(0, 40)));
    const idx = Number(line.slice(0, comma));
    if (!Number.isInteger(idx) || idx < 0 || idx >= nvox) {
      throw new DataError(file, `line ${li + 1}`, `integer index in [0, ${nvox})`, JSON.stringify(line.slice(0, comma)));
    }
    const vs = line.slice(comma + 1).replace(/\r$/, '');
    const v = vs.length === 0 ? NaN : Number(vs);
    if (vs.length !== 0 && Number.isNaN(v)) throw new DataError(file, `line ${li + 1}`, 'a number or empty value', JSON.stringify(vs.slice(0, 40)));
    index[n] = idx;
    value[n] = v;
    n++;
  }
  return { index: index.subarray(0, n), value: value.subarray(0, n) };
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new DataError(file, null, 'a readable file', (e as NodeJS.ErrnoException).code ?? String(e));
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Dose in Gy over `shape` (C order, 0 where no row) from an OpenKBP dose or prediction CSV. 'float32'
 * (default) is what training needs; 'float64' keeps every digit, as the official evaluator's pandas
 * loader does — the scorer needs it, since float32 shifts |ref − pred| by ~1e-7 relative.
 */
export async function readOpenKbpDoseCsv(file: string, shape?: Shape3, precision?: 'float32'): Promise<Float32Array>;
export async function readOpenKbpDoseCsv(file: string, shape: Shape3, precision: 'float64'): Promise<Float64Array>;
export async function readOpenKbpDoseCsv(
  file: string,
  shape: Shape3 = OPENKBP_SHAPE,
  precision: 'float32' | 'float64' = 'float32',
): Promise<Float32Array | Float64Array> {
  const n = shape[0] * shape[1] * shape[2];
  const csv = parseSparseCsv(file, await readText(file), n);
  const out = precision === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < csv.index.length; i++) {
    const v = csv.value[i];
    if (!Number.isFinite(v))
      throw new DataError(file, `row ${i + 1}`, 'a finite dose value', Number.isNaN(v) ? 'empty value column' : String(v));
    out[csv.index[i]] = v;
  }
  checkDose(file, 'data', out);
  return out;
}

/** shortest decimal string that reads back to the same float32 (as numpy/pandas print float32) */
function float32Repr(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) {
      const t = String(Number(s));
      return /[.e]/.test(t) ? t : `${t}.0`;
    }
  }
  return String(v);
}

/**
 * Writes a dose in the official sparse prediction format: `,data` header, one `<index>,<Gy>` row
 * per voxel with value > 0 (after multiplying by `mask` when given), atomically. Values are written
 * as the shortest decimal that reads back to the same float32 (as numpy/pandas print float32), or
 * with every digit of the float64 when `precision` is 'float64'.
 */
export async function writeOpenKbpDoseCsv(
  file: string,
  doseGy: ArrayLike<number>,
  mask?: Uint8Array,
  precision: 'float32' | 'float64' = 'float32',
): Promise<void> {
  if (mask && mask.length !== doseGy.length)
    throw new DataError(file, 'mask', `${doseGy.length} voxels (the dose's)`, `${mask.length}`);
  const parts: string[] = [',data\n'];
  for (let i = 0; i < doseGy.length; i++) {
    const v = mask && !mask[i] ? 0 : doseGy[i];
    if (v > 0) parts.push(`${i},${precision === 'float64' ? String(v) : float32Repr(Math.fround(v))}\n`);
  }
  await writeFileAtomic(file, parts.join(''));
}

function prescriptionsOf(masks: Map<string, Uint8Array>): { prescriptions: Prescription[]; planType: string } {
  const present = [...OPENKBP_TARGETS].filter((t) => masks.has(t)).sort((a, b) => (targetDoseGy(b) ?? 0) - (targetDoseGy(a) ?? 0));
  return {
    prescriptions: present.map((s) => ({ structure: s, doseGy: targetDoseGy(s) as number })),
    planType: present.join('+'),
  };
}

function openKbpCase(id: string, source: 'openkbp-csv' | 'openkbp-npz', parts: {
  ct: Float32Array;
  dose: Float32Array | null;
  masks: Map<string, Uint8Array>;
  possibleDoseMask: Uint8Array;
  spacing: Shape3;
}): Case {
  const { prescriptions, planType } = prescriptionsOf(parts.masks);
  return {
    id,
    source,
    shape: [...OPENKBP_SHAPE] as Shape3,
    spacingMm: parts.spacing,
    ct: parts.ct,
    dose: parts.dose,
    structureNames: [...OPENKBP_STRUCTURES],
    masks: parts.masks,
    rxGy: OPENKBP_RX_GY,
    prescriptions,
    possibleDoseMask: parts.possibleDoseMask,
    planType,
    metadata: { dataset: 'openkbp', patient_id: id, voxel_dimensions_mm: [...parts.spacing] },
  };
}

/** Reads an OpenKBP patient folder (`pt_N/` with ct.csv, dose.csv, possible_dose_mask.csv, ROI CSVs, voxel_dimensions.csv). */
export async function readOpenKbpCsvFolder(dir: string): Promise<Case> {
  const n = 128 ** 3;
  const f = (name: string): string => path.join(dir, name);
  if (!(await exists(f('ct.csv')))) throw new DataError(dir, 'ct.csv', 'an OpenKBP patient folder with ct.csv', 'no ct.csv');
  const ctCsv = parseSparseCsv(f('ct.csv'), await readText(f('ct.csv')), n);
  const ct = new Float32Array(n).fill(-1024);
  for (let i = 0; i < ctCsv.index.length; i++) {
    if (Number.isNaN(ctCsv.value[i])) throw new DataError(f('ct.csv'), `row ${i + 1}`, 'a CT value', 'empty value column');
    ct[ctCsv.index[i]] = ctCsv.value[i] - 1024;
  }
  const dose = (await exists(f('dose.csv'))) ? await readOpenKbpDoseCsv(f('dose.csv')) : null;
  const maskOf = async (file: string): Promise<Uint8Array> => {
    const csv = parseSparseCsv(file, await readText(file), n);
    const m = new Uint8Array(n);
    for (const i of csv.index) m[i] = 1;
    return m;
  };
  if (!(await exists(f('possible_dose_mask.csv')))) throw new DataError(dir, 'possible_dose_mask.csv', 'possible_dose_mask.csv', 'missing file');
  const possibleDoseMask = await maskOf(f('possible_dose_mask.csv'));
  const masks = new Map<string, Uint8Array>();
  for (const name of OPENKBP_STRUCTURES) {
    if (!(await exists(f(`${name}.csv`)))) continue;
    const m = await maskOf(f(`${name}.csv`));
    if (anyNonZero(m)) masks.set(name, m);
  }
  const vdText = await readText(f('voxel_dimensions.csv'));
  const vd = vdText.split('\n').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (vd.length !== 3 || vd.some((x) => !(x > 0))) throw new DataError(f('voxel_dimensions.csv'), null, '3 positive numbers (mm)', JSON.stringify(vdText.slice(0, 80)));
  return openKbpCase(path.basename(path.resolve(dir)), 'openkbp-csv', { ct, dose, masks, possibleDoseMask, spacing: vd as Shape3 });
}

/** Reads an "openkbp-npz 1" file (keys ct <i2, dose <f4, possible_dose_mask |u1, structure_masks |u1 (10,…), structures_present |u1 (10,), voxel_dimensions <f8 (3,)). */
export async function readOpenKbpNpz(file: string): Promise<Case> {
  const z = await openNpz(file);
  const get = async (key: string): Promise<NdArray> => {
    const e = await z.get(key);
    if (!isNdArray(e)) throw new DataError(file, key, 'a numeric array', 'a pickled object');
    return e;
  };
  const S = OPENKBP_SHAPE;
  const ctA = await get('ct');
  const ckd = (key: string, a: NdArray, dtypes: string[], shape: Array<number | null>): void => {
    const p = arrayProblem(file, key, a, { dtypes, shape });
    if (p) throw p;
  };
  ckd('ct', ctA, ['<i2'], [...S]);
  const doseA = z.keys.includes('dose') ? await get('dose') : null;
  if (doseA) {
    ckd('dose', doseA, ['<f4'], [...S]);
    checkDose(file, 'dose', doseA.data as Float32Array);
  }
  const pdm = await get('possible_dose_mask');
  ckd('possible_dose_mask', pdm, ['|u1', '|b1'], [...S]);
  const sm = await get('structure_masks');
  ckd('structure_masks', sm, ['|u1', '|b1'], [OPENKBP_STRUCTURES.length, ...S]);
  const bp = binaryProblem(file, 'structure_masks', sm.data as Uint8Array);
  if (bp) throw bp;
  const sp = await get('structures_present');
  ckd('structures_present', sp, ['|u1', '|b1'], [OPENKBP_STRUCTURES.length]);
  const vd = await get('voxel_dimensions');
  ckd('voxel_dimensions', vd, ['<f8'], [3]);
  const n = 128 ** 3;
  const ct = Float32Array.from(ctA.data as Int16Array);
  const masks = new Map<string, Uint8Array>();
  OPENKBP_STRUCTURES.forEach((name, c) => {
    if (!(sp.data as Uint8Array)[c]) return;
    const m = (sm.data as Uint8Array).slice(c * n, (c + 1) * n);
    if (anyNonZero(m)) masks.set(name, m);
  });
  const spacing = Array.from(vd.data as Float64Array) as Shape3;
  if (spacing.some((x) => !(x > 0))) throw new DataError(file, 'voxel_dimensions', 'positive voxel sizes (mm)', `(${spacing.join(', ')})`);
  return openKbpCase(path.basename(file).replace(/\.npz$/, ''), 'openkbp-npz', {
    ct,
    dose: doseA ? (doseA.data as Float32Array) : null,
    masks,
    possibleDoseMask: (pdm.data as Uint8Array).slice(),
    spacing,
  });
}
