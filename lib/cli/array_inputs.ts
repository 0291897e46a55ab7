/**
 * Array inputs of the eval commands (`file.npy` or `file.npz:key`), loaded and checked: a 3-D dose,
 * a mask on the same grid. Imported by the commands' actions only (the npz reader is not light).
 */
import { DataError } from '../core/errors';
import { loadArrayArg } from '../data/array_arg';
import type { NdArray } from '../data/ndarray';

/** a 3-D numeric array from `file.npy` or `file.npz:key`, as float64; NaN/Inf rejected */
export async function load3d(
  spec: string,
  what: string,
): Promise<{ data: Float64Array; shape: [number, number, number]; arr: NdArray }> {
  const arr = await loadArrayArg(spec);
  if (arr.shape.length !== 3) throw new DataError(spec, null, `a 3-D ${what} array`, `shape (${arr.shape.join(', ')})`);
  if (arr.data instanceof BigInt64Array || arr.data instanceof BigUint64Array) {
    throw new DataError(spec, null, `a float or small-integer ${what} array`, `dtype ${arr.dtype}`);
  }
  const data = Float64Array.from(arr.data as ArrayLike<number>);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]))
      throw new DataError(spec, null, `finite ${what} values`, `${data[i]} at flat index ${i}`);
  }
  return { data, shape: arr.shape as [number, number, number], arr };
}

/** Throws a DataError naming `bName` unless arrays `a` and `b` have the same shape (same grid, same axis order). */
export function sameShape(a: { shape: number[] }, aName: string, b: { shape: number[] }, bName: string): void {
  if (a.shape.join(',') !== b.shape.join(','))
    throw new DataError(bName, null, `shape (${a.shape.join(', ')}) of ${aName}`, `(${b.shape.join(', ')})`);
}

/** A non-empty mask from `file.npy` or `file.npz:key` (any numeric dtype, nonzero = inside) on the grid `shape` of `against`. */
export async function loadMask(spec: string, shape: number[], against: string): Promise<Uint8Array> {
  const m = await load3d(spec, 'mask');
  sameShape({ shape }, against, m, spec);
  const out = new Uint8Array(m.data.length);
  let any = false;
  for (let i = 0; i < out.length; i++)
    if (m.data[i] !== 0) {
      out[i] = 1;
      any = true;
    }
  if (!any) throw new DataError(spec, null, 'a non-empty mask', 'no voxel > 0');
  return out;
}
