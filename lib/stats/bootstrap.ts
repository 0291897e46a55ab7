/**
 * Bootstrap confidence intervals (case resampling with replacement).
 *  - percentile: the (alpha/2, 1 - alpha/2) quantiles (numpy 'linear') of the bootstrap
 *    distribution — the reference's `bootstrap_ci` (10,000 resamples of the mean,
 *    RandomState(42).randint(0, n, n) per resample; same generator here, see prng.ts);
 *  - bca: bias-corrected and accelerated, as scipy.stats.bootstrap(method='BCa') computes it
 *    (`_bca_interval`: z0 = ndtri(percentile-of-score 'mean' kind of theta_hat among the replicates),
 *    acceleration from the jackknife, alpha_i = ndtr(z0 + (z0 + z_a) / (1 - a (z0 + z_a)))).
 * Resampled indices come from the seeded generator, so results are reproducible; scipy's own
 * generator differs, so agreement with scipy is checked on shared resample indices.
 * Mean and median are computed in numpy's summation order (npsum.ts) so that replicate-vs-estimate
 * comparisons and the reference's CI reproduce exactly.
 */
import { ndtr, ndtri } from './normal';
import { percentileSorted } from './percentile';
import { RandomState } from './prng';
import { npMean, npMedian } from './npsum';

export type BootstrapStatistic = 'mean' | 'median';
export type BootstrapMethod = 'percentile' | 'bca';

export interface BootstrapOptions {
  statistic?: BootstrapStatistic;
  resamples?: number;
  /** confidence level in % (default 95) */
  ci?: number;
  method?: BootstrapMethod;
  seed?: number;
  /** resample indices to use instead of drawing them (resamples x n), for peer checks */
  indices?: ArrayLike<number>[];
}

export interface BootstrapResult {
  low: number;
  high: number;
  estimate: number;
  method: BootstrapMethod;
  statistic: BootstrapStatistic;
  resamples: number;
  ci: number;
  seed: number;
}

function statFn(kind: BootstrapStatistic): (v: number[]) => number {
  return kind === 'mean' ? npMean : npMedian;
}

/** bootstrap confidence interval of a statistic of x (percentile or BCa; seeded numpy-compatible resampling) */
export function bootstrapCi(x: ArrayLike<number>, opts: BootstrapOptions = {}): BootstrapResult {
  const statistic = opts.statistic ?? 'mean';
  const resamples = opts.indices ? opts.indices.length : (opts.resamples ?? 9999);
  const ci = opts.ci ?? 95;
  const method = opts.method ?? 'percentile';
  const seed = opts.seed ?? 42;
  const data = Array.from(x);
  const n = data.length;
  if (n === 0) throw new RangeError('bootstrap: no data');
  if (data.some((v) => !Number.isFinite(v))) throw new RangeError('bootstrap: data contain NaN or infinite values');
  if (!(ci > 0 && ci < 100)) throw new RangeError(`bootstrap: ci must be in (0, 100), found ${ci}`);
  if (!(resamples >= 1)) throw new RangeError(`bootstrap: resamples must be >= 1, found ${resamples}`);
  const f = statFn(statistic);
  const estimate = f(data);
  if (n < 2) return { low: estimate, high: estimate, estimate, method, statistic, resamples, ci, seed };
  const rng = new RandomState(seed);
  const boot = new Float64Array(resamples);
  const sample = new Array<number>(n);
  for (let b = 0; b < resamples; b++) {
    const idx = opts.indices ? opts.indices[b] : rng.randint(0, n, n);
    for (let i = 0; i < n; i++) sample[i] = data[idx[i]];
    boot[b] = f(sample);
  }
  const sorted = Float64Array.from(boot).sort();
  const alpha = (1 - ci / 100) / 2;
  let a1 = alpha;
  let a2 = 1 - alpha;
  if (method === 'bca') [a1, a2] = bcaLevels(data, f, estimate, boot, alpha);
  if (!Number.isFinite(a1) || !Number.isFinite(a2))
    return { low: NaN, high: NaN, estimate, method, statistic, resamples, ci, seed };
  return {
    low: percentileSorted(sorted, 100 * a1),
    high: percentileSorted(sorted, 100 * a2),
    estimate,
    method,
    statistic,
    resamples,
    ci,
    seed,
  };
}

/** scipy `_bca_interval`: adjusted quantile levels for the BCa interval */
export function bcaLevels(
  data: number[],
  f: (v: number[]) => number,
  thetaHat: number,
  boot: ArrayLike<number>,
  alpha: number,
): [number, number] {
  const B = boot.length;
  let below = 0;
  let atOrBelow = 0;
  for (let i = 0; i < B; i++) {
    if (boot[i] < thetaHat) below++;
    if (boot[i] <= thetaHat) atOrBelow++;
  }
  const z0 = ndtri((below + atOrBelow) / (2 * B));
  const n = data.length;
  const jack = new Float64Array(n);
  for (let i = 0; i < n; i++) jack[i] = f(data.filter((_, j) => j !== i));
  let jm = 0;
  for (const v of jack) jm += v;
  jm /= n;
  let num = 0;
  let den = 0;
  for (const v of jack) {
    const u = (n - 1) * (jm - v);
    num += u * u * u;
    den += u * u;
  }
  const aHat = ((1 / 6) * (num / n ** 3)) / (den / n ** 2) ** 1.5;
  const zA = ndtri(alpha);
  const n1 = z0 + zA;
  const n2 = z0 - zA;
  return [ndtr(z0 + n1 / (1 - aHat * n1)), ndtr(z0 + n2 / (1 - aHat * n2))];
}
