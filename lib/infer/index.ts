/**
 * Inference API for notebooks: load a checkpoint and predict a case by sliding window, run a
 * folder, or use the distance-to-PTV baseline.
 *   const p = checkpointPredictor('runs/x/checkpoints/best-…');
 *   const dose = p.predict(prepareCase(case, p.recipe));   // normalised by the case Rx
 */
export { predictVolume, windowStarts, gaussianWeights1d, type SlidingWindowOptions } from './sliding_window';
export { runInference, readCaseList, type Predictor, type InferOptions, type InferResult } from './run_inference';
export { checkpointPredictor, distanceBaselinePredictor, readDistanceBaseline } from './predictors';
export {
  fitDistanceBaseline,
  predictDistanceBaseline,
  targetDistanceMm,
  type DistanceBaselineModel,
} from './distance_baseline';
