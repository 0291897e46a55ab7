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
 * Paths (lib/engine/paths.ts): tfjs-node-gpu, tfjs-node, native (oneDNN addon, ops_native.ts),
 * wasm, cpu (ops_reference.ts). VMAT_BACKEND = auto | one of those; VMAT_THREADS = thread count.
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'node:os';
import * as ref from './ops_reference';
import { candidateOrder, pathByName, resolveThreads, type EnginePath, type PreparedPath } from './paths';
import { selfTestOps } from './self_test';
import { fastCpuKernelsInstalled, uninstallFastCpuKernels } from './cpu_kernels';
import { uninstallBufferPool } from './buffer_pool';
import type { Activation, EngineOps } from './ops';

export type { EngineOps, Activation } from './ops';

export type { EnginePath, PreparedPath } from './paths';
export { BACKEND_CHOICES } from './paths';
/** Adam with a fused per-variable update (same results as tf.train.adam, far fewer kernels on cpu). */
export { adam, FusedAdamOptimizer } from './adam';
/** Inference that frees each activation after its last use (PyTorch-like peak memory). */
export { leanApply } from './lean_inference';
/** Gradients whose backward pass frees activations and gradients as it consumes them (bit-identical). */
export { leanGradients, leanVariableGrads } from './lean_grads';
/** FiLM and same-shape add that keep less for their gradients than tf.mul/tf.add (bit-identical) */
export { film, addSame } from './lean_ops';

export { tf };

export interface EngineInfo {
  /** tfjs backend name in use ('tensorflow' for tfjs-node(-gpu), 'cpu', 'wasm', …) */
  backend: string;
  /** which implementation the engine ops use ('tfjs-node-gpu' | 'tfjs-node' | 'reference' | a fast path name) */
  opsPath: string;
  threads: number;
  versions: Record<string, string>;
  selfTest: 'passed' | 'skipped';
  /** what the self-test compared and its worst relative error */
  selfTestDetail?: string;
  /** the VMAT_BACKEND / option value asked for ('auto' by default) */
  requested?: string;
  /** paths tried before the chosen one, each with why it was not used */
  fallbacks?: string[];
}

/** the reference implementation of every engine op (plain tfjs): the fallback and the self-test's yardstick */
export const referenceOps: EngineOps = {
  conv3d: ref.conv3dRef,
  convTranspose3d2x: ref.convTranspose3d2xRef,
  maxPool3d2x: ref.maxPool3d2xRef,
  upsampleTrilinear2x: ref.upsampleTrilinear2xRef,
  groupNorm: ref.groupNormRef,
  silu: ref.siluRef,
  relu: ref.reluRef,
  groupNormAct: ref.groupNormActRef,
  conv3dBias: ref.conv3dBiasRef,
};

let activeOps: EngineOps = referenceOps;
let info: EngineInfo | null = null;

/** 3-D convolution, 'same' padding: x [B, D, H, W, Cin], w [kD, kH, kW, Cin, Cout], stride 1 or 2 → [B, D', H', W', Cout] */
export function conv3d(x: tf.Tensor5D, w: tf.Tensor5D, stride: 1 | 2 = 1): tf.Tensor5D {
  return activeOps.conv3d(x, w, stride);
}
/** conv3d plus a per-channel bias b [Cout]; on the native path the bias add and its gradient are free. */
export function conv3dBias(x: tf.Tensor5D, w: tf.Tensor5D, b: tf.Tensor1D, stride: 1 | 2 = 1): tf.Tensor5D {
  if (activeOps.conv3dBias) return activeOps.conv3dBias(x, w, b, stride);
  return tf.tidy(() => tf.add(activeOps.conv3d(x, w, stride), b) as tf.Tensor5D);
}
/** concat along the channel (last) axis; on the native path it saves nothing for its gradient */
export function concatChannels(xs: tf.Tensor5D[]): tf.Tensor5D {
  if (activeOps.concatChannels) return activeOps.concatChannels(xs);
  return tf.concat(xs, 4) as tf.Tensor5D;
}
/** transposed 3-D convolution, kernel 2, stride 2: x [B, D, H, W, Cin], w [2, 2, 2, Cin, Cout] → [B, 2D, 2H, 2W, Cout] */
export function convTranspose3d2x(x: tf.Tensor5D, w: tf.Tensor5D): tf.Tensor5D {
  return activeOps.convTranspose3d2x(x, w);
}
/** 2×2×2 max pooling, stride 2: [B, D, H, W, C] → [B, D/2, H/2, W/2, C] */
export function maxPool3d2x(x: tf.Tensor5D): tf.Tensor5D {
  return activeOps.maxPool3d2x(x);
}
/** ×2 trilinear up-sampling, align_corners=False (torch nn.Upsample): [B, D, H, W, C] → [B, 2D, 2H, 2W, C] */
export function upsampleTrilinear2x(x: tf.Tensor5D): tf.Tensor5D {
  return activeOps.upsampleTrilinear2x(x);
}
/** GroupNorm over channels-last x [B, D, H, W, C] with `groups` groups, per-channel gamma/beta [C], eps 1e-5 by default */
export function groupNorm(
  x: tf.Tensor5D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  eps = 1e-5,
): tf.Tensor5D {
  return activeOps.groupNorm(x, gamma, beta, groups, eps);
}
/** SiLU, x·sigmoid(x), element-wise */
export function silu<T extends tf.Tensor>(x: T): T {
  return activeOps.silu(x);
}
/** ReLU, max(0, x), element-wise */
export function relu<T extends tf.Tensor>(x: T): T {
  return activeOps.relu(x);
}
/** GroupNorm then activation, fused on paths that have it (same result as groupNorm + relu/silu). */
export function groupNormAct(
  x: tf.Tensor5D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  act: Activation,
  eps = 1e-5,
): tf.Tensor5D {
  if (activeOps.groupNormAct) return activeOps.groupNormAct(x, gamma, beta, groups, act, eps);
  return tf.tidy(() => {
    const y = activeOps.groupNorm(x, gamma, beta, groups, eps);
    return act === 'relu' ? activeOps.relu(y) : act === 'silu' ? activeOps.silu(y) : y;
  });
}

