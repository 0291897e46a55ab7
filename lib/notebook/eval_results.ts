/**
 * Reading an evaluation JSON in the reference layout (spec 7.8, written by `vmat evaluate` /
 * `vmat infer --compute-metrics`) and pulling out the per-case series the report figures and
 * tables need. Only the fields read here are typed; everything else passes through.
 */
import * as fs from 'node:fs';
import { DataError } from '../core/errors';
import type { ConstraintRow, BoxPanel } from '../plot/metric_figures';

export interface GammaResult {
  gamma_pass_rate: number | null;
  [k: string]: unknown;
}

export interface ConstraintCheck {
  metric: string;
  constraint_type: 'min' | 'max' | string;
  limit: number;
  unit?: string;
  predicted: number | null;
  passed: boolean | null;
}

export interface ClinicalConstraints {
  overall_pass: boolean;
  compliance_rate?: number;
  structures?: Record<string, { constraints_checked: ConstraintCheck[]; passed?: boolean }>;
  missing?: Array<{ structure: string; metric: string; reason?: string }>;
  [k: string]: unknown;
}

export interface CaseResult {
  case_id: string;
  spacing_mm?: number[];
  dose_metrics: { mae_gy: number; per_structure_mae?: Record<string, number>; [k: string]: unknown };
  gamma?: { global_3mm3pct?: GammaResult; ptv_region_3mm3pct?: GammaResult; [k: string]: GammaResult | undefined };
  dvh_metrics?: Record<string, { exists?: boolean; [k: string]: unknown }>;
  clinical_constraints?: ClinicalConstraints;
  [k: string]: unknown;
}

export interface EvaluationResults {
  n_cases?: number;
  aggregate_metrics?: Record<string, unknown>;
  per_case_results: CaseResult[];
  [k: string]: unknown;
}

/** Reads an evaluation JSON (DataError when missing or without a `per_case_results` list). */
export function readEvaluation(file: string): EvaluationResults {
  if (!fs.existsSync(file))
    throw new DataError(
      file,
      null,
      'evaluation results (run `vmat evaluate` or `vmat infer --compute-metrics` first)',
      'no such file',
    );
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as EvaluationResults;
  if (!Array.isArray(j.per_case_results))
    throw new DataError(
      file,
      'per_case_results',
      'a list of per-case results',
      j.per_case_results === undefined ? 'no such key' : typeof j.per_case_results,
    );
  return j;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** value at a dot path such as 'dvh_metrics.PTV70.D95_error' (null when absent / not finite) */
export function metricAt(c: CaseResult, dotPath: string): number | null {
  let cur: unknown = c;
  for (const k of dotPath.split('.')) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[k];
  }
  return num(cur);
}

/** Dot paths of the headline metrics inside a per-case result. */
export const HEADLINE_METRICS = {
  mae: 'dose_metrics.mae_gy',
  globalGamma: 'gamma.global_3mm3pct.gamma_pass_rate',
  ptvGamma: 'gamma.ptv_region_3mm3pct.gamma_pass_rate',
  d95Error: 'dvh_metrics.PTV70.D95_error',
} as const;

export interface HeadlineSeries {
  caseIds: string[];
  mae: Array<number | null>;
  globalGamma: Array<number | null>;
  ptvGamma: Array<number | null>;
  d95Error: Array<number | null>;
  quantecPass: Array<boolean | null>;
}

/** The headline metrics per case (MAE in Gy, gamma pass rates in %, PTV70 D95 error in Gy, QUANTEC pass), in file order. */
export function headlineSeries(ev: EvaluationResults): HeadlineSeries {
  const cs = ev.per_case_results;
  return {
    caseIds: cs.map((c) => c.case_id),
    mae: cs.map((c) => metricAt(c, HEADLINE_METRICS.mae)),
    globalGamma: cs.map((c) => metricAt(c, HEADLINE_METRICS.globalGamma)),
    ptvGamma: cs.map((c) => metricAt(c, HEADLINE_METRICS.ptvGamma)),
    d95Error: cs.map((c) => metricAt(c, HEADLINE_METRICS.d95Error)),
    quantecPass: cs.map((c) =>
      typeof c.clinical_constraints?.overall_pass === 'boolean' ? c.clinical_constraints.overall_pass : null,
    ),
  };
}

/** the four panels of figure 6 */
export function boxPanels(s: HeadlineSeries): BoxPanel[] {
  return [
    { title: 'MAE', unit: 'MAE (Gy)', values: s.mae },
    { title: 'Global gamma 3%/3mm', unit: 'Pass rate (%)', values: s.globalGamma, refLine: 95 },
    { title: 'PTV-region gamma 3%/3mm', unit: 'Pass rate (%)', values: s.ptvGamma, refLine: 95 },
    { title: 'PTV70 D95 error (pred − GT)', unit: 'D95 error (Gy)', values: s.d95Error, refLine: 0 },
  ];
}

/**
 * Representative case of the single-case figures (spec 9.2): sort by `mae_gy`, take index
 * max(0, n//2 − 1), i.e. just below the median.
 */
export function representativeCase(ev: EvaluationResults): CaseResult {
  const sorted = [...ev.per_case_results]
    .filter((c) => num(c.dose_metrics?.mae_gy) !== null)
    .sort((a, b) => a.dose_metrics.mae_gy - b.dose_metrics.mae_gy);
  if (sorted.length === 0)
    throw new DataError(
      'evaluation results',
      'per_case_results[].dose_metrics.mae_gy',
      'at least one case with a finite MAE',
      'none',
    );
  return sorted[Math.max(0, Math.floor(sorted.length / 2) - 1)];
}

const METRIC_LABEL: Record<string, string> = { pred_max_gy: 'Dmax', pred_V45_cc: 'V45cc' };

function metricLabel(metric: string): string {
  return METRIC_LABEL[metric] ?? metric.replace(/^pred_/, '');
}

/** rows of figure 7 from each case's clinical_constraints */
export function constraintRows(ev: EvaluationResults): ConstraintRow[] {
  return ev.per_case_results.map((c) => {
    const cells: ConstraintRow['cells'] = [];
    const cc = c.clinical_constraints;
    for (const [struct, s] of Object.entries(cc?.structures ?? {})) {
      for (const k of s.constraints_checked ?? []) {
        const unit = k.unit ?? '';
        cells.push({
          column: `${struct} ${metricLabel(k.metric)}`,
          passed: k.passed,
          value: num(k.predicted),
          unit,
          limitText: `${k.constraint_type === 'min' ? '≥' : '≤'} ${k.limit}${unit ? ` ${unit}` : ''}`,
        });
      }
    }
    for (const m of cc?.missing ?? [])
      cells.push({ column: `${m.structure} ${metricLabel(m.metric)}`, passed: null, value: null });
    return { caseId: c.case_id, cells };
  });
}

/** Per-case MAE (Gy) inside one structure, null where the case lacks it. */
export function perStructureMae(ev: EvaluationResults, structure: string): Array<number | null> {
  return ev.per_case_results.map((c) => num(c.dose_metrics?.per_structure_mae?.[structure]));
}
