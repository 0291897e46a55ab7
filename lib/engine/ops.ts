/** The contract of the engine's 3-D ops (lib/engine/index.ts documents the semantics). */
import type * as tf from '@tensorflow/tfjs';

export interface EngineOps {
  conv3d(x: tf.Tensor5D, w: tf.Tensor5D, stride?: 1 | 2): tf.Tensor5D;
  convTranspose3d2x(x: tf.Tensor5D, w: tf.Tensor5D): tf.Tensor5D;
  maxPool3d2x(x: tf.Tensor5D): tf.Tensor5D;
  upsampleTrilinear2x(x: tf.Tensor5D): tf.Tensor5D;
  groupNorm(x: tf.Tensor5D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps?: number): tf.Tensor5D;
  silu<T extends tf.Tensor>(x: T): T;
  relu<T extends tf.Tensor>(x: T): T;
  /** optional conv + per-channel bias [Cout] in one op (falls back to conv3d then add) */
  conv3dBias?(x: tf.Tensor5D, w: tf.Tensor5D, b: tf.Tensor1D, stride?: 1 | 2): tf.Tensor5D;
  /** optional concat along the channel axis (falls back to tf.concat(xs, 4)) */
  concatChannels?(xs: tf.Tensor5D[]): tf.Tensor5D;
  /** optional fused GroupNorm + activation (falls back to groupNorm then the activation) */
  groupNormAct?(
    x: tf.Tensor5D,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    groups: number,
    act: Activation,
    eps?: number,
  ): tf.Tensor5D;
}

export type Activation = 'none' | 'relu' | 'silu';
