/**
 * The computed text of the report notebooks: judgements of a change between two runs (one rule per
 * metric, shared by the tables and the generated conclusions so they cannot contradict each other),
 * the clinical-constraint failure summary, the ground-truth coverage check, observations on the
 * training curves and the single-case dose maps, the D95 progression table, the plan-type
 * breakdown and the previous-vs-this configuration comparison. Every sentence is built from data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConstraintRow } from '../plot/metric_figures';
import type { TrainingHistory } from '../plot/training_history';
import type { CaseWithPrediction } from './case_data';
import { configRows } from './config_table';
import { metricAt, type EvaluationResults } from './eval_results';

// ---------------------------------------------------------------------------------------------
// judging a change

/** how a metric is judged: lower is better, higher is better, or closer to zero is better */
export type Direction = 'lower' | 'higher' | 'zero';

export interface Judgement {
  verdict: 'improved' | 'worse' | 'unchanged' | 'n/a';
  /** signed difference a − b */
  diff: number | null;
  /** e.g. "+0.42 (worse)" */
  text: string;
}

/**
 * The change from `b` (reference) to `a` (this run) under one rule. `tolerance` = differences
 * smaller than this (default: below the 2-decimal display precision) are "unchanged".
 */
export function judge(a: number | null, b: number | null, dir: Direction, tolerance = 0.005): Judgement {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b))
    return { verdict: 'n/a', diff: null, text: '—' };
  const diff = a - b;
  const score = dir === 'lower' ? b - a : dir === 'higher' ? a - b : Math.abs(b) - Math.abs(a);
  const verdict = Math.abs(score) <= tolerance ? 'unchanged' : score > 0 ? 'improved' : 'worse';
  const rule =
    dir === 'zero' ? (verdict === 'improved' ? 'closer to 0, ' : verdict === 'worse' ? 'further from 0, ' : '') : '';
  return { verdict, diff, text: `${diff >= 0 ? '+' : ''}${diff.toFixed(2)} (${rule}${verdict})` };
}

// ---------------------------------------------------------------------------------------------
// clinical constraints

export type ConstraintKind =
  'Dmax (point dose)' | 'OAR volume (Vx)' | 'target coverage (D95/V95)' | 'mean dose' | 'other';

/** The kind of a constraint column such as "Rectum Dmax" or "PTV70 D95": point dose, OAR volume, target coverage, mean dose or other. */
export function constraintKind(column: string): ConstraintKind {
  const [struct, metric = ''] = column.split(' ');
  const isTarget = /^PTV|^CTV|^GTV/.test(struct);
  if (/^Dmax|max/i.test(metric) || /^D0\.\d+cc|^D\dcc/.test(metric)) return 'Dmax (point dose)';
  if (isTarget) return 'target coverage (D95/V95)';
  if (/^V\d/.test(metric)) return 'OAR volume (Vx)';
  if (/^Dmean|mean/i.test(metric)) return 'mean dose';
  return 'other';
}

export interface ConstraintSummary {
  nCases: number;
  /** cases that pass every checked constraint */
  nAllPass: number;
  byKind: Record<string, { pass: number; fail: number; failures: string[] }>;
  /** one paragraph of bullet lines */
  lines: string[];
}

/** failures grouped by kind, with the predicted value against its limit; the summary sentences */
export function constraintSummary(
  rows: ConstraintRow[],
  shortId: (id: string) => string = (x) => x,
): ConstraintSummary {
  const byKind: ConstraintSummary['byKind'] = {};
  let nAllPass = 0;
  let nCases = 0;
  for (const r of rows) {
    const checked = r.cells.filter((c) => c.passed !== null);
    if (checked.length) nCases++;
    if (checked.length && checked.every((c) => c.passed)) nAllPass++;
    for (const c of checked) {
      const k = constraintKind(c.column);
      byKind[k] ??= { pass: 0, fail: 0, failures: [] };
      if (c.passed) byKind[k].pass++;
      else {
        byKind[k].fail++;
        byKind[k].failures.push(
          `${shortId(r.caseId)} ${c.column}${c.value !== null ? ` ${c.value.toFixed(1)}${c.unit ? ` ${c.unit}` : ''}` : ''}${c.limitText ? ` (limit ${c.limitText})` : ''}`,
        );
      }
    }
  }
  const totalFail = Object.values(byKind).reduce((a, k) => a + k.fail, 0);
  const lines: string[] = [
    `- ${nAllPass}/${nCases} cases pass every checked constraint${nCases ? ` (${Math.round((100 * nAllPass) / nCases)}%)` : ''}.`,
  ];
  const failing = Object.entries(byKind).filter(([, k]) => k.fail > 0);
  if (totalFail === 0) lines.push('- No constraint fails.');
  else if (failing.length === 1)
    lines.push(
      `- **All ${totalFail} failure(s) are ${failing[0][0]} violations**: ${failing[0][1].failures.join('; ')}.`,
    );
  else for (const [k, v] of failing) lines.push(`- ${k}: ${v.fail} failure(s): ${v.failures.join('; ')}.`);
  for (const [k, v] of Object.entries(byKind))
    if (v.fail === 0 && v.pass > 0) lines.push(`- **${k} constraints pass in every case** (${v.pass} checks).`);
  return { nCases, nAllPass, byKind, lines };
}

