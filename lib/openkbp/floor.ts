/**
 * The resolution floor of the 64³ scheme (openkbp.md 5.4): the ground-truth dose itself taken
 * down to 64³ (mean over possible-dose-mask voxels of each 2×2×2 block) and back up to 128³
 * (mask-normalised trilinear with weight 1 on blocks holding any mask voxel, zero outside the mask), scored with the official OpenKBP metrics.
 * A perfect 64³ model cannot score better than this. Peer: test/fixtures/openkbp/floor_peer.py.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Case } from '../data/case';
import { listCasePaths, loadCase } from '../data/load';
import { writeOpenKbpDoseCsv } from '../data/openkbp';
import { createProgress } from '../core/progress';
import { DataError } from '../core/errors';
import {
  combineOpenKbpScores,
  scoreOpenKbpPatient,
  type OpenKbpPatientScore,
  type OpenKbpReference,
  type OpenKbpScore,
} from '../eval/openkbp_score';
import { OPENKBP_SHAPE, OPENKBP_TRAIN_SHAPE, binaryWeight } from '../inputs/openkbp64';
import { maskedMeanPool2x, maskNormalisedUpsample } from '../transforms/resample2x';

/** dose (Gy, 128³) → mask-aware 64³ mean → mask-normalised trilinear 128³ × mask */
export function downUpDose(doseGy: Float32Array, possibleDoseMask: Uint8Array): Float32Array {
  const small = maskedMeanPool2x(doseGy, possibleDoseMask, OPENKBP_SHAPE);
  return maskNormalisedUpsample(
    small.data,
    binaryWeight(small.weight),
    OPENKBP_TRAIN_SHAPE,
    OPENKBP_SHAPE,
    possibleDoseMask,
  );
}

/**
 * The reference as the official scorer sees it: dose in float64. OpenKBP doses are whole mGy
 * (openkbp.md 1.5), so rounding a float32 dose to 1e-3 Gy restores the CSV values exactly
 * (the same rule as `openkbp score` for npz references).
 */
export function scoringReference(c: Case): OpenKbpReference & { dose: Float64Array } {
  if (!c.dose) throw new DataError(c.id, 'dose', 'a reference dose', 'none');
  if (!c.possibleDoseMask) throw new DataError(c.id, 'possible_dose_mask', 'an OpenKBP possible-dose mask', 'none');
  return {
    id: c.id,
    dose: Float64Array.from(c.dose, (v) => Math.round(v * 1000) / 1000),
    masks: c.masks,
    possibleDoseMask: c.possibleDoseMask,
    spacingMm: c.spacingMm,
  };
}

/** The official per-patient score of the 64³-down-then-up-sampled ground truth, and that dose (Gy, 128³ C order). */
export function resolutionFloorPatient(c: Case): { score: OpenKbpPatientScore; dose: Float32Array } {
  const ref = scoringReference(c);
  const dose = downUpDose(c.dose as Float32Array, c.possibleDoseMask as Uint8Array);
  return { score: scoreOpenKbpPatient(ref, dose), dose };
}

/**
 * Writes the down-then-up-sampled ground truth of every patient in `refDir` as official pt_N.csv
 * predictions into `outDir`, so `openkbp score` (the official metrics) scores the floor itself.
 */
export async function writeFloorPredictions(
  refDir: string,
  outDir: string,
  o: { quiet?: boolean; onProgress?: (done: number, total: number, info: string) => void } = {},
): Promise<string[]> {
  const refs = await listCasePaths(refDir);
  if (!refs.length) throw new DataError(refDir, null, 'OpenKBP patient folders (pt_N/) or openkbp npz files', 'none');
  fs.mkdirSync(outDir, { recursive: true });
  const progress = createProgress({
    label: 'openkbp floor',
    total: refs.length,
    quiet: o.quiet,
    onUpdate: o.onProgress,
  });
  const out: string[] = [];
  for (const p of refs) {
    const c = await loadCase(p);
    if (!c.dose || !c.possibleDoseMask)
      throw new DataError(p, 'dose/possible_dose_mask', 'an OpenKBP reference patient with dose and mask', 'missing');
    const file = path.join(outDir, `${c.id}.csv`);
    await writeOpenKbpDoseCsv(file, downUpDose(c.dose, c.possibleDoseMask), c.possibleDoseMask);
    out.push(file);
    progress.tick(1, c.id);
  }
  progress.stop();
  return out;
}

/**
 * The resolution floor over the reference patients of `refDir` (only `ids` when given, e.g. the
 * patients a prediction folder covers): the official scores of their down-then-up-sampled doses.
 */
export async function resolutionFloorOfDir(
  refDir: string,
  o: { ids?: string[]; quiet?: boolean } = {},
): Promise<OpenKbpScore> {
  const refs = await listCasePaths(refDir);
  if (!refs.length) throw new DataError(refDir, null, 'OpenKBP patient folders (pt_N/) or openkbp npz files', 'none');
  const want = o.ids ? new Set(o.ids) : null;
  const progress = createProgress({ label: 'resolution floor', total: want ? want.size : refs.length, quiet: o.quiet });
  const per: Record<string, OpenKbpPatientScore> = {};
  for (const p of refs) {
    const c = await loadCase(p);
    if (want && !want.has(c.id)) continue;
    if (!c.dose || !c.possibleDoseMask)
      throw new DataError(p, 'dose/possible_dose_mask', 'an OpenKBP reference patient with dose and mask', 'missing');
    per[c.id] = resolutionFloorPatient(c).score;
    progress.tick(1, c.id);
  }
  progress.stop();
  return combineOpenKbpScores(per);
}
