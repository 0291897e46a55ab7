/**
 * Per-plan-type summary of a generated cohort's DVH numbers, checked against the clinical
 * ranges the cohort is built to meet (issue 2): PTV70 D95 in [66.5, 72] Gy, PTV56 D95 >= 53.2 Gy
 * (SIB), PTV50.4 D95 >= 47.88 Gy (nodal, v2.4), rectum V70 < 20 %, bladder V70 < 30 %.
 */
import type { CaseJobResult } from './cohort_job';

export interface MetricRange {
  metric: string;
  min?: number;
  max?: number;
  unit: string;
}

/** The clinical ranges the cohort is built to meet (Gy or %). */
export const COHORT_TARGETS: MetricRange[] = [
  { metric: 'PTV70_D95', min: 66.5, max: 72, unit: 'Gy' },
  { metric: 'PTV56_D95', min: 53.2, unit: 'Gy' },
  { metric: 'PTV50.4_D95', min: 47.88, unit: 'Gy' },
  { metric: 'Rectum_V70', max: 20, unit: '%' },
  { metric: 'Bladder_V70', max: 30, unit: '%' },
];

export interface MetricSummary {
  n: number;
  mean: number;
  min: number;
  max: number;
  /** cases outside the target range */
  outside: string[];
}

export type CohortSummary = Record<string, { cases: number; metrics: Record<string, MetricSummary> }>;

/** True when `v` lies in the range (upper limits of % metrics are strict). */
export function inRange(r: MetricRange, v: number): boolean {
  return (
    Number.isFinite(v) &&
    (r.min === undefined || v >= r.min) &&
    (r.max === undefined || (r.unit === '%' ? v < r.max : v <= r.max))
  );
}

/** Per plan type: n, mean, min and max of each COHORT_TARGETS metric, and the ids of cases outside its range. */
export function summariseCohort(cases: CaseJobResult[]): CohortSummary {
  const out: CohortSummary = {};
  const types = [...new Set(cases.map((c) => c.planType))].sort();
  for (const t of types) {
    const sel = cases.filter((c) => c.planType === t);
    const metrics: Record<string, MetricSummary> = {};
    for (const r of COHORT_TARGETS) {
      const vals = sel.filter((c) => r.metric in c.dvh).map((c) => ({ id: c.id, v: c.dvh[r.metric] }));
      if (!vals.length) continue;
      const xs = vals.map((x) => x.v);
      metrics[r.metric] = {
        n: xs.length,
        mean: xs.reduce((a, b) => a + b, 0) / xs.length,
        min: Math.min(...xs),
        max: Math.max(...xs),
        outside: vals.filter((x) => !inRange(r, x.v)).map((x) => x.id),
      };
    }
    out[t] = { cases: sel.length, metrics };
  }
  return out;
}

/** The cohort summary as text lines for the terminal. */
export function formatSummary(s: CohortSummary): string {
  const lines: string[] = [];
  for (const [t, { cases, metrics }] of Object.entries(s)) {
    lines.push(`${t} (${cases} case${cases === 1 ? '' : 's'})`);
    for (const r of COHORT_TARGETS) {
      const m = metrics[r.metric];
      if (!m) continue;
      const range =
        r.min !== undefined && r.max !== undefined
          ? `[${r.min}, ${r.max}]`
          : r.min !== undefined
            ? `>= ${r.min}`
            : `< ${r.max}`;
      const flag = m.outside.length ? `OUTSIDE ${range}: ${m.outside.join(', ')}` : `all within ${range}`;
      lines.push(
        `  ${r.metric.padEnd(12)} mean ${m.mean.toFixed(1).padStart(5)} ${r.unit.padEnd(2)} (min ${m.min.toFixed(1)}, max ${m.max.toFixed(1)})  ${flag}`,
      );
    }
  }
  return lines.join('\n');
}
