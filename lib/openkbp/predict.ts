/**
 * OpenKBP prediction with a 64³ model: one forward pass over the whole down-sampled volume
 * (optionally averaged with the left-right flipped pass), clamped at 0, up-sampled back to 128³ by
 * mask-normalised trilinear interpolation, × 70 Gy, and zeroed outside the possible-dose mask
 * (openkbp.md 1.5: the official predict_dose multiplies by the mask). A model folder with a
 * `refiner/` sub-folder adds the 128³ refinement stage (lib/openkbp/refine.ts) on top.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../engine';
import type { DoseModel } from '../models';
import { loadCheckpoint } from '../models/checkpoint';
import { DataError } from '../cli/errors';
import type { Case, Shape3 } from '../data/case';
import {
  OPENKBP_FULL_SHAPE,
  OPENKBP_IN_CHANNELS,
  OPENKBP_LR_CHANNEL_PAIRS,
  OPENKBP_TRAIN_SHAPE,
  type OpenKbpRecipe,
  type OpenKbpSample,
} from './profile';
import { maskNormalisedUpsample } from './resample';
import { flipAxis1, interleave } from './volume_ops';
import { refineGy, refinerCase, REFINER_IN_CHANNELS } from './refine';

export interface OpenKbpModel {
  model: DoseModel;
  /** the 128³ refinement stage, when the folder has one (refiner/) */
  refiner: DoseModel | null;
  recipe: OpenKbpRecipe;
  meta: Record<string, unknown>;
  dir: string;
}

/** loads a checkpoint folder written by the OpenKBP trainer (recipe in config.json meta.openkbp) */
export function loadOpenKbpModel(dir: string): OpenKbpModel {
  const ck = loadCheckpoint(dir);
  const meta = (ck.config.meta ?? {}) as Record<string, unknown>;
  const recipe = meta.openkbp as OpenKbpRecipe | undefined;
  if (!recipe || recipe.profile !== 'openkbp-64') {
    ck.model.dispose();
    throw new DataError(dir, 'config.json meta.openkbp', "an OpenKBP model (recipe profile 'openkbp-64', from `vmat openkbp train`)", recipe ? String(recipe.profile) : 'no OpenKBP recipe');
  }
  if (ck.model.config.inChannels !== OPENKBP_IN_CHANNELS) throw new DataError(dir, 'model.inChannels', String(OPENKBP_IN_CHANNELS), String(ck.model.config.inChannels));
  for (const v of ck.extraParams.values()) v.dispose();
  let refiner: DoseModel | null = null;
  const rdir = path.join(dir, 'refiner');
  if (fs.existsSync(path.join(rdir, 'config.json'))) {
    const rk = loadCheckpoint(rdir);
    for (const v of rk.extraParams.values()) v.dispose();
    if (!(rk.config.meta as Record<string, unknown> | undefined)?.openkbp_refiner || rk.model.config.inChannels !== REFINER_IN_CHANNELS) {
      rk.model.dispose();
      ck.model.dispose();
      throw new DataError(rdir, 'config.json meta.openkbp_refiner', `an OpenKBP refiner (${REFINER_IN_CHANNELS} input channels, from \`vmat openkbp refine-train\`)`, `${rk.model.config.inChannels} input channels`);
    }
    refiner = rk.model;
  }
  return { model: ck.model, refiner, recipe, meta, dir };
}

/** the model's 64³ output (dose / 70), clamped at 0; with tta the mean of the plain and L/R-flipped passes */
export function predictSmall(model: DoseModel, s: OpenKbpSample, o: { tta?: boolean } = {}): Float32Array {
  const shape = OPENKBP_TRAIN_SHAPE;
  const run = (channels: Float32Array[]): Float32Array => {
    const y = tf.tidy(() => {
      const x = tf.tensor(interleave(channels), [1, ...shape, channels.length]) as tf.Tensor5D;
      const c = tf.tensor(s.constraints, [1, s.constraints.length]) as tf.Tensor2D;
      return model.apply(x, c);
    });
    const d = y.dataSync() as Float32Array;
    y.dispose();
    return Float32Array.from(d);
  };
  const out = run(s.channels);
  if (o.tta) {
    const flipped = s.channels.map((ch) => flipAxis1(ch, shape));
    for (const [a, b] of OPENKBP_LR_CHANNEL_PAIRS) [flipped[a], flipped[b]] = [flipped[b], flipped[a]];
    const back = flipAxis1(run(flipped), shape);
    for (let i = 0; i < out.length; i++) out[i] = 0.5 * (out[i] + back[i]);
  }
  for (let i = 0; i < out.length; i++) if (!(out[i] > 0)) out[i] = 0;
  return out;
}

/** a 64³ dose / 70 → 128³ Gy, mask-normalised trilinear, zero outside the possible-dose mask */
export function upsampleToGy(small: Float32Array, s: Pick<OpenKbpSample, 'upWeight' | 'possibleDoseMask'>, doseScaleGy = 70): Float32Array {
  const up = maskNormalisedUpsample(small, s.upWeight, OPENKBP_TRAIN_SHAPE as Shape3, OPENKBP_FULL_SHAPE as Shape3, s.possibleDoseMask);
  for (let i = 0; i < up.length; i++) up[i] *= doseScaleGy;
  return up;
}

/**
 * Full OpenKBP prediction of one prepared sample in Gy at 128³. With a refiner in the model folder
 * the up-sampled prediction goes through it; that needs the patient's full-resolution `case`
 * (`refine: false` skips the stage).
 */
export function predictOpenKbpGy(m: OpenKbpModel | DoseModel, s: OpenKbpSample, o: { tta?: boolean; case?: Case; refine?: boolean } = {}): Float32Array {
  const model = 'model' in m ? m.model : m;
  const scale = 'recipe' in m ? m.recipe.doseScaleGy : 70;
  const coarse = upsampleToGy(predictSmall(model, s, o), s, scale);
  const refiner = 'refiner' in m ? m.refiner : null;
  if (!refiner || o.refine === false) return coarse;
  if (!o.case) throw new Error(`predictOpenKbpGy: the model has a 128³ refiner; pass the patient's case (${s.id}) or refine: false`);
  return refineGy(refiner, refinerCase(o.case, coarse));
}
