/**
 * Full-volume prediction by sliding window (spec 6.2), corrected:
 * - volumes smaller than the patch are padded (CT air, SDF outside/absent) instead of requiring
 *   every dim ≥ patch and divisible by 16; the padding is cropped off the result;
 * - window starts per axis: [0] if L ≤ P, else range(0, L − P + 1, P − overlap) plus L − P;
 * - Gaussian blending with σ = P/4 centred at (P − 1)/2 (symmetric; the reference centred at P/2),
 *   accumulated in float64: out = Σ pred·g / Σ g;
 * - clamp to [0, 1.5] (normalised dose, i.e. [0, 1.5] × Rx);
 * - test-time augmentation is the network's business (a `mirrored` VolumeNet, lib/infer/volume_net.ts).
 * `slidingWindowPredictor` wraps it as a DosePredictor (Gy = normalised × the case's Rx).
 */
import { UsageError } from '../core/errors';
import type { Case, Shape3 } from '../data/case';
import { spatialMultiple, type ModelConfig } from '../models/config';
import { prepareCase, type PreparedCase } from '../inputs/case_inputs';
import type { InputRecipe } from '../inputs/recipe';
import { extractPatch, padBefore, paddedShape, writeChannelsLast, type Patch } from '../inputs/patches';
import type { VolumeNet } from './volume_net';
import type { DosePredictor } from './predictor';

export interface SlidingWindowOptions {
  /** window edge in voxels (default 128) */
  patchSize?: number;
  /** overlap of neighbouring windows in voxels (default patch/2) */
  overlap?: number;
  /** patches per forward pass */
  batchSize?: number;
  /** upper clamp of the normalised dose (default 1.5) */
  clampMax?: number;
  /** the network's level count: the patch must be divisible by 2^(levels-1) */
  levels?: ModelConfig['levels'];
  onProgress?: (done: number, total: number) => void;
}

/** Window start positions (voxels) along one padded axis of `length` for a `patch`-voxel window with `overlap` voxels. */
export function windowStarts(length: number, patch: number, overlap: number): number[] {
  if (length <= patch) return [0];
  const stride = patch - overlap;
  if (stride <= 0)
    throw new UsageError(`--overlap: expected fewer voxels than the patch size ${patch}, found ${overlap}`);
  const out: number[] = [];
  for (let s = 0; s <= length - patch; s += stride) out.push(s);
  if (out[out.length - 1] !== length - patch) out.push(length - patch);
  return out;
}

/** 1-D Gaussian blending weights of a `patch`-voxel window, σ = P/4, centred at (P − 1)/2. */
export function gaussianWeights1d(patch: number): Float64Array {
  const sigma = patch / 4;
  const c = (patch - 1) / 2;
  const g = new Float64Array(patch);
  for (let i = 0; i < patch; i++) g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  return g;
}

/** predict the whole volume of a prepared case; returns normalised dose (Y, X, Z), clamped to [0, clampMax] */
export function predictVolume(net: VolumeNet, pc: PreparedCase, o: SlidingWindowOptions = {}): Float32Array {
  const P = o.patchSize ?? 128;
  const overlap = o.overlap ?? Math.floor(P / 2);
  const batchSize = o.batchSize ?? 1;
  const clampMax = o.clampMax ?? 1.5;
  if (o.levels !== undefined) {
    const mult = spatialMultiple({ levels: o.levels });
    if (P % mult !== 0)
      throw new UsageError(`--patch-size: expected a multiple of ${mult} for a ${o.levels}-level model, found ${P}`);
  }
  const shape = pc.shape;
  const [Y, X, Z] = shape;
  const ps = paddedShape(shape, P);
  const pb = padBefore(shape, P);
  const starts = ps.map((d) => windowStarts(d, P, overlap));
  const g = gaussianWeights1d(P);
  const acc = new Float64Array(Y * X * Z);
  const wsum = new Float64Array(Y * X * Z);
  const windows: Shape3[] = [];
  for (const a of starts[0]) for (const b of starts[1]) for (const c of starts[2]) windows.push([a, b, c]);
  const half = Math.floor(P / 2);
  const nc = pc.channels.length;
  const constraints = pc.constraints;
  let done = 0;
  for (let w0 = 0; w0 < windows.length; w0 += batchSize) {
    const group = windows.slice(w0, w0 + batchSize);
    const patches: Patch[] = group.map((s) =>
      extractPatch({ ...pc, dose: null }, [s[0] + half, s[1] + half, s[2] + half], P),
    );
    const preds = runPatches(net, patches, constraints, nc, P);
    for (let k = 0; k < group.length; k++) {
      const s = group[k];
      const pred = preds[k];
      for (let a = 0; a < P; a++) {
        const y = s[0] + a - pb[0];
        if (y < 0 || y >= Y) continue;
        for (let b = 0; b < P; b++) {
          const x = s[1] + b - pb[1];
          if (x < 0 || x >= X) continue;
          const gab = g[a] * g[b];
          for (let c = 0; c < P; c++) {
            const z = s[2] + c - pb[2];
            if (z < 0 || z >= Z) continue;
            const w = gab * g[c];
            const i = (y * X + x) * Z + z;
            acc[i] += pred[(a * P + b) * P + c] * w;
            wsum[i] += w;
          }
        }
      }
    }
    done += group.length;
    o.onProgress?.(done, windows.length);
  }
  const out = new Float32Array(Y * X * Z);
  for (let i = 0; i < out.length; i++) {
    const v = acc[i] / wsum[i];
    out[i] = v < 0 ? 0 : v > clampMax ? clampMax : v;
  }
  return out;
}

function runPatches(
  net: VolumeNet,
  patches: Patch[],
  constraints: Float32Array,
  nc: number,
  P: number,
): Float32Array[] {
  const n = P * P * P;
  const buf = new Float32Array(patches.length * n * nc);
  patches.forEach((p, k) => writeChannelsLast(p.channels, buf, k * n * nc));
  const cons = new Float32Array(patches.length * constraints.length);
  for (let k = 0; k < patches.length; k++) cons.set(constraints, k * constraints.length);
  const data = net.forward(buf, [patches.length, P, P, P, nc], cons);
  return patches.map((_, k) => data.slice(k * n, (k + 1) * n));
}

export interface SlidingWindowPredictorOptions extends Omit<SlidingWindowOptions, 'onProgress'> {
  /** how the network's input channels are built from a case (saved with the checkpoint) */
  recipe: InputRecipe;
  modelType?: string;
  architecture?: string;
}

/** a trained patch network as a DosePredictor: sliding window over the case, × the case's Rx */
export function slidingWindowPredictor(net: VolumeNet, o: SlidingWindowPredictorOptions): DosePredictor {
  return {
    modelType: o.modelType ?? 'baseline_unet',
    architecture: o.architecture ?? 'baseline',
    predictGy(c: Case, po = {}) {
      const pc = prepareCase(c, o.recipe);
      const norm = predictVolume(net, pc, { ...o, onProgress: po.onProgress });
      const gy = new Float32Array(norm.length);
      for (let i = 0; i < gy.length; i++) gy[i] = norm[i] * pc.rxGy;
      return gy;
    },
    describe: () =>
      `sliding_window(${net.describe()}, patch ${o.patchSize ?? 128}, overlap ${o.overlap ?? Math.floor((o.patchSize ?? 128) / 2)})`,
    dispose: () => net.dispose(),
  };
}
