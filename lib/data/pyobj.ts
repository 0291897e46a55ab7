/**
 * How Python values from pickled metadata are represented in JS, and the markers that let
 * vmat-lab write them back unchanged.
 *
 * Decoded representation (what `unpickle` returns, what code reads):
 * - dict → plain object with string keys. Python int keys (e.g. `structure_channels`
 *   `{0: 'PTV70'}`) become `'0'`; the object carries `[PY_INT_KEYS]: true` so the pickler
 *   writes them back as ints. Chosen over `Map` so callers can write `md.case_type.type`.
 * - tuple → array with `[PY_TUPLE]: true`; list → plain array.
 * - float → number; because JS cannot tell 2.0 from 2, the containing object/array records
 *   integer-valued floats in `[PY_FLOATS]` (keys or indices) so they are re-pickled as floats.
 * - int → number (bigint beyond 2^53), bool → boolean, None → null, bytes → Uint8Array.
 * - numpy scalars → the same JS types (np.bool_ → boolean, np.uint64 → number/bigint,
 *   np.float64 → number); on re-pickling they become the Python builtins of equal value.
 *
 * The markers are enumerable symbol properties: object spread (`{...md}`) keeps them,
 * JSON.stringify and Object.keys ignore them.
 */

/** Marks an array decoded from (or to be pickled as) a Python tuple. */
export const PY_TUPLE: unique symbol = Symbol.for('vmat-lab.py.tuple') as never;
/** Marks an object whose integer-looking keys are Python ints. */
export const PY_INT_KEYS: unique symbol = Symbol.for('vmat-lab.py.intKeys') as never;
/** Holds the keys (or array indices) whose integer-valued numbers are Python floats. */
export const PY_FLOATS: unique symbol = Symbol.for('vmat-lab.py.floats') as never;

/** An explicit Python float (for integer-valued numbers that must pickle as float, e.g. 70.0). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** shorthand: `pyFloat(70)` pickles as `70.0` */
export function pyFloat(v: number): PyFloat {
  return new PyFloat(v);
}

/** numpy scalar dtypes the pickler can write (numpy's `dtype.str` without byte order) */
export type NpScalarDtype = 'b1' | 'u8' | 'i8' | 'f8' | 'f4';

/**
 * A numpy scalar (np.bool_, np.uint64, np.int64, np.float64, np.float32) for metadata that must
 * keep the reference's types (spec 1.1: e.g. `validation.ct_range_valid` is np.bool_). Pickled as
 * numpy does: `multiarray.scalar(dtype(...), <raw little-endian bytes>)`. The unpickler decodes
 * numpy scalars to plain JS values (see the header), so this wrapper only exists on the write side.
 */
export class NpScalar {
  constructor(
    readonly dtype: NpScalarDtype,
    readonly value: number | boolean | bigint,
  ) {}
}

/** np.bool_ */
export function npBool(v: boolean): NpScalar {
  return new NpScalar('b1', v);
}

/** np.uint64 (an integer >= 0) */
export function npUint64(v: number | bigint): NpScalar {
  return new NpScalar('u8', v);
}

/** np.float64 */
export function npFloat64(v: number): NpScalar {
  return new NpScalar('f8', v);
}

/** np.float32 (the value is rounded to float32) */
export function npFloat32(v: number): NpScalar {
  return new NpScalar('f4', Math.fround(v));
}

/** marks an array as a Python tuple */
export function pyTuple<T>(items: T[]): T[] {
  (items as unknown as Record<symbol, unknown>)[PY_TUPLE] = true;
  return items;
}

/** True for an array marked as a Python tuple (asPyTuple). */
export function isPyTuple(v: unknown): boolean {
  return Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[PY_TUPLE] === true;
}

/** marks an object so its integer-looking keys are pickled as Python ints */
export function withIntKeys<T extends object>(obj: T): T {
  (obj as Record<symbol, unknown>)[PY_INT_KEYS] = true;
  return obj;
}

/** True for an object marked to pickle its integer-looking keys as Python ints. */
export function hasIntKeys(obj: object): boolean {
  return (obj as Record<symbol, unknown>)[PY_INT_KEYS] === true;
}

/** keys (or array indices as strings) whose integer-valued numbers are Python floats */
export function floatKeysOf(obj: object): ReadonlySet<string> {
  const v = (obj as Record<symbol, unknown>)[PY_FLOATS];
  return Array.isArray(v) ? new Set(v.map(String)) : new Set();
}

/** records that `key` of `obj` holds a Python float */
export function markFloat(obj: object, key: string | number): void {
  const rec = obj as Record<symbol, unknown>;
  const cur = Array.isArray(rec[PY_FLOATS]) ? (rec[PY_FLOATS] as string[]) : [];
  if (!cur.includes(String(key))) cur.push(String(key));
  rec[PY_FLOATS] = cur;
}

/** plain-data copy for printing/JSON (bigint → number or string, bytes → length note) */
export function toPlainJson(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof PyFloat) return v.value;
  if (v instanceof NpScalar) return toPlainJson(v.value);
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return v.map(toPlainJson);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlainJson(x)]));
  if (v && typeof v === 'object') {
    if ('data' in v && 'shape' in v && 'dtype' in v) return `<ndarray ${(v as { dtype: string }).dtype} (${(v as { shape: number[] }).shape.join(', ')})>`;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlainJson(x)]));
  }
  return v;
}
