/**
 * Structure-weighted MSE (spec 5.5): L = mean(W·(p − t)²) over all voxels (not normalised by ΣW),
 * W = background 0.5; 1.5 in a ±boundary band (|SDF| < boundary_mm / sdf_clip_mm) around each OAR
 * surface; 2.0 inside any target (overrides).
 *
 * Fix of the v2.4 defect: an absent OAR has SDF ≡ 0, so |SDF| < 0.1 everywhere and the reference
 * turned the whole patch into "boundary". Here the band is gated on the structure being present.
 */
import { STRUCTURE_WEIGHTED_DEFAULTS, type StructureWeightedOptions } from './config';
import { tf } from '../engine';
import { type LossBatch, isTarget, insideMask, presenceOf } from './batch';
import type { LossResult } from './dvh_loss';

/** The OARs of the structure-weighted loss: every non-target structure except the prostate. */
export function defaultOarStructures(structures: string[]): string[] {
  return structures.filter((s) => !isTarget(s) && s !== 'Prostate');
}

/** the weight map W [B, Y, X, Z, 1] (no gradient) */
export function structureWeightMap(batch: LossBatch, options: Partial<StructureWeightedOptions> = {}): tf.Tensor5D {
  const o = { ...STRUCTURE_WEIGHTED_DEFAULTS, ...options };
  const oars = o.oarStructures ?? defaultOarStructures(batch.structures);
  const bandHalf = o.boundaryWidthMm / batch.sdfClipMm;
  return tf.tidy(() => {
    const [B, Y, X, Z] = batch.sdf.shape;
    let band: tf.Tensor = tf.zeros([B, Y, X, Z, 1]);
    for (const name of oars) {
      const ch = batch.structures.indexOf(name);
      if (ch < 0) continue;
      const s = tf.slice(batch.sdf, [0, 0, 0, 0, ch], [B, Y, X, Z, 1]);
      const inBand = tf.mul(tf.cast(tf.less(tf.abs(s), bandHalf), 'float32'), presenceOf(batch, ch));
      band = tf.maximum(band, inBand);
    }
    let ptv: tf.Tensor = tf.zeros([B, Y, X, Z, 1]);
    for (const name of batch.structures.filter(isTarget)) {
      ptv = tf.maximum(ptv, insideMask(batch.sdf, batch.structures.indexOf(name)));
    }
    const w = tf.add(tf.mul(band, o.oarBoundaryWeight - o.backgroundWeight), o.backgroundWeight);
    return tf.add(tf.mul(w, tf.sub(1, ptv)), tf.mul(ptv, o.ptvWeight)) as tf.Tensor5D;
  });
}

/** Structure-weighted MSE on a batch ([B, Y, X, Z, 1], normalised dose): PTV 2.0, OAR boundary band 1.5, background 0.5. */
export function structureWeightedLoss(batch: LossBatch, options: Partial<StructureWeightedOptions> = {}): LossResult {
  const o = { ...STRUCTURE_WEIGHTED_DEFAULTS, ...options };
  return tf.tidy(() => {
    const W = structureWeightMap(batch, o);
    const se = tf.square(tf.sub(batch.pred, batch.target));
    const loss = tf.mean(tf.mul(W, se)) as tf.Scalar;
    const masked = (m: tf.Tensor) => {
      const n = tf.sum(m).dataSync()[0];
      return n > 0 ? tf.sum(tf.mul(se, m)).dataSync()[0] / n : NaN;
    };
    const isPtv = tf.cast(tf.equal(W, o.ptvWeight), 'float32');
    const isBand = tf.cast(tf.equal(W, o.oarBoundaryWeight), 'float32');
    const isBg = tf.cast(tf.equal(W, o.backgroundWeight), 'float32');
    const metrics = {
      'struct_weight/ptv_mse': masked(isPtv),
      'struct_weight/oar_mse': masked(isBand),
      'struct_weight/background_mse': masked(isBg),
      'struct_weight/mean_weight': tf.mean(W).dataSync()[0],
      'struct_weight/weighted_loss': loss.dataSync()[0],
    };
    return { loss, metrics };
  });
}
