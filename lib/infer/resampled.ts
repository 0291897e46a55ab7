/**
 * The resampled predictor (OpenKBP profile, lib/inputs/openkbp64.ts): the 128³ case is pooled to
 * 64³ (2×2×2 blocks), the network predicts the whole 64³ volume in one pass, its output (dose /
 * 70 Gy) is clamped at 0, up-sampled back to 128³ by mask-normalised trilinear interpolation, × 70
 * Gy, and zeroed outside the possible-dose mask (openkbp.md 1.5: the official predict_dose multiplies
 * by the mask).
 */
import type { Case, Shape3 } from '../data/case';
import {
  OPENKBP_RX_GY,
  OPENKBP_SHAPE,
  OPENKBP_TRAIN_SHAPE,
  prepareOpenKbp64,
  type OpenKbpSample,
} from '../inputs/openkbp64';
import { maskNormalisedUpsample } from '../transforms/resample2x';
import { interleave } from '../transforms/volume_ops';
import type { VolumeNet } from './volume_net';
import type { DosePredictor } from './predictor';

/** The network's 64³ output for a prepared sample ((Y, X, Z) C order, dose / 70 Gy), clamped at 0. */
export function predictSample64(net: VolumeNet, s: OpenKbpSample): Float32Array {
  const out = net.forward(interleave(s.channels), [1, ...OPENKBP_TRAIN_SHAPE, s.channels.length], s.constraints);
  for (let i = 0; i < out.length; i++) if (!(out[i] > 0)) out[i] = 0;
  return out;
}

/** a 64³ dose / 70 → 128³ Gy, mask-normalised trilinear, zero outside the possible-dose mask */
export function upsampleToGy(
  small: Float32Array,
  s: Pick<OpenKbpSample, 'upWeight' | 'possibleDoseMask'>,
  doseScaleGy = OPENKBP_RX_GY,
): Float32Array {
  const up = maskNormalisedUpsample(
    small,
    s.upWeight,
    OPENKBP_TRAIN_SHAPE as Shape3,
    OPENKBP_SHAPE as Shape3,
    s.possibleDoseMask,
  );
  for (let i = 0; i < up.length; i++) up[i] *= doseScaleGy;
  return up;
}

/** the 128³ dose (Gy) of a prepared sample */
export function predictSampleGy(net: VolumeNet, s: OpenKbpSample): Float32Array {
  return upsampleToGy(predictSample64(net, s), s);
}

/** a 64³ OpenKBP network (or ensemble) as a DosePredictor on 128³ OpenKBP cases */
export function resampledPredictor(net: VolumeNet): DosePredictor {
  return {
    modelType: 'openkbp_unet_64',
    architecture: 'baseline',
    predictGy: (c: Case) => predictSampleGy(net, prepareOpenKbp64(c)),
    describe: () => `resampled(${net.describe()})`,
    dispose: () => net.dispose(),
  };
}
