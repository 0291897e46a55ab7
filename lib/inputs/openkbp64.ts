/**
 * The OpenKBP dataset profile as the 64³ model sees it (docs/openkbp.md).
 *
 * Source data (openkbp.md 1.3-1.7): 128³ grid, axes (A→P, R→L, S→I) — the true left-right flip is
 * array axis 1 and swaps LeftParotid/RightParotid; CT in HU (npz already HU, CSV value − 1024);
 * per-patient voxel size; 10 structures in the official order; targets PTV56/63/70 (dose levels
 * 56/63/70 Gy, normalisation 70 Gy); the possible-dose mask marks where dose can be non-zero.
 *
 * Model inputs at 64³ (every 2×2×2 block of the 128³ grid → one voxel), planar (Y, X, Z) C order:
 *   0      CT: clip(HU, −1024, 1500) / 1000 (first-place choice, openkbp.md 1.4), block mean
 *   1..10  structure occupancy: fraction of the block inside each structure (0 when absent)
 *   11     prescription: PTV70·1 + PTV63·0.9 + PTV56·0.8 (= level / 70), block mean
 *   12     possible-dose mask: fraction of the block inside the mask
 *   13     signed distance to the PTV union at 64³ (mm, clipped ±50, ÷50; negative inside)
 * Target: dose / 70 Gy, mask-aware block mean over possible-dose-mask voxels (lib/transforms/resample2x.ts).
 * Loss weight: the possible-dose-mask fraction of the block (the loss is masked to the mask).
 * Back to 128³: mask-normalised trilinear with weight 1 on blocks holding any mask voxel, × mask.
 * FiLM conditioning (13 values, the models' constraint input): [PTV70?1, PTV63?0.9, PTV56?0.8, 0 …].
 */
import type { Case, Shape3 } from '../data/case';
import { OPENKBP_STRUCTURES } from '../data/profiles';
import { OPENKBP_RX_GY, OPENKBP_SHAPE } from '../data/openkbp';
import { DataError } from '../core/errors';
import { signedDistanceField } from '../transforms/sdf';
import { maskedMeanPool2x, meanPool2x } from '../transforms/resample2x';

export { OPENKBP_SHAPE, OPENKBP_RX_GY };
/** the grid the 64³ model sees: every 2×2×2 block of OPENKBP_SHAPE */
export const OPENKBP_TRAIN_SHAPE: Shape3 = [64, 64, 64];
/** CT normalisation of the 64³ recipe (HU in, [−1.024, 1.5] out). */
export const OPENKBP_CT_NORMALISATION = 'clip(HU,-1024,1500)/1000' as const;
/** Definition of the prescription channel (per voxel, from the target masks). */
export const OPENKBP_RX_CHANNEL = 'PTV70*1+PTV63*0.9+PTV56*0.8' as const;
/** Clip distance (mm) of the PTV-union signed distance channel. */
export const OPENKBP_SDF_CLIP_MM = 50;
/** The 14 input channels of the 64³ model, in order (channels last). */
export const OPENKBP_CHANNELS = ['CT', ...OPENKBP_STRUCTURES, 'Rx', 'PossibleDoseMask', 'PTVunion_SDF'] as const;
/** Number of input channels of the 64³ model (14). */
export const OPENKBP_IN_CHANNELS = OPENKBP_CHANNELS.length;
/** normalised CT of air (−1024 HU): the padding value of channel 0 */
export const OPENKBP_CT_AIR = -1.024;
/** per-channel padding value (outside the volume): air, no structure, no Rx, no mask, far outside the PTV */
export const OPENKBP_PAD_VALUES: readonly number[] = [OPENKBP_CT_AIR, ...OPENKBP_STRUCTURES.map(() => 0), 0, 0, 1];
/** channel indices swapped by a left-right flip (axis 1) */
export const OPENKBP_LR_CHANNEL_PAIRS: ReadonlyArray<[number, number]> = [
  [1 + OPENKBP_STRUCTURES.indexOf('RightParotid'), 1 + OPENKBP_STRUCTURES.indexOf('LeftParotid')],
];

/** Stored in a checkpoint's meta so inference rebuilds exactly these inputs. */
export interface OpenKbpRecipe {
  profile: 'openkbp-64';
  fullShape: Shape3;
  trainShape: Shape3;
  channels: string[];
  ct: typeof OPENKBP_CT_NORMALISATION;
  rxChannel: typeof OPENKBP_RX_CHANNEL;
  sdfClipMm: number;
  doseScaleGy: number;
  downsampling: string;
  upsampling: string;
}

/** The 64³ recipe as recorded in checkpoints and bundles (grids, channels, normalisations, resampling). */
export function openKbpRecipe(): OpenKbpRecipe {
  return {
    profile: 'openkbp-64',
    fullShape: [...OPENKBP_SHAPE] as Shape3,
    trainShape: [...OPENKBP_TRAIN_SHAPE] as Shape3,
    channels: [...OPENKBP_CHANNELS],
    ct: OPENKBP_CT_NORMALISATION,
    rxChannel: OPENKBP_RX_CHANNEL,
    sdfClipMm: OPENKBP_SDF_CLIP_MM,
    doseScaleGy: OPENKBP_RX_GY,
    downsampling: '2x2x2 block mean (dose: mean over possible-dose-mask voxels)',
    upsampling: 'mask-normalised trilinear (align_corners=False) x possible-dose mask',
  };
}

