/**
 * Paired Wilcoxon signed-rank test, matching scipy.stats.wilcoxon of SciPy >= 1.15
 * (`scipy/stats/_wilcoxon.py`, checked against SciPy 1.17.1; simple-statistics has no signed-rank
 * test, so this is hand-written):
 *  - d = x - y; ranks of |d| by average ranking. zero_method 'wilcox' drops zero differences;
 *    'pratt' ranks them but they count for neither sign; 'zsplit' ranks them and adds half their
 *    rank sum to both r_plus and r_minus.
 *  - method 'auto': asymptotic when n > 50 (n counts zeros); otherwise the exact null distribution
 *    when there are no ties and no zeros, an exhaustive sign-flip permutation test when there are
 *    ties or zeros and n <= 13, and the asymptotic test otherwise.
 *  - 'exact': null distribution of r_plus for `count` non-dropped differences; with ties/zeros a
 *    non-integral statistic is rounded up for the CDF and down for the SF (scipy gh-19872);
 *    two-sided p = 2 min(sf(floor r), cdf(ceil r)), clipped to 1.
 *  - 'approx' (scipy 'asymptotic'): z = (r_plus - mean) / se with the tie correction
 *    sum(t^3 - t)/2 (zeros excluded from it under pratt, whose mean and variance are also reduced
 *    by the zeros' share, Cureton 1967); continuity correction subtracts sign·0.5/se
 *    (sign = sign(z) for two-sided); two-sided p = 2 sf(|z|).
 *  - 'permutation': p-value over all 2^n sign flips of d of the statistic r_plus, counted with
 *    scipy's relative tolerance 100·eps. scipy enumerates them when 2^n <= 9999 (n <= 13) and
 *    samples 9999 random flips otherwise; here the full sign-flip distribution is always computed
 *    exactly (a rank-sum count by dynamic programming), which equals scipy for n <= 13 and is the
 *    limit of scipy's random p-value for larger n.
 *  - reported statistic: min(r_plus, r_minus) for two-sided, r_plus otherwise.
 */
import { ndtr, normSf } from './normal';

export type WilcoxonZeroMethod = 'wilcox' | 'pratt' | 'zsplit';
export type WilcoxonMethod = 'auto' | 'exact' | 'approx' | 'permutation';
export type Alternative = 'two-sided' | 'greater' | 'less';

export interface WilcoxonOptions {
  zeroMethod?: WilcoxonZeroMethod;
  correction?: boolean;
  alternative?: Alternative;
  method?: WilcoxonMethod;
}

export interface WilcoxonResult {
  statistic: number;
  pvalue: number;
  /** the method actually used after 'auto' resolved */
  method: 'exact' | 'approx' | 'permutation';
  /** z statistic (approx only) */
  z: number | null;
  n: number;
  nZero: number;
  rPlus: number;
  rMinus: number;
}

interface SignedRankStat {
  rPlus: number;
  rMinus: number;
  se: number;
  z: number;
  count: number;
  hasTies: boolean;
  /** ranks of the non-dropped |d| (same order as `kept`) */
  ranks: number[];
  kept: number[];
  /** constant added to r_plus under zsplit */
  zsplitShift: number;
}

function signedRankStatistic(d: number[], zeroMethod: WilcoxonZeroMethod): SignedRankStat {
  // values that take part in the ranking (wilcox drops zeros, like scipy's zero -> NaN)
  const kept = zeroMethod === 'wilcox' ? d.filter((v) => v !== 0) : d.slice();
  const count = kept.length;
  const order = kept.map((_, i) => i).sort((a, b) => Math.abs(kept[a]) - Math.abs(kept[b]));
  const ranks = new Array<number>(count);
  const tieSizes: number[] = []; // in sorted order, first group first (scipy's t array)
  for (let i = 0; i < count;) {
    let j = i;
    while (j + 1 < count && Math.abs(kept[order[j + 1]]) === Math.abs(kept[order[i]])) j++;
    const avg = (i + 1 + j + 1) / 2;
    for (let k = i; k <= j; k++) ranks[order[k]] = avg;
    tieSizes.push(j - i + 1);
    i = j + 1;
  }
  let rPlus = 0;
  let rMinus = 0;
  let rZero = 0;
  for (let i = 0; i < count; i++) {
    if (kept[i] > 0) rPlus += ranks[i];
    else if (kept[i] < 0) rMinus += ranks[i];
    else rZero += ranks[i];
  }
  const hasTies = tieSizes.some((t) => t > 1);
  let zsplitShift = 0;
  if (zeroMethod === 'zsplit') {
    zsplitShift = rZero / 2;
    rPlus += zsplitShift;
    rMinus += zsplitShift;
  }
  let mn = count * (count + 1) * 0.25;
  let se = count * (count + 1) * (2 * count + 1);
  if (zeroMethod === 'pratt') {
    const nz = kept.filter((v) => v === 0).length;
    mn -= nz * (nz + 1) * 0.25;
    se -= nz * (nz + 1) * (2 * nz + 1);
    // zeros (the smallest |d|, so the first tie group) are left out of the tie correction
    if (nz > 0) tieSizes[0] = 0;
  }
  let tieCorrect = 0;
  for (const t of tieSizes) tieCorrect += t * t * t - t;
  se = Math.sqrt((se - tieCorrect / 2) / 24);
  const z = (rPlus - mn) / se;
  return { rPlus, rMinus, se, z, count, hasTies, ranks, kept, zsplitShift };
}

