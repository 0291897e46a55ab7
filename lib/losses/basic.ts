/**
 * The always-on loss terms (spec 5.1) and the 3-D Sobel gradient loss (spec 5.2).
 */
import { tf, conv3d, relu } from '../engine';

/** MSE = mean((p − t)²) over all elements (normalised doses, [B, Y, X, Z, 1]). */
export function mseLoss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar);
}

/** Negative-dose penalty mean(relu(−p)) of the normalised prediction; always added with weight 0.1, outside uncertainty weighting. */
export function negativeDosePenalty(pred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(relu(tf.neg(pred))) as tf.Scalar);
}

/** Weight of the negative-dose penalty, always added to the total loss (spec 5.1). */
export const NEGATIVE_PENALTY_WEIGHT = 0.1;

let sobelKernel: tf.Tensor5D | null = null;

/**
 * [3, 3, 3, 1, 3] filter bank: output channel a differentiates along array axis a (Y, X, Z) with
 * [−1, 0, +1] and smooths the other two axes with [1, 2, 1] ⊗ [1, 2, 1]; each kernel ÷ its L1 norm (32).
 */
export function sobelKernels(): tf.Tensor5D {
  if (sobelKernel && !sobelKernel.isDisposed) return sobelKernel;
  const d = [-1, 0, 1];
  const s = [1, 2, 1];
  const w = new Float32Array(27 * 3);
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++)
      for (let c = 0; c < 3; c++) {
        const idx = ((a * 3 + b) * 3 + c) * 3;
        w[idx + 0] = (d[a] * s[b] * s[c]) / 32;
        w[idx + 1] = (s[a] * d[b] * s[c]) / 32;
        w[idx + 2] = (s[a] * s[b] * d[c]) / 32;
      }
  sobelKernel = tf.keep(tf.tensor(w, [3, 3, 3, 1, 3], 'float32') as tf.Tensor5D);
  return sobelKernel;
}

/** Sobel gradients of a [B, Y, X, Z, 1] volume with zero padding: [B, Y, X, Z, 3] */
export function sobelGradients(x: tf.Tensor5D): tf.Tensor5D {
  return conv3d(x, sobelKernels(), 1);
}

/** L_grad = mean |∇p − ∇t| over the 3 gradient channels and all voxels (an L1 loss) */
export function gradientLoss(pred: tf.Tensor5D, target: tf.Tensor5D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(sobelGradients(pred), sobelGradients(target)))) as tf.Scalar);
}
