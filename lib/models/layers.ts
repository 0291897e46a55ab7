/**
 * Functional building blocks of the U-Nets (spec 3.1, 3.3). Activations are NDHWC
 * ([B, Y, X, Z, C]); every op is either a stock tfjs op with a trusted gradient (matMul, add,
 * sigmoid, softmax, moments) or an engine op, so the models run on any backend.
 */
import { tf, conv3d, conv3dBias, groupNormAct, silu, relu, upsampleTrilinear2x, film, addSame } from '../engine';
import { groupsFor } from './config';

export type Params = Map<string, tf.Tensor>;

/** The parameter tensor `name` of a model (an invariant error when missing). */
export function param(p: Params, name: string): tf.Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`model parameter '${name}' missing (modelFromParams checks every parameter of the config)`);
  return t;
}

/** y = x W + b over the last axis (nn.Linear with the weight stored [in, out]) */
export function linear(p: Params, name: string, x: tf.Tensor2D, bias = true): tf.Tensor2D {
  const y = tf.matMul(x, param(p, `${name}.weight`) as tf.Tensor2D) as tf.Tensor2D;
  return bias ? (tf.add(y, param(p, `${name}.bias`)) as tf.Tensor2D) : y;
}

/** nn.Conv3d with 'same' padding (k = 3 -> padding 1, k = 1 -> none) */
export function conv(p: Params, name: string, x: tf.Tensor5D, bias = true): tf.Tensor5D {
  const w = param(p, `${name}.weight`) as tf.Tensor5D;
  return bias ? conv3dBias(x, w, param(p, `${name}.bias`) as tf.Tensor1D, 1) : conv3d(x, w, 1);
}

/** GroupNorm (torch defaults: eps 1e-5, affine) followed by SiLU, fused where the engine has it */
function normSilu(p: Params, name: string, x: tf.Tensor5D): tf.Tensor5D {
  const c = x.shape[4];
  return groupNormAct(x, param(p, `${name}.weight`) as tf.Tensor1D, param(p, `${name}.bias`) as tf.Tensor1D, groupsFor(c), 'silu', 1e-5);
}

/**
 * ConvBlock3D: conv-GN-SiLU, FiLM (h·(1+scale)+shift from Linear(SiLU(cond))), conv-GN-SiLU,
 * plus the residual (1x1x1 conv when the width changes). No activation after the addition.
 */
export function convBlock(p: Params, name: string, x: tf.Tensor5D, cond: tf.Tensor2D): tf.Tensor5D {
  const cout = (param(p, `${name}.conv1.bias`) as tf.Tensor1D).shape[0];
  const b = x.shape[0];
  // each intermediate is disposed after its last use: under a gradient tape the ops keep what
  // their gradients need, so this frees only what nothing needs (tf.tidy would hold it all)
  const c1 = conv(p, `${name}.conv1`, x);
  const h1 = normSilu(p, `${name}.norm1`, c1);
  c1.dispose();
  const scaleShift = linear(p, `${name}.cond_mlp.1`, silu(cond));
  const scale = tf.slice(scaleShift, [0, 0], [b, cout]).reshape([b, 1, 1, 1, cout]);
  const shift = tf.slice(scaleShift, [0, cout], [b, cout]).reshape([b, 1, 1, 1, cout]);
  // h·(1+scale)+shift and the residual sum keep less for their gradients than tf.mul/tf.add
  const filmed = film(h1, tf.add(scale, 1), shift);
  h1.dispose();
  const c2 = conv(p, `${name}.conv2`, filmed);
  filmed.dispose();
  const h2 = normSilu(p, `${name}.norm2`, c2);
  c2.dispose();
  const res = p.has(`${name}.residual.weight`) ? conv(p, `${name}.residual`, x) : x;
  const out = res === x ? (tf.add(h2, res) as tf.Tensor5D) : addSame(h2, res);
  h2.dispose();
  if (res !== x) res.dispose();
  return out;
}

/** constraint embedding: Linear(13→256) → SiLU → Linear(256→256) */
export function constraintEmbedding(p: Params, constraints: tf.Tensor2D): tf.Tensor2D {
  return linear(p, 'constraint_mlp.2', silu(linear(p, 'constraint_mlp.0', constraints)));
}

/**
 * AttentionGate3D (Oktay 2018, C11): a = σ(psi(ReLU(W_skip·skip + W_gate·gate))); returns skip·a.
 * The gate is the upsampled decoder tensor, already the size of the skip.
 */
export function attentionGate(p: Params, name: string, skip: tf.Tensor5D, gate: tf.Tensor5D): tf.Tensor5D {
  let g = conv(p, `${name}.W_gate`, gate, false);
  const s = conv(p, `${name}.W_skip`, skip, false);
  if (g.shape[1] !== s.shape[1] || g.shape[2] !== s.shape[2] || g.shape[3] !== s.shape[3]) {
    // the reference interpolates the gate to the skip size; with the U-Net's exact halving this never happens
    while (g.shape[1] < s.shape[1]) g = upsampleTrilinear2x(g);
    if (g.shape[1] !== s.shape[1]) throw new Error(`attention gate ${name}: gate ${g.shape} vs skip ${s.shape} (the U-Net halves exactly, so sizes always match)`);
  }
  const a = tf.sigmoid(conv(p, `${name}.psi.0`, relu(tf.add(s, g) as tf.Tensor5D)));
  return tf.mul(skip, a) as tf.Tensor5D;
}

/**
 * Pre-norm multi-head self-attention over the voxels of the bottleneck map (C13):
 * LayerNorm → QKV (no bias) → softmax(QKᵀ/√d)V per head → proj → residual. No feed-forward.
 */
export function bottleneckSelfAttention(p: Params, name: string, x: tf.Tensor5D, heads: number): tf.Tensor5D {
  const [b, d, h, w, c] = x.shape;
  const n = d * h * w;
  const hd = c / heads;
  const seq = x.reshape([b, n, c]);
  const { mean, variance } = tf.moments(seq, [2], true);
  const normed = tf.add(tf.mul(tf.div(tf.sub(seq, mean), tf.sqrt(tf.add(variance, 1e-5))), param(p, `${name}.norm.weight`)), param(p, `${name}.norm.bias`));
  const qkv = tf.matMul(normed.reshape([b * n, c]), param(p, `${name}.qkv.weight`) as tf.Tensor2D).reshape([b, n, 3, heads, hd]);
  const qkvT = qkv.transpose([2, 0, 3, 1, 4]); // [3, B, heads, N, hd]
  const [q, k, v] = tf.unstack(qkvT, 0) as tf.Tensor4D[];
  const scores = tf.mul(tf.matMul(q.reshape([b * heads, n, hd]), k.reshape([b * heads, n, hd]), false, true), 1 / Math.sqrt(hd));
  const attn = tf.matMul(tf.softmax(scores, -1), v.reshape([b * heads, n, hd])); // [B*heads, N, hd]
  const merged = attn.reshape([b, heads, n, hd]).transpose([0, 2, 1, 3]).reshape([b * n, c]);
  const out = tf.add(tf.matMul(merged, param(p, `${name}.proj.weight`) as tf.Tensor2D), param(p, `${name}.proj.bias`)).reshape([b, n, c]);
  return tf.add(seq, out).reshape([b, d, h, w, c]) as tf.Tensor5D;
}
