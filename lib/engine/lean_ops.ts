/**
 * Ops that save less for their gradient than the stock tfjs ops they replace, with bit-identical
 * values and gradients (the same stock kernels compute them; only what is kept differs). Any
 * backend. tfjs' Add keeps both inputs and Multiply both inputs, though Add's gradient needs only
 * their shapes: in a U-Net block that is up to three full-size activations per block that nothing
 * else needs (the FiLM sum, the residual branch and the block output before the residual add).
 *
 *   film(h, s1, shift) = h * s1 + shift   (FiLM with s1 = 1 + scale; s1, shift [B, 1, 1, 1, C])
 *                                         keeps h and s1 (tf.mul then tf.add would also keep h * s1)
 *   addSame(a, b)      = a + b            (same shapes) keeps nothing
 *
 * Also the tape-kernel helper the native ops use (`tapeOp`).
 */
import * as tf from '@tensorflow/tfjs';

type GradFn = (() => tf.Tensor) | null;

interface KernelRunner {
  runKernelFunc(p: {
    forwardFunc: (backend: unknown, save: (ts: tf.Tensor[]) => void) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor;
}

/**
 * One differentiable op on the tape (the engine's runKernelFunc, which tf.customGrad also uses):
 * `forward(save)` returns the output (save([...]) keeps the tensors the gradient needs, as tfjs
 * clones that survive the forward tidy; the forward runs untaped); `backward(dy, saved)` returns
 * one lazy gradient function per input (null: no gradient), so only the gradients the backward
 * pass asks for are computed.
 */
export function tapeOp(
  inputs: tf.Tensor[],
  forward: (save: (ts: tf.Tensor[]) => void) => tf.Tensor,
  backward: (dy: tf.Tensor, saved: tf.Tensor[]) => GradFn[],
): tf.Tensor {
  const inputMap: Record<string, tf.Tensor> = {};
  inputs.forEach((t, i) => (inputMap[i] = t));
  return (tf.engine() as unknown as KernelRunner).runKernelFunc({
    forwardFunc: (_backend, save) => forward(save),
    backwardsFunc: (dy, saved) => {
      const fns = backward(dy, saved);
      const map: Record<string, () => tf.Tensor> = {};
      fns.forEach((fn, i) => {
        if (fn) map[i] = fn;
      });
      return map;
    },
    inputs: inputMap,
  });
}

/** tfjs' broadcast gradient: dy summed over the axes x was broadcast along, reshaped to x */
function reduceTo(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

/**
 * FiLM modulation h * s1 + shift (h [B, ..., C]; s1, shift broadcast against it, e.g.
 * [B, 1, 1, 1, C]): the values and gradients of tf.add(tf.mul(h, s1), shift), keeping only h and s1.
 */
export function film<T extends tf.Tensor>(h: T, s1: tf.Tensor, shift: tf.Tensor): T {
  return tapeOp(
    [h, s1, shift],
    (save) => {
      save([h, s1]);
      return tf.tidy(() => tf.add(tf.mul(h, s1), shift));
    },
    (dy, saved) => {
      const [sh, ss] = saved;
      return [
        // Add passes dy to the product unchanged; Multiply's gradients as tfjs computes them
        () => reduceTo(tf.mul(dy, ss), h.shape),
        () => reduceTo(tf.mul(dy, sh), s1.shape),
        () => reduceTo(dy, shift.shape),
      ];
    },
  ) as T;
}

/** a + b for tensors of one shape, keeping nothing for the gradient (it is dy for both) */
export function addSame<T extends tf.Tensor>(a: T, b: T): T {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`addSame: shapes [${a.shape}] and [${b.shape}] differ`);
  return tapeOp(
    [a, b],
    () => tf.add(a, b),
    (dy) => [() => tf.reshape(dy, a.shape), () => tf.reshape(dy, b.shape)],
  ) as T;
}
