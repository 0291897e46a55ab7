/**
 * The fast CPU op set: tfjs `cpu` backend tensors, arithmetic in the native addon (oneDNN
 * convolutions with their backward-data / backward-weights kernels, fused GroupNorm+activation,
 * trilinear x2 up-sampling, 2x max pooling).
 *
 * Each op is a tape kernel (the engine's runKernelFunc, which tf.customGrad also uses) whose
 * gradient is one lazy function per input, so only the gradients the backward pass asks for are
 * computed (the input gradient of the first convolution, ~5 % of a U-Net step, is never needed).
 * Inputs are read from the cpu backend's Float32Arrays in place (zero-copy, without marking them
 * as handed out: lib/engine/buffer_pool.ts); outputs are written into pooled buffers and wrapped
 * as tensors (also zero-copy). Each op saves what its gradient needs and nothing else; GroupNorm
 * keeps its per-group statistics (a few doubles) instead of recomputing them in the backward pass.
 *
 * Recomputation (activation checkpointing of the cheap ops): the output of GroupNorm+activation,
 * and a channel concat of such outputs, can be rebuilt bit for bit from the GroupNorm input (which
 * GroupNorm's own gradient keeps anyway), gamma, beta and the saved statistics. When a convolution
 * whose input was made that way needs the input for its weight gradient, and the input is at least
 * VMAT_RECOMPUTE_MB (default 64 MB), it saves that recipe instead of the input and rebuilds it in
 * a temporary buffer during the backward pass: the activation itself can be freed once the forward
 * pass has used it. Small activations are saved as before (rebuilding costs a pass over memory).
 *
 * Semantics are exactly those of lib/engine/ops_reference.ts (tests compare them).
 */
import * as tf from '@tensorflow/tfjs';
import type { EngineOps, Activation } from './ops';
import type { NativeAddon } from './native_addon';
import { samePadding } from './ops_reference';
import { allocF32, releaseF32 } from './buffer_pool';
import { tapeOp } from './lean_ops';

const ACT_CODE: Record<Activation, 0 | 1 | 2> = { none: 0, relu: 1, silu: 2 };

interface CpuData {
  data: { get(dataId: object): { values?: unknown } };
}

/**
 * The tensor's float32 values: the cpu backend's own array (read without counting as handed out,
 * so its buffer can be recycled once released; do not keep it past the op).
 */
function f32(t: tf.Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`engine(native): ${what} must be float32, got ${t.dtype}`);
  if (tf.getBackend() === 'cpu') {
    const v = (tf.backend() as unknown as CpuData).data.get(t.dataId).values;
    if (v instanceof Float32Array) return v;
  }
  return t.dataSync() as Float32Array;
}

type Shape5 = [number, number, number, number, number];
/** A gradient computation that produces several input gradients at once, run on first demand. */
function once<T>(compute: () => T): () => T {
  let r: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      r = compute();
      done = true;
    }
    return r as T;
  };
}

interface ConvGeom {
  src: number[];
  wts: number[];
  dst: number[];
  stride: number[];
  padL: number[];
  padR: number[];
}

