/**
 * Prediction API (notebooks, workflows): load any model folder as a DosePredictor and predict a case
 * in Gy, or run a folder of cases.
 *   const { predictor } = loadBundle('runs/x/checkpoints/best-…');   // or models/openkbp-64-b16
 *   const doseGy = predictor.predictGy(case);
 */
export type { DosePredictor, PredictOptions } from './predictor';
export {
  loadBundle,
  readManifest,
  writeManifest,
  applyOverrides,
  predictorFeatures,
  type BundleManifest,
  type PredictorSpec,
  type NetSpec,
  type PredictionOverrides,
} from './bundle';
export { networkNet, mirroredNet, ensembleNet, type VolumeNet } from './volume_net';
export {
  predictVolume,
  slidingWindowPredictor,
  windowStarts,
  gaussianWeights1d,
  type SlidingWindowOptions,
} from './sliding_window';
export { resampledPredictor } from './resampled';
export { phaseShiftedPredictor } from './phase_shifted';
export { cascadePredictor } from './cascade';
export { runInference, readCaseList, EVALUATION_FILE, type InferOptions, type InferResult } from './run_inference';
export {
  distanceBaselinePredictor,
  readDistanceBaseline,
  fitDistanceBaseline,
  predictDistanceBaseline,
  targetDistanceMm,
  type DistanceBaselineModel,
} from './distance_baseline';
