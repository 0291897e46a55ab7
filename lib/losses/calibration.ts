/**
 * Loss-scale calibration for uncertainty weighting (spec 5.7, calibrate_loss_normalization.py):
 * for the first `numSamples` cases (sorted paths), pred = target + N(0, (noise_std_gy / Rx)²) on a
 * crop of up to 128³ centred on the PTV70 centroid (volume centre without PTV70); evaluate every
 * loss with its defaults; average; s_i = ln √clip(avg_i, 1e-4, 1e4) (0 if avg ≤ 0), which makes
 * each L_i/(2σ_i²) = 0.5 at the start. Uses each case's own Rx (the reference fixed 70 Gy).
 */
import { tf } from '../engine';
import { listCasePaths, loadCase } from '../data/load';
import { inputRecipeFor, prepareCase, type PreparedCase } from '../inputs/case_inputs';
import { Rng } from '../core/rng';
import { writeChannelsLast } from '../inputs/patches';
import { mseLoss, gradientLoss } from './basic';
import { dvhAwareLoss } from './dvh_loss';
import { structureWeightedLoss } from './structure_weighted';
import { asymmetricPtvLoss } from './asymmetric_ptv';
import type { LossBatch } from './batch';
import { UsageError } from '../core/errors';

export interface CalibrationOptions {
  numSamples?: number;
  noiseStdGy?: number;
  cropSize?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CalibrationResult {
  avg_raw_losses: Record<string, number>;
  recommended_initial_log_sigma: Record<string, number>;
  samples_used: number;
  case_ids: string[];
  noise_std_gy: number;
  noise_std_normalized: number[];
  rx_dose_gy: number[];
  crop_size: number;
  seed: number;
}

const NAMES = ['base', 'gradient', 'structure', 'asymmetric', 'dvh'] as const;

function cropCentre(pc: PreparedCase): [number, number, number] {
  const m = pc.source.masks.get('PTV70');
  const [Y, X, Z] = pc.shape;
  if (!m) return [Math.floor(Y / 2), Math.floor(X / 2), Math.floor(Z / 2)];
  let sy = 0,
    sx = 0,
    sz = 0,
    n = 0;
  for (let y = 0; y < Y; y++)
    for (let x = 0; x < X; x++)
      for (let z = 0; z < Z; z++)
        if (m[(y * X + x) * Z + z]) {
          sy += y;
          sx += x;
          sz += z;
          n++;
        }
  return [Math.round(sy / n), Math.round(sx / n), Math.round(sz / n)];
}

/** the box [start, start + size) of a (Y, X, Z) volume */
function cropBox(v: Float32Array, shape: readonly number[], start: number[], size: number[]): Float32Array {
  const [, X, Z] = shape;
  const out = new Float32Array(size[0] * size[1] * size[2]);
  let k = 0;
  for (let y = start[0]; y < start[0] + size[0]; y++)
    for (let x = start[1]; x < start[1] + size[1]; x++) {
      const src = (y * X + x) * Z + start[2];
      out.set(v.subarray(src, src + size[2]), k);
      k += size[2];
    }
  return out;
}

/** Initial log σ for a component whose mean loss is `avg`: ln √clip(avg, 1e-4, 1e4), 0 when avg ≤ 0. */
export function logSigmaFor(avg: number): number {
  return avg > 0 ? Math.log(Math.sqrt(Math.min(Math.max(avg, 1e-4), 1e4))) : 0;
}

/**
 * Measures every loss term on noisy copies of the targets of the first `numSamples` cases of
 * `dataDir` (noise in Gy, each case's own Rx) and returns the mean losses and initial log σ per component.
 */
export async function calibrateLossNormalization(
  dataDir: string,
  o: CalibrationOptions = {},
): Promise<CalibrationResult> {
  const numSamples = o.numSamples ?? 12;
  const noiseStdGy = o.noiseStdGy ?? 5;
  const crop = o.cropSize ?? 128;
  const seed = o.seed ?? 0;
  const files = (await listCasePaths(dataDir)).slice(0, numSamples);
  if (!files.length) throw new UsageError(`calibrate: no cases in ${dataDir}`);
  const rng = Rng.fromSeed(`calibrate:${seed}`);
  const sums: Record<string, number> = Object.fromEntries(NAMES.map((n) => [n, 0]));
  const ids: string[] = [];
  const noiseNorm: number[] = [];
  const rxs: number[] = [];
  let recipe = null as ReturnType<typeof inputRecipeFor> | null;
  for (let k = 0; k < files.length; k++) {
    const c = await loadCase(files[k]);
    if (!c.dose) throw new UsageError(`calibrate: case ${files[k]} has no dose`);
    recipe = recipe ?? inputRecipeFor([c]);
    const pc = prepareCase(c, recipe);
    // crop = the 128³ window around the centre, clipped to the volume (no padding)
    const [Y, X, Z] = pc.shape;
    const ctr = cropCentre(pc);
    const size = [Math.min(crop, Y), Math.min(crop, X), Math.min(crop, Z)];
    const start = ctr.map((v, a) => Math.min(Math.max(v - Math.floor(size[a] / 2), 0), pc.shape[a] - size[a]));
    const nc = pc.channels.length;
    const n = size[0] * size[1] * size[2];
    const xBuf = new Float32Array(n * nc);
    writeChannelsLast(
      pc.channels.map((ch) => cropBox(ch, pc.shape, start, size)),
      xBuf,
    );
    const target = cropBox(pc.dose!, pc.shape, start, size);
    const sigma = noiseStdGy / pc.rxGy;
    const pred = new Float32Array(n);
    for (let i = 0; i < n; i++) pred[i] = target[i] + sigma * rng.normal();
    const losses = tf.tidy(() => {
      const shape5: [number, number, number, number] = [1, size[0], size[1], size[2]];
      const x = tf.tensor(xBuf, [...shape5, nc]);
      const batch: LossBatch = {
        pred: tf.tensor(pred, [...shape5, 1]) as tf.Tensor5D,
        target: tf.tensor(target, [...shape5, 1]) as tf.Tensor5D,
        sdf: tf.slice(x, [0, 0, 0, 0, 1], [-1, -1, -1, -1, nc - 1]) as tf.Tensor5D,
        structures: recipe!.structures,
        present: [pc.present],
        rxGy: [pc.rxGy],
        sdfClipMm: recipe!.sdfClipMm,
      };
      return {
        base: mseLoss(batch.pred, batch.target).dataSync()[0],
        gradient: gradientLoss(batch.pred, batch.target).dataSync()[0],
        structure: structureWeightedLoss(batch).loss.dataSync()[0],
        asymmetric: asymmetricPtvLoss(batch).loss.dataSync()[0],
        dvh: dvhAwareLoss(batch).loss.dataSync()[0],
      };
    });
    for (const nme of NAMES) sums[nme] += losses[nme];
    ids.push(c.id);
    noiseNorm.push(sigma);
    rxs.push(pc.rxGy);
    o.onProgress?.(k + 1, files.length);
  }
  const avg: Record<string, number> = {};
  const rec: Record<string, number> = {};
  for (const nme of NAMES) {
    avg[nme] = sums[nme] / files.length;
    rec[nme] = logSigmaFor(avg[nme]);
  }
  return {
    avg_raw_losses: avg,
    recommended_initial_log_sigma: rec,
    samples_used: files.length,
    case_ids: ids,
    noise_std_gy: noiseStdGy,
    noise_std_normalized: noiseNorm,
    rx_dose_gy: rxs,
    crop_size: crop,
    seed,
  };
}
