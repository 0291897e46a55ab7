/**
 * The pre-registered analysis of a study (spec 8.1-8.2, done as the plan says rather than as the
 * reference did, spec 8.3), from the per-case results of every run:
 *  - per condition and metric: per case, the mean across the seeds that have the case; then the mean
 *    and sample SD (ddof 1) of those per-case means, a percentile bootstrap CI of their mean, and
 *    the per-seed means (lib/stats/seeds.ts `aggregateAcrossSeeds`);
 *  - each planned comparison (condition minus comparator, per metric): two-sided paired Wilcoxon on
 *    the per-case means over the common cases (scipy semantics, lib/stats/wilcoxon.ts), refused
 *    below `min_pairs` (>= 6); paired Cohen's d, mean difference with a bootstrap CI; standard
 *    step-down Holm within each family of the plan, per metric;
 *  - the decision rules of the plan, applied and stated in words; the 5-seed extension rule
 *    (|effect| < ratio x the seed-to-seed SD of the effect).
 * Numbers are not rounded. Metrics with `abs` are analysed as |value| (per case and seed first).
 */
import { sampleStandardDeviation } from 'simple-statistics';
import { npMean as mean } from '../stats/npsum';
import { holmBonferroni } from '../stats/holm';
import { aggregateAcrossSeeds, compareAggregates, getPath, type MetricAggregate } from '../stats/seeds';
import type { DecisionRuleSpec, MetricSpec } from './schema';
import { metricId, type PlannedComparison } from './study';

/** per-case results of one finished run */
export interface RunResults {
  run: string;
  condition: string;
  seed: number;
  /** case_id -> per-case result object of the evaluation JSON */
  cases: Record<string, unknown>;
}

export interface AnalysisPlan {
  reference: string;
  conditions: string[];
  seeds: number[];
  metrics: MetricSpec[];
  /** ids (metricId) of the primary metrics */
  primary: string[];
  alpha: number;
  minPairs: number;
  bootstrap: { resamples: number; seed: number; ci: number };
  comparisons: PlannedComparison[];
  decisionRules: DecisionRuleSpec[];
  seedExtension: { ratio: number; extra_seeds: number[] } | null;
}

export interface ConditionAggregate {
  metric: string;
  mean: number | null;
  sd: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n_cases: number;
  seeds: number[];
  per_seed_means: Record<string, number | null>;
  /** per case: mean and SD (ddof 1) across seeds */
  per_case: Record<string, { mean: number; std: number | null; n_seeds: number }>;
  /** per seed, per case value (for figures with seeds) */
  per_seed_case: Record<string, Record<string, number>>;
}

export interface ComparisonResult {
  family: string;
  condition: string;
  against: string;
  metric: string;
  better: 'lower' | 'higher';
  primary: boolean;
  n_pairs: number;
  statistic: number | null;
  p_value: number | null;
  method: string | null;
  p_holm: number | null;
  /** rejected by the family's Holm procedure at alpha */
  significant: boolean | null;
  alpha: number;
  cohens_d: number | null;
  rank_biserial: number | null;
  /** mean over cases of (condition - against) per-case means */
  mean_diff: number | null;
  mean_diff_ci_low: number | null;
  mean_diff_ci_high: number | null;
  sd_diff: number | null;
  mean_condition: number | null;
  mean_against: number | null;
  /** which side the mean difference favours, given `better` */
  favours: 'condition' | 'against' | 'neither' | null;
  per_seed_mean_diff: Record<string, number>;
  /** sample SD across seeds of the per-seed mean differences */
  seed_sd_of_diff: number | null;
  /** why no test was computed */
  refused: string | null;
}

export interface RuleOutcome {
  id: string;
  kind: DecisionRuleSpec['kind'];
  outcome: string;
  statement: string;
  details: Record<string, unknown>;
}

export interface SeedExtension {
  ratio: number;
  extra_seeds: number[];
  needed: Array<{
    family: string;
    condition: string;
    against: string;
    metric: string;
    abs_effect: number;
    seed_sd: number;
  }>;
  conditions: string[];
  statement: string;
}

export interface StudyAnalysis {
  aggregates: Record<string, Record<string, ConditionAggregate>>;
  comparisons: ComparisonResult[];
  /** comparisons the decision rules needed that are not in a family of the plan */
  supplementary: ComparisonResult[];
  decisions: RuleOutcome[];
  seed_extension: SeedExtension | null;
  deviations: string[];
}

/** value of a metric in a per-case result (|value| for abs metrics), null when missing */
export function metricValue(caseResult: unknown, m: MetricSpec): number | null {
  const v = getPath(caseResult, m.path);
  return v === null ? null : m.abs ? Math.abs(v) : v;
}

