/**
 * Bit-exact numpy reductions for the metadata values the reference stores as floats
 * (e.g. `voxel_spacing_mm[2] = mean(diff(slice_z))`): numpy sums float64 with pairwise
 * summation (8 accumulators per block of ≤ 128, halves above), so a plain loop can differ in the
 * last bit. Hand-written because no npm package reproduces numpy's summation order.
 */

const BLOCK = 128;

function pairwise(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    // numpy starts from -0.0 since 1.25 and from 0.0 before; both give the same for our sums
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= BLOCK) {
    const r = [
      a[start],
      a[start + 1],
      a[start + 2],
      a[start + 3],
      a[start + 4],
      a[start + 5],
      a[start + 6],
      a[start + 7],
    ];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2);
}

/** `np.sum(a)` of a contiguous float64 array (n < 8192, a single reduction block) */
export function numpySum(a: ArrayLike<number>): number {
  return pairwise(a, 0, a.length);
}

/** `np.mean(a)` of a float64 array */
export function numpyMean(a: ArrayLike<number>): number {
  return numpySum(a) / a.length;
}

/** `np.diff(a)` */
export function diff(a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.max(0, a.length - 1));
  for (let i = 0; i + 1 < a.length; i++) out[i] = a[i + 1] - a[i];
  return out;
}
