/**
 * Clinical constraint checks on the PREDICTED dose, in the reference's output structure
 * (scripts/eval_clinical.py, spec 7.6): `{overall_pass, compliance_rate (1 dp), structures{S:
 * {description, constraints_checked[{metric, constraint_type, limit, unit, predicted (2 dp),
 * passed, description}], passed}}, violations[...], missing[{structure, metric, reason}],
 * summary{total_constraints, passed, failed, not_evaluated}}`. Comparisons: min -> value >= limit,
 * max -> value <= limit. Absent or empty structures are `not_evaluated`.
 *
 * Tables (spec 7.6):
 *  - 'v2.3' (used for every reported result): PTV70/PTV56 D95 >= 95% Rx and V95 >= 95%, plus the
 *    same for PTV50.4 (the clinical-target table: PTV50.4 D95 >= 47.88 Gy);
 *  - 'head' (v2.4 HEAD): PTV70/PTV56/PTV50.4 V100 >= 95% and Dmax <= 107% Rx;
 *  - 'coverage': every PTV coverage check of the brief (D95 >= 95% Rx, V95 >= 95%, V100 >= 95%).
 *  OARs are the same in every table (QUANTEC-style, absolute Gy): Rectum V70 <= 15%, V60 <= 25%,
 *  V50 <= 50%, Dmax <= 75 Gy; Bladder V70 <= 25%, V60 <= 35%, V50 <= 50%, Dmax <= 75 Gy;
 *  Femur_L/Femur_R Dmax <= 50 Gy, V50 <= 5%; Bowel Dmax <= 52 Gy, V45 <= 195 cc.
 *
 * Defect fixed: the reference fixes the PTV dose levels at 70/56/50.4 Gy. Here the primary target's
 * level is the case's Rx (ptvLevelGy), the others their prescription / nominal dose; the PTV limits
 * (95% / 100% / 107% of the level) scale with it. With Rx 70 the limits equal the reference's (66.5, 53.2, 47.88, 74.9, 59.92,
 * 53.928 Gy). OAR limits stay absolute (tissue tolerances do not scale with the target dose).
 */
import { ptvLevelGy } from '../data/profiles';
import type { DvhMetricsEntry } from './dvh_metrics';

export type ConstraintTable = 'v2.3' | 'head' | 'coverage';

export interface ConstraintSpec {
  metric: string;
  constraint_type: 'min' | 'max';
  /** absolute limit, or a fraction of the PTV level when `relative` */
  limit: number;
  relative?: boolean;
  unit: 'Gy' | '%' | 'cc';
  description: string;
}

const pct = (x: number) => `${+(x * 100).toFixed(1)}%`;

function ptvSpecs(table: ConstraintTable): ConstraintSpec[] {
  const d95: ConstraintSpec = {
    metric: 'D95',
    constraint_type: 'min',
    limit: 0.95,
    relative: true,
    unit: 'Gy',
    description: 'D95 >= 95% of prescription',
  };
  const v95: ConstraintSpec = {
    metric: 'V95',
    constraint_type: 'min',
    limit: 95,
    unit: '%',
    description: 'V95% >= 95%',
  };
  const v100: ConstraintSpec = {
    metric: 'V100',
    constraint_type: 'min',
    limit: 95,
    unit: '%',
    description: 'V100% >= 95%',
  };
  const dmax: ConstraintSpec = {
    metric: 'Dmax',
    constraint_type: 'max',
    limit: 1.07,
    relative: true,
    unit: 'Gy',
    description: 'Dmax <= 107% of prescription',
  };
  if (table === 'v2.3') return [d95, v95];
  if (table === 'head') return [v100, dmax];
  return [d95, v95, v100];
}

const OAR_TABLE: Record<string, { description: string; constraints: ConstraintSpec[] }> = {
  Rectum: {
    description: 'Rectum (QUANTEC)',
    constraints: [
      { metric: 'V70', constraint_type: 'max', limit: 15, unit: '%', description: 'V70Gy <= 15%' },
      { metric: 'V60', constraint_type: 'max', limit: 25, unit: '%', description: 'V60Gy <= 25%' },
      { metric: 'V50', constraint_type: 'max', limit: 50, unit: '%', description: 'V50Gy <= 50%' },
      { metric: 'Dmax', constraint_type: 'max', limit: 75, unit: 'Gy', description: 'Dmax <= 75 Gy' },
    ],
  },
  Bladder: {
    description: 'Bladder (QUANTEC)',
    constraints: [
      { metric: 'V70', constraint_type: 'max', limit: 25, unit: '%', description: 'V70Gy <= 25%' },
      { metric: 'V60', constraint_type: 'max', limit: 35, unit: '%', description: 'V60Gy <= 35%' },
      { metric: 'V50', constraint_type: 'max', limit: 50, unit: '%', description: 'V50Gy <= 50%' },
      { metric: 'Dmax', constraint_type: 'max', limit: 75, unit: 'Gy', description: 'Dmax <= 75 Gy' },
    ],
  },
  Femur_L: {
    description: 'Left femoral head',
    constraints: [
      { metric: 'Dmax', constraint_type: 'max', limit: 50, unit: 'Gy', description: 'Dmax <= 50 Gy' },
      { metric: 'V50', constraint_type: 'max', limit: 5, unit: '%', description: 'V50Gy <= 5%' },
    ],
  },
  Femur_R: {
    description: 'Right femoral head',
    constraints: [
      { metric: 'Dmax', constraint_type: 'max', limit: 50, unit: 'Gy', description: 'Dmax <= 50 Gy' },
      { metric: 'V50', constraint_type: 'max', limit: 5, unit: '%', description: 'V50Gy <= 5%' },
    ],
  },
  Bowel: {
    description: 'Bowel bag',
    constraints: [
      { metric: 'Dmax', constraint_type: 'max', limit: 52, unit: 'Gy', description: 'Dmax <= 52 Gy' },
      { metric: 'V45_cc', constraint_type: 'max', limit: 195, unit: 'cc', description: 'V45Gy <= 195 cc' },
    ],
  },
};

