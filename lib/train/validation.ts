/**
 * Deterministic full-volume validation (fix of spec 12.6: the reference scored 4 random patches
 * per case). Each validation case is predicted by the same sliding window as inference and scored
 * in Gy with its own Rx:
 *   val_mae_gy        mean |pred − GT| over every voxel of the volume (the evaluation's mae_gy)
 *   val_mae_gy_ptv70  mean |pred − GT| over the PTV70 mask (highest target when there is no PTV70)
 *   val_d95_gap_gy    D95(pred) − D95(GT) of that target, nearest-rank lower as the evaluation
 *                     (negative = underdose; the evaluation's D95_error sign)
 *   val_gamma         optional global 3%/3 mm gamma pass rate (γ ≤ 1), subsampled
 * Case values are averaged over the cases that have them.
 */
import type { DoseModel } from '../models';
import { predictVolume } from '../infer/sliding_window';
import { exactDx } from '../losses/soft_dvh';
import { targetDoseGy } from '../data/profiles';
import type { PreparedCase } from '../inputs/case_inputs';

export interface ValidationOptions {
  patchSize: number;
  overlap: number;
  gamma?: boolean;
  gammaSubsample?: number;
}

export interface CaseValidation {
  id: string;
  mae_gy: number;
  mae_gy_ptv70: number | null;
  d95_gap_gy: number | null;
  gamma_pass_rate: number | null;
}

export interface ValidationResult {
  val_mae_gy: number;
  val_mae_gy_ptv70: number | null;
  val_d95_gap_gy: number | null;
  val_gamma: number | null;
  cases: CaseValidation[];
}

/** the structure whose MAE/D95 is tracked: PTV70, else the highest-dose target present */
export function primaryTarget(pc: PreparedCase): { name: string; mask: Uint8Array } | null {
  const m = pc.source.masks;
  if (m.has('PTV70')) return { name: 'PTV70', mask: m.get('PTV70')! };
  const t = [...m.keys()]
    .filter((k) => targetDoseGy(k) !== null)
    .sort((a, b) => (targetDoseGy(b) ?? 0) - (targetDoseGy(a) ?? 0));
  return t.length ? { name: t[0], mask: m.get(t[0])! } : null;
}

function decimate(
  v: ArrayLike<number>,
  shape: [number, number, number],
  s: number,
): { data: Float64Array; shape: [number, number, number] } {
  const [Y, X, Z] = shape;
  const ns: [number, number, number] = [Math.ceil(Y / s), Math.ceil(X / s), Math.ceil(Z / s)];
  const out = new Float64Array(ns[0] * ns[1] * ns[2]);
  let k = 0;
  for (let y = 0; y < Y; y += s)
    for (let x = 0; x < X; x += s) for (let z = 0; z < Z; z += s) out[k++] = v[(y * X + x) * Z + z];
  return { data: out, shape: ns };
}

export async function scoreCase(
  pc: PreparedCase,
  predNorm: Float32Array,
  o: Pick<ValidationOptions, 'gamma' | 'gammaSubsample'> = {},
): Promise<CaseValidation> {
  const gt = pc.dose;
  if (!gt) throw new Error(`validation case ${pc.id} has no dose`);
  const rx = pc.rxGy;
  let s = 0;
  for (let i = 0; i < gt.length; i++) s += Math.abs(predNorm[i] - gt[i]);
  const mae = (s / gt.length) * rx;
  let maePtv: number | null = null;
  let gap: number | null = null;
  const t = primaryTarget(pc);
  if (t) {
    const p: number[] = [];
    const g: number[] = [];
    let sa = 0;
    for (let i = 0; i < gt.length; i++)
      if (t.mask[i]) {
        p.push(predNorm[i] * rx);
        g.push(gt[i] * rx);
        sa += Math.abs(predNorm[i] - gt[i]) * rx;
      }
    if (p.length) {
      maePtv = sa / p.length;
      gap = exactDx(p, 95) - exactDx(g, 95);
    }
  }
  let gammaRate: number | null = null;
  if (o.gamma) {
    const { gammaIndex, gammaStats } = await import('../eval/gamma');
    const sub = o.gammaSubsample ?? 4;
    const r = decimate(
      Float64Array.from(gt, (v) => v * rx),
      pc.shape,
      sub,
    );
    const e = decimate(
      Float64Array.from(predNorm, (v) => v * rx),
      pc.shape,
      sub,
    );
    const sp = pc.spacingMm.map((v) => v * sub);
    const map = await gammaIndex(r.data, e.data, r.shape, sp, {
      dosePercent: 3,
      dtaMm: 3,
      cutoffPercent: 10,
      maxGamma: 2,
    });
    gammaRate = gammaStats(map.gamma).pass_rate_le;
  }
  return { id: pc.id, mae_gy: mae, mae_gy_ptv70: maePtv, d95_gap_gy: gap, gamma_pass_rate: gammaRate };
}

function meanOf(v: Array<number | null>): number | null {
  const f = v.filter((x): x is number => x !== null && Number.isFinite(x));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : null;
}

export async function validate(
  model: DoseModel,
  cases: PreparedCase[],
  o: ValidationOptions,
): Promise<ValidationResult> {
  const out: CaseValidation[] = [];
  for (const pc of cases) {
    const pred = predictVolume(model, pc, { patchSize: o.patchSize, overlap: o.overlap });
    out.push(await scoreCase(pc, pred, o));
  }
  return {
    val_mae_gy: meanOf(out.map((c) => c.mae_gy)) ?? NaN,
    val_mae_gy_ptv70: meanOf(out.map((c) => c.mae_gy_ptv70)),
    val_d95_gap_gy: meanOf(out.map((c) => c.d95_gap_gy)),
    val_gamma: o.gamma ? meanOf(out.map((c) => c.gamma_pass_rate)) : null,
    cases: out,
  };
}
