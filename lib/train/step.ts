/**
 * One optimisation step, shared by every training loop (`vmat train` on patches, `vmat openkbp
 * train` on whole 64³ volumes): gradients of a scalar loss with respect to the trainable
 * variables, global-norm clipping (torch clip_grad_norm_ semantics), one AdamW update at the given
 * learning rate, and disposal of every intermediate (during the backward pass, as each is consumed:
 * lib/engine/lean_grads.ts). Returns the loss value; a non-finite loss
 * throws before the weights are touched, so a diverged step never reaches a checkpoint.
 */
import { VmatError } from '../core/errors';
import { tf, leanVariableGrads } from '../engine';
import { AdamW, clipGradNorm } from './adamw';

export interface StepInput {
  /** the variables to update, by parameter name (the names AdamW's state is keyed by) */
  trainable: Map<string, tf.Variable>;
  optimizer: AdamW;
  lr: number;
  /** max global L2 norm of the gradients; <= 0 disables clipping */
  gradClip: number;
  /** the loss, built inside the gradient tape */
  loss: () => tf.Scalar;
  /** what to name in the error if the loss is not finite */
  where: string;
}

/** One optimisation step: gradients of `s.loss`, global-norm clipping, one AdamW update at `s.lr`; returns the loss (VmatError when not finite). */
export function optimisationStep(s: StepInput): number {
  const nameOfVar = new Map<string, string>();
  for (const [k, v] of s.trainable) nameOfVar.set(v.name, k);
  // the lean backward pass frees each activation and gradient once used (same gradients, bit for bit)
  const { value, grads } = leanVariableGrads(s.loss, [...s.trainable.values()]);
  const g = new Map<string, tf.Tensor>();
  for (const [vn, t] of Object.entries(grads)) g.set(nameOfVar.get(vn) ?? vn, t);
  const loss = value.dataSync()[0];
  if (!Number.isFinite(loss)) {
    tf.dispose([value, ...g.values()]);
    throw new VmatError(
      `${s.where}: the training loss became ${loss} (training diverged: lower --lr, or check the inputs for NaN/Inf)`,
    );
  }
  if (s.gradClip > 0) clipGradNorm(g, s.gradClip);
  s.optimizer.apply(g, s.lr);
  tf.dispose([value, ...g.values()]);
  return loss;
}
