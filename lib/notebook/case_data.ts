/**
 * Single-case inputs of the report figures: the ground-truth case (any supported format), its
 * prediction (`<case>_pred.npz`, dose normalised by Rx -> Gy with the case's own Rx, never an
 * assumed 70 Gy), the figure inputs and the DVH curves. On a shape mismatch both volumes are
 * cropped to the common shape, as the reference figure script does (spec 9.2).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import type { Case, Shape3 } from '../data/case';
import { listCasePaths, loadCase } from '../data/load';
import { readPredictionNpz } from '../data/reference_npz';
import type { DoseViewInput } from '../plot/dose_maps';
import { cumulativeDvh } from '../plot/dvh_curve';
import type { DvhPair } from '../plot/dvh_figure';
import { zDirectionOf } from '../plot/slices';

/** Structures of the single-case DVH figures (those a case has are drawn). */
export const DVH_STRUCTURES = ['PTV70', 'PTV56', 'PTV50.4', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel'];

/** The file of case `caseId` in `dataDir` (DataError naming the folder when there is none). */
export async function findCasePath(dataDir: string, caseId: string): Promise<string> {
  const paths = await listCasePaths(dataDir);
  const hit = paths.find((p) => path.basename(p).replace(/\.npz$/, '') === caseId);
  if (!hit) throw new DataError(dataDir, caseId, `a case file named ${caseId}`, `none among ${paths.length} cases`);
  return hit;
}

export interface CaseWithPrediction {
  gt: Case;
  /** predicted dose in Gy over gt.shape (after cropping) */
  predGy: Float32Array;
  /** ground-truth dose in Gy over the same shape */
  gtGy: Float32Array;
  shape: Shape3;
  cropped: boolean;
}

function crop(a: ArrayLike<number>, from: Shape3, to: Shape3): Float32Array {
  const out = new Float32Array(to[0] * to[1] * to[2]);
  for (let y = 0; y < to[0]; y++)
    for (let x = 0; x < to[1]; x++)
      for (let z = 0; z < to[2]; z++) out[(y * to[1] + x) * to[2] + z] = a[(y * from[1] + x) * from[2] + z];
  return out;
}

function cropMask(a: Uint8Array, from: Shape3, to: Shape3): Uint8Array {
  return Uint8Array.from(crop(a, from, to));
}

/** A case and its `<case>_pred.npz` as doses in Gy (× the case's own Rx), both cropped to the common shape when they differ. */
export async function loadCaseWithPrediction(
  dataDir: string,
  predDir: string,
  caseId: string,
): Promise<CaseWithPrediction> {
  const gtFile = await findCasePath(dataDir, caseId);
  const gt = await loadCase(gtFile);
  if (!gt.dose) throw new DataError(gtFile, 'dose', 'a ground-truth dose to compare the prediction with', 'none');
  const predFile = path.join(predDir, `${caseId}_pred.npz`);
  if (!fs.existsSync(predFile))
    throw new DataError(predFile, null, `the prediction of case ${caseId} (vmat infer)`, 'no such file');
  const p = await readPredictionNpz(predFile);
  const same = p.shape.every((n, i) => n === gt.shape[i]);
  const shape: Shape3 = same ? gt.shape : ([0, 1, 2].map((i) => Math.min(p.shape[i], gt.shape[i])) as Shape3);
  const predGy = crop(p.dose, p.shape, shape).map((v) => v * gt.rxGy);
  if (!same) {
    gt.ct = crop(gt.ct, gt.shape, shape);
    gt.dose = crop(gt.dose, gt.shape, shape);
    for (const [k, m] of gt.masks) gt.masks.set(k, cropMask(m, gt.shape, shape));
    gt.shape = shape;
  }
  return { gt, predGy, gtGy: gt.dose, shape, cropped: !same };
}

/** The dose-map figure input of a case with its prediction (doses in Gy, (Y, X, Z) C order, spacing in mm). */
export function doseViewInput(c: CaseWithPrediction): DoseViewInput {
  return {
    caseId: c.gt.id,
    shape: c.shape,
    spacingMm: c.gt.spacingMm,
    ct: c.gt.ct,
    gt: c.gtGy,
    pred: c.predGy,
    rxGy: c.gt.rxGy,
    ptvMask: c.gt.masks.get('PTV70') ?? c.gt.masks.get(c.gt.prescriptions[0]?.structure ?? ''),
    zDirection: zDirectionOf(c.gt.source),
  };
}

/** DVH curves (500 bins, 0 .. 1.15·Rx) for the structures present, in the reference order */
export function dvhPairs(c: CaseWithPrediction, structures: string[] = DVH_STRUCTURES): DvhPair[] {
  const maxDose = 1.15 * c.gt.rxGy;
  return structures
    .filter((s) => c.gt.masks.has(s))
    .map((s) => {
      const m = c.gt.masks.get(s)!;
      return { structure: s, gt: cumulativeDvh(c.gtGy, m, maxDose), pred: cumulativeDvh(c.predGy, m, maxDose) };
    });
}
