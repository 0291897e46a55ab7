/**
 * A dose model = its configuration, a map of named tf.Variables (reference state-dict names) and
 * the pure forward function. Weights are initialised like PyTorch's defaults from a seeded stream.
 */
import { tf } from '../engine';
import { Rng } from '../core/rng';
import { DataError } from '../core/errors';
import { type ModelConfig, modelConfig, ARCHITECTURE_CLASS } from './config';
import { parameterSpecs, numElements, type ParamSpec } from './param_specs';
import { applyUNet } from './unet';
import type { Params } from './layers';

export * from './config';
export { parameterSpecs, countParameters, type ParamSpec } from './param_specs';

export interface DoseModel {
  config: ModelConfig;
  /** reference class name, e.g. 'BaselineUNet3D' */
  className: string;
  params: Map<string, tf.Variable>;
  /** x [B, Y, X, Z, inChannels], constraints [B, 13] -> dose [B, Y, X, Z, 1] (normalised by Rx) */
  apply(x: tf.Tensor5D, constraints: tf.Tensor2D): tf.Tensor5D;
  numParameters(): number;
  dispose(): void;
}

function initValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = numElements(spec.shape);
  const out = new Float32Array(n);
  if (spec.init.kind === 'ones') out.fill(1);
  else if (spec.init.kind === 'uniformFanIn') {
    const bound = 1 / Math.sqrt(spec.init.fanIn);
    for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * bound;
  }
  return out;
}

let variableCounter = 0;
/** A trainable float32 variable of `shape` holding `values` (C order); tfjs needs globally unique variable names. */
export function makeVariable(name: string, values: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(values, shape, 'float32');
  const v = tf.variable(t, true, `${name}#${++variableCounter}`);
  t.dispose();
  return v;
}

/** wraps existing variables (e.g. loaded from a checkpoint) as a model */
export function modelFromParams(
  config: ModelConfig,
  params: Map<string, tf.Variable>,
  source = 'model weights',
): DoseModel {
  const expected = parameterSpecs(config);
  for (const s of expected) {
    const v = params.get(s.name);
    if (!v) throw new DataError(source, s.name, `a parameter of shape [${s.shape}] (${ARCHITECTURE_CLASS[config.architecture]})`, 'none');
    if (v.shape.join(',') !== s.shape.join(',')) throw new DataError(source, s.name, `shape [${s.shape}]`, `[${v.shape}]`);
  }
  return {
    config,
    className: ARCHITECTURE_CLASS[config.architecture],
    params,
    apply: (x, c) => applyUNet(config, params as Params, x, c),
    numParameters: () => expected.reduce((s, p) => s + numElements(p.shape), 0),
    dispose: () => {
      for (const v of params.values()) v.dispose();
    },
  };
}

/** builds a freshly initialised model (PyTorch default init, seeded) */
export function createModel(partial: Partial<ModelConfig> = {}, opts: { seed?: number } = {}): DoseModel {
  const config = modelConfig(partial);
  const rng = Rng.fromSeed(`model-init:${opts.seed ?? 42}`);
  const params = new Map<string, tf.Variable>();
  for (const spec of parameterSpecs(config)) {
    params.set(spec.name, makeVariable(spec.name, initValues(spec, rng), spec.shape));
  }
  return modelFromParams(config, params);
}
