/**
 * Start-up self-test of an op set: tiny convolutions (k3 s1, k3 s2 on odd sizes, k1 s2, batch 2),
 * the transposed conv, up-sampling, max pooling and fused GroupNorm+SiLU, forward and all gradients, on the backend under
 * test, compared with the reference ops on tfjs `cpu` (relative L2 error < 1e-4). Catches backend
 * defects such as tfjs-wasm's wrong Conv3DBackpropInputV2 before any training starts.
 */
import * as tf from '@tensorflow/tfjs';
import type { EngineOps } from './ops';
import { fastCpuKernelsInstalled, installFastCpuKernels, uninstallFastCpuKernels } from './cpu_kernels';

export interface SelfTestResult {
  ok: boolean;
  /** worst relative error seen, and the case that failed (if any) */
  maxRelErr: number;
  detail: string;
}

interface Case {
  name: string;
  inputs: Array<{ shape: number[]; seed: number }>;
  /** a scalar built from the op under test, so its gradient covers every input */
  f: (ops: EngineOps, ...xs: tf.Tensor[]) => tf.Tensor;
  outShape: number[];
}

/** Deterministic pseudo-random values (LCG) so every backend sees identical inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const CASES: Case[] = [
  {
    name: 'conv3d k3 s1',
    inputs: [
      { shape: [2, 5, 4, 3, 3], seed: 1 },
      { shape: [3, 3, 3, 3, 4], seed: 2 },
    ],
    f: (o, x, w) => o.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1),
    outShape: [2, 5, 4, 3, 4],
  },
  {
    name: 'conv3d k3 s2 odd',
    inputs: [
      { shape: [2, 5, 6, 3, 3], seed: 3 },
      { shape: [3, 3, 3, 3, 2], seed: 4 },
    ],
    f: (o, x, w) => o.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 2),
    outShape: [2, 3, 3, 2, 2],
  },
  {
    name: 'conv3d k1 s2',
    inputs: [
      { shape: [1, 4, 5, 4, 2], seed: 5 },
      { shape: [1, 1, 1, 2, 3], seed: 6 },
    ],
    f: (o, x, w) => o.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 2),
    outShape: [1, 2, 3, 2, 3],
  },
  {
    name: 'conv3dBias k3 s2',
    inputs: [
      { shape: [2, 3, 4, 5, 2], seed: 14 },
      { shape: [3, 3, 3, 2, 3], seed: 15 },
      { shape: [3], seed: 16 },
    ],
    f: (o, x, w, b) =>
      o.conv3dBias
        ? o.conv3dBias(x as tf.Tensor5D, w as tf.Tensor5D, b as tf.Tensor1D, 2)
        : tf.add(o.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 2), b),
    outShape: [2, 2, 2, 3, 3],
  },
  {
    name: 'convTranspose3d2x',
    inputs: [
      { shape: [2, 2, 3, 2, 3], seed: 7 },
      { shape: [2, 2, 2, 3, 2], seed: 8 },
    ],
    f: (o, x, w) => o.convTranspose3d2x(x as tf.Tensor5D, w as tf.Tensor5D),
    outShape: [2, 4, 6, 4, 2],
  },
  {
    name: 'upsampleTrilinear2x',
    inputs: [{ shape: [2, 3, 2, 3, 2], seed: 12 }],
    f: (o, x) => o.upsampleTrilinear2x(x as tf.Tensor5D),
    outShape: [2, 6, 4, 6, 2],
  },
  {
    name: 'maxPool3d2x',
    inputs: [{ shape: [2, 4, 2, 4, 3], seed: 13 }],
    f: (o, x) => o.maxPool3d2x(x as tf.Tensor5D),
    outShape: [2, 2, 1, 2, 3],
  },
  {
    name: 'groupNorm+silu',
    inputs: [
      { shape: [2, 3, 2, 3, 4], seed: 9 },
      { shape: [4], seed: 10 },
      { shape: [4], seed: 11 },
    ],
    f: (o, x, g, b) =>
      o.groupNormAct
        ? o.groupNormAct(x as tf.Tensor5D, g as tf.Tensor1D, b as tf.Tensor1D, 2, 'silu')
        : o.silu(o.groupNorm(x as tf.Tensor5D, g as tf.Tensor1D, b as tf.Tensor1D, 2)),
    outShape: [2, 3, 2, 3, 4],
  },
];

/** Output and input gradients (of sum(out * r)) of one case on the current backend, as arrays. */
function evaluate(ops: EngineOps, c: Case): Float32Array[] {
  return tf.tidy(() => {
    const xs = c.inputs.map((i) =>
      tf.tensor(
        values(
          i.shape.reduce((a, b) => a * b, 1),
          i.seed,
        ),
        i.shape,
      ),
    );
    const r = tf.tensor(
      values(
        c.outShape.reduce((a, b) => a * b, 1),
        99,
      ),
      c.outShape,
    );
    const y = c.f(ops, ...xs);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(c.f(ops, ...args), r)))(xs);
    return [y, ...grads].map((t) => Float32Array.from(t.dataSync()));
  });
}

function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  const e = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  return Number.isNaN(e) ? Infinity : e;
}

/**
 * Runs every case with `ops` on `backend`, then the reference ops on `cpu`, and compares.
 * Leaves `backend` active afterwards.
 */
export async function selfTestOps(
  ops: EngineOps,
  backend: string,
  referenceOps: EngineOps,
  tol = 1e-4,
): Promise<SelfTestResult> {
  await tf.setBackend(backend);
  const got: Float32Array[][] = [];
  try {
    for (const c of CASES) got.push(evaluate(ops, c));
  } catch (e) {
    return { ok: false, maxRelErr: Infinity, detail: `threw: ${(e as Error).message}` };
  }
  // the reference runs on stock tfjs cpu kernels, never on this project's faster replacements
  await tf.setBackend('cpu');
  const fastInstalled = fastCpuKernelsInstalled();
  const addon = fastInstalled ? uninstallFastCpuKernels() : null;
  const want = CASES.map((c) => evaluate(referenceOps, c));
  if (fastInstalled) installFastCpuKernels(addon);
  await tf.setBackend(backend);
  let worst = 0;
  for (let i = 0; i < CASES.length; i++) {
    const labels = ['forward', ...CASES[i].inputs.map((_, k) => `grad input ${k}`)];
    for (let k = 0; k < want[i].length; k++) {
      const e = relErr(got[i][k], want[i][k]);
      worst = Math.max(worst, e);
      if (!(e < tol)) {
        return {
          ok: false,
          maxRelErr: e,
          detail: `${CASES[i].name} ${labels[k]}: relative error ${e.toExponential(2)} >= ${tol}`,
        };
      }
    }
  }
  return { ok: true, maxRelErr: worst, detail: `${CASES.length} cases, max relative error ${worst.toExponential(2)}` };
}
