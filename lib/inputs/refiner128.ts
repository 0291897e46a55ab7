/**
 * 128³ refinement stage of the OpenKBP pipeline (a two-stage cascade, as the challenge winner's):
 * the 64³ model's prediction, up-sampled to 128³, is corrected by a small full-resolution U-Net
 * that sees the full-resolution CT, structures and possible-dose mask. It predicts a residual:
 * refined = max(0, coarse + net(coarse, CT, structures, mask)) × mask. What it fixes is what 64³
 * cannot represent — the dose gradient at target edges (PTV D99/D95), narrow OAR maxima (spinal
 * cord D0.1cc) — the bulk of the 64³ resolution floor — and systematic errors of the coarse model.
 *
 * Trained on 64³ patches of the 128³ grid (whole volumes do not fit the CPU budget), L1 masked to
 * the possible-dose mask, with L/R flips (parotid swap). The coarse input during training is the
 * coarse model's own prediction of the training patient (cascade training) or, without a coarse
 * model, the ground truth taken down to 64³ and back (the floor's dose).
 *
 * Inputs (13 channels, channels last): coarse dose/70, CT clip(HU,−1024,1500)/1000, the 10 OpenKBP
 * structures (0/1, official order), possible-dose mask. Network: BaselineUNet3D (the models'
 * factory) with a zero-initialised output convolution, so training starts from the identity.
 */
import type { Case, Shape3 } from '../data/case';
import { OPENKBP_STRUCTURES } from '../data/profiles';
import { DataError } from '../core/errors';
import { OPENKBP_RX_GY, OPENKBP_SHAPE, normaliseCtHuOpenKbp } from './openkbp64';

/** The 13 input channels of the 128³ refiner, in order (channels last). */
export const REFINER_CHANNELS = ['coarse', 'CT', ...OPENKBP_STRUCTURES, 'PossibleDoseMask'] as const;
/** Number of input channels of the refiner (13). */
export const REFINER_IN_CHANNELS = REFINER_CHANNELS.length;
const PAROTIDS: [number, number] = [
  2 + OPENKBP_STRUCTURES.indexOf('RightParotid'),
  2 + OPENKBP_STRUCTURES.indexOf('LeftParotid'),
];
/** channel indices swapped by a left-right flip (the parotids) */
export const REFINER_LR_CHANNEL_PAIRS: ReadonlyArray<[number, number]> = [PAROTIDS];

export interface RefinerRecipe {
  profile: 'openkbp-refine-128';
  channels: string[];
  patch: number;
  coarseSource: string;
  doseScaleGy: number;
}

/** the full-resolution sources of one patient (kept compact: HU as stored, masks as bytes) */
export interface RefinerCase {
  id: string;
  ct: ArrayLike<number>;
  structures: Array<Uint8Array | null>;
  pdm: Uint8Array;
  /** coarse prediction, dose/70 at 128³ */
  coarse: Float32Array;
  /** ground truth dose/70 (training), null at inference */
  target: Float32Array | null;
}

/**
 * The full-resolution refiner sources of an OpenKBP patient on the 128³ grid ((Y, X, Z) C order):
 * `coarseGy` is the coarse model's dose (Gy, 128³), stored as dose / 70 Gy like the target (null without a case dose).
 */
export function refinerCase(c: Case, coarseGy: Float32Array): RefinerCase {
  if (!c.possibleDoseMask) throw new DataError(c.id, 'possible_dose_mask', 'an OpenKBP possible-dose mask', 'none');
  const n = OPENKBP_SHAPE[0] * OPENKBP_SHAPE[1] * OPENKBP_SHAPE[2];
  if (coarseGy.length !== n || c.ct.length !== n)
    throw new DataError(c.id, 'shape', '128x128x128', `${c.ct.length} voxels, coarse ${coarseGy.length}`);
  const coarse = new Float32Array(n);
  for (let i = 0; i < n; i++) coarse[i] = coarseGy[i] / OPENKBP_RX_GY;
  let target: Float32Array | null = null;
  if (c.dose) {
    target = new Float32Array(n);
    for (let i = 0; i < n; i++) target[i] = c.dose[i] / OPENKBP_RX_GY;
  }
  return {
    id: c.id,
    ct: c.ct,
    structures: OPENKBP_STRUCTURES.map((s) => c.masks.get(s) ?? null),
    pdm: c.possibleDoseMask,
    coarse,
    target,
  };
}

/**
 * Channels-last input of the box [o, o + size) of the 128³ grid (box inside the grid), optionally
 * mirrored along axis 1 (patient L/R) with the parotid channels swapped. Also the box's target
 * and mask when asked for.
 */
export function writeRefinerBox(
  rc: RefinerCase,
  o: Shape3,
  size: Shape3,
  flip: boolean,
  x: Float32Array,
  y?: Float32Array,
  w?: Float32Array,
): void {
  const [, B, C] = OPENKBP_SHAPE;
  const nc = REFINER_IN_CHANNELS;
  const structs = rc.structures.slice();
  if (flip) [structs[PAROTIDS[0] - 2], structs[PAROTIDS[1] - 2]] = [structs[PAROTIDS[1] - 2], structs[PAROTIDS[0] - 2]];
  let k = 0;
  for (let a = 0; a < size[0]; a++)
    for (let b = 0; b < size[1]; b++) {
      const sb = flip ? B - 1 - (o[1] + b) : o[1] + b;
      const row = ((o[0] + a) * B + sb) * C + o[2];
      for (let c = 0; c < size[2]; c++, k++) {
        const i = row + c;
        const base = k * nc;
        x[base] = rc.coarse[i];
        x[base + 1] = normaliseCtHuOpenKbp(rc.ct[i]);
        for (let s = 0; s < structs.length; s++) {
          const m = structs[s];
          x[base + 2 + s] = m && m[i] ? 1 : 0;
        }
        x[base + nc - 1] = rc.pdm[i] ? 1 : 0;
        if (y && rc.target) y[k] = rc.target[i];
        if (w) w[k] = rc.pdm[i] ? 1 : 0;
      }
    }
}
