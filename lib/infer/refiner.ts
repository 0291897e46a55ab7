/**
 * The 128³ refinement stage at prediction time (the network side of lib/inputs/refiner128.ts):
 * refined = max(0, coarse + net(coarse, CT, structures, mask)), in Gy, zero outside the mask.
 */
import { tf } from '../engine';
import type { Shape3 } from '../core/shape';
import type { DoseModel } from '../models';
import { flipAxis1 } from '../transforms/volume_ops';
import { OPENKBP_DOSE_SCALE_GY, OPENKBP_FULL_SHAPE } from '../inputs/openkbp64';
import { REFINER_IN_CHANNELS, writeRefinerBox, type RefinerCase } from '../inputs/refiner128';

/** the refiner's output for a channels-last input: coarse + residual, clamped at 0 */
export function refinerForward(model: DoseModel, x: tf.Tensor5D): tf.Tensor5D {
  return tf.tidy(() => {
    const b = x.shape[0];
    const coarse = tf.slice(x, [0, 0, 0, 0, 0], [b, x.shape[1], x.shape[2], x.shape[3], 1]);
    return tf.relu(tf.add(coarse, model.apply(x, tf.zeros([b, 13]) as tf.Tensor2D))) as tf.Tensor5D;
  });
}

/**
 * The refined dose in Gy at 128³, zero outside the possible-dose mask. With `tta` the mean of the
 * plain pass and the L/R-mirrored pass (parotids swapped, output mirrored back), as the 64³ stage.
 */
export function refineGy(model: DoseModel, rc: RefinerCase, o: { tta?: boolean } = {}): Float32Array {
  const S = OPENKBP_FULL_SHAPE;
  const n = S[0] * S[1] * S[2];
  const x = new Float32Array(n * REFINER_IN_CHANNELS);
  const pass = (flip: boolean): Float32Array => {
    writeRefinerBox(rc, [0, 0, 0], S, flip, x);
    const xt = tf.tensor(x, [1, ...S, REFINER_IN_CHANNELS]) as tf.Tensor5D;
    const yt = refinerForward(model, xt);
    const y = Float32Array.from(yt.dataSync() as Float32Array);
    tf.dispose([xt, yt]);
    return flip ? flipAxis1(y, S as Shape3) : y;
  };
  const out = pass(false);
  if (o.tta) {
    const back = pass(true);
    for (let i = 0; i < n; i++) out[i] = 0.5 * (out[i] + back[i]);
  }
  for (let i = 0; i < n; i++) out[i] = rc.pdm[i] ? out[i] * OPENKBP_DOSE_SCALE_GY : 0;
  return out;
}
