/**
 * Reference implementations of the engine's ops, composed only of stock tfjs ops whose
 * gradients are correct on the `cpu` backend. They define the semantics the fast paths must
 * match (tests compare against these) and serve as the fallback everywhere.
 *
 * Layout: activations are channels-last NDHWC; conv filters are [kD, kH, kW, Cin, Cout].
 */
import * as tf from '@tensorflow/tfjs';

/** TF 'same' padding for one axis: [before, after] (out = ceil(in / stride)). */
export function samePadding(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * 3-D convolution, 'same' padding (TF semantics), stride 1 or 2, any odd/even size.
 * Padding is explicit because tfjs' own 'same' samples the wrong voxels when kernel < stride.
 */
export function conv3dRef(x: tf.Tensor5D, w: tf.Tensor5D, stride: 1 | 2 = 1): tf.Tensor5D {
  return tf.tidy(() => {
    const [, d, h, wd] = x.shape;
    const [kd, kh, kw] = w.shape;
    const pads: Array<[number, number]> = [
      [0, 0],
      samePadding(d, kd, stride),
      samePadding(h, kh, stride),
      samePadding(wd, kw, stride),
      [0, 0],
    ];
    const needsPad = pads.some(([a, b]) => a > 0 || b > 0);
    const xp = needsPad ? tf.pad(x, pads) : x;
    return tf.conv3d(xp, w, [stride, stride, stride], 'valid');
  });
}

/**
 * Transposed convolution with kernel 2 and stride 2 (the U-Net up-sampler):
 * y[2d+a, 2h+b, 2w+c, o] = sum_i x[d, h, w, i] * w[a, b, c, i, o].
 * Written as one matmul plus a pixel shuffle because tfjs' conv3dTranspose has no gradient.
 */
export function convTranspose3d2xRef(x: tf.Tensor5D, w: tf.Tensor5D): tf.Tensor5D {
  return tf.tidy(() => {
    const [n, d, h, wd, cin] = x.shape;
    const cout = w.shape[4];
    // [Cin, 2*2*2*Cout] with (a, b, c, o) order
    const wm = w.transpose([3, 0, 1, 2, 4]).reshape([cin, 8 * cout]);
    const y = tf.matMul(x.reshape([n * d * h * wd, cin]), wm); // [ndhw, (a b c o)]
    const y8 = y.reshape([n, d, h, wd, 2, 2, 2, cout]);
    return y8.transpose([0, 1, 4, 2, 5, 3, 6, 7]).reshape([n, 2 * d, 2 * h, 2 * wd, cout]) as tf.Tensor5D;
  });
}

/** 2x2x2 max pooling, stride 2 (sizes must be even). */
export function maxPool3d2xRef(x: tf.Tensor5D): tf.Tensor5D {
  return tf.maxPool3d(x, 2, 2, 'valid');
}

/** Doubles one axis with PyTorch trilinear semantics (align_corners=False, edge clamped). */
function upsampleAxis(x: tf.Tensor, axis: number): tf.Tensor {
  const n = x.shape[axis];
  const first = tf.slice(x, sliceBegin(x.rank, axis, 0), sliceSize(x.shape, axis, 1));
  const last = tf.slice(x, sliceBegin(x.rank, axis, n - 1), sliceSize(x.shape, axis, 1));
  const prev =
    n > 1 ? tf.concat([first, tf.slice(x, sliceBegin(x.rank, axis, 0), sliceSize(x.shape, axis, n - 1))], axis) : first;
  const next =
    n > 1 ? tf.concat([tf.slice(x, sliceBegin(x.rank, axis, 1), sliceSize(x.shape, axis, n - 1)), last], axis) : last;
  const even = tf.add(tf.mul(x, 0.75), tf.mul(prev, 0.25));
  const odd = tf.add(tf.mul(x, 0.75), tf.mul(next, 0.25));
  const stacked = tf.stack([even, odd], axis + 1);
  const shape = x.shape.slice();
  shape[axis] = 2 * n;
  return stacked.reshape(shape);
}
function sliceBegin(rank: number, axis: number, start: number): number[] {
  const b = new Array<number>(rank).fill(0);
  b[axis] = start;
  return b;
}
function sliceSize(shape: number[], axis: number, len: number): number[] {
  const s = shape.map(() => -1);
  s[axis] = len;
  return s;
}

/** x2 trilinear up-sampling (nn.Upsample(scale_factor=2, mode='trilinear', align_corners=False)). */
export function upsampleTrilinear2xRef(x: tf.Tensor5D): tf.Tensor5D {
  return tf.tidy(() => upsampleAxis(upsampleAxis(upsampleAxis(x, 1), 2), 3) as tf.Tensor5D);
}

/** GroupNorm over (D, H, W, C/G) per sample and group, then per-channel affine (PyTorch semantics, biased variance). */
export function groupNormRef(
  x: tf.Tensor5D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  eps = 1e-5,
): tf.Tensor5D {
  return tf.tidy(() => {
    const [n, d, h, w, c] = x.shape;
    if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels not divisible by ${groups} groups`);
    const xg = x.reshape([n, d * h * w, groups, c / groups]);
    const { mean, variance } = tf.moments(xg, [1, 3], true);
    const xn = xg.sub(mean).div(variance.add(eps).sqrt()).reshape([n, d, h, w, c]);
    return xn.mul(gamma).add(beta) as tf.Tensor5D;
  });
}

/** SiLU x·sigmoid(x) in plain tfjs */
export function siluRef<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/** ReLU in plain tfjs */
export function reluRef<T extends tf.Tensor>(x: T): T {
  return tf.relu(x);
}

/** GroupNorm followed by an activation ('none' | 'relu' | 'silu'); the fused op's reference. */
export function groupNormActRef(
  x: tf.Tensor5D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  act: 'none' | 'relu' | 'silu',
  eps = 1e-5,
): tf.Tensor5D {
  return tf.tidy(() => {
    const y = groupNormRef(x, gamma, beta, groups, eps);
    if (act === 'relu') return reluRef(y);
    if (act === 'silu') return siluRef(y);
    return y;
  });
}

/** conv3dRef plus a per-channel bias [Cout]. */
export function conv3dBiasRef(x: tf.Tensor5D, w: tf.Tensor5D, b: tf.Tensor1D, stride: 1 | 2 = 1): tf.Tensor5D {
  return tf.tidy(() => tf.add(conv3dRef(x, w, stride), b) as tf.Tensor5D);
}
