/**
 * Structural checks shared by the loaders (which throw the first failure as a DataError) and by
 * verify.ts (which collects them). Every failure names file, key, expected and found.
 */
import { DataError } from '../core/errors';
import type { NdArray } from './ndarray';

export interface ArraySpec {
  /** accepted dtypes, e.g. ['<f4'] or ['|u1', '|b1'] */
  dtypes: string[];
  /** required number of dimensions */
  ndim?: number;
  /** required shape; null entries are free */
  shape?: Array<number | null>;
}

function fmtShape(s: ReadonlyArray<number | null>): string {
  return `(${s.map((x) => (x === null ? '*' : String(x))).join(', ')}${s.length === 1 ? ',' : ''})`;
}

/** null if `arr` satisfies `spec`, else the DataError describing the first mismatch */
export function arrayProblem(file: string, key: string, arr: NdArray, spec: ArraySpec): DataError | null {
  if (!spec.dtypes.includes(arr.dtype)) return new DataError(file, key, `dtype ${spec.dtypes.join(' or ')}`, `dtype ${arr.dtype}`);
  const ndim = spec.shape?.length ?? spec.ndim;
  if (ndim !== undefined && arr.shape.length !== ndim) {
    return new DataError(file, key, spec.shape ? `shape ${fmtShape(spec.shape)}` : `${ndim}-D array`, `shape ${fmtShape(arr.shape)}`);
  }
  if (spec.shape && spec.shape.some((v, i) => v !== null && v !== arr.shape[i])) {
    return new DataError(file, key, `shape ${fmtShape(spec.shape)}`, `shape ${fmtShape(arr.shape)}`);
  }
  return null;
}

/** Throws the DataError of arrayProblem (dtype, rank, shape, finite values) for `file [key]`, if any. */
export function checkArray(file: string, key: string, arr: NdArray, spec: ArraySpec): void {
  const p = arrayProblem(file, key, arr, spec);
  if (p) throw p;
}

/** first NaN/Inf and first negative value of a dose array (indices, or -1) */
export function scanDose(data: ArrayLike<number>): { nonFinite: number; negative: number; min: number; max: number } {
  let nonFinite = -1;
  let negative = -1;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      if (nonFinite < 0) nonFinite = i;
      continue;
    }
    if (v < 0 && negative < 0) negative = i;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { nonFinite, negative, min, max };
}

/** null if the dose is finite and non-negative, else the DataError */
export function doseProblem(file: string, key: string, data: ArrayLike<number>): DataError | null {
  const s = scanDose(data);
  if (s.nonFinite >= 0) return new DataError(file, key, 'finite dose values', `${data[s.nonFinite]} at flat index ${s.nonFinite}`);
  if (s.negative >= 0) return new DataError(file, key, 'dose >= 0', `${data[s.negative]} at flat index ${s.negative} (min ${s.min})`);
  return null;
}

/** Throws the DataError of doseProblem (finite and >= 0 Gy) for `file [key]`, if any. */
export function checkDose(file: string, key: string, data: ArrayLike<number>): void {
  const p = doseProblem(file, key, data);
  if (p) throw p;
}

/** null if every value is 0 or 1 */
export function binaryProblem(file: string, key: string, data: Uint8Array): DataError | null {
  for (let i = 0; i < data.length; i++) {
    if (data[i] > 1) return new DataError(file, key, 'binary mask values 0/1', `${data[i]} at flat index ${i}`);
  }
  return null;
}
