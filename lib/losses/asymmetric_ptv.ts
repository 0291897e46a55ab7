/**
 * Asymmetric PTV loss (spec 5.6): inside M = union of target masks (SDF < 0 of every PTV channel),
 * e = p − t, weight `underdoseWeight` (3.0) where e < 0 else `overdoseWeight` (1.0);
 * L = Σ_M w·e² / |M| over the whole batch, 0 when M is empty.
 * Logged D95 gap = target − pred (positive = underdose, the reference's training sign; the
 * evaluation's D95_error is pred − GT).
 */
import { ASYMMETRIC_PTV_DEFAULTS, type AsymmetricPtvOptions } from './config';
import { tf } from '../engine';
import { type LossBatch, isTarget, insideMask } from './batch';
import { exactDx } from './soft_dvh';
import type { LossResult } from './dvh_loss';

/** union of all target masks [B, Y, X, Z, 1] */
export function targetUnionMask(batch: LossBatch): tf.Tensor5D {
  return tf.tidy(() => {
    const [B, Y, X, Z] = batch.sdf.shape;
    let m: tf.Tensor = tf.zeros([B, Y, X, Z, 1]);
    for (const name of batch.structures.filter(isTarget))
      m = tf.maximum(m, insideMask(batch.sdf, batch.structures.indexOf(name)));
    return m as tf.Tensor5D;
  });
}

/**
 * Asymmetric PTV loss on a batch (doses normalised by Rx, [B, Y, X, Z, 1]): weighted squared error
 * inside the target union, underdose × `underdoseWeight`; metrics include the D95 gap (normalised dose).
 */
export function asymmetricPtvLoss(batch: LossBatch, options: Partial<AsymmetricPtvOptions> = {}): LossResult {
  const o = { ...ASYMMETRIC_PTV_DEFAULTS, ...options };
  return tf.tidy(() => {
    const M = targetUnionMask(batch);
    const n = tf.sum(M).dataSync()[0];
    if (n === 0)
      return {
        loss: tf.mul(tf.sum(batch.pred), 0) as tf.Scalar,
        metrics: { 'asym_ptv/loss': 0, 'asym_ptv/n_ptv_voxels': 0 },
      };
    const e = tf.sub(batch.pred, batch.target);
    // the weight depends only on the sign of e: build it from a copy of the values so the tape
    // never differentiates through the comparison (tfjs has no gradient for Less)
    const eValues = tf.tensor(e.dataSync(), e.shape);
    const w = tf.where(tf.less(eValues, 0), tf.fill(e.shape, o.underdoseWeight), tf.fill(e.shape, o.overdoseWeight));
    const loss = tf.div(tf.sum(tf.mul(tf.mul(w, tf.square(e)), M)), n) as tf.Scalar;
    // logged in Gy with each sample's own Rx
    const [B, Y, X, Z] = batch.pred.shape;
    const vox = Y * X * Z;
    const md = M.dataSync();
    const pd = batch.pred.dataSync();
    const td = batch.target.dataSync();
    const errs: number[] = [];
    const pg: number[] = [];
    const tg: number[] = [];
    for (let b = 0; b < B; b++) {
      const rx = batch.rxGy[b];
      for (let i = b * vox; i < (b + 1) * vox; i++)
        if (md[i]) {
          errs.push((pd[i] - td[i]) * rx);
          pg.push(pd[i] * rx);
          tg.push(td[i] * rx);
        }
    }
    const predD95 = exactDx(pg, 95);
    const targetD95 = exactDx(tg, 95);
    const under = errs.filter((x) => x < 0);
    const metrics = {
      'asym_ptv/mean_error_gy': errs.reduce((a, b) => a + b, 0) / errs.length,
      'asym_ptv/min_error_gy': errs.reduce((a, b) => Math.min(a, b), Infinity),
      'asym_ptv/max_error_gy': errs.reduce((a, b) => Math.max(a, b), -Infinity),
      'asym_ptv/underdose_mean_gy': under.length ? under.reduce((a, b) => a + b, 0) / under.length : 0,
      'asym_ptv/underdose_fraction': under.length / errs.length,
      'asym_ptv/pred_d95_gy': predD95,
      'asym_ptv/target_d95_gy': targetD95,
      'asym_ptv/d95_gap_gy': targetD95 - predD95,
      'asym_ptv/loss': loss.dataSync()[0],
      'asym_ptv/n_ptv_voxels': n,
    };
    return { loss, metrics };
  });
}
