/** A plain n-dimensional array: typed data in C (row-major) order plus its shape and numpy dtype string. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NdArray<T extends TypedArray = TypedArray> {
  data: T;
  shape: number[];
  /** numpy descr, normalised to little-endian where the data was byte-swapped (e.g. '<f4', '|u1', '|b1') */
  dtype: string;
}

/** Number of elements of an array of this shape (product of the dimensions; 1 for a 0-d shape). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** true if any element is non-zero (a plain loop: TypedArray.prototype.some is ~15x slower on 10^7 voxels) */
export function anyNonZero(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return true;
  return false;
}
