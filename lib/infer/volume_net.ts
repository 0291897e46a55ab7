/**
 * Networks as the predictors see them: a `VolumeNet` maps a batch of channels-last input volumes to
 * one output volume each. The composable pieces of a model bundle's network side live here:
 *   network   one trained DoseModel (optionally residual: out = max(0, x[..., k] + net(x)))
 *   mirrored  left-right test-time augmentation: the mean of the plain pass and the pass on the
 *             input mirrored along volume axis 1 (patient L/R in every profile here) with the paired
 *             L/R structure channels swapped, mirrored back — the one L/R TTA implementation
 *   ensemble  the mean of several networks' outputs, each clamped at 0 first
 * The case-level pieces (sliding window, resampled, phase-shifted, cascade) build the inputs and
 * call a VolumeNet; they live in their own modules.
 */
import { leanApply, tf } from '../engine';
import type { DoseModel } from '../models';
import { spatialMultiple } from '../models/config';

/** batch shape of a channels-last input: [B, D0, D1, D2, C] */
export type BatchShape = [number, number, number, number, number];

export interface VolumeNet {
  /** input channels the network expects */
  readonly inChannels: number;
  /**
   * x: channels-last inputs [B, D0, D1, D2, C] (flat, C order); constraints: [B, 13] FiLM vectors.
   * Returns the outputs [B, D0, D1, D2] (flat). Units are the network's (normalised dose).
   */
  forward(x: Float32Array, shape: BatchShape, constraints: Float32Array): Float32Array;
  /** short text of the composition, e.g. "mirrored(network)" */
  describe(): string;
  /** frees the weights of every network inside */
  dispose(): void;
}

export interface NetworkOptions {
  /** residual on this input channel: out = max(0, x[..., k] + net(x)) (the 128³ refiner) */
  residualChannel?: number;
  /** what describe() calls it (e.g. the checkpoint folder) */
  label?: string;
}

/** one trained model as a VolumeNet; `owned` = dispose() frees its weights */
export function networkNet(model: DoseModel, o: NetworkOptions = {}, owned = true): VolumeNet {
  return {
    inChannels: model.config.inChannels,
    forward(x, shape, constraints) {
      const [b] = shape;
      const nc = constraints.length / b;
      const xt = tf.tensor(x, shape) as tf.Tensor5D;
      const ct = tf.tensor(constraints, [b, nc]) as tf.Tensor2D;
      // perf (issue 18): the engine frees each activation right after its last use (a tf.tidy held
      // all of them: ~13 GB for a base-48 window at 128³); traced once per model and batch on 16³
      const m = spatialMultiple(model.config);
      const y = leanApply(
        model,
        `${b}|${o.residualChannel ?? ''}`,
        (xi, ci) => {
          const out = model.apply(xi as tf.Tensor5D, ci as tf.Tensor2D);
          if (o.residualChannel === undefined) return out;
          const base = tf.slice(
            xi,
            [0, 0, 0, 0, o.residualChannel],
            [b, xi.shape[1] as number, xi.shape[2] as number, xi.shape[3] as number, 1],
          );
          return tf.relu(tf.add(base, out));
        },
        [xt, ct],
        () => [tf.zeros([b, m, m, m, shape[4]]), tf.zeros([b, nc])],
      );
      tf.dispose([xt, ct]);
      const data = y.dataSync() as Float32Array;
      y.dispose();
      return Float32Array.from(data);
    },
    describe: () => (o.label ? `network(${o.label})` : 'network'),
    dispose: () => {
      if (owned) model.dispose();
    },
  };
}

/**
 * Mirrors a channels-last batch along volume axis 1 (D1), swapping the channel pairs: the input a
 * left-right flipped patient gives.
 */
export function mirrorInput(x: Float32Array, shape: BatchShape, pairs: ReadonlyArray<[number, number]>): Float32Array {
  const [B, D0, D1, D2, C] = shape;
  const perm = Array.from({ length: C }, (_, c) => c);
  for (const [a, b] of pairs) [perm[a], perm[b]] = [perm[b], perm[a]];
  const out = new Float32Array(x.length);
  for (let n = 0; n < B; n++)
    for (let i = 0; i < D0; i++)
      for (let j = 0; j < D1; j++) {
        const dst = ((n * D0 + i) * D1 + j) * D2 * C;
        const src = ((n * D0 + i) * D1 + (D1 - 1 - j)) * D2 * C;
        for (let k = 0; k < D2; k++) {
          const d = dst + k * C;
          const s = src + k * C;
          for (let c = 0; c < C; c++) out[d + c] = x[s + perm[c]];
        }
      }
  return out;
}

/** mirrors outputs [B, D0, D1, D2] along D1 (back to the patient's frame) */
export function mirrorOutput(y: Float32Array, shape: BatchShape): Float32Array {
  const [B, D0, D1, D2] = shape;
  const out = new Float32Array(y.length);
  for (let n = 0; n < B; n++)
    for (let i = 0; i < D0; i++)
      for (let j = 0; j < D1; j++) {
        const dst = ((n * D0 + i) * D1 + j) * D2;
        const src = ((n * D0 + i) * D1 + (D1 - 1 - j)) * D2;
        for (let k = 0; k < D2; k++) out[dst + k] = y[src + k];
      }
  return out;
}

/**
 * Left-right test-time augmentation of `inner`: 0.5·(plain + mirrored back) per voxel. `pairs` are
 * the channel indices (of the full input, CT included) of paired L/R structures.
 */
export function mirroredNet(inner: VolumeNet, pairs: ReadonlyArray<[number, number]>): VolumeNet {
  return {
    inChannels: inner.inChannels,
    forward(x, shape, constraints) {
      const out = inner.forward(x, shape, constraints);
      const back = mirrorOutput(inner.forward(mirrorInput(x, shape, pairs), shape, constraints), shape);
      for (let i = 0; i < out.length; i++) out[i] = 0.5 * (out[i] + back[i]);
      return out;
    },
    describe: () => `mirrored(${inner.describe()})`,
    dispose: () => inner.dispose(),
  };
}

/** the mean of the members' outputs, each clamped at 0 (members must take the same inputs) */
export function ensembleNet(members: VolumeNet[]): VolumeNet {
  if (!members.length) throw new Error('ensembleNet: no members (bundle manifests require at least one)');
  const inChannels = members[0].inChannels;
  for (const m of members)
    if (m.inChannels !== inChannels)
      throw new Error(
        `ensembleNet: members take ${inChannels} and ${m.inChannels} input channels (buildPredictor checks the members first)`,
      );
  const clamp = (v: Float32Array) => {
    for (let i = 0; i < v.length; i++) if (!(v[i] > 0)) v[i] = 0;
    return v;
  };
  return {
    inChannels,
    forward(x, shape, constraints) {
      const out = clamp(members[0].forward(x, shape, constraints));
      for (let k = 1; k < members.length; k++) {
        const y = clamp(members[k].forward(x, shape, constraints));
        for (let i = 0; i < out.length; i++) out[i] += y[i];
      }
      if (members.length > 1) for (let i = 0; i < out.length; i++) out[i] /= members.length;
      return out;
    },
    describe: () => `ensemble[${members.map((m) => m.describe()).join(', ')}]`,
    dispose: () => members.forEach((m) => m.dispose()),
  };
}