function convGeom(xs: number[], ws: number[], stride: number): ConvGeom {
  const [n, d, h, w, cin] = xs;
  const [kd, kh, kw, wcin, cout] = ws;
  if (wcin !== cin) throw new Error(`engine(native) conv3d: input has ${cin} channels, filter expects ${wcin}`);
  const pads = [samePadding(d, kd, stride), samePadding(h, kh, stride), samePadding(w, kw, stride)];
  return {
    src: xs,
    wts: ws,
    dst: [n, Math.ceil(d / stride), Math.ceil(h / stride), Math.ceil(w / stride), cout],
    stride: [stride, stride, stride],
    padL: pads.map((p) => p[0]),
    padR: pads.map((p) => p[1]),
  };
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** How to rebuild an activation from other tensors (see the file comment). */
interface Recipe {
  /** the tensors the rebuild reads (alive while the recipe is used) */
  leaves: tf.Tensor[];
  /** writes the activation into out from the leaves' values */
  build(leafValues: Float32Array[], out: Float32Array): void;
}

/** recipes of GroupNorm+activation and concat outputs, by the output's data id */
const recipes = new WeakMap<object, Recipe>();

function recomputeMinBytes(): number {
  const mb = Number(process.env.VMAT_RECOMPUTE_MB);
  return (Number.isFinite(mb) && mb >= 0 ? mb : 64) * 2 ** 20;
}

/** The recipe to save instead of x, when x is large enough and its recipe's leaves are alive. */
function recipeFor(x: tf.Tensor): Recipe | null {
  if (x.size * 4 < recomputeMinBytes()) return null;
  const r = recipes.get(x.dataId);
  return r && r.leaves.every((t) => !t.isDisposed) ? r : null;
}

/**
 * Saves x for the backward pass (or its recipe); returns how to get x's values back there:
 * `take(saved)` gives the values and a release function for the temporary.
 */
function saveInput(
  x: tf.Tensor,
  extra: tf.Tensor[],
  save: (ts: tf.Tensor[]) => void,
): { rebuilds: boolean; take(saved: tf.Tensor[]): { values: Float32Array; release(): void } } {
  const r = recipeFor(x);
  if (!r) {
    save([x, ...extra]);
    return { rebuilds: false, take: (saved) => ({ values: f32(saved[0], 'x'), release: () => undefined }) };
  }
  save([...r.leaves, ...extra]);
  const k = r.leaves.length;
  return {
    rebuilds: true,
    take: (saved) => {
      const out = allocF32(x.size);
      r.build(
        saved.slice(0, k).map((t) => f32(t, 'recompute input')),
        out,
      );
      return { values: out, release: () => releaseF32(out) };
    },
  };
}

/** the engine ops implemented on the native addon (oneDNN convolutions, OpenMP kernels), with gradients */
export function makeNativeOps(addon: NativeAddon): EngineOps {
  /** conv (kind 0) or transposed conv (kind 1), optionally + per-channel bias (added by oneDNN) */
  function convLike(kind: 0 | 1, g: ConvGeom, x: tf.Tensor5D, w: tf.Tensor5D, b?: tf.Tensor1D): tf.Tensor5D {
    if (b && b.size !== g.wts[4])
      throw new Error(`engine(native) conv3dBias: bias must have ${g.wts[4]} elements, got ${b.size}`);
    const run = (dir: 0 | 1 | 2, a: Float32Array, bb: Float32Array, out: Float32Array, bias?: Float32Array) =>
      addon.convLike(kind, dir, g.src, g.wts, g.dst, g.stride, g.padL, g.padR, a, bb, out, bias ?? null);
    let input: ReturnType<typeof saveInput> | null = null;
    return tapeOp(
      b ? [x, w, b] : [x, w],
      (save) => {
        input = saveInput(x, [w], save);
        const y = allocF32(size(g.dst));
        run(0, f32(x, 'x'), f32(w, 'w'), y, b ? f32(b, 'bias') : undefined);
        return tf.tensor(y, g.dst as Shape5, 'float32');
      },
      (dy, saved) => {
        const sw = saved[saved.length - 1];
        const weightGrads = once(() => {
          const dw = new Float32Array(size(g.wts));
          const xv = (input as NonNullable<typeof input>).take(saved);
          run(2, xv.values, f32(dy, 'dy'), dw);
          xv.release();
          return { dw };
        });
        return [
          () => {
            // a rebuilt input and dx would coexist: when the weights' gradient will be asked for
            // anyway (a trainable variable), compute it first so the rebuilt input is gone
            if (input?.rebuilds && w instanceof tf.Variable && w.trainable) weightGrads();
            const dx = allocF32(size(g.src));
            run(1, f32(dy, 'dy'), f32(sw, 'w'), dx);
            return tf.tensor(dx, g.src as Shape5, 'float32');
          },
          () => tf.tensor(weightGrads().dw, g.wts as Shape5, 'float32'),
          b
            ? () => {
                // the sum of dy over N, D, H, W as the gradient of a separate bias add computes it
                // (the same kernel and order), so conv3dBias trains bit-identically to conv3d + add
                const cout = g.wts[4];
                const db = new Float32Array(cout);
                addon.reduceSum(f32(dy, 'dy'), 1, size(g.dst) / cout, cout, false, db);
                return tf.tensor1d(db, 'float32');
              }
            : null,
        ];
      },
    ) as tf.Tensor5D;
  }

  function groupNormAct(
    x: tf.Tensor5D,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    groups: number,
    act: Activation,
    eps = 1e-5,
  ): tf.Tensor5D {
    const [n, d, h, w, c] = x.shape;
    if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels not divisible by ${groups} groups`);
    if (gamma.size !== c || beta.size !== c) throw new Error(`groupNorm: gamma/beta must have ${c} elements`);
    const s = d * h * w;
    const code = ACT_CODE[act];
    // mean and 1/std per sample and group, from the forward pass (the backward pass reuses them)
    const stats = new Float64Array(n * groups * 2);
    return tapeOp(
      [x, gamma, beta],
      (save) => {
        save([x, gamma, beta]);
        const y = allocF32(x.size);
        addon.groupNormFwd(n, s, c, groups, eps, code, f32(x, 'x'), f32(gamma, 'gamma'), f32(beta, 'beta'), y, stats);
        const out = tf.tensor(y, x.shape, 'float32');
        recipes.set(out.dataId, {
          leaves: [x, gamma, beta],
          build: (v, dst) => addon.groupNormFwd(n, s, c, groups, eps, code, v[0], v[1], v[2], dst, stats, true),
        });
        return out;
      },
      (dy, saved) => {
        const [sx, sg, sb] = saved;
        const all = once(() => {
          const dx = allocF32(x.size);
          const dg = new Float32Array(c);
          const db = new Float32Array(c);
          addon.groupNormBwd(
            n,
            s,
            c,
            groups,
            eps,
            code,
            f32(sx, 'x'),
            f32(sg, 'gamma'),
            f32(sb, 'beta'),
            f32(dy, 'dy'),
            dx,
            dg,
            db,
            stats,
          );
          return { dx, dg, db };
        });
        return [
          () => tf.tensor(all().dx, x.shape, 'float32'),
          () => tf.tensor1d(all().dg, 'float32'),
          () => tf.tensor1d(all().db, 'float32'),
        ];
      },
    ) as tf.Tensor5D;
  }

  function eltwise<T extends tf.Tensor>(x: T, act: 1 | 2): T {
    return tapeOp(
      [x],
      (save) => {
        save([x]);
        const y = allocF32(x.size);
        addon.eltwise(act, false, f32(x, 'x'), null, y);
        return tf.tensor(y, x.shape, 'float32');
      },
      (dy, saved) => [
        () => {
          const dx = allocF32(x.size);
          addon.eltwise(act, true, f32(saved[0], 'x'), f32(dy, 'dy'), dx);
          return tf.tensor(dx, x.shape, 'float32');
        },
      ],
    ) as T;
  }

  function upsample(x: tf.Tensor5D): tf.Tensor5D {
    const [n, d, h, w, c] = x.shape;
    const big: Shape5 = [n, 2 * d, 2 * h, 2 * w, c];
    return tapeOp(
      [x],
      () => {
        const y = allocF32(x.size * 8);
        addon.upsample2x(false, x.shape, f32(x, 'x'), y);
        return tf.tensor(y, big, 'float32');
      },
      (dy) => [
        () => {
          const dx = allocF32(x.size);
          addon.upsample2x(true, x.shape, f32(dy, 'dy'), dx);
          return tf.tensor(dx, x.shape, 'float32');
        },
      ],
    ) as tf.Tensor5D;
  }

  function maxPool(x: tf.Tensor5D): tf.Tensor5D {
    const [n, d, h, w, c] = x.shape;
    const out: Shape5 = [n, Math.floor(d / 2), Math.floor(h / 2), Math.floor(w / 2), c];
    return tapeOp(
      [x],
      (save) => {
        save([x]);
        const y = allocF32(size(out));
        addon.maxPool2x(false, x.shape, f32(x, 'x'), null, y);
        return tf.tensor(y, out, 'float32');
      },
      (dy, saved) => [
        () => {
          const dx = allocF32(x.size);
          addon.maxPool2x(true, x.shape, f32(saved[0], 'x'), f32(dy, 'dy'), dx);
          return tf.tensor(dx, x.shape, 'float32');
        },
      ],
    ) as tf.Tensor5D;
  }

  /** concat along channels (the last axis); saves nothing (its gradient only slices dy) */
  function concatChannels(xs: tf.Tensor5D[]): tf.Tensor5D {
    if (xs.length === 0) throw new Error('engine(native) concatChannels: no inputs');
    const [n, d, h, w] = xs[0].shape;
    for (const t of xs) {
      if (t.shape.slice(0, 4).some((v, i) => v !== xs[0].shape[i]))
        throw new Error(
          `engine(native) concatChannels: shapes [${xs[0].shape}] and [${t.shape}] differ outside the channel axis`,
        );
    }
    const rows = n * d * h * w;
    const cs = xs.map((t) => t.shape[4]);
    const cTot = cs.reduce((a, b) => a + b, 0);
    const outShape: Shape5 = [n, d, h, w, cTot];
    const offsets = cs.map((_, k) => cs.slice(0, k).reduce((a, b) => a + b, 0));
    return tapeOp(
      xs,
      () => {
        const out = allocF32(rows * cTot);
        xs.forEach((t, k) => addon.copyRuns(f32(t, 'x'), 0, cs[k], out, offsets[k], cTot, rows, cs[k]));
        const y = tf.tensor(out, outShape, 'float32');
        // rebuildable when every part is (or is a plain tensor): the concat of the parts' rebuilds
        const parts = xs.map((t) => ({ t, r: recipes.get(t.dataId) ?? null }));
        recipes.set(y.dataId, {
          leaves: parts.flatMap((p) => (p.r ? p.r.leaves : [p.t])),
          build: (v, dst) => {
            let at = 0;
            parts.forEach((p, k) => {
              if (!p.r) {
                addon.copyRuns(v[at++], 0, cs[k], dst, offsets[k], cTot, rows, cs[k]);
                return;
              }
              const tmp = allocF32(rows * cs[k]);
              p.r.build(v.slice(at, at + p.r.leaves.length), tmp);
              at += p.r.leaves.length;
              addon.copyRuns(tmp, 0, cs[k], dst, offsets[k], cTot, rows, cs[k]);
              releaseF32(tmp);
            });
          },
        });
        return y;
      },
      (dy) =>
        xs.map((t, k) => () => {
          const dx = allocF32(rows * cs[k]);
          addon.copyRuns(f32(dy, 'dy'), offsets[k], cTot, dx, 0, cs[k], rows, cs[k]);
          return tf.tensor(dx, t.shape, 'float32');
        }),
    ) as tf.Tensor5D;
  }

  return {
    concatChannels,
    conv3d(x, w, stride = 1) {
      return convLike(0, convGeom(x.shape, w.shape, stride), x, w);
    },
    conv3dBias(x, w, b, stride = 1) {
      return convLike(0, convGeom(x.shape, w.shape, stride), x, w, b);
    },
    convTranspose3d2x(x, w) {
      const [n, d, h, wd, cin] = x.shape;
      const [kd, kh, kw, wcin, cout] = w.shape;
      if (kd !== 2 || kh !== 2 || kw !== 2 || wcin !== cin) {
        throw new Error(`engine(native) convTranspose3d2x: filter must be [2,2,2,${cin},Cout], got [${w.shape}]`);
      }
      const g: ConvGeom = {
        src: x.shape,
        wts: w.shape,
        dst: [n, 2 * d, 2 * h, 2 * wd, cout],
        stride: [2, 2, 2],
        padL: [0, 0, 0],
        padR: [0, 0, 0],
      };
      return convLike(1, g, x, w);
    },
    maxPool3d2x: maxPool,
    upsampleTrilinear2x: upsample,
    groupNorm(x, gamma, beta, groups, eps = 1e-5) {
      return groupNormAct(x, gamma, beta, groups, 'none', eps);
    },
    groupNormAct,
    silu: (x) => eltwise(x, 2),
    relu: (x) => eltwise(x, 1),
  };
}
