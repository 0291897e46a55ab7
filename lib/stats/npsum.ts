/**
 * Sums and means in numpy's floating-point order (np.add.reduce on a contiguous float64 array:
 * pairwise summation — sequential below 8 elements, 8 accumulators in blocks of up to 128, halves
 * above; checked against np.sum on 300 random arrays). Matching the order matters where results are compared for equality, e.g.
 * BCa's count of bootstrap replicates below the estimate, or bit-reproducing the reference's
 * bootstrap CI. (simple-statistics' mean uses compensated summation — more accurate, but not
 * numpy's bits.)
 */
function pairwise(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
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

/** np.sum of a 1-D float64 array */
export function npSum(a: ArrayLike<number>): number {
  return pairwise(a, 0, a.length);
}

/** np.mean of a 1-D float64 array */
export function npMean(a: ArrayLike<number>): number {
  return npSum(a) / a.length;
}

/** np.median of a 1-D array (mean of the two middle values for even n) */
export function npMedian(a: ArrayLike<number>): number {
  const s = Float64Array.from(a).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : npMean([s[n / 2 - 1], s[n / 2]]);
}

/** np.diff of a 1-D array: a[i + 1] − a[i] */
export function npDiff(a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.max(0, a.length - 1));
  for (let i = 0; i + 1 < a.length; i++) out[i] = a[i + 1] - a[i];
  return out;
}
