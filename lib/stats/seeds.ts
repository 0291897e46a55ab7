/**
 * Multi-seed aggregation and paired condition comparisons, as the pre-registered plan says
 * (spec 8.2; the reference's `aggregate_across_seeds` / `wilcoxon_comparison` / `compare_experiments`,
 * spec 8.1, with the standard Holm procedure):
 *  1. per case, the mean of the metric across the seeds that have the case (std ddof 1);
 *  2. summary over those per-case means: mean, std (ddof 1), bootstrap CI of the mean,
 *     n_cases_with_data; plus the per-seed means for reference.
 * Paired comparisons use the per-case means of two conditions on their common cases
 * (never pooled seed x case pairs, a defect of the reference's 2.5:1 aggregate, spec 8.3).
 * Means are summed in numpy's order (npsum.ts): per-case means that numpy finds equal are equal
 * here too, so the Wilcoxon ranks see the same ties and zero differences as scipy.
 */
import { sampleStandardDeviation } from 'simple-statistics';
import { npMean as mean } from './npsum';
import { bootstrapCi, type BootstrapOptions } from './bootstrap';
import { pairedCohensD, rankBiserial } from './effect_size';
import { holmBonferroni } from './holm';
import { wilcoxon, type WilcoxonOptions } from './wilcoxon';

/** per-seed results: one map case_id -> per-case result object per seed */
export type SeedResults = Array<Record<string, unknown>>;

