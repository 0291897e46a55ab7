/**
 * Training API for notebooks and scripts: `train(trainOptions({...}))` with `onEpoch`/`onStep`
 * callbacks for live figures; the building blocks (inputs, patches, augmentation, AdamW) for
 * custom loops.
 */
export { train, type TrainResult } from './trainer';
export { trainOptions, type TrainOptions, type EpochRow, type StepInfo, type MonitorMetric } from './options';
export {
  prepareCase,
  inputRecipeFor,
  constraintsOf,
  lrChannelPairs,
  normaliseCtHu,
  type PreparedCase,
} from '../inputs/case_inputs';
export { samplePatchCentre, extractPatch, writeChannelsLast, type Patch } from '../inputs/patches';
export { augmentPatch, flipLeftRight } from '../inputs/augment';
export { AdamW, clipGradNorm, cosineLr } from './adamw';
export { Rng } from '../core/rng';
export { CaseStore, caseIdOfPath } from '../inputs/case_store';
export { resolveSplit, makeSplitFor, type LockedSplit } from './split_lock';
export { validate, scoreCase, type ValidationResult } from './validation';
