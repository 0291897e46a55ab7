/**
 * Paired effect sizes.
 *  - matched-pairs rank-biserial correlation (Kerby 2014): r = (R+ - R-) / (R+ + R-) with
 *    R+/R- the sums of average ranks of |d| over positive/negative differences, zero differences
 *    dropped (the wilcox convention) — equals scipy/pingouin's `(r_plus - r_minus) / total`.
 *  - paired Cohen's d as the reference reported it (spec 8.1): mean(d) / std(d, ddof 1).
 * Uses simple-statistics for mean and sample standard deviation.
 */
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { wilcoxon } from './wilcoxon';

/** matched-pairs rank-biserial correlation of x − y (x alone when y is null), in [−1, 1] */
export function rankBiserial(x: ArrayLike<number>, y: ArrayLike<number> | null): number {
  const r = wilcoxon(x, y, { zeroMethod: 'wilcox', method: 'approx' });
  const total = r.rPlus + r.rMinus;
  return total === 0 ? 0 : (r.rPlus - r.rMinus) / total;
}

/** paired Cohen's d: mean(x − y) / sd(x − y) with ddof 1 (x alone when y is null) */
export function pairedCohensD(x: ArrayLike<number>, y: ArrayLike<number> | null): number {
  const d: number[] = [];
  for (let i = 0; i < x.length; i++) d.push(y ? x[i] - y[i] : x[i]);
  if (d.length < 2) return NaN;
  const sd = sampleStandardDeviation(d);
  return sd === 0 ? NaN : mean(d) / sd;
}
