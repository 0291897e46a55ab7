/**
 * numpy.percentile definitions used by the peers (values need not be sorted; NaN not allowed):
 *  - 'linear' (numpy default, method 7): h = (n-1) q/100, v = a[floor h] + (h - floor h)(a[floor h + 1] - a[floor h]).
 *    The OpenKBP evaluator and the reference bootstrap use this.
 *  - 'lower' (numpy method='lower'): a[floor((n-1) q/100)]; the reference evaluation's Dx.
 */
export type PercentileMethod = 'linear' | 'lower';

/** the values as a sorted float64 copy (ascending) */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** percentile of already-sorted ascending data, computed with numpy's operation order */
export function percentileSorted(sorted: ArrayLike<number>, q: number, method: PercentileMethod = 'linear'): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile q must be in [0, 100], found ${q}`);
  const qf = q / 100;
  const v = (n - 1) * qf;
  if (method === 'lower') return sorted[Math.floor(v)];
  if (v >= n - 1) return sorted[n - 1];
  const lo = Math.floor(v);
  const t = v - lo;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  // numpy _lerp: a + (b - a)·t, replaced by b - (b - a)·(1 - t) where t >= 0.5
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** np.percentile(values, q) for q in [0, 100] with numpy's method (default 'linear') */
export function percentile(values: ArrayLike<number>, q: number, method: PercentileMethod = 'linear'): number {
  return percentileSorted(sortedCopy(values), q, method);
}
