/**
 * Summary statistics of an OpenKBP score for reports and model cards: bootstrap 95% CIs by
 * resampling patients (percentile method, RandomState(42) indices as lib/stats/bootstrap.ts) —
 * the dose score is a mean over patients; the DVH score is the pooled mean over all cells of the
 * resampled patients (openkbp.md 2.2) — and the mean error per DVH metric kind and per structure.
 */
import { bootstrapCi } from '../stats/bootstrap';
import { RandomState } from '../stats/prng';
import { percentileSorted } from '../stats/percentile';
import type { OpenKbpScore } from '../eval/openkbp_score';

export interface Ci {
  estimate: number;
  low: number;
  high: number;
}

/** The OpenKBP test-phase reference points of reports (dose and DVH scores in Gy). */
export const LEADERBOARD = {
  winner: { team: 'LSL AnHui University (C3D)', dose_score: 2.4294, dvh_score: 1.4776 },
  median_dose_score_28_teams: 3.08,
  source: 'OpenKBP final test-phase leaderboard (100 test patients), openkbp.md 4.1',
} as const;

/** Bootstrap 95% CIs (percentile, resampling patients) of the dose score and the DVH score (Gy). */
export function openKbpScoreCis(
  s: Pick<OpenKbpScore, 'per_patient'>,
  resamples = 9999,
  seed = 42,
): { dose: Ci; dvh: Ci } {
  const ids = Object.keys(s.per_patient);
  const doseErr = ids.map((id) => s.per_patient[id].dose_error);
  const d = bootstrapCi(doseErr, { resamples, seed });
  const sums = ids.map((id) => Object.values(s.per_patient[id].dvh_errors).reduce((a, b) => a + b, 0));
  const counts = ids.map((id) => Object.keys(s.per_patient[id].dvh_errors).length);
  const pooled = (idx: ArrayLike<number>) => {
    let a = 0;
    let n = 0;
    for (let i = 0; i < idx.length; i++) {
      a += sums[idx[i]];
      n += counts[idx[i]];
    }
    return a / n;
  };
  const all = Array.from({ length: ids.length }, (_, i) => i);
  const rng = new RandomState(seed);
  const boot = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) boot[b] = pooled(rng.randint(0, ids.length, ids.length));
  boot.sort();
  return {
    dose: { estimate: d.estimate, low: d.low, high: d.high },
    dvh: { estimate: pooled(all), low: percentileSorted(boot, 2.5), high: percentileSorted(boot, 97.5) },
  };
}

/** mean |error| per DVH metric kind (D_99, D_95, D_1, D_0.1_cc, mean) and per structure */
export function dvhErrorBreakdown(s: Pick<OpenKbpScore, 'per_patient'>): {
  byMetric: Record<string, { mean: number; n: number }>;
  byStructure: Record<string, Record<string, number>>;
} {
  const acc = new Map<string, number[]>();
  const byRoi = new Map<string, Map<string, number[]>>();
  for (const p of Object.values(s.per_patient))
    for (const [k, v] of Object.entries(p.dvh_errors)) {
      const [metric, roi] = k.split('|');
      if (!acc.has(metric)) acc.set(metric, []);
      acc.get(metric)!.push(v);
      if (!byRoi.has(roi)) byRoi.set(roi, new Map());
      const r = byRoi.get(roi)!;
      if (!r.has(metric)) r.set(metric, []);
      r.get(metric)!.push(v);
    }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const byMetric = Object.fromEntries([...acc].map(([k, v]) => [k, { mean: mean(v), n: v.length }]));
  const byStructure = Object.fromEntries(
    [...byRoi].map(([roi, m]) => [roi, Object.fromEntries([...m].map(([k, v]) => [k, mean(v)]))]),
  );
  return { byMetric, byStructure };
}
