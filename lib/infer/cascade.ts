/**
 * The cascade predictor (OpenKBP two-stage pipeline, as the challenge winner's): a coarse predictor
 * (the resampled 64³ stage) gives the dose at 128³; a small full-resolution refiner network sees
 * that dose with the full-resolution CT, structures and possible-dose mask (lib/inputs/refiner128.ts)
 * and predicts a residual: refined = max(0, coarse + net(...)), × 70 Gy, zero outside the mask.
 * The refiner is a `network` VolumeNet with `residualChannel: 0` (optionally `mirrored`).
 */
import { tf } from '../engine';
import type { Case } from '../data/case';
import type { DoseModel } from '../models';
import { OPENKBP_RX_GY, OPENKBP_SHAPE } from '../inputs/openkbp64';
import { REFINER_IN_CHANNELS, refinerCase, writeRefinerBox, type RefinerCase } from '../inputs/refiner128';
import type { VolumeNet } from './volume_net';
import type { DosePredictor } from './predictor';

/** the refiner's output tensor for a channels-last input (training): max(0, coarse + net(x)) */
export function refinerForward(model: DoseModel, x: tf.Tensor5D): tf.Tensor5D {
  return tf.tidy(() => {
    const b = x.shape[0];
    const coarse = tf.slice(x, [0, 0, 0, 0, 0], [b, x.shape[1], x.shape[2], x.shape[3], 1]);
    return tf.relu(tf.add(coarse, model.apply(x, tf.zeros([b, 13]) as tf.Tensor2D))) as tf.Tensor5D;
  });
}

/** the refined dose in Gy at 128³ of a refiner case, zero outside the possible-dose mask */
export function refineGy(refiner: VolumeNet, rc: RefinerCase): Float32Array {
  const S = OPENKBP_SHAPE;
  const n = S[0] * S[1] * S[2];
  const x = new Float32Array(n * REFINER_IN_CHANNELS);
  writeRefinerBox(rc, [0, 0, 0], S, false, x);
  const out = refiner.forward(x, [1, ...S, REFINER_IN_CHANNELS], new Float32Array(13));
  for (let i = 0; i < n; i++) out[i] = rc.pdm[i] ? out[i] * OPENKBP_RX_GY : 0;
  return out;
}

/** coarse predictor + 128³ refiner as one DosePredictor */
export function cascadePredictor(coarse: DosePredictor, refiner: VolumeNet): DosePredictor {
  return {
    modelType: coarse.modelType,
    architecture: coarse.architecture,
    predictGy: (c: Case) => refineGy(refiner, refinerCase(c, coarse.predictGy(c))),
    predictStagesGy: (c: Case) => {
      const coarseGy = coarse.predictGy(c);
      return { coarse: coarseGy, final: refineGy(refiner, refinerCase(c, coarseGy)) };
    },
    describe: () => `cascade(${coarse.describe()}, ${refiner.describe()})`,
    dispose: () => {
      coarse.dispose();
      refiner.dispose();
    },
  };
}