// ---------------------------------------------------------------------------------------------
// ground-truth coverage

export interface CoverageCheck {
  structure: string;
  n: number;
  nPass: number;
  min: number | null;
  /** per-case threshold text, e.g. "0.95 × Rx = 66.5 Gy" */
  thresholds: string[];
  failing: string[];
}

/**
 * Ground-truth D95 of a target against its coverage threshold, per case: the D95 limit of the
 * case's clinical constraints when checked, else 0.95 × the target's dose level (PTV70 uses the
 * case's own Rx). Confirms that the plans themselves satisfy the threshold the model is held to.
 */
export function gtCoverageCheck(ev: EvaluationResults, structure = 'PTV70'): CoverageCheck {
  const out: CoverageCheck = { structure, n: 0, nPass: 0, min: null, thresholds: [], failing: [] };
  for (const c of ev.per_case_results) {
    const gt = metricAt(c, `dvh_metrics.${structure}.target_D95`);
    if (gt === null) continue;
    const checked = c.clinical_constraints?.structures?.[structure]?.constraints_checked?.find(
      (k) => k.metric === 'D95',
    );
    const rx = typeof c.rx_gy === 'number' ? c.rx_gy : null;
    const level = Number(/(\d+(?:\.\d+)?)/.exec(structure)?.[1] ?? NaN);
    const limit = checked ? checked.limit : structure === 'PTV70' && rx !== null ? 0.95 * rx : 0.95 * level;
    if (!Number.isFinite(limit)) continue;
    out.n++;
    if (gt >= limit) out.nPass++;
    else out.failing.push(`${c.case_id} (${gt.toFixed(1)} < ${limit.toFixed(1)} Gy)`);
    out.min = out.min === null ? gt : Math.min(out.min, gt);
    const t = `${limit.toFixed(1)} Gy`;
    if (!out.thresholds.includes(t)) out.thresholds.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// training curves

export interface TrainingObservations {
  lines: string[];
  overfitRatio: number | null;
  bestEpoch: number | null;
  bestMae: number | null;
  lateMedianMae: number | null;
  slopeGyPerEpoch: number | null;
}

function defined(v: Array<number | null>): number[] {
  return v.filter((x): x is number => x !== null && Number.isFinite(x));
}

function median(v: number[]): number | null {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** least-squares slope of y over x */
function slope(x: number[], y: number[]): number | null {
  if (x.length < 2) return null;
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

/** overfitting, convergence (val-MAE trend over the second half), best vs typical late value */
export function trainingObservations(h: TrainingHistory): TrainingObservations {
  const lines: string[] = [];
  const pairs = h.epoch
    .map((e, i) => [e, h.trainLoss[i], h.valLoss[i]] as const)
    .filter(([, t, v]) => t !== null && v !== null);
  const last = pairs[pairs.length - 1];
  const overfitRatio = last && (last[1] as number) > 0 ? (last[2] as number) / (last[1] as number) : null;
  if (overfitRatio !== null)
    lines.push(
      `- Final val/train loss ratio ${overfitRatio.toFixed(2)} at epoch ${last[0]}${overfitRatio > 2 ? ' — the validation loss sits well above the training loss (overfitting)' : overfitRatio < 1.2 ? ' — no sign of overfitting' : ''}.`,
    );
  else
    lines.push('- Validation loss not logged: the val/train loss ratio (overfitting) cannot be computed for this run.');
  const val = h.epoch.map((e, i) => [e, h.valMae[i]] as const).filter(([, v]) => v !== null) as Array<[number, number]>;
  let bestEpoch: number | null = null;
  let bestMae: number | null = null;
  for (const [e, v] of val)
    if (bestMae === null || v < bestMae) {
      bestMae = v;
      bestEpoch = e;
    }
  const half = val.filter(([e]) => e >= (h.epoch[h.epoch.length - 1] ?? 0) / 2);
  const sl =
    half.length >= 3
      ? slope(
          half.map(([e]) => e),
          half.map(([, v]) => v),
        )
      : null;
  const lateMedianMae = median(val.slice(Math.floor(val.length * 0.75)).map(([, v]) => v));
  if (sl !== null)
    lines.push(
      `- Val MAE trend over the second half of training: ${sl >= 0 ? '+' : ''}${sl.toFixed(4)} Gy/epoch (${half.length} validations)${Math.abs(sl) < 0.01 ? ' — essentially flat: converged' : sl < 0 ? ' — still improving: more epochs may help' : ' — rising'}.`,
    );
  else lines.push(`- ${val.length} validation(s) logged: too few for a trend of the val MAE.`);
  if (bestEpoch !== null && bestMae !== null)
    lines.push(
      `- Best val MAE ${bestMae.toFixed(3)} Gy at epoch ${bestEpoch} (0-based) of ${h.epoch[h.epoch.length - 1]}; median of the last quarter of validations ${lateMedianMae?.toFixed(3) ?? '—'} Gy${lateMedianMae !== null && lateMedianMae - bestMae > 0.1 * bestMae ? ' — the best checkpoint may be a favourable fluctuation' : ''}.`,
    );
  const g = defined(h.valGamma);
  if (g.length)
    lines.push(
      `- Val gamma (3%/3 mm, global): last ${g[g.length - 1].toFixed(1)}%, best ${Math.max(...g).toFixed(1)}%.`,
    );
  else lines.push('- Validation gamma not logged for this run.');
  const gp = defined(h.valGammaPtv);
  if (gp.length)
    lines.push(`- Val PTV-region gamma: last ${gp[gp.length - 1].toFixed(1)}%, best ${Math.max(...gp).toFixed(1)}%.`);
  return { lines, overfitRatio, bestEpoch, bestMae, lateMedianMae, slopeGyPerEpoch: sl };
}

/** The metrics.csv columns of the D95 progression table (Gy, except underdose in %). */
export const D95_PROGRESSION_COLUMNS = [
  'val_mae_gy',
  'val_d95_gap_gy',
  'val_pred_d95_gy',
  'val_underdose_pct',
] as const;

/** D95 progression during training (asymmetric report): rows [epoch, D95_PROGRESSION_COLUMNS…] at validation epochs, at most `maxRows`; `missing` lists absent columns. */
export function d95Progression(
  h: TrainingHistory,
  maxRows = 8,
): { rows: Array<Array<number | null>>; missing: string[] } {
  const cols = D95_PROGRESSION_COLUMNS;
  const missing = cols.filter((c) => !(c in h.columns) || !h.columns[c].some((v) => v !== null));
  const idx = h.epoch.map((_, i) => i).filter((i) => h.columns.val_mae_gy?.[i] != null || h.valMae[i] != null);
  let pick = idx;
  if (idx.length > maxRows) {
    const step = (idx.length - 1) / (maxRows - 1);
    pick = [...new Set(Array.from({ length: maxRows }, (_, k) => idx[Math.round(k * step)]))];
  }
  const rows = pick.map((i) => [
    h.epoch[i],
    ...cols.map((c) => (c === 'val_mae_gy' ? h.valMae[i] : (h.columns[c]?.[i] ?? null))),
  ]);
  return { rows, missing };
}

// ---------------------------------------------------------------------------------------------
// single-case dose maps

export interface DoseMapObservations {
  lines: string[];
  lateralRatioPred: number | null;
  lateralRatioGt: number | null;
}

/**
 * Observations on the colourwash and difference maps of one case: target coverage (V95 of PTV70,
 * pred vs GT), extent of the low-dose region (volume ≥ 5 Gy and ≥ 20 Gy, pred vs GT), dose
 * smoothness (mean |∇D| over the ≥ 5 Gy region), lateral balance (dose in the high-x half over the
 * low-x half about the PTV centroid; X = array axis 1), and where the differences sit.
 */
export function doseMapObservations(c: CaseWithPrediction): DoseMapObservations {
  const [ny, nx, nz] = c.shape;
  const n = ny * nx * nz;
  const ccPerVoxel = (c.gt.spacingMm[0] * c.gt.spacingMm[1] * c.gt.spacingMm[2]) / 1000;
  const rx = c.gt.rxGy;
  const ptv = c.gt.masks.get('PTV70') ?? null;
  const lines: string[] = [];
  // coverage
  if (ptv) {
    let nP = 0;
    let gtOk = 0;
    let prOk = 0;
    for (let i = 0; i < n; i++)
      if (ptv[i]) {
        nP++;
        if (c.gtGy[i] >= 0.95 * rx) gtOk++;
        if (c.predGy[i] >= 0.95 * rx) prOk++;
      }
    if (nP)
      lines.push(
        `- PTV70 V95% (voxels ≥ ${(0.95 * rx).toFixed(1)} Gy): prediction ${((100 * prOk) / nP).toFixed(1)}% vs ground truth ${((100 * gtOk) / nP).toFixed(1)}%.`,
      );
  }
  // low-dose extent
  const vol = (d: Float32Array, t: number) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (d[i] >= t) k++;
    return k * ccPerVoxel;
  };
  for (const t of [5, 20]) {
    const vp = vol(c.predGy, t);
    const vg = vol(c.gtGy, t);
    if (vg > 0)
      lines.push(
        `- Volume ≥ ${t} Gy: prediction ${vp.toFixed(0)} cc vs ground truth ${vg.toFixed(0)} cc (ratio ${(vp / vg).toFixed(2)})${vp / vg > 1.1 ? ' — the predicted dose spreads wider' : vp / vg < 0.9 ? ' — the predicted dose is more compact' : ''}.`,
      );
  }
  // smoothness
  const grad = (d: Float32Array) => {
    let s = 0;
    let k = 0;
    for (let y = 0; y < ny - 1; y++)
      for (let x = 0; x < nx - 1; x++)
        for (let z = 0; z < nz - 1; z++) {
          const i = (y * nx + x) * nz + z;
          if (c.gtGy[i] < 5) continue;
          const gy = (d[i + nx * nz] - d[i]) / c.gt.spacingMm[0];
          const gx = (d[i + nz] - d[i]) / c.gt.spacingMm[1];
          const gz = (d[i + 1] - d[i]) / c.gt.spacingMm[2];
          s += Math.sqrt(gy * gy + gx * gx + gz * gz);
          k++;
        }
    return k ? s / k : null;
  };
  const gp = grad(c.predGy);
  const gg = grad(c.gtGy);
  if (gp !== null && gg !== null && gg > 0)
    lines.push(
      `- Mean dose gradient over the ≥ 5 Gy region: prediction ${gp.toFixed(2)} vs ground truth ${gg.toFixed(2)} Gy/mm (ratio ${(gp / gg).toFixed(2)})${gp / gg < 0.9 ? ' — the prediction is smoother (an expected effect of MSE averaging)' : ''}.`,
    );
  // lateral balance about the PTV centroid
  let cx = nx / 2;
  if (ptv) {
    let s = 0;
    let k = 0;
    for (let i = 0; i < n; i++)
      if (ptv[i]) {
        s += Math.floor(i / nz) % nx;
        k++;
      }
    if (k) cx = s / k;
  }
  const lateral = (d: Float32Array) => {
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < n; i++) {
      const x = Math.floor(i / nz) % nx;
      if (x > cx) hi += d[i];
      else if (x < cx) lo += d[i];
    }
    return lo > 0 ? hi / lo : null;
  };
  const lrP = lateral(c.predGy);
  const lrG = lateral(c.gtGy);
  if (lrP !== null && lrG !== null)
    lines.push(
      `- Lateral balance (integral dose in the high-x / low-x half about the PTV70 centroid): prediction ${lrP.toFixed(3)}, ground truth ${lrG.toFixed(3)}${Math.abs(lrP - lrG) < 0.05 ? ' — no lateral bias' : ' — a lateral bias of the prediction'}.`,
    );
  // where the differences sit
  const bands: Array<[string, (g: number, i: number) => boolean]> = [
    ['PTV70', (_g, i) => !!ptv && ptv[i] === 1],
    ['intermediate dose (20–50 Gy, outside the PTV)', (g, i) => g >= 20 && g < 50 && !(ptv && ptv[i])],
    ['low dose (5–20 Gy)', (g) => g >= 5 && g < 20],
  ];
  const parts: string[] = [];
  for (const [name, sel] of bands) {
    let s = 0;
    let sd = 0;
    let k = 0;
    for (let i = 0; i < n; i++)
      if (sel(c.gtGy[i], i)) {
        const d = c.predGy[i] - c.gtGy[i];
        s += Math.abs(d);
        sd += d;
        k++;
      }
    if (k)
      parts.push(`${name}: mean |Δ| ${(s / k).toFixed(2)} Gy (mean Δ ${sd / k >= 0 ? '+' : ''}${(sd / k).toFixed(2)})`);
  }
  if (parts.length) lines.push(`- Prediction − ground truth by region: ${parts.join('; ')}.`);
  return { lines, lateralRatioPred: lrP, lateralRatioGt: lrG };
}

/** DVH observations of one case from its evaluation record: mean-dose error per structure */
export function dvhObservations(ev: EvaluationResults, caseId: string): string[] {
  const c = ev.per_case_results.find((x) => x.case_id === caseId);
  const e = (c?.dose_metrics as { per_structure_dmean_error?: Record<string, number> } | undefined)
    ?.per_structure_dmean_error;
  if (!e) return ['- Per-structure mean-dose errors are not in the evaluation results.'];
  return Object.entries(e).map(
    ([s, v]) =>
      `- ${s}: predicted Dmean ${v >= 0 ? '+' : ''}${v.toFixed(2)} Gy vs ground truth${Math.abs(v) < 1 ? ' (close)' : v > 0 ? ' (over-estimated)' : ' (under-estimated)'}.`,
  );
}

// ---------------------------------------------------------------------------------------------
// data set

export interface PlanTypeBreakdown {
  /** plan type -> counts per set */
  rows: Array<{ planType: string; train: number; val: number; test: number; total: number }>;
  source: string;
  preprocessingVersion: string | null;
}

/**
 * Plan types per split set, from the data folder's batch_summary.json (`case_types`), and the
 * preprocessing version (its `script_version`, else the run's recorded `data.script_version`).
 */
export function planTypeBreakdown(
  dataDir: string,
  split: { train?: unknown; val?: unknown; test?: unknown } | null,
  config: Record<string, unknown>,
): PlanTypeBreakdown | null {
  const file = path.join(dataDir, 'batch_summary.json');
  const recorded = ((config.data as Record<string, unknown> | undefined)?.script_version as string | undefined) ?? null;
  if (!fs.existsSync(file)) return null;
  const b = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    case_types?: Record<string, string>;
    script_version?: string;
  };
  const types = b.case_types ?? {};
  const set = (k: 'train' | 'val' | 'test') => new Set(Array.isArray(split?.[k]) ? (split![k] as string[]) : []);
  const sets = { train: set('train'), val: set('val'), test: set('test') };
  const m = new Map<string, { train: number; val: number; test: number; total: number }>();
  for (const [id, t] of Object.entries(types)) {
    const r = m.get(t) ?? { train: 0, val: 0, test: 0, total: 0 };
    r.total++;
    for (const k of ['train', 'val', 'test'] as const) if (sets[k].has(id)) r[k]++;
    m.set(t, r);
  }
  return {
    rows: [...m.entries()].sort().map(([planType, r]) => ({ planType, ...r })),
    source: file,
    preprocessingVersion: b.script_version ?? recorded,
  };
}

// ---------------------------------------------------------------------------------------------
// previous vs this

export interface ConfigDiff {
  rows: Array<[string, string, string]>;
  nSame: number;
}

/** the configuration values that differ between two runs (flattened), and how many are the same */
export function configDiff(prev: Record<string, unknown>, cur: Record<string, unknown>): ConfigDiff {
  const key = (r: { section: string; key: string }) => `${r.section}.${r.key}`;
  const skip = /^run\.(timestamp|version)$|^data\.data_fingerprint$/;
  const a = new Map(configRows(prev).map((r) => [key(r), r.value] as const));
  const b = new Map(configRows(cur).map((r) => [key(r), r.value] as const));
  const rows: Array<[string, string, string]> = [];
  let nSame = 0;
  for (const k of [...new Set([...a.keys(), ...b.keys()])]) {
    if (skip.test(k)) continue;
    const x = a.get(k) ?? '—';
    const y = b.get(k) ?? '—';
    if (x === y) nSame++;
    else rows.push([k, x, y]);
  }
  return { rows, nSame };
}
