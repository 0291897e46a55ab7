/**
 * What every clinical loss sees for one batch. Structure masks inside losses are `SDF < 0` of the
 * (augmented) input channels, as in the reference (spec 5 notation); `present` says which
 * structures exist in each case, so an absent structure (v2.4 SDF ≡ 0, v2.3 SDF ≡ +1) never counts.
 */
import { tf } from '../engine';
import { targetDoseGy } from '../data/profiles';

export interface LossBatch {
  /** predicted dose, normalised by the case Rx: [B, Y, X, Z, 1] */
  pred: tf.Tensor5D;
  /** target dose, normalised: [B, Y, X, Z, 1] */
  target: tf.Tensor5D;
  /** structure SDF channels (input channels 1..C): [B, Y, X, Z, C] */
  sdf: tf.Tensor5D;
  /** channel names of `sdf` */
  structures: string[];
  /** present[b][c]: structure c exists (non-empty) in the case of sample b */
  present: boolean[][];
  /** per-sample prescription (Gy) = the normalisation dose */
  rxGy: number[];
  /** SDF clip distance (mm) */
  sdfClipMm: number;
}

/** Index of structure `name` in the batch's SDF channels (−1 when absent). */
export function channelOf(batch: Pick<LossBatch, 'structures'>, name: string): number {
  return batch.structures.indexOf(name);
}

/** True for a target structure (a PTV with a known dose level). */
export function isTarget(name: string): boolean {
  return targetDoseGy(name) !== null;
}

/** [B, Y, X, Z, 1] float mask of SDF < 0 for one channel */
export function insideMask(sdf: tf.Tensor5D, ch: number): tf.Tensor5D {
  return tf.tidy(() => {
    const [b, y, x, z] = sdf.shape;
    return tf.cast(tf.less(tf.slice(sdf, [0, 0, 0, 0, ch], [b, y, x, z, 1]), 0), 'float32') as tf.Tensor5D;
  });
}

/** [B, 1, 1, 1, 1] 0/1 presence of channel `ch` per sample */
export function presenceOf(batch: Pick<LossBatch, 'present'>, ch: number): tf.Tensor5D {
  const v = batch.present.map((p) => (p[ch] ? 1 : 0));
  return tf.tensor(Float32Array.from(v), [v.length, 1, 1, 1, 1]) as tf.Tensor5D;
}
