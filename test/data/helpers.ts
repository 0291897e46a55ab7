/** Shared helpers for test/data: fixture paths and the type-exact canonical form of pickled values. */
import * as path from 'node:path';
import { PY_FLOATS, PY_INT_KEYS, PyFloat, isPyTuple } from '../../lib/data/pyobj';

export const FIX = path.resolve(__dirname, '..', 'fixtures', 'data');
// ../shared sits beside the repository (as in CI)
export const OPENKBP = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp');

function floatHex(v: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b.toString('hex');
}

/**
 * Mirror of `canon()` in test/fixtures/data/gen_fixtures.py: {bool}, {int}, {float: hex of the
 * float64}, {str}, {bytes}, {tuple}, {list}, {dict: [[k, v]...]} so Python and TS agree exactly
 * on types (int vs float, tuple vs list, int vs str keys).
 */
export function canon(v: unknown, isFloat = false): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return { bool: v };
  if (typeof v === 'bigint') return { int: v.toString() };
  if (v instanceof PyFloat) return { float: floatHex(v.value) };
  if (typeof v === 'number') {
    if (isFloat || !Number.isInteger(v)) return { float: floatHex(v) };
    return { int: String(v) };
  }
  if (typeof v === 'string') return { str: v };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  const floats = new Set(((v as Record<symbol, unknown>)[PY_FLOATS] as string[] | undefined) ?? []);
  if (Array.isArray(v)) {
    const items = v.map((x, i) => canon(x, floats.has(String(i))));
    return isPyTuple(v) ? { tuple: items } : { list: items };
  }
  if (typeof v === 'object') {
    const intKeys = (v as Record<symbol, unknown>)[PY_INT_KEYS] === true;
    return {
      dict: Object.entries(v).map(([k, x]) => [intKeys && /^-?\d+$/.test(k) ? { int: k } : { str: k }, canon(x, floats.has(k))]),
    };
  }
  throw new Error(`canon: ${typeof v}`);
}