/** value at a dot path such as 'dose_metrics.mae_gy' or 'dvh_metrics.PTV70.D95_error'; null when absent/non-numeric */
export function getPath(obj: unknown, dotPath: string): number | null {
  let cur: unknown = obj;
  // structure names may contain dots (PTV50.4): match the longest existing key first
  const parts = dotPath.split('.');
  for (let i = 0; i < parts.length;) {
    if (cur === null || typeof cur !== 'object') return null;
    let matched = false;
    for (let j = parts.length; j > i; j--) {
      const key = parts.slice(i, j).join('.');
      if (key in (cur as Record<string, unknown>)) {
        cur = (cur as Record<string, unknown>)[key];
        i = j;
        matched = true;
        break;
      }
    }
    if (!matched) return null;
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : null;
}

export interface MetricAggregate {
  metric: string;
  mean: number | null;
  std: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n_cases_with_data: number;
  per_case: Record<string, { mean: number; std: number | null; n_seeds: number }>;
  per_seed_means: Array<number | null>;
}

/** the per-case evaluation metrics aggregated by default (dot paths into the evaluation JSON) */
export const DEFAULT_METRIC_KEYS = [
  'dose_metrics.mae_gy',
  'dose_metrics.rmse_gy',
  'dose_metrics.max_error_gy',
  'gamma.global_3mm3pct.gamma_pass_rate',
  'gamma.ptv_region_3mm3pct.gamma_pass_rate',
  'clinical_constraints.compliance_rate',
  'dvh_metrics.PTV70.D95_error',
  'dvh_metrics.PTV70.pred_D95',
  'dvh_metrics.PTV56.D95_error',
  'dvh_metrics.PTV56.pred_D95',
  'dvh_metrics.Rectum.pred_V70',
  'dvh_metrics.Bladder.pred_V70',
];

/**
 * Per-case means across seeds first (ddof-1 SD per case), then mean, sample SD (ddof 1) and
 * bootstrap CI of those case means, per metric; the per-seed means beside them (spec 8.1, corrected).
 */
export function aggregateAcrossSeeds(
  seeds: SeedResults,
  metricKeys: string[] = DEFAULT_METRIC_KEYS,
  bootstrap: BootstrapOptions = { resamples: 10000, seed: 42 },
): Record<string, MetricAggregate> {
  const caseIds = [...new Set(seeds.flatMap((s) => Object.keys(s)))].sort();
  const out: Record<string, MetricAggregate> = {};
  for (const metric of metricKeys) {
    const perCase: MetricAggregate['per_case'] = {};
    for (const id of caseIds) {
      const vals = seeds.map((s) => (id in s ? getPath(s[id], metric) : null)).filter((v): v is number => v !== null);
      if (!vals.length) continue;
      perCase[id] = {
        mean: mean(vals),
        std: vals.length > 1 ? sampleStandardDeviation(vals) : null,
        n_seeds: vals.length,
      };
    }
    const caseMeans = Object.values(perCase).map((c) => c.mean);
    const ci = caseMeans.length ? bootstrapCi(caseMeans, { statistic: 'mean', ...bootstrap }) : null;
    out[metric] = {
      metric,
      mean: caseMeans.length ? mean(caseMeans) : null,
      std: caseMeans.length > 1 ? sampleStandardDeviation(caseMeans) : null,
      ci_low: ci ? ci.low : null,
      ci_high: ci ? ci.high : null,
      n_cases_with_data: caseMeans.length,
      per_case: perCase,
      per_seed_means: seeds.map((s) => {
        const v = Object.values(s)
          .map((c) => getPath(c, metric))
          .filter((x): x is number => x !== null);
        return v.length ? mean(v) : null;
      }),
    };
  }
  return out;
}

export interface PairedComparison {
  metric: string;
  n_pairs: number;
  statistic: number | null;
  p_value: number | null;
  method: string | null;
  p_adjusted: number | null;
  significant: boolean | null;
  alpha: number;
  rank_biserial: number | null;
  cohens_d: number | null;
  mean_diff: number | null;
  /** percentile bootstrap CI of the mean paired difference (A - B), when `bootstrap` is given */
  mean_diff_ci_low?: number | null;
  mean_diff_ci_high?: number | null;
  std_diff: number | null;
  direction: 'A > B' | 'A < B' | 'A = B' | null;
  mean_a: number | null;
  mean_b: number | null;
  error?: string;
}

/**
 * Wilcoxon on the per-case means of A and B over their common cases (>= 6 pairs, as the reference
 * required), paired Cohen's d and the mean difference A - B; with `bootstrap`, also the percentile
 * bootstrap CI of the mean difference (cases resampled, as `bootstrapCi`).
 */
export function compareAggregates(
  a: MetricAggregate,
  b: MetricAggregate,
  opts: WilcoxonOptions & { alpha?: number; minPairs?: number; bootstrap?: BootstrapOptions } = {},
): PairedComparison {
  const alpha = opts.alpha ?? 0.05;
  const common = Object.keys(a.per_case)
    .filter((id) => id in b.per_case)
    .sort();
  const xa = common.map((id) => a.per_case[id].mean);
  const xb = common.map((id) => b.per_case[id].mean);
  const base: PairedComparison = {
    metric: a.metric,
    n_pairs: common.length,
    statistic: null,
    p_value: null,
    method: null,
    p_adjusted: null,
    significant: null,
    alpha,
    rank_biserial: null,
    cohens_d: null,
    mean_diff: null,
    std_diff: null,
    direction: null,
    mean_a: xa.length ? mean(xa) : null,
    mean_b: xb.length ? mean(xb) : null,
  };
  if (common.length < (opts.minPairs ?? 6))
    return { ...base, error: `needs >= ${opts.minPairs ?? 6} paired cases, found ${common.length}` };
  const d = xa.map((v, i) => v - xb[i]);
  const w = wilcoxon(xa, xb, opts);
  const md = mean(d);
  const ci = opts.bootstrap ? bootstrapCi(d, { statistic: 'mean', ...opts.bootstrap }) : null;
  return {
    ...base,
    ...(ci ? { mean_diff_ci_low: ci.low, mean_diff_ci_high: ci.high } : {}),
    statistic: w.statistic,
    p_value: w.pvalue,
    method: w.method,
    rank_biserial: rankBiserial(xa, xb),
    cohens_d: pairedCohensD(xa, xb),
    mean_diff: md,
    std_diff: sampleStandardDeviation(d),
    direction: md > 0 ? 'A > B' : md < 0 ? 'A < B' : 'A = B',
  };
}

/** compare several metrics and apply the standard Holm-Bonferroni procedure across them */
export function compareConditions(
  a: Record<string, MetricAggregate>,
  b: Record<string, MetricAggregate>,
  metrics: string[],
  opts: WilcoxonOptions & { alpha?: number } = {},
): PairedComparison[] {
  const res = metrics.map((m) => compareAggregates(a[m], b[m], opts));
  const tested = res.filter((r) => r.p_value !== null);
  const holm = holmBonferroni(
    tested.map((r) => r.p_value as number),
    opts.alpha ?? 0.05,
  );
  tested.forEach((r, i) => {
    r.p_adjusted = holm.pAdjusted[i];
    r.significant = holm.significant[i];
  });
  return res;
}
