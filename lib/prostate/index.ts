/**
 * The prostate (reference study) workflow for notebooks and scripts: `train(trainOptions({...}))`
 * with `onEpoch` / `onStep` callbacks for live figures; validation metrics of a model.
 */
export { train, prostateTask, PROSTATE_VALIDATION_COLUMNS, type TrainResult } from './train_task';
export { trainOptions, type TrainOptions, type EpochRow, type StepInfo, type MonitorMetric } from './options';
export { validate, scoreCase, primaryTarget, type ValidationResult, type CaseValidation } from './validation';