/** One patient ready for the 64³ model. */
export interface OpenKbpSample {
  id: string;
  /** planar channels, each 64³, in OPENKBP_CHANNELS order */
  channels: Float32Array[];
  /** dose / 70 at 64³ (mask-aware block mean), null without a dose */
  target: Float32Array | null;
  /** fraction of each block inside the possible-dose mask (the loss weight) */
  weight: Float32Array;
  /** 1 where the block holds any possible-dose-mask voxel: the weight of the mask-normalised up-sampling */
  upWeight: Float32Array;
  /** FiLM conditioning vector (13) */
  constraints: Float32Array;
  /** the 128³ possible-dose mask (predictions are zeroed outside it) */
  possibleDoseMask: Uint8Array;
  spacingMm: Shape3;
}

/** 64³-recipe CT normalisation of one value: clip(HU, −1024, 1500) / 1000. */
export function normaliseCtHuOpenKbp(hu: number): number {
  return Math.min(Math.max(hu, -1024), 1500) / 1000;
}

/** The 13-value FiLM vector of an OpenKBP case: [PTV70 ? 1, PTV63 ? 0.9, PTV56 ? 0.8, 0 × 10]. */
export function openKbpConstraints(c: Pick<Case, 'masks'>): Float32Array {
  const v = new Float32Array(13);
  v[0] = c.masks.has('PTV70') ? 1 : 0;
  v[1] = c.masks.has('PTV63') ? 0.9 : 0;
  v[2] = c.masks.has('PTV56') ? 0.8 : 0;
  return v;
}

function checkOpenKbpCase(c: Case): Uint8Array {
  const [a, b, d] = c.shape;
  if (a !== 128 || b !== 128 || d !== 128)
    throw new DataError(c.id, 'shape', '128x128x128 (OpenKBP grid)', c.shape.join('x'));
  if (!c.possibleDoseMask) throw new DataError(c.id, 'possible_dose_mask', 'an OpenKBP possible-dose mask', 'none');
  const unknown = [...c.masks.keys()].filter((k) => !(OPENKBP_STRUCTURES as readonly string[]).includes(k));
  if (unknown.length)
    throw new DataError(
      c.id,
      'structures',
      `OpenKBP structures (${OPENKBP_STRUCTURES.join(', ')})`,
      unknown.join(', '),
    );
  return c.possibleDoseMask;
}

/**
 * Up-sampling weight: 1 for every block with at least one mask voxel. Measured on the 33 validation
 * patients (ground truth down and up): binary weight dose/DVH floor 0.860/1.391 (= openkbp.md 5.4),
 * mask-fraction weight 0.898/1.369; the dose score is the primary metric, so binary is used.
 */
export function binaryWeight(fraction: Float32Array): Float32Array {
  const w = new Float32Array(fraction.length);
  for (let i = 0; i < w.length; i++) w[i] = fraction[i] > 0 ? 1 : 0;
  return w;
}

/** builds the 64³ model inputs, target and loss weight of an OpenKBP case (see the file comment) */
export function prepareOpenKbp64(c: Case): OpenKbpSample {
  const pdm = checkOpenKbpCase(c);
  const S = OPENKBP_SHAPE;
  const n = c.ct.length;
  const ct = new Float32Array(n);
  for (let i = 0; i < n; i++) ct[i] = normaliseCtHuOpenKbp(c.ct[i]);
  const channels: Float32Array[] = [meanPool2x(ct, S).data];
  const asFloat = (m: Uint8Array): Float32Array => {
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = m[i] ? 1 : 0;
    return f;
  };
  const small = OPENKBP_TRAIN_SHAPE[0] * OPENKBP_TRAIN_SHAPE[1] * OPENKBP_TRAIN_SHAPE[2];
  for (const name of OPENKBP_STRUCTURES) {
    const m = c.masks.get(name);
    channels.push(m ? meanPool2x(asFloat(m), S).data : new Float32Array(small));
  }
  const rx = new Float32Array(n);
  const ptvUnion = new Uint8Array(n);
  for (const [name, level] of [
    ['PTV56', 0.8],
    ['PTV63', 0.9],
    ['PTV70', 1],
  ] as const) {
    const m = c.masks.get(name);
    if (!m) continue;
    for (let i = 0; i < n; i++)
      if (m[i]) {
        // PTVs never overlap (openkbp.md 1.6); max keeps the highest level if they ever do
        if (level > rx[i]) rx[i] = level;
        ptvUnion[i] = 1;
      }
  }
  channels.push(meanPool2x(rx, S).data);
  const pooledPdm = maskedMeanPool2x(asFloat(pdm), null, S).data;
  channels.push(pooledPdm);
  // PTV-union SDF at 64³: blocks at least half inside the union (any block when that leaves nothing)
  const ptvFrac = meanPool2x(asFloat(ptvUnion), S).data;
  const ptv64 = new Uint8Array(small);
  let any = false;
  for (let i = 0; i < small; i++)
    if (ptvFrac[i] >= 0.5) {
      ptv64[i] = 1;
      any = true;
    }
  if (!any)
    for (let i = 0; i < small; i++)
      if (ptvFrac[i] > 0) {
        ptv64[i] = 1;
        any = true;
      }
  const spacing64 = c.spacingMm.map((s) => 2 * s) as Shape3;
  channels.push(
    any
      ? signedDistanceField(ptv64, OPENKBP_TRAIN_SHAPE, spacing64, OPENKBP_SDF_CLIP_MM)
      : new Float32Array(small).fill(1),
  );
  let target: Float32Array | null = null;
  if (c.dose) {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = c.dose[i] / OPENKBP_RX_GY;
    target = maskedMeanPool2x(d, pdm, S).data;
  }
  return {
    id: c.id,
    channels,
    target,
    weight: pooledPdm,
    upWeight: binaryWeight(pooledPdm),
    constraints: openKbpConstraints(c),
    possibleDoseMask: pdm,
    spacingMm: [...c.spacingMm] as Shape3,
  };
}
