/**
 * Where a training run's weights start, shared by every trainer (`vmat train`, `openkbp train`,
 * `openkbp refine-train`): `resumeFrom` restores a run's checkpoints/last exactly (weights, AdamW
 * moments and step, the loop's saved state); `initWeightsFrom` loads another checkpoint's weights
 * for fine-tuning and refuses one of a different architecture.
 */
import type { tf } from '../engine';
import type { ModelConfig } from '../models';
import { loadCheckpoint, restoreParams } from '../models/checkpoint';
import { DataError } from '../core/errors';
import type { AdamW } from './adamw';

/**
 * Restores `params` and `optimizer` from the training checkpoint in `dir` and returns the loop
 * state saved with it. `extra` receives the checkpoint's extra tensors (e.g. Kendall log-sigmas)
 * before they are disposed.
 */
export function resumeFrom(
  dir: string,
  params: Map<string, tf.Variable>,
  optimizer: AdamW,
  extra?: (e: Map<string, tf.Tensor>) => void,
): Record<string, unknown> {
  const ck = loadCheckpoint(dir);
  try {
    restoreParams(params, ck.model.params, dir);
    extra?.(ck.extraParams);
  } finally {
    ck.model.dispose();
    for (const v of ck.extraParams.values()) v.dispose();
  }
  if (!ck.optimizer || !ck.state)
    throw new DataError(dir, 'optimizer/state', 'a training checkpoint', 'an inference-only checkpoint');
  optimizer.setState(ck.optimizer);
  return ck.state;
}

/** Copies the weights of the checkpoint in `dir` into `params`, whose model must have the `expected` configuration. */
export function initWeightsFrom(
  dir: string,
  params: Map<string, tf.Variable>,
  expected: Pick<ModelConfig, 'inChannels' | 'baseChannels' | 'levels'>,
): void {
  const ck = loadCheckpoint(dir);
  try {
    const c = ck.model.config;
    if (
      c.inChannels !== expected.inChannels ||
      c.baseChannels !== expected.baseChannels ||
      c.levels !== expected.levels
    ) {
      const describe = (m: typeof expected) =>
        `base ${m.baseChannels}, ${m.levels} levels, ${m.inChannels} input channels`;
      throw new DataError(dir, 'model config', describe(expected), describe(c));
    }
    restoreParams(params, ck.model.params, dir);
  } finally {
    ck.model.dispose();
    for (const v of ck.extraParams.values()) v.dispose();
  }
}
