/**
 * The fast CPU op set: tfjs `cpu` backend tensors, arithmetic in the native addon (oneDNN
 * convolutions with their backward-data / backward-weights kernels, fused GroupNorm+activation,
 * trilinear x2 up-sampling, 2x max pooling).
 * Each op is a tf.customGrad whose forward and gradient read the cpu backend's Float32Arrays
 * directly (dataSync is zero-copy there) and wrap fresh Float32Arrays as outputs (also zero-copy).
 * Semantics are exactly those of lib/engine/ops_reference.ts (tests compare them).
 */
import * as tf from '@tensorflow/tfjs';
import type { EngineOps, Activation } from './ops';
import type { NativeAddon } from './native_addon';
import { samePadding } from './ops_reference';

const ACT_CODE: Record<Activation, 0 | 1 | 2> = { none: 0, relu: 1, silu: 2 };

function f32(t: tf.Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`engine(native): ${what} must be float32, got ${t.dtype}`);
  return t.dataSync() as Float32Array;
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

/** the engine ops implemented on the native addon (oneDNN convolutions, OpenMP kernels), with gradients */
export function makeNativeOps(addon: NativeAddon): EngineOps {
  function convLike(kind: 0 | 1, g: ConvGeom, x: tf.Tensor5D, w: tf.Tensor5D): tf.Tensor5D {
    const run = tf.customGrad((xi, wi, save) => {
      const xt = xi as tf.Tensor5D;
      const wt = wi as tf.Tensor5D;
      (save as tf.GradSaveFunc)([xt, wt]);
      const y = new Float32Array(size(g.dst));
      addon.convLike(kind, 0, g.src, g.wts, g.dst, g.stride, g.padL, g.padR, f32(xt, 'x'), f32(wt, 'w'), y);
      return {
        value: tf.tensor5d(y, g.dst as [number, number, number, number, number]),
        gradFunc: (dy: tf.Tensor5D, saved: tf.Tensor[]) => {
          const [sx, sw] = saved;
          const dyv = f32(dy, 'dy');
          const dx = new Float32Array(size(g.src));
          addon.convLike(kind, 1, g.src, g.wts, g.dst, g.stride, g.padL, g.padR, dyv, f32(sw, 'w'), dx);
          const dw = new Float32Array(size(g.wts));
          addon.convLike(kind, 2, g.src, g.wts, g.dst, g.stride, g.padL, g.padR, f32(sx, 'x'), dyv, dw);
          return [tf.tensor(dx, g.src), tf.tensor(dw, g.wts)];
        },
      };
    });
    return run(x, w) as tf.Tensor5D;
  }

  /** conv + per-channel bias, the bias folded into oneDNN's forward and backward-weights */
  function convBias(g: ConvGeom, x: tf.Tensor5D, w: tf.Tensor5D, b: tf.Tensor1D): tf.Tensor5D {
    if (b.size !== g.wts[4])
      throw new Error(`engine(native) conv3dBias: bias must have ${g.wts[4]} elements, got ${b.size}`);
    const run = tf.customGrad((xi, wi, bi, save) => {
      const [xt, wt, bt] = [xi as tf.Tensor5D, wi as tf.Tensor5D, bi as tf.Tensor1D];
      (save as tf.GradSaveFunc)([xt, wt]);
      const y = new Float32Array(size(g.dst));
      addon.convLike(
        0,
        0,
        g.src,
        g.wts,
        g.dst,
        g.stride,
        g.padL,
        g.padR,
        f32(xt, 'x'),
        f32(wt, 'w'),
        y,
        f32(bt, 'bias'),
      );
      return {
        value: tf.tensor5d(y, g.dst as [number, number, number, number, number]),
        gradFunc: (dy: tf.Tensor5D, saved: tf.Tensor[]) => {
          const [sx, sw] = saved;
          const dyv = f32(dy, 'dy');
          const dx = new Float32Array(size(g.src));
          addon.convLike(0, 1, g.src, g.wts, g.dst, g.stride, g.padL, g.padR, dyv, f32(sw, 'w'), dx);
          const dw = new Float32Array(size(g.wts));
          const db = new Float32Array(g.wts[4]);
          addon.convLike(0, 2, g.src, g.wts, g.dst, g.stride, g.padL, g.padR, f32(sx, 'x'), dyv, dw, db);
          return [tf.tensor(dx, g.src), tf.tensor(dw, g.wts), tf.tensor1d(db)];
        },
      };
    });
    return run(x, w, b) as tf.Tensor5D;
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
    const run = tf.customGrad((xi, gi, bi, save) => {
      const [xt, gt, bt] = [xi as tf.Tensor5D, gi as tf.Tensor1D, bi as tf.Tensor1D];
      (save as tf.GradSaveFunc)([xt, gt, bt]);
      const y = new Float32Array(x.size);
      addon.groupNormFwd(n, s, c, groups, eps, code, f32(xt, 'x'), f32(gt, 'gamma'), f32(bt, 'beta'), y);
      return {
        value: tf.tensor5d(y, x.shape),
        gradFunc: (dy: tf.Tensor5D, saved: tf.Tensor[]) => {
          const [sx, sg, sb] = saved;
          const dx = new Float32Array(x.size);
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
          );
          return [tf.tensor5d(dx, x.shape), tf.tensor1d(dg), tf.tensor1d(db)];
        },
      };
    });
    return run(x, gamma, beta) as tf.Tensor5D;
  }

  function eltwise<T extends tf.Tensor>(x: T, act: 1 | 2): T {
    const run = tf.customGrad((xi, save) => {
      const xt = xi as tf.Tensor;
      (save as tf.GradSaveFunc)([xt]);
      const y = new Float32Array(xt.size);
      addon.eltwise(act, false, f32(xt, 'x'), null, y);
      return {
        value: tf.tensor(y, xt.shape),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const dx = new Float32Array(xt.size);
          addon.eltwise(act, true, f32(saved[0], 'x'), f32(dy, 'dy'), dx);
          return [tf.tensor(dx, xt.shape)];
        },
      };
    });
    return run(x) as T;
  }

  function upsample(x: tf.Tensor5D): tf.Tensor5D {
    const [n, d, h, w, c] = x.shape;
    const big: [number, number, number, number, number] = [n, 2 * d, 2 * h, 2 * w, c];
    const run = tf.customGrad((xi) => {
      const y = new Float32Array(x.size * 8);
      addon.upsample2x(false, x.shape, f32(xi as tf.Tensor, 'x'), y);
      return {
        value: tf.tensor5d(y, big),
        gradFunc: (dy: tf.Tensor5D) => {
          const dx = new Float32Array(x.size);
          addon.upsample2x(true, x.shape, f32(dy, 'dy'), dx);
          return [tf.tensor5d(dx, x.shape)];
        },
      };
    });
    return run(x) as tf.Tensor5D;
  }

  function maxPool(x: tf.Tensor5D): tf.Tensor5D {
    const [n, d, h, w, c] = x.shape;
    const out: [number, number, number, number, number] = [
      n,
      Math.floor(d / 2),
      Math.floor(h / 2),
      Math.floor(w / 2),
      c,
    ];
    const run = tf.customGrad((xi, save) => {
      const xt = xi as tf.Tensor5D;
      (save as tf.GradSaveFunc)([xt]);
      const y = new Float32Array(out.reduce((a, b) => a * b, 1));
      addon.maxPool2x(false, x.shape, f32(xt, 'x'), null, y);
      return {
        value: tf.tensor5d(y, out),
        gradFunc: (dy: tf.Tensor5D, saved: tf.Tensor[]) => {
          const dx = new Float32Array(x.size);
          addon.maxPool2x(true, x.shape, f32(saved[0], 'x'), f32(dy, 'dy'), dx);
          return [tf.tensor5d(dx, x.shape)];
        },
      };
    });
    return run(x) as tf.Tensor5D;
  }

  return {
    conv3d(x, w, stride = 1) {
      return convLike(0, convGeom(x.shape, w.shape, stride), x, w);
    },
    conv3dBias(x, w, b, stride = 1) {
      return convBias(convGeom(x.shape, w.shape, stride), x, w, b);
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
