/**
 * OpenKBP dose and DVH scores exactly as the official evaluator
 * (ababier/open-kbp `provided_code/dose_evaluation_class.py`, openkbp.md 2.1-2.2):
 *  - dose_error[p] = sum over ALL 128^3 voxels |ref - pred| / #voxels in possible_dose_mask;
 *    dose_score = mean over patients;
 *  - per present ROI, on the reference patient's mask (voxels outside possible_dose_mask included):
 *    OARs: D_0.1_cc = np.percentile(roi, 100 - n/N*100), n = max(1, round(100 / voxel_volume_mm3)),
 *    and mean; targets: D_99, D_95, D_1 = np.percentile(roi, 1 / 5 / 99); all numpy 'linear';
 *  - dvh_score = mean of |ref - pred| over ALL (patient, ROI, metric) cells pooled (not a mean of
 *    per-patient means).
 * Checked against golden_metrics.json (official evaluator outputs) to 1e-9.
 */
import { VmatError } from '../core/errors';
import { OPENKBP_OARS, OPENKBP_TARGETS } from '../data/profiles';
import { npMean, npSum } from '../stats/npsum';
import { StructureDose, structureValues } from './dvh';

export type OpenKbpDvhMetrics = Record<string, number>;

/** The official DVH metrics (Gy) of one dose (Gy, 128³ C order) on one patient's ROIs, keyed `<metric>|<ROI>` like the evaluator's DataFrame; voxel size in mm. */
export function openKbpDvhMetrics(
  dose: ArrayLike<number>,
  masks: Map<string, Uint8Array>,
  voxelDimsMm: readonly number[],
): OpenKbpDvhMetrics {
  const voxelMm3 = voxelDimsMm[0] * voxelDimsMm[1] * voxelDimsMm[2];
  const out: OpenKbpDvhMetrics = {};
  const roi = (name: string): StructureDose | null => {
    const m = masks.get(name);
    return m && m.some((x) => x) ? new StructureDose(structureValues(dose, m, name), voxelMm3) : null;
  };
  for (const name of OPENKBP_OARS) {
    const s = roi(name);
    if (!s) continue;
    out[`D_0.1_cc|${name}`] = s.dcc(0.1, 'linear');
    out[`mean|${name}`] = s.meanGy;
  }
  for (const name of OPENKBP_TARGETS) {
    const s = roi(name);
    if (!s) continue;
    out[`D_99|${name}`] = s.dx(99, 'linear');
    out[`D_95|${name}`] = s.dx(95, 'linear');
    out[`D_1|${name}`] = s.dx(1, 'linear');
  }
  return out;
}

export interface OpenKbpPatientScore {
  dose_error: number;
  dvh_errors: Record<string, number>;
  reference_dvh: OpenKbpDvhMetrics;
  prediction_dvh: OpenKbpDvhMetrics;
}

export interface OpenKbpScore {
  dose_score: number;
  dvh_score: number;
  n_patients: number;
  n_dvh_cells: number;
  per_patient: Record<string, OpenKbpPatientScore>;
}

/** what the scorer needs of a reference patient (a Case satisfies it; dose may be float64) */
export interface OpenKbpReference {
  id: string;
  dose: ArrayLike<number> | null;
  masks: Map<string, Uint8Array>;
  possibleDoseMask?: Uint8Array;
  spacingMm: readonly number[];
}

/** score of one patient: reference (dose, masks, possible-dose mask, spacing) vs predicted dose (Gy, 128^3) */
export function scoreOpenKbpPatient(ref: OpenKbpReference, pred: ArrayLike<number>): OpenKbpPatientScore {
  if (!ref.dose) throw new VmatError(`openkbp score: reference ${ref.id} has no dose`);
  if (!ref.possibleDoseMask) throw new VmatError(`openkbp score: reference ${ref.id} has no possible_dose_mask`);
  if (pred.length !== ref.dose.length)
    throw new VmatError(
      `openkbp score: prediction for ${ref.id} has ${pred.length} voxels, reference has ${ref.dose.length}`,
    );
  const ad = new Float64Array(pred.length);
  const refDose = ref.dose;
  for (let i = 0; i < ad.length; i++) {
    if (!Number.isFinite(pred[i]))
      throw new VmatError(`openkbp score: prediction for ${ref.id} has a non-finite value at flat index ${i}`);
    ad[i] = Math.abs(refDose[i] - pred[i]);
  }
  let nMask = 0;
  for (const x of ref.possibleDoseMask) if (x) nMask++;
  const refDvh = openKbpDvhMetrics(refDose, ref.masks, ref.spacingMm);
  const predDvh = openKbpDvhMetrics(pred, ref.masks, ref.spacingMm);
  const dvhErrors: Record<string, number> = {};
  for (const k of Object.keys(refDvh)) dvhErrors[k] = Math.abs(refDvh[k] - predDvh[k]);
  return { dose_error: npSum(ad) / nMask, dvh_errors: dvhErrors, reference_dvh: refDvh, prediction_dvh: predDvh };
}

/** dose and DVH scores over patients (each patient weighs the same in the dose score; DVH cells are pooled) */
export function combineOpenKbpScores(perPatient: Record<string, OpenKbpPatientScore>): OpenKbpScore {
  const ids = Object.keys(perPatient);
  if (!ids.length) throw new VmatError('openkbp score: no patients');
  const doseErrors = ids.map((id) => perPatient[id].dose_error);
  const cells = ids.flatMap((id) => Object.values(perPatient[id].dvh_errors));
  return {
    dose_score: npMean(doseErrors),
    dvh_score: cells.length ? npMean(cells) : NaN,
    n_patients: ids.length,
    n_dvh_cells: cells.length,
    per_patient: perPatient,
  };
}
