/**
 * Conversion between PyTorch state-dict layouts and the tfjs layouts used here, by parameter name:
 *   Conv3d weight  torch [O, I, kY, kX, kZ]  <->  tfjs [kY, kX, kZ, I, O]
 *   Linear weight  torch [O, I]              <->  tfjs [I, O]
 * Lightning's `model.` prefix is stripped. Used to import reference weights (after exporting a
 * .ckpt state dict to arrays with python) and by the torch-peer tests.
 */
import { tf } from '../engine';
import { DataError } from '../core/errors';
import { type ModelConfig, modelConfig } from './config';
import { parameterSpecs } from './param_specs';
import { type DoseModel, modelFromParams, makeVariable } from './index';

export interface TorchArray {
  shape: number[];
  data: ArrayLike<number>;
}

function convFromTorch(a: TorchArray): Float32Array {
  const [o, i, ky, kx, kz] = a.shape;
  const out = new Float32Array(a.data.length);
  for (let oo = 0; oo < o; oo++)
    for (let ii = 0; ii < i; ii++)
      for (let y = 0; y < ky; y++)
        for (let x = 0; x < kx; x++)
          for (let z = 0; z < kz; z++) {
            const src = (((oo * i + ii) * ky + y) * kx + x) * kz + z;
            const dst = (((y * kx + x) * kz + z) * i + ii) * o + oo;
            out[dst] = a.data[src];
          }
  return out;
}

function linearFromTorch(a: TorchArray): Float32Array {
  const [o, i] = a.shape;
  const out = new Float32Array(a.data.length);
  for (let oo = 0; oo < o; oo++) for (let ii = 0; ii < i; ii++) out[ii * o + oo] = a.data[oo * i + ii];
  return out;
}

/** builds a model from a torch-layout state dict (names as in the reference, optional `model.` prefix) */
export function modelFromTorchStateDict(
  partial: Partial<ModelConfig>,
  stateDict: Record<string, TorchArray>,
  source = 'torch state dict',
): DoseModel {
  const config = modelConfig(partial);
  const byName = new Map<string, TorchArray>();
  for (const [k, v] of Object.entries(stateDict)) byName.set(k.replace(/^model\./, ''), v);
  const params = new Map<string, tf.Variable>();
  for (const spec of parameterSpecs(config)) {
    const a = byName.get(spec.name);
    if (!a) throw new DataError(source, spec.name, `a tensor of tfjs shape [${spec.shape}]`, 'none');
    let data: Float32Array;
    if (a.shape.length === 5) data = convFromTorch(a);
    else if (a.shape.length === 2) data = linearFromTorch(a);
    else data = Float32Array.from(a.data);
    if (data.length !== spec.shape.reduce((x, y) => x * y, 1))
      throw new DataError(source, spec.name, `a torch tensor that fits tfjs shape [${spec.shape}]`, `torch shape [${a.shape}]`);
    params.set(spec.name, makeVariable(spec.name, data, spec.shape));
  }
  return modelFromParams(config, params, source);
}