function sd(v: number[]): number | null {
  return v.length > 1 ? sampleStandardDeviation(v) : null;
}

/** the analysis of a study from the per-case results of its finished runs */
export function analyseStudy(plan: AnalysisPlan, results: RunResults[]): StudyAnalysis {
  const deviations: string[] = [];
  const ids = plan.metrics.map(metricId);
  const specOf = new Map(plan.metrics.map((m) => [metricId(m), m]));

  // per condition: one {case: {metricId: value}} map per seed (seed order of the plan)
  const perCondition = new Map<string, Array<{ seed: number; cases: Record<string, Record<string, number>> }>>();
  for (const c of plan.conditions) {
    const seeds: Array<{ seed: number; cases: Record<string, Record<string, number>> }> = [];
    for (const seed of plan.seeds) {
      const r = results.find((x) => x.condition === c && x.seed === seed);
      if (!r) continue;
      const cases: Record<string, Record<string, number>> = {};
      for (const [caseId, res] of Object.entries(r.cases)) {
        const row: Record<string, number> = {};
        for (const m of plan.metrics) {
          const v = metricValue(res, m);
          if (v !== null) row[metricId(m)] = v;
        }
        cases[caseId] = row;
      }
      seeds.push({ seed, cases });
    }
    perCondition.set(c, seeds);
  }

  const aggStats = new Map<string, Record<string, MetricAggregate>>();
  const aggregates: StudyAnalysis['aggregates'] = {};
  for (const [c, seeds] of perCondition) {
    if (!seeds.length) continue;
    const a = aggregateAcrossSeeds(
      seeds.map((s) => s.cases),
      ids,
      plan.bootstrap,
    );
    aggStats.set(c, a);
    aggregates[c] = {};
    for (const id of ids) {
      const x = a[id];
      aggregates[c][id] = {
        metric: id,
        mean: x.mean,
        sd: x.std,
        ci_low: x.ci_low,
        ci_high: x.ci_high,
        n_cases: x.n_cases_with_data,
        seeds: seeds.map((s) => s.seed),
        per_seed_means: Object.fromEntries(seeds.map((s, i) => [String(s.seed), x.per_seed_means[i]])),
        per_case: x.per_case,
        per_seed_case: Object.fromEntries(
          seeds.map((s) => [
            String(s.seed),
            Object.fromEntries(
              Object.entries(s.cases)
                .filter(([, row]) => id in row)
                .map(([k, row]) => [k, row[id]]),
            ),
          ]),
        ),
      };
    }
  }

  const compare = (family: string, condition: string, against: string, id: string): ComparisonResult => {
    const m = specOf.get(id)!;
    const base: ComparisonResult = {
      family,
      condition,
      against,
      metric: id,
      better: m.better,
      primary: plan.primary.includes(id),
      n_pairs: 0,
      statistic: null,
      p_value: null,
      method: null,
      p_holm: null,
      significant: null,
      alpha: plan.alpha,
      cohens_d: null,
      rank_biserial: null,
      mean_diff: null,
      mean_diff_ci_low: null,
      mean_diff_ci_high: null,
      sd_diff: null,
      mean_condition: null,
      mean_against: null,
      favours: null,
      per_seed_mean_diff: {},
      seed_sd_of_diff: null,
      refused: null,
    };
    const A = aggStats.get(condition);
    const B = aggStats.get(against);
    if (!A || !B) return { ...base, refused: `no finished run of ${!A ? condition : against}` };
    const r = compareAggregates(A[id], B[id], {
      alpha: plan.alpha,
      minPairs: plan.minPairs,
      bootstrap: plan.bootstrap,
    });
    // seed-to-seed variation of the effect: per seed, the mean paired difference over common cases
    const perSeed: Record<string, number> = {};
    const sa = perCondition.get(condition)!;
    const sb = perCondition.get(against)!;
    for (const x of sa) {
      const y = sb.find((t) => t.seed === x.seed);
      if (!y) continue;
      const d = Object.keys(x.cases)
        .filter((k) => id in x.cases[k] && y.cases[k] && id in y.cases[k])
        .sort()
        .map((k) => x.cases[k][id] - y.cases[k][id]);
      if (d.length) perSeed[String(x.seed)] = mean(d);
    }
    const md = r.mean_diff;
    const favours =
      md === null ? null : md === 0 ? 'neither' : md < 0 === (m.better === 'lower') ? 'condition' : 'against';
    return {
      ...base,
      n_pairs: r.n_pairs,
      statistic: r.statistic,
      p_value: r.p_value,
      method: r.method,
      cohens_d: r.cohens_d,
      rank_biserial: r.rank_biserial,
      mean_diff: md,
      mean_diff_ci_low: r.mean_diff_ci_low ?? null,
      mean_diff_ci_high: r.mean_diff_ci_high ?? null,
      sd_diff: r.std_diff,
      mean_condition: r.mean_a,
      mean_against: r.mean_b,
      favours,
      per_seed_mean_diff: perSeed,
      seed_sd_of_diff: sd(Object.values(perSeed)),
      refused: r.error ?? null,
    };
  };

  /** standard Holm over the tested comparisons of each (family, metric) group, in place */
  const holmWithin = (list: ComparisonResult[]) => {
    const groups = new Map<string, ComparisonResult[]>();
    for (const c of list) {
      const k = `${c.family}\u0000${c.metric}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(c);
    }
    for (const g of groups.values()) {
      const tested = g.filter((c) => c.p_value !== null);
      if (!tested.length) continue;
      const h = holmBonferroni(
        tested.map((c) => c.p_value as number),
        plan.alpha,
      );
      tested.forEach((c, i) => {
        c.p_holm = h.pAdjusted[i];
        c.significant = h.significant[i];
      });
    }
  };

  const comparisons: ComparisonResult[] = [];
  for (const pc of plan.comparisons)
    for (const id of ids) comparisons.push(compare(pc.family, pc.condition, pc.against, id));
  holmWithin(comparisons);
  for (const c of comparisons)
    if (c.refused)
      deviations.push(
        `${c.family}: ${c.condition} vs ${c.against} on ${c.metric} not tested: ${c.refused} (the plan requires >= ${plan.minPairs} pairs)`,
      );

  // decision rules
  const supplementary: ComparisonResult[] = [];
  const decisions: RuleOutcome[] = [];
  const find = (condition: string, against: string, id: string): ComparisonResult | null =>
    comparisons.find((c) => c.condition === condition && c.against === against && c.metric === id) ?? null;
  for (const rule of plan.decisionRules) {
    if (rule.kind === 'beats_on_primary') {
      const rows: ComparisonResult[] = [];
      let unplanned = false;
      for (const id of plan.primary) {
        let c = find(rule.condition, rule.against, id);
        if (!c) {
          unplanned = true;
          c = compare(`rule:${rule.id}`, rule.condition, rule.against, id);
          supplementary.push(c);
        }
        rows.push(c);
      }
      if (unplanned) {
        holmWithin(supplementary.filter((c) => c.family === `rule:${rule.id}`));
        deviations.push(
          `decision rule ${rule.id}: ${rule.condition} vs ${rule.against} is not in a family of the plan; tested as a supplementary family of its own`,
        );
      }
      const pOf = (c: ComparisonResult) => (rule.p === 'raw' ? c.p_value : c.p_holm);
      const pLabel = rule.p === 'raw' ? 'unadjusted' : 'Holm-adjusted';
      const untested = rows.filter((c) => pOf(c) === null);
      const beats = rows.filter(
        (c) => pOf(c) !== null && (pOf(c) as number) < rule.p_threshold && c.favours === 'condition',
      );
      const names = (l: ComparisonResult[]) => l.map((c) => c.metric).join(', ');
      let outcome: string;
      let statement: string;
      if (untested.length) {
        outcome = 'not_evaluable';
        statement = `Not evaluable: ${rule.condition} vs ${rule.against} could not be tested on ${names(untested)} (${untested[0].refused ?? 'no p-value'}).`;
        deviations.push(`decision rule ${rule.id} not evaluable: ${untested.length} primary comparison(s) untested`);
      } else if (beats.length === rows.length) {
        outcome = 'primary_finding';
        statement = `Primary finding: ${rule.condition} beats ${rule.against} on all ${rows.length} primary metrics (${pLabel} p < ${rule.p_threshold}, in the better direction): ${names(beats)}.`;
      } else if (beats.length) {
        outcome = 'report_both';
        statement = `Mixed result: ${rule.condition} beats ${rule.against} on ${beats.length} of ${rows.length} primary metrics (${names(beats)}; ${pLabel} p < ${rule.p_threshold}) but not on ${names(rows.filter((c) => !beats.includes(c)))}; both conditions are reported.`;
      } else {
        outcome = 'negative_result';
        statement = `Negative result: ${rule.condition} does not beat ${rule.against} on any primary metric at ${pLabel} p < ${rule.p_threshold}.`;
      }
      decisions.push({
        id: rule.id,
        kind: rule.kind,
        outcome,
        statement,
        details: {
          condition: rule.condition,
          against: rule.against,
          p_threshold: rule.p_threshold,
          p: rule.p,
          metrics: rows.map((c) => ({ metric: c.metric, p: pOf(c), favours: c.favours, mean_diff: c.mean_diff })),
        },
      });
    } else if (rule.kind === 'single_matches_full') {
      const fam = `rule:${rule.id}`;
      const rows: ComparisonResult[] = [];
      for (const single of rule.singles)
        for (const id of plan.primary) {
          const c = find(single, rule.full, id) ?? compare(fam, single, rule.full, id);
          if (c.family === fam) supplementary.push(c);
          rows.push(c);
        }
      holmWithin(supplementary.filter((c) => c.family === fam));
      if (rows.some((c) => c.family === fam))
        deviations.push(
          `decision rule ${rule.id}: each single component vs ${rule.full} is not in a family of the plan; tested as a supplementary family (Holm across the singles, per metric)`,
        );
      const matches: string[] = [];
      const worse: string[] = [];
      const untestable: string[] = [];
      for (const single of rule.singles) {
        const mine = rows.filter((c) => c.condition === single);
        if (mine.some((c) => c.p_holm === null)) untestable.push(single);
        else if (mine.some((c) => c.significant && c.favours === 'against')) worse.push(single);
        else matches.push(single);
      }
      const outcome =
        untestable.length === rule.singles.length
          ? 'not_evaluable'
          : matches.length
            ? 'simpler_is_better'
            : 'full_needed';
      const statement =
        outcome === 'not_evaluable'
          ? `Not evaluable: no single component could be tested against ${rule.full}.`
          : matches.length
            ? `Simpler is better: ${matches.join(', ')} ${matches.length > 1 ? 'match' : 'matches'} ${rule.full} on every primary metric (no significant difference in favour of ${rule.full}, Holm-adjusted, alpha ${plan.alpha}; equivalence itself was not tested).`
            : `${rule.full} is needed: every single component is significantly worse than ${rule.full} on at least one primary metric.`;
      decisions.push({
        id: rule.id,
        kind: rule.kind,
        outcome,
        statement,
        details: { full: rule.full, matches, worse, untestable },
      });
    } else {
      decisions.push({
        id: rule.id,
        kind: rule.kind,
        outcome: 'not_evaluable',
        statement: `Not evaluable in this study: the cross-institution drop of ${rule.condition} needs test cases from a second institution (an external test set), which the study's evaluation results do not identify.`,
        details: { condition: rule.condition, max_drop: rule.max_drop },
      });
      deviations.push(
        `decision rule ${rule.id} (cross-institution drop) not evaluable: no second-institution test set`,
      );
    }
  }

  // 5-seed extension rule
  let seedExtension: SeedExtension | null = null;
  if (plan.seedExtension) {
    const { ratio, extra_seeds } = plan.seedExtension;
    const needed: SeedExtension['needed'] = [];
    for (const c of comparisons) {
      if (!c.primary || c.mean_diff === null || c.seed_sd_of_diff === null) continue;
      if (Math.abs(c.mean_diff) < ratio * c.seed_sd_of_diff)
        needed.push({
          family: c.family,
          condition: c.condition,
          against: c.against,
          metric: c.metric,
          abs_effect: Math.abs(c.mean_diff),
          seed_sd: c.seed_sd_of_diff,
        });
    }
    const conds = [...new Set(needed.flatMap((n) => [n.condition, n.against]))].sort();
    const have = extra_seeds.every((x) => plan.seeds.includes(x));
    const statement = !needed.length
      ? `No extension needed: every primary effect is at least ${ratio}x its seed-to-seed SD (or could not be assessed).`
      : have
        ? `${needed.length} primary effect(s) are below ${ratio}x their seed-to-seed SD; the study already has the extension seeds (${extra_seeds.join(', ')}).`
        : `Extend to ${plan.seeds.length + extra_seeds.length} seeds: ${needed.length} primary effect(s) are below ${ratio}x their seed-to-seed SD (${needed
            .slice(0, 4)
            .map((n) => `${n.condition} vs ${n.against} on ${n.metric}`)
            .join(
              '; ',
            )}${needed.length > 4 ? '; …' : ''}). Add seeds ${extra_seeds.join(', ')} to the study file and run it again (conditions involved: ${conds.join(', ')}).`;
    seedExtension = { ratio, extra_seeds, needed, conditions: conds, statement };
  }

  return { aggregates, comparisons, supplementary, decisions, seed_extension: seedExtension, deviations };
}
