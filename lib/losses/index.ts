/**
 * The training objective (spec 5.1): MSE + 0.1·neg + the enabled weighted terms, or, under
 * uncertainty weighting, Σ[L_i/2σ_i² + s_i] + 0.1·neg (manual weights ignored, as the reference).
 */
import { tf } from '../engine';
import { mseLoss, negativeDosePenalty, gradientLoss, NEGATIVE_PENALTY_WEIGHT } from './basic';
import { dvhAwareLoss } from './dvh_loss';
import { structureWeightedLoss } from './structure_weighted';
import { asymmetricPtvLoss } from './asymmetric_ptv';
import { UncertaintyWeighting } from './uncertainty';
import type { LossComponent, LossConfig } from './config';
import type { LossBatch } from './batch';

export * from './basic';
export * from './batch';
export * from './dvh_loss';
export * from './structure_weighted';
export * from './asymmetric_ptv';
export * from './uncertainty';
export * from './soft_dvh';
export * from './config';

export interface LossOutput {
  total: tf.Scalar;
  /** raw component values (normalised units) for logging: mse, neg, grad, dvh, struct, asym */
  components: Record<string, number>;
  /** detailed metrics of the clinical losses (dvh/..., struct_weight/..., asym_ptv/...) */
  metrics: Record<string, number>;
}

/** raw component losses (differentiable) keyed by component name, plus the logged metrics */
export function componentLosses(
  batch: LossBatch,
  cfg: LossConfig,
): { parts: Partial<Record<LossComponent, tf.Scalar>>; metrics: Record<string, number> } {
  const parts: Partial<Record<LossComponent, tf.Scalar>> = { base: mseLoss(batch.pred, batch.target) };
  let metrics: Record<string, number> = {};
  if (cfg.useGradientLoss) parts.gradient = gradientLoss(batch.pred, batch.target);
  if (cfg.useDvhLoss) {
    const r = dvhAwareLoss(batch, cfg.dvh);
    parts.dvh = r.loss;
    metrics = { ...metrics, ...r.metrics };
  }
  if (cfg.useStructureWeighted) {
    const r = structureWeightedLoss(batch, cfg.structure);
    parts.structure = r.loss;
    metrics = { ...metrics, ...r.metrics };
  }
  if (cfg.useAsymmetricPtv) {
    const r = asymmetricPtvLoss(batch, cfg.asymmetric);
    parts.asymmetric = r.loss;
    metrics = { ...metrics, ...r.metrics };
  }
  return { parts, metrics };
}

const LOG_NAMES: Record<LossComponent, string> = {
  base: 'mse',
  gradient: 'grad',
  dvh: 'dvh',
  structure: 'struct',
  asymmetric: 'asym',
};

/** total training loss; call inside a gradient tape (tf.variableGrads) */
export function totalLoss(batch: LossBatch, cfg: LossConfig, uw?: UncertaintyWeighting): LossOutput {
  const { parts, metrics } = componentLosses(batch, cfg);
  const neg = negativeDosePenalty(batch.pred);
  let weighted: tf.Scalar;
  if (cfg.useUncertaintyWeighting) {
    if (!uw)
      throw new Error(
        'totalLoss: cfg.useUncertaintyWeighting is set but no UncertaintyWeighting was passed (the task creates one with the config)',
      );
    weighted = uw.combine(parts);
  } else {
    const w: Record<LossComponent, number> = {
      base: 1,
      gradient: cfg.gradientLossWeight,
      dvh: cfg.dvhLossWeight,
      structure: cfg.structureWeightedWeight,
      asymmetric: cfg.asymmetricPtvWeight,
    };
    weighted = tf.addN(Object.entries(parts).map(([k, v]) => tf.mul(v!, w[k as LossComponent]))) as tf.Scalar;
  }
  const total = tf.add(weighted, tf.mul(neg, NEGATIVE_PENALTY_WEIGHT)) as tf.Scalar;
  const components: Record<string, number> = { neg: neg.dataSync()[0] };
  for (const [k, v] of Object.entries(parts)) components[LOG_NAMES[k as LossComponent]] = v!.dataSync()[0];
  return { total, components, metrics };
}