/** null distribution of the signed-rank statistic without ties (scipy _get_wilcoxon_distr): pmf of r = 0 .. n(n+1)/2 */
export function wilcoxonNullPmf(n: number): Float64Array {
  let c = new Float64Array([1]);
  for (let k = 1; k <= n; k++) {
    const prev = c;
    c = new Float64Array((k * (k + 1)) / 2 + 1);
    const m = prev.length;
    for (let i = 0; i < m; i++) c[i] = prev[i] * 0.5;
    for (let i = 0; i < m; i++) c[c.length - m + i] += prev[i] * 0.5;
  }
  return c;
}

function exactPvalue(rPlus: number, count: number, alternative: Alternative): number {
  const pmf = wilcoxonNullPmf(count);
  const mean = (count * (count + 1)) / 4;
  const sumRange = (from: number, to: number) => {
    let s = 0;
    for (let i = Math.max(0, from); i <= Math.min(to, pmf.length - 1); i++) s += pmf[i];
    return s;
  };
  const cdfRaw = (k: number) => sumRange(0, k);
  const sfRaw = (k: number) => sumRange(k, pmf.length - 1);
  const cdf = (k: number) => (k <= mean ? cdfRaw(k) : 1 - sfRaw(k + 1));
  const sf = (k: number) => (k <= mean ? sfRaw(k) : 1 - cdfRaw(k - 1));
  if (alternative === 'less') return cdf(Math.ceil(rPlus));
  if (alternative === 'greater') return sf(Math.floor(rPlus));
  return Math.min(1, Math.max(0, 2 * Math.min(sf(Math.floor(rPlus)), cdf(Math.ceil(rPlus)))));
}

/**
 * Exact sign-flip permutation p-value of r_plus: every one of the 2^n sign patterns of d
 * (zeros flip to themselves) is equally likely; r_plus of a pattern = sum of the ranks that end up
 * positive (+ the zsplit constant). Ranks are multiples of 1/2, so the distribution is counted on
 * a half-rank grid.
 */
function permutationPvalue(s: SignedRankStat, nTotal: number, alternative: Alternative): number {
  const half = s.kept.map((v, i) => (v !== 0 ? Math.round(2 * s.ranks[i]) : 0)).filter((h) => h > 0);
  const total = half.reduce((a, b) => a + b, 0);
  // counts[h] = number of subsets of nonzero ranks with half-rank sum h, as a probability
  let dist = new Float64Array(total + 1);
  dist[0] = 1;
  for (const h of half) {
    const next = new Float64Array(total + 1);
    for (let i = 0; i <= total; i++) {
      if (dist[i] === 0) continue;
      next[i] += dist[i] * 0.5;
      next[i + h] += dist[i] * 0.5;
    }
    dist = next;
  }
  const observed = s.rPlus;
  const gamma = Math.abs(100 * Number.EPSILON * observed);
  let less = 0;
  let greater = 0;
  for (let i = 0; i <= total; i++) {
    if (dist[i] === 0) continue;
    const stat = i / 2 + s.zsplitShift;
    if (stat <= observed + gamma) less += dist[i];
    if (stat >= observed - gamma) greater += dist[i];
  }
  void nTotal;
  const clip = (p: number) => Math.min(1, Math.max(0, p));
  if (alternative === 'less') return clip(less);
  if (alternative === 'greater') return clip(greater);
  return clip(2 * Math.min(less, greater));
}

/** scipy.stats.wilcoxon of x − y (or x): statistic and p-value with scipy's zero_method, correction and method rules */
export function wilcoxon(
  x: ArrayLike<number>,
  y: ArrayLike<number> | null,
  opts: WilcoxonOptions = {},
): WilcoxonResult {
  const zeroMethod = opts.zeroMethod ?? 'wilcox';
  const correction = opts.correction ?? false;
  const alternative = opts.alternative ?? 'two-sided';
  let method: WilcoxonMethod = opts.method ?? 'auto';
  if (y && y.length !== x.length) throw new RangeError(`wilcoxon: x has ${x.length} values, y has ${y.length}`);
  const d: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = y ? x[i] - y[i] : x[i];
    if (!Number.isFinite(v)) throw new RangeError(`wilcoxon: non-finite difference at index ${i}`);
    d.push(v);
  }
  const n = d.length;
  if (n === 0) throw new RangeError('wilcoxon: no data');
  const nZero = d.filter((v) => v === 0).length;
  if (method === 'auto' && n > 50) method = 'approx';
  const s = signedRankStatistic(d, zeroMethod);
  if (method === 'auto') {
    if (!(s.hasTies || nZero > 0)) method = 'exact';
    else if (n <= 13) method = 'permutation';
    else method = 'approx';
  }
  let pvalue: number;
  let z: number | null = null;
  if (method === 'approx') {
    let zz = s.z;
    if (correction) {
      const sign = alternative === 'greater' ? 1 : alternative === 'less' ? -1 : Math.sign(zz);
      zz -= (sign * 0.5) / s.se;
    }
    if (alternative === 'less') pvalue = ndtr(zz);
    else if (alternative === 'greater') pvalue = normSf(zz);
    else pvalue = 2 * normSf(Math.abs(zz));
    z = alternative === 'two-sided' ? -Math.abs(zz) : zz;
  } else if (method === 'exact') {
    pvalue = exactPvalue(s.rPlus, s.count, alternative);
  } else {
    pvalue = permutationPvalue(s, n, alternative);
  }
  const statistic = alternative === 'two-sided' ? Math.min(s.rPlus, s.rMinus) : s.rPlus;
  return {
    statistic,
    pvalue,
    method: method as 'exact' | 'approx' | 'permutation',
    z,
    n,
    nZero,
    rPlus: s.rPlus,
    rMinus: s.rMinus,
  };
}
