/**
 * Resolution change for training OpenKBP at 64³ on a CPU: mask-aware 2×2×2 mean pooling down and
 * mask-normalised trilinear up-sampling back to 128³ (openkbp.md 5.4: the scheme with the lowest
 * resolution floor, dose score 0.860 / DVH score 1.391 for ground truth itself on the validation set).
 * Hand-written: plain array loops, no library offers mask-weighted pooling.
 */
import type { Shape3 } from '../core/shape';

/** 2×2×2 block mean of a (Y, X, Z) C-order volume over the whole block (zeros included); odd sizes give a partial last block. */
export function meanPool2x(src: Float32Array, shape: Shape3): { data: Float32Array; shape: Shape3 } {
  return maskedMeanPool2x(src, null, shape);
}

/**
 * 2×2×2 block mean over voxels where `mask` is 1 (a block without mask voxels is 0); with
 * mask = null every voxel counts. Returns also the fraction of mask voxels per block.
 */
export function maskedMeanPool2x(
  src: Float32Array,
  mask: Uint8Array | null,
  shape: Shape3,
): { data: Float32Array; shape: Shape3; weight: Float32Array } {
  const [a, b, c] = shape;
  const out: Shape3 = [Math.ceil(a / 2), Math.ceil(b / 2), Math.ceil(c / 2)];
  const n = out[0] * out[1] * out[2];
  const sum = new Float64Array(n);
  const cnt = new Float64Array(n);
  const tot = new Float64Array(n);
  for (let i = 0; i < a; i++) {
    const oi = i >> 1;
    for (let j = 0; j < b; j++) {
      const oj = j >> 1;
      const rowIn = (i * b + j) * c;
      const rowOut = (oi * out[1] + oj) * out[2];
      for (let k = 0; k < c; k++) {
        const o = rowOut + (k >> 1);
        tot[o] += 1;
        if (mask === null || mask[rowIn + k]) {
          sum[o] += src[rowIn + k];
          cnt[o] += 1;
        }
      }
    }
  }
  const data = new Float32Array(n);
  const weight = new Float32Array(n);
  for (let o = 0; o < n; o++) {
    data[o] = cnt[o] > 0 ? sum[o] / cnt[o] : 0;
    weight[o] = cnt[o] / tot[o];
  }
  return { data, shape: out, weight };
}

/** Linear-interpolation taps of PyTorch's align_corners=False ×2 up-sampling along one axis. */
function taps(outLen: number, inLen: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(outLen);
  const i1 = new Int32Array(outLen);
  const f = new Float32Array(outLen);
  const scale = inLen / outLen;
  for (let o = 0; o < outLen; o++) {
    let s = (o + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let lo = Math.floor(s);
    if (lo > inLen - 1) lo = inLen - 1;
    const hi = Math.min(lo + 1, inLen - 1);
    i0[o] = lo;
    i1[o] = hi;
    f[o] = s - lo;
  }
  return { i0, i1, f };
}

/** Trilinear resize (align_corners=False, edge clamped) from `shape` to `outShape`. */
export function trilinearResize(src: Float32Array, shape: Shape3, outShape: Shape3): Float32Array {
  const [a, b, c] = shape;
  const [A, B, C] = outShape;
  const ta = taps(A, a);
  const tb = taps(B, b);
  const tc = taps(C, c);
  // separable: along axis 2, then 1, then 0
  const s1 = new Float32Array(a * b * C);
  for (let r = 0; r < a * b; r++) {
    for (let k = 0; k < C; k++) {
      const v0 = src[r * c + tc.i0[k]];
      const v1 = src[r * c + tc.i1[k]];
      s1[r * C + k] = v0 + (v1 - v0) * tc.f[k];
    }
  }
  const s2 = new Float32Array(a * B * C);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < B; j++) {
      const r0 = (i * b + tb.i0[j]) * C;
      const r1 = (i * b + tb.i1[j]) * C;
      const f = tb.f[j];
      const ro = (i * B + j) * C;
      for (let k = 0; k < C; k++) s2[ro + k] = s1[r0 + k] + (s1[r1 + k] - s1[r0 + k]) * f;
    }
  }
  const s3 = new Float32Array(A * B * C);
  const plane = B * C;
  for (let i = 0; i < A; i++) {
    const p0 = ta.i0[i] * plane;
    const p1 = ta.i1[i] * plane;
    const f = ta.f[i];
    const po = i * plane;
    for (let q = 0; q < plane; q++) s3[po + q] = s2[p0 + q] + (s2[p1 + q] - s2[p0 + q]) * f;
  }
  return s3;
}

/**
 * Mask-normalised trilinear up-sampling: interpolates value·weight and weight separately and
 * divides, so voxels outside the mask do not pull the dose towards zero; the result is then
 * zeroed outside the full-resolution mask (as the OpenKBP evaluator expects).
 */
export function maskNormalisedUpsample(
  small: Float32Array,
  weight: Float32Array,
  smallShape: Shape3,
  outShape: Shape3,
  outMask: Uint8Array | null,
): Float32Array {
  const vw = new Float32Array(small.length);
  for (let i = 0; i < small.length; i++) vw[i] = small[i] * weight[i];
  const num = trilinearResize(vw, smallShape, outShape);
  const den = trilinearResize(weight, smallShape, outShape);
  const out = new Float32Array(num.length);
  for (let i = 0; i < out.length; i++) {
    if (outMask && !outMask[i]) continue;
    out[i] = den[i] > 1e-6 ? num[i] / den[i] : 0;
  }
  return out;
}
