/**
 * Fine-tuning: `initWeightsFrom` loads another checkpoint's weights into a new run's model and
 * refuses one of a different architecture. (Resuming a run is the engine's: lib/train/engine.ts.)
 */
import type { tf } from '../engine';
import type { ModelConfig } from '../models';
import { loadCheckpoint, restoreParams } from '../models/checkpoint';
import { DataError } from '../core/errors';

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
