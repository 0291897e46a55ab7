/**
 * The engine's execution paths, fastest first, and how each is prepared. `prepare` throws an
 * Error whose message says why the path is unavailable; initEngine then tries the next one.
 *
 *   tfjs-node-gpu  @tensorflow/tfjs-node-gpu (user-installed, optional) with a usable NVIDIA GPU
 *   tfjs-node      @tensorflow/tfjs-node (user-installed, optional): libtensorflow kernels
 *   native         tfjs `cpu` tensors + this project's N-API addon over oneDNN (native/)
 *   wasm           tfjs-wasm with the reference ops (explicit choice only: stock wasm conv3d
 *                  gradients are wrong in tfjs 4.22, and the self-test rejects it)
 *   cpu            tfjs `cpu` with the reference ops (always works, slow)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineOps } from './ops';
import { loadNativeAddon } from './native_addon';
import { makeNativeOps } from './ops_native';
import { installFastCpuKernels } from './cpu_kernels';
import { installBufferPool } from './buffer_pool';
import { UsageError } from '../core/errors';

export type PathName = 'tfjs-node-gpu' | 'tfjs-node' | 'native' | 'wasm' | 'cpu';
/** the engine paths in the order `auto` tries them (fastest first) */
export const PATH_NAMES: PathName[] = ['tfjs-node-gpu', 'tfjs-node', 'native', 'wasm', 'cpu'];
/** what VMAT_BACKEND accepts */
export const BACKEND_CHOICES = ['auto', ...PATH_NAMES] as const;
const AUTO_ORDER: PathName[] = ['tfjs-node-gpu', 'tfjs-node', 'native', 'cpu'];

export interface PreparedPath {
  ops: EngineOps;
  /** tfjs backend name to activate */
  backend: string;
  threads: number;
  versions: Record<string, string>;
}

export interface EnginePath {
  name: string;
  prepare(threads: number, reference: EngineOps): Promise<PreparedPath>;
  /** the reference path on cpu needs no self-test (it is the reference) */
  isReference?: boolean;
}

/** Paths to try, in order, for a VMAT_BACKEND value ('auto' or one path name). */
export function candidateOrder(wanted: string): PathName[] {
  if (wanted === 'auto' || wanted === '') return AUTO_ORDER.slice();
  if (!(PATH_NAMES as string[]).includes(wanted)) {
    throw new UsageError(`VMAT_BACKEND: expected one of ${BACKEND_CHOICES.join(', ')}, found '${wanted}'`);
  }
  const name = wanted as PathName;
  const rank = PATH_NAMES.indexOf(name);
  return [name, ...AUTO_ORDER.filter((p) => p !== name && PATH_NAMES.indexOf(p) > rank)];
}

/** VMAT_THREADS if set (positive integer), else the number of cores. */
export function resolveThreads(envValue: string | undefined, cores: number): number {
  if (envValue === undefined || envValue === '') return Math.max(1, cores);
  const n = Number(envValue);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`VMAT_THREADS: expected a positive integer, found '${envValue}'`);
  return n;
}

function packageVersion(name: string): string {
  try {
    const p = require.resolve(`${name}/package.json`);
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Optional dependency: resolved at run time only, never listed in package.json. */
function requireOptional(name: string): unknown {
  let resolved: string;
  try {
    resolved = require.resolve(name);
  } catch {
    throw new Error(`${name} is not installed (optional; npm install ${name} to use it)`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(resolved);
  } catch (e) {
    throw new Error(`${name} is installed but failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
}

function gpuDevicePresent(): boolean {
  return ['/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg'].some((p) => fs.existsSync(p));
}

function tfjsNodePath(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): EnginePath {
  return {
    name: pkg === '@tensorflow/tfjs-node' ? 'tfjs-node' : 'tfjs-node-gpu',
    async prepare(threads, reference) {
      if (pkg === '@tensorflow/tfjs-node-gpu' && !gpuDevicePresent()) {
        throw new Error('no usable GPU (no /dev/nvidia0 or /dev/dxg)');
      }
      // libtensorflow reads these when its first session starts
      process.env.TF_NUM_INTRAOP_THREADS ??= String(threads);
      process.env.TF_NUM_INTEROP_THREADS ??= '1';
      requireOptional(pkg);
      if (!tf.findBackend('tensorflow')) {
        throw new Error(
          `${pkg} registered no 'tensorflow' backend with this tfjs (${tf.version.tfjs}); versions differ?`,
        );
      }
      // The reference ops run on libtensorflow's kernels there: explicit padding for conv3d (so
      // k1 s2 'same' is right) and the matmul form of the transposed conv (no conv3dTranspose grad).
      return { ops: reference, backend: 'tensorflow', threads, versions: { [pkg]: packageVersion(pkg) } };
    },
  };
}

const nativePath: EnginePath = {
  name: 'native',
  async prepare(threads) {
    const { addon, reason } = loadNativeAddon();
    if (!addon) throw new Error(`native addon ${reason}`);
    addon.setThreads(threads);
    installFastCpuKernels(addon);
    installBufferPool();
    const info = addon.info();
    return { ops: makeNativeOps(addon), backend: 'cpu', threads: info.threads, versions: { onednn: info.dnnl } };
  },
};

const wasmPath: EnginePath = {
  name: 'wasm',
  async prepare(threads, reference) {
    const wasm = requireOptional('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    wasm.setThreadsCount(threads);
    return {
      ops: reference,
      backend: 'wasm',
      threads: 1,
      versions: { 'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm') },
    };
  },
};

const cpuPath: EnginePath = {
  name: 'cpu',
  isReference: true,
  async prepare(_threads, reference) {
    return { ops: reference, backend: 'cpu', threads: 1, versions: {} };
  },
};

/** one engine path by name (VMAT_BACKEND) */
export function pathByName(name: PathName): EnginePath {
  switch (name) {
    case 'tfjs-node-gpu':
      return tfjsNodePath('@tensorflow/tfjs-node-gpu');
    case 'tfjs-node':
      return tfjsNodePath('@tensorflow/tfjs-node');
    case 'native':
      return nativePath;
    case 'wasm':
      return wasmPath;
    case 'cpu':
      return cpuPath;
  }
}