/** Replace the active op set (used by backend selection and by tests). */
export function setOps(ops: EngineOps): void {
  activeOps = ops;
}

/** what initEngine chose (backend, ops path, threads, versions, self-test), or null before it ran */
export function engineInfo(): EngineInfo | null {
  return info;
}

/** Tensor count and process memory, for leak checks and run records. */
export function engineMemory(): { numTensors: number; numBytes: number; rssMb: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes, rssMb: process.memoryUsage().rss / 2 ** 20 };
}

/** Forget the chosen path (tests; or to re-initialise with another VMAT_BACKEND). */
export function resetEngine(): void {
  info = null;
  activeOps = referenceOps;
  if (fastCpuKernelsInstalled()) uninstallFastCpuKernels();
  uninstallBufferPool();
}

export interface InitOptions {
  /** path to use: 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'native' | 'wasm' | 'cpu' (default VMAT_BACKEND or auto) */
  backend?: string;
  quiet?: boolean;
  /** worker threads for the native kernels (default VMAT_THREADS or the number of cores) */
  threads?: number;
  /** replace the candidate list (tests inject broken paths here) */
  paths?: EnginePath[];
}

/**
 * Choose and initialise the backend: tfjs-node-gpu (installed + GPU) > tfjs-node (installed) >
 * native (oneDNN addon built) > cpu reference. VMAT_BACKEND names one path to try first (it falls
 * back down the same order if unavailable). Each non-reference path must pass the start-up
 * self-test (tiny conv + gradients vs the reference on `cpu`) or the next path is tried.
 * Prints the choice, threads and versions on stderr unless quiet.
 */
export async function initEngine(opts: InitOptions = {}): Promise<EngineInfo> {
  if (info) return info;
  const requested = opts.backend ?? process.env.VMAT_BACKEND ?? 'auto';
  const threads =
    opts.threads ?? resolveThreads(process.env.VMAT_THREADS, os.availableParallelism?.() ?? os.cpus().length);
  const candidates = opts.paths ?? candidateOrder(requested).map(pathByName);
  const say = (line: string) => {
    if (!opts.quiet) process.stderr.write(`vmat engine: ${line}\n`);
  };
  // the "install tfjs-node" banner is misleading here: the choice is made deliberately below
  tf.env().set('PROD', true);
  const fallbacks: string[] = [];
  for (const p of candidates) {
    // each candidate starts from stock tfjs kernels (a rejected native path leaves none behind)
    if (fastCpuKernelsInstalled()) uninstallFastCpuKernels();
    uninstallBufferPool();
    let prepared: PreparedPath;
    try {
      prepared = await p.prepare(threads, referenceOps);
    } catch (e) {
      fallbacks.push(`${p.name}: unavailable (${(e as Error).message})`);
      continue;
    }
    let selfTest: EngineInfo['selfTest'] = 'skipped';
    let selfTestDetail = 'reference path';
    if (!p.isReference) {
      const r = await selfTestOps(prepared.ops, prepared.backend, referenceOps);
      if (!r.ok) {
        fallbacks.push(`${p.name}: self-test failed (${r.detail})`);
        continue;
      }
      selfTest = 'passed';
      selfTestDetail = r.detail;
    }
    await tf.setBackend(prepared.backend);
    await tf.ready();
    activeOps = prepared.ops;
    info = {
      backend: tf.getBackend(),
      opsPath: p.isReference ? 'reference' : p.name,
      threads: prepared.threads,
      versions: { tfjs: tf.version.tfjs, node: process.versions.node, ...prepared.versions },
      selfTest,
      selfTestDetail,
      requested,
      fallbacks,
    };
    for (const f of fallbacks) say(`skipped ${f}`);
    const vers = Object.entries(info.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    say(`backend=${info.backend} ops=${info.opsPath} threads=${info.threads} self-test=${selfTest} (${vers})`);
    return info;
  }
  throw new Error(`vmat engine: no usable backend; tried:\n  ${fallbacks.join('\n  ')}`);
}
