/**
 * Predictors for runInference: a trained checkpoint (sliding window) or the distance baseline.
 */
import * as fs from 'node:fs';
import { loadCheckpoint, type LoadedCheckpoint } from '../models/checkpoint';
import { DataError } from '../core/errors';
import { lrChannelPairs } from '../inputs/case_inputs';
import type { InputRecipe } from '../inputs/recipe';
import { predictVolume } from './sliding_window';
import { predictDistanceBaseline, type DistanceBaselineModel } from './distance_baseline';
import type { Predictor } from './run_inference';

export interface CheckpointPredictorOptions {
  /** default: the training patch size recorded in the checkpoint, else 128 */
  patchSize?: number;
  /** default: patch/2 (64 at patch 128) */
  overlap?: number;
  batchSize?: number;
  tta?: boolean;
}

export function checkpointPredictor(
  dir: string,
  o: CheckpointPredictorOptions = {},
): Predictor & { checkpoint: LoadedCheckpoint; patchSize: number; overlap: number } {
  const ck = loadCheckpoint(dir);
  const recipe = ck.config.input;
  if (!recipe) throw new DataError(dir, 'config.json input', 'the input recipe the model was trained with', 'none');
  const trainedPatch = Number((ck.config.meta as Record<string, unknown> | undefined)?.patch_size);
  const patchSize = o.patchSize ?? (Number.isFinite(trainedPatch) && trainedPatch > 0 ? trainedPatch : 128);
  const overlap = o.overlap ?? Math.floor(patchSize / 2);
  const lrPairs = lrChannelPairs(recipe.structures);
  return {
    modelType: 'baseline_unet',
    architecture: ck.config.model.architecture,
    recipe,
    checkpoint: ck,
    patchSize,
    overlap,
    predict: (pc, onProgress) =>
      predictVolume(ck.model, pc, { patchSize, overlap, batchSize: o.batchSize, tta: o.tta, lrPairs, onProgress }),
  };
}

export function distanceBaselinePredictor(model: DistanceBaselineModel, recipe: InputRecipe): Predictor {
  return {
    modelType: 'distance_baseline',
    architecture: 'distance_to_ptv_table',
    recipe,
    predict: (pc) => predictDistanceBaseline(model, pc),
  };
}

export function readDistanceBaseline(file: string): DistanceBaselineModel {
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as DistanceBaselineModel;
  if (m.kind !== 'distance-baseline') throw new DataError(file, 'kind', "'distance-baseline'", String(m.kind));
  return m;
}
