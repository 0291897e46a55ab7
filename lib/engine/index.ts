/**
 * The engine: the one place that knows which tfjs backend runs and which kernels are fast.
 * Models and losses import their ops from here and never care which backend is active.
 *
 * Contract (all channels-last NDHWC, filters [kD, kH, kW, Cin, Cout], 'same' = TF semantics):
 *   conv3d(x, w, stride)            stride 1 | 2, kernel 1 | 3 (any size is accepted)
 *   convTranspose3d2x(x, w)         kernel 2, stride 2, w [2, 2, 2, Cin, Cout]
 *   maxPool3d2x(x), upsampleTrilinear2x(x), groupNorm(x, gamma, beta, groups, eps), silu(x), relu(x)
 * Each op is differentiable (usable inside tf.grad / optimizer.minimize).
 *
 * The fast CPU path (lib/engine/fast/…) replaces the reference implementations when selected.
 */
import * as tf from '@tensorflow/tfjs';
import * as ref from './ops_reference';

export { tf };

export interface EngineInfo {
  /** tfjs backend name in use ('tensorflow' for tfjs-node(-gpu), 'cpu', 'wasm', …) */
  backend: string;
  /** which implementation the engine ops use ('tfjs-node-gpu' | 'tfjs-node' | 'reference' | a fast path name) */
  opsPath: string;
  threads: number;
  versions: Record<string, string>;
  selfTest: 'passed' | 'skipped';
}

export interface EngineOps {
  conv3d(x: tf.Tensor5D, w: tf.Tensor5D, stride?: 1 | 2): tf.Tensor5D;
  convTranspose3d2x(x: tf.Tensor5D, w: tf.Tensor5D): tf.Tensor5D;
  maxPool3d2x(x: tf.Tensor5D): tf.Tensor5D;
  upsampleTrilinear2x(x: tf.Tensor5D): tf.Tensor5D;
  groupNorm(x: tf.Tensor5D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps?: number): tf.Tensor5D;
  silu<T extends tf.Tensor>(x: T): T;
  relu<T extends tf.Tensor>(x: T): T;
}

export const referenceOps: EngineOps = {
  conv3d: ref.conv3dRef,
  convTranspose3d2x: ref.convTranspose3d2xRef,
  maxPool3d2x: ref.maxPool3d2xRef,
  upsampleTrilinear2x: ref.upsampleTrilinear2xRef,
  groupNorm: ref.groupNormRef,
  silu: ref.siluRef,
  relu: ref.reluRef,
};

let activeOps: EngineOps = referenceOps;
let info: EngineInfo | null = null;

export function conv3d(x: tf.Tensor5D, w: tf.Tensor5D, stride: 1 | 2 = 1): tf.Tensor5D {
  return activeOps.conv3d(x, w, stride);
}
export function convTranspose3d2x(x: tf.Tensor5D, w: tf.Tensor5D): tf.Tensor5D {
  return activeOps.convTranspose3d2x(x, w);
}
export function maxPool3d2x(x: tf.Tensor5D): tf.Tensor5D {
  return activeOps.maxPool3d2x(x);
}
export function upsampleTrilinear2x(x: tf.Tensor5D): tf.Tensor5D {
  return activeOps.upsampleTrilinear2x(x);
}
export function groupNorm(x: tf.Tensor5D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps = 1e-5): tf.Tensor5D {
  return activeOps.groupNorm(x, gamma, beta, groups, eps);
}
export function silu<T extends tf.Tensor>(x: T): T {
  return activeOps.silu(x);
}
export function relu<T extends tf.Tensor>(x: T): T {
  return activeOps.relu(x);
}

/** Replace the active op set (used by backend selection and by tests). */
export function setOps(ops: EngineOps): void {
  activeOps = ops;
}

export function engineInfo(): EngineInfo | null {
  return info;
}

/**
 * Choose and initialise the backend. Minimal version: plain tfjs `cpu` with reference ops.
 * (The engine issue replaces this with tfjs-node-gpu > tfjs-node > fast CPU path > cpu, VMAT_BACKEND override.)
 */
export async function initEngine(opts: { backend?: string; quiet?: boolean } = {}): Promise<EngineInfo> {
  if (info) return info;
  const wanted = opts.backend ?? process.env.VMAT_BACKEND ?? 'cpu';
  await tf.setBackend(wanted);
  await tf.ready();
  info = {
    backend: tf.getBackend(),
    opsPath: 'reference',
    threads: 1,
    versions: { tfjs: tf.version.tfjs, node: process.versions.node },
    selfTest: 'skipped',
  };
  if (!opts.quiet) process.stderr.write(`vmat engine: backend=${info.backend} ops=${info.opsPath} threads=${info.threads}\n`);
  return info;
}
