/**
 * The OpenKBP benchmark of a model folder: every patient of a folder predicted by the folder's
 * predictor (as `vmat openkbp predict`) and scored with the official metrics (as `vmat openkbp
 * score`), beside the resolution floor of the 64³ scheme and — for a cascade — its coarse stage
 * alone. Used by notebooks/openkbp_benchmark.ipynb.
 */
import { caseIdOfPath, listCasePaths, loadCase } from '../data/load';
import type { Case } from '../data/case';
import { DataError } from '../core/errors';
import { createProgress } from '../core/progress';
import { scoreOpenKbpPatient, type OpenKbpPatientScore } from '../eval/openkbp_score';
import { loadBundle, type PredictionOverrides } from '../infer/bundle';
import { resolutionFloorPatient, scoringReference } from './floor';

export interface OpenKbpBenchmark {
  /** the predictor's composition */
  predictor: string;
  ids: string[];
  /** the full prediction's scores per patient */
  perPatient: Record<string, OpenKbpPatientScore>;
  /** a cascade's coarse stage alone, per patient (null for other predictors) */
  coarsePerPatient: Record<string, OpenKbpPatientScore> | null;
  /** the ground truth down to 64³ and up, per patient */
  floorPerPatient: Record<string, OpenKbpPatientScore>;
  /** the patient with the largest dose error: its case and prediction (Gy) for figures */
  worst: { case: Case; predGy: Float32Array } | null;
  seconds: number;
}

/** predicts and scores the first `limit` patients (all when 0/undefined) of `valDir` with the model folder */
export async function benchmarkOpenKbpModel(
  modelDir: string,
  valDir: string,
  o: PredictionOverrides & { limit?: number; onProgress?: (done: number, total: number, info: string) => void } = {},
): Promise<OpenKbpBenchmark> {
  let files = await listCasePaths(valDir);
  if (!files.length) throw new DataError(valDir, null, 'OpenKBP patients (npz files or pt_N/ folders)', 'none');
  if (o.limit) files = files.slice(0, o.limit);
  const b = loadBundle(modelDir, o);
  const progress = createProgress({ label: 'openkbp benchmark', total: files.length, onUpdate: o.onProgress });
  const t0 = Date.now();
  const per: Record<string, OpenKbpPatientScore> = {};
  const floor: Record<string, OpenKbpPatientScore> = {};
  let coarse: Record<string, OpenKbpPatientScore> | null = null;
  let worst: OpenKbpBenchmark['worst'] = null;
  try {
    for (const f of files) {
      const c = await loadCase(f);
      if (!c.dose) throw new DataError(f, 'dose', 'a reference dose (scored patients need one)', 'none');
      const ref = scoringReference(c);
      const stages = b.predictor.predictStagesGy?.(c) ?? { final: b.predictor.predictGy(c) };
      per[c.id] = scoreOpenKbpPatient(ref, stages.final);
      if (stages.coarse) (coarse ??= {})[c.id] = scoreOpenKbpPatient(ref, stages.coarse);
      floor[c.id] = resolutionFloorPatient(c).score;
      if (!worst || per[c.id].dose_error > per[worst.case.id].dose_error) worst = { case: c, predGy: stages.final };
      progress.tick(1, caseIdOfPath(f));
    }
  } finally {
    progress.stop();
    b.predictor.dispose();
  }
  return {
    predictor: b.predictor.describe(),
    ids: Object.keys(per),
    perPatient: per,
    coarsePerPatient: coarse,
    floorPerPatient: floor,
    worst,
    seconds: (Date.now() - t0) / 1000,
  };
}