/** The prostate targets, highest dose level first. */
export const PROSTATE_PTVS = ['PTV70', 'PTV56', 'PTV50.4'] as const;

export interface CheckedConstraint {
  metric: string;
  constraint_type: 'min' | 'max';
  limit: number;
  unit: string;
  predicted: number;
  passed: boolean;
  description: string;
}

export interface ClinicalResult {
  overall_pass: boolean;
  compliance_rate: number | null;
  table: ConstraintTable;
  structures: Record<string, { description: string; constraints_checked: CheckedConstraint[]; passed: boolean }>;
  violations: Array<CheckedConstraint & { structure: string }>;
  missing: Array<{ structure: string; metric: string; reason: string }>;
  summary: { total_constraints: number; passed: number; failed: number; not_evaluated: number };
}

/** value of a metric for the predicted dose from a dvh_metrics entry (Dmax -> pred_max_gy, V45_cc -> pred_V45_cc, X -> pred_X) */
function predictedValue(entry: DvhMetricsEntry, metric: string): number | null {
  const key = metric === 'Dmax' ? 'pred_max_gy' : `pred_${metric}`;
  const v = (entry as unknown as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Checks the constraint table against the predicted-dose DVH metrics of one case
 * (`dvh_metrics` as computed by dvh_metrics.ts, which holds pred_D95, pred_V95, pred_V70, …).
 */
export function checkClinicalConstraints(
  dvhMetrics: Record<string, DvhMetricsEntry>,
  rxGy: number,
  opts: { table?: ConstraintTable; prescriptions?: Array<{ structure: string; doseGy: number }> } = {},
): ClinicalResult {
  const table = opts.table ?? 'v2.3';
  const ptvList: Array<[string, { description: string; constraints: ConstraintSpec[] }]> = PROSTATE_PTVS.map((name) => [
    name,
    { description: `${name} coverage`, constraints: ptvSpecs(table) },
  ]);
  const all = [...ptvList, ...Object.entries(OAR_TABLE)];
  const res: ClinicalResult = {
    overall_pass: true,
    compliance_rate: null,
    table,
    structures: {},
    violations: [],
    missing: [],
    summary: { total_constraints: 0, passed: 0, failed: 0, not_evaluated: 0 },
  };
  for (const [name, spec] of all) {
    const entry = dvhMetrics[name];
    const level = ptvLevelGy(name, rxGy, opts.prescriptions);
    if (!entry || !entry.exists) {
      for (const c of spec.constraints) {
        res.missing.push({ structure: name, metric: c.metric, reason: 'structure absent or empty' });
        res.summary.not_evaluated++;
      }
      continue;
    }
    const checked: CheckedConstraint[] = [];
    for (const c of spec.constraints) {
      const value = predictedValue(entry, c.metric);
      if (value === null) {
        res.missing.push({ structure: name, metric: c.metric, reason: 'metric not computed' });
        res.summary.not_evaluated++;
        continue;
      }
      const limit = c.relative ? round((level ?? NaN) * c.limit, 4) : c.limit;
      const passed = c.constraint_type === 'min' ? value >= limit : value <= limit;
      const description = c.relative
        ? `${c.metric} ${c.constraint_type === 'min' ? '>=' : '<='} ${limit} Gy (${pct(c.limit)} of ${level} Gy)`
        : c.description;
      const item: CheckedConstraint = {
        metric: c.metric,
        constraint_type: c.constraint_type,
        limit,
        unit: c.unit,
        predicted: round(value, 2),
        passed,
        description,
      };
      checked.push(item);
      res.summary.total_constraints++;
      if (passed) res.summary.passed++;
      else {
        res.summary.failed++;
        res.violations.push({ structure: name, ...item });
      }
    }
    res.structures[name] = {
      description: spec.description,
      constraints_checked: checked,
      passed: checked.every((c) => c.passed),
    };
  }
  res.overall_pass = res.summary.failed === 0;
  res.compliance_rate = res.summary.total_constraints
    ? round((100 * res.summary.passed) / res.summary.total_constraints, 1)
    : null;
  return res;
}
