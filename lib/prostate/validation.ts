/**
 * Deterministic full-volume validation of the prostate task (fix of spec 12.6: the reference scored
 * 4 random patches per case). Each validation case is predicted by the same sliding window as
 * inference (lib/infer/sliding_window.ts) and scored in Gy with its own Rx. Per case, then averaged
 * over the cases that have a value:
 *   val_loss            MSE of the normalised dose over the whole volume (the training loss's base term)
 *   val_mae_gy          mean |pred − GT| over every voxel (the evaluation's mae_gy)
 *   val_mae_gy_ptv70    mean |pred − GT| over the PTV70 mask (the highest target without a PTV70)
 *   val_pred_d95_gy, val_target_d95_gy   D95 of that target, nearest-rank lower (spec 7.3, as the evaluation)
 *   val_d95_gap_gy      pred − GT D95 (the evaluation's D95_error sign: negative = underdose)
 *   val_underdose_pct   % of the target's voxels where pred < GT
 *   val_gamma           global 3%/3 mm gamma pass rate (γ ≤ 1, %), 10 % cutoff, max γ 2, on the volume
 *                       subsampled by `gammaSubsample` (spec 7.4)
 *   val_gamma_ptv       the same gamma map over the PTV region (PTV union dilated 5 mm, spec 7.4)
 */
import { DataError } from '../core/errors';
import type { PreparedCase } from '../inputs/case_inputs';
import { targetDoseGy } from '../data/profiles';
import { StructureDose } from '../eval/dvh';
import { gamma3mm3pct } from '../eval/evaluation_json';
import { predictVolume } from '../infer/sliding_window';
import type { VolumeNet } from '../infer/volume_net';

export interface ValidationOptions {
  patchSize: number;
  overlap: number;
  /** compute val_gamma / val_gamma_ptv */
  gamma?: boolean;
  /** gamma on volume[::s, ::s, ::s] (spacing × s); default 4 as the reference's validation */
  gammaSubsample?: number;
  /** progress per case */
  onCase?: (done: number, total: number, id: string) => void;
  /** checked between cases: a stop request aborts the validation */
  stopRequested?: () => boolean;
}

export interface CaseValidation {
  id: string;
  loss: number;
  mae_gy: number;
  mae_gy_ptv70: number | null;
  pred_d95_gy: number | null;
  target_d95_gy: number | null;
  d95_gap_gy: number | null;
  underdose_pct: number | null;
  gamma_pass_rate: number | null;
  gamma_ptv_pass_rate: number | null;
}

export interface ValidationResult {
  val_loss: number;
  val_mae_gy: number;
  val_mae_gy_ptv70: number | null;
  val_pred_d95_gy: number | null;
  val_target_d95_gy: number | null;
  val_d95_gap_gy: number | null;
  val_underdose_pct: number | null;
  val_gamma: number | null;
  val_gamma_ptv: number | null;
  cases: CaseValidation[];
}

/** The structure whose MAE/D95 is tracked in validation: PTV70, else the highest-dose target present (mask on the case grid). */
export function primaryTarget(pc: PreparedCase): { name: string; mask: Uint8Array } | null {
  const m = pc.source.masks;
  if (m.has('PTV70')) return { name: 'PTV70', mask: m.get('PTV70')! };
  const t = [...m.keys()]
    .filter((k) => targetDoseGy(k) !== null)
    .sort((a, b) => (targetDoseGy(b) ?? 0) - (targetDoseGy(a) ?? 0));
  return t.length ? { name: t[0], mask: m.get(t[0])! } : null;
}

/** scores one prediction (normalised dose, clamped, on the case grid) against the case's dose */
export async function scoreCase(
  pc: PreparedCase,
  predNorm: Float32Array,
  o: Pick<ValidationOptions, 'gamma' | 'gammaSubsample'> = {},
): Promise<CaseValidation> {
  const gt = pc.dose;
  if (!gt) throw new DataError(pc.id, 'dose', 'a reference dose (validation cases are scored against it)', 'none');
  const rx = pc.rxGy;
  let se = 0;
  let ae = 0;
  for (let i = 0; i < gt.length; i++) {
    const d = predNorm[i] - gt[i];
    se += d * d;
    ae += Math.abs(d);
  }
  const out: CaseValidation = {
    id: pc.id,
    loss: se / gt.length,
    mae_gy: (ae / gt.length) * rx,
    mae_gy_ptv70: null,
    pred_d95_gy: null,
    target_d95_gy: null,
    d95_gap_gy: null,
    underdose_pct: null,
    gamma_pass_rate: null,
    gamma_ptv_pass_rate: null,
  };
  const t = primaryTarget(pc);
  if (t) {
    const p: number[] = [];
    const g: number[] = [];
    let sa = 0;
    let under = 0;
    for (let i = 0; i < gt.length; i++)
      if (t.mask[i]) {
        p.push(predNorm[i] * rx);
        g.push(gt[i] * rx);
        sa += Math.abs(predNorm[i] - gt[i]) * rx;
        if (predNorm[i] < gt[i]) under++;
      }
    if (p.length) {
      out.mae_gy_ptv70 = sa / p.length;
      out.pred_d95_gy = new StructureDose(Float64Array.from(p), 1).dx(95, 'lower');
      out.target_d95_gy = new StructureDose(Float64Array.from(g), 1).dx(95, 'lower');
      out.d95_gap_gy = out.pred_d95_gy - out.target_d95_gy;
      out.underdose_pct = (100 * under) / p.length;
    }
  }
  if (o.gamma) {
    const g = await gamma3mm3pct(
      Float64Array.from(gt, (v) => v * rx),
      Float64Array.from(predNorm, (v) => v * rx),
      pc.source,
      o.gammaSubsample ?? 4,
    );
    out.gamma_pass_rate = g.global.pass_rate_le;
    out.gamma_ptv_pass_rate = g.ptvRegion?.pass_rate_le ?? null;
  }
  return out;
}

function meanOf(v: Array<number | null>): number | null {
  const f = v.filter((x): x is number => x !== null && Number.isFinite(x));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : null;
}

/** thrown between cases when a stop was requested */
export class ValidationAborted extends Error {}

/** validates `net` on prepared cases (each with a dose) */
export async function validate(net: VolumeNet, cases: PreparedCase[], o: ValidationOptions): Promise<ValidationResult> {
  const out: CaseValidation[] = [];
  for (const pc of cases) {
    if (o.stopRequested?.()) throw new ValidationAborted('validation stopped');
    const pred = predictVolume(net, pc, { patchSize: o.patchSize, overlap: o.overlap });
    out.push(await scoreCase(pc, pred, o));
    o.onCase?.(out.length, cases.length, pc.id);
  }
  const mean = (f: (c: CaseValidation) => number | null) => meanOf(out.map(f));
  return {
    val_loss: mean((c) => c.loss) ?? NaN,
    val_mae_gy: mean((c) => c.mae_gy) ?? NaN,
    val_mae_gy_ptv70: mean((c) => c.mae_gy_ptv70),
    val_pred_d95_gy: mean((c) => c.pred_d95_gy),
    val_target_d95_gy: mean((c) => c.target_d95_gy),
    val_d95_gap_gy: mean((c) => c.d95_gap_gy),
    val_underdose_pct: mean((c) => c.underdose_pct),
    val_gamma: o.gamma ? mean((c) => c.gamma_pass_rate) : null,
    val_gamma_ptv: o.gamma ? mean((c) => c.gamma_ptv_pass_rate) : null,
    cases: out,
  };
}
