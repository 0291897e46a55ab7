/**
 * The training engine's API: `runTraining(options, build)` runs any TrainingTask (lib/train/task.ts);
 * the typed metrics row `EpochRow` is what `onEpoch` receives and metrics.csv holds. The prostate task
 * is `train(trainOptions({...}))` in lib/prostate; the OpenKBP tasks are in lib/openkbp.
 */
export {
  runTraining,
  commandText,
  type EngineOptions,
  type TrainResult,
  type StepInfo,
  type StoppedBy,
  type TaskContext,
} from './engine';
export type { EpochRow, RunState } from './run_state';
export type { TrainingTask, StepLoss, ValidationRow, ValidateContext } from './task';
export { TrainingInterrupted } from './signals';
export { AdamW, clipGradNorm, cosineLr } from './adamw';
export { warmupCosineLr } from './schedule';
