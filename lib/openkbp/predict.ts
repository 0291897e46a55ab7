/**
 * OpenKBP prediction with a 64³ model: one forward pass over the whole down-sampled volume
 * (optionally averaged with the left-right flipped pass), clamped at 0, up-sampled back to 128³ by
 * mask-normalised trilinear interpolation, × 70 Gy, and zeroed outside the possible-dose mask
 * (openkbp.md 1.5: the official predict_dose multiplies by the mask). A model folder with a
 * `refiner/` sub-folder adds the 128³ refinement stage (lib/openkbp/refine.ts) on top. A folder with
 * `members/<name>/` sub-folders is an ensemble: the 64³ outputs of the main model and of every
 * member (same recipe) are averaged before up-sampling (mean of the clamped outputs). With `phases`
 * the 64³ stage runs at all 8 placements of its 2×2×2 block grid (lib/openkbp/phase_tta.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../engine';
import type { DoseModel } from '../models';
import { loadCheckpoint } from '../models/checkpoint';
import { DataError } from '../core/errors';
import type { Case, Shape3 } from '../data/case';
import {
  OPENKBP_FULL_SHAPE,
  OPENKBP_IN_CHANNELS,
  OPENKBP_LR_CHANNEL_PAIRS,
  OPENKBP_TRAIN_SHAPE,
  type OpenKbpRecipe,
  type OpenKbpSample,
} from '../inputs/openkbp64';
import { maskNormalisedUpsample } from '../transforms/resample2x';
import { flipAxis1, interleave } from '../transforms/volume_ops';
import { refinerCase, REFINER_IN_CHANNELS } from '../inputs/refiner128';
import { refineGy } from '../infer/refiner';
import { blockPhaseMeanGy } from './phase_tta';

export interface OpenKbpModel {
  model: DoseModel;
  /** the 128³ refinement stage, when the folder has one (refiner/) */
  refiner: DoseModel | null;
  /** further 64³ models whose outputs are averaged with `model`'s (members/<name>/, sorted by name) */
  members: DoseModel[];
  recipe: OpenKbpRecipe;
  meta: Record<string, unknown>;
  dir: string;
}

/** a 64³ OpenKBP checkpoint folder (config.json meta.openkbp), checked; extra parameters dropped */
function loadOpenKbpCheckpoint(dir: string): {
  model: DoseModel;
  recipe: OpenKbpRecipe;
  meta: Record<string, unknown>;
} {
  const ck = loadCheckpoint(dir);
  for (const v of ck.extraParams.values()) v.dispose();
  const meta = (ck.config.meta ?? {}) as Record<string, unknown>;
  const recipe = meta.openkbp as OpenKbpRecipe | undefined;
  if (!recipe || recipe.profile !== 'openkbp-64') {
    ck.model.dispose();
    throw new DataError(
      dir,
      'config.json meta.openkbp',
      "an OpenKBP model (recipe profile 'openkbp-64', from `vmat openkbp train`)",
      recipe ? String(recipe.profile) : 'no OpenKBP recipe',
    );
  }
  if (ck.model.config.inChannels !== OPENKBP_IN_CHANNELS) {
    ck.model.dispose();
    throw new DataError(dir, 'model.inChannels', String(OPENKBP_IN_CHANNELS), String(ck.model.config.inChannels));
  }
  return { model: ck.model, recipe, meta };
}

/** frees every network of a loaded OpenKBP model */
export function disposeOpenKbpModel(m: OpenKbpModel): void {
  m.model.dispose();
  for (const x of m.members) x.dispose();
  m.refiner?.dispose();
}

/** loads a model folder written by the OpenKBP trainer or shipper (recipe in config.json meta.openkbp) */
export function loadOpenKbpModel(dir: string): OpenKbpModel {
  const main = loadOpenKbpCheckpoint(dir);
  const m: OpenKbpModel = { model: main.model, refiner: null, members: [], recipe: main.recipe, meta: main.meta, dir };
  try {
    const mdir = path.join(dir, 'members');
    const names = fs.existsSync(mdir)
      ? fs
          .readdirSync(mdir)
          .filter((n) => fs.existsSync(path.join(mdir, n, 'config.json')))
          .sort()
      : [];
    for (const n of names) {
      const member = loadOpenKbpCheckpoint(path.join(mdir, n));
      m.members.push(member.model);
      // averaging only makes sense between models that see the same inputs at the same scale
      if (JSON.stringify(member.recipe) !== JSON.stringify(main.recipe))
        throw new DataError(
          path.join(mdir, n),
          'config.json meta.openkbp',
          JSON.stringify(main.recipe),
          JSON.stringify(member.recipe),
        );
    }
    const rdir = path.join(dir, 'refiner');
    if (fs.existsSync(path.join(rdir, 'config.json'))) {
      const rk = loadCheckpoint(rdir);
      for (const v of rk.extraParams.values()) v.dispose();
      m.refiner = rk.model;
      if (
        !(rk.config.meta as Record<string, unknown> | undefined)?.openkbp_refiner ||
        rk.model.config.inChannels !== REFINER_IN_CHANNELS
      ) {
        throw new DataError(
          rdir,
          'config.json meta.openkbp_refiner',
          `an OpenKBP refiner (${REFINER_IN_CHANNELS} input channels, from \`vmat openkbp refine-train\`)`,
          `${rk.model.config.inChannels} input channels`,
        );
      }
    }
  } catch (e) {
    disposeOpenKbpModel(m);
    throw e;
  }
  return m;
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
export function upsampleToGy(
  small: Float32Array,
  s: Pick<OpenKbpSample, 'upWeight' | 'possibleDoseMask'>,
  doseScaleGy = 70,
): Float32Array {
  const up = maskNormalisedUpsample(
    small,
    s.upWeight,
    OPENKBP_TRAIN_SHAPE as Shape3,
    OPENKBP_FULL_SHAPE as Shape3,
    s.possibleDoseMask,
  );
  for (let i = 0; i < up.length; i++) up[i] *= doseScaleGy;
  return up;
}

/**
 * Full OpenKBP prediction of one prepared sample in Gy at 128³. With a refiner in the model folder
 * the up-sampled prediction goes through it; that needs the patient's full-resolution `case`
 * (`refine: false` skips the stage). `tta` mirrors both stages; `phases` (needs `case` too) averages
 * the 64³ stage over the 8 block-grid placements.
 */
export function predictOpenKbpGy(
  m: OpenKbpModel | DoseModel,
  s: OpenKbpSample,
  o: { tta?: boolean; phases?: boolean; case?: Case; refine?: boolean } = {},
): Float32Array {
  const models = 'model' in m ? [m.model, ...m.members] : [m];
  const scale = 'recipe' in m ? m.recipe.doseScaleGy : 70;
  const coarseGy = (x: OpenKbpSample): Float32Array => {
    const small = predictSmall(models[0], x, o);
    for (let k = 1; k < models.length; k++) {
      const y = predictSmall(models[k], x, o);
      for (let i = 0; i < small.length; i++) small[i] += y[i];
    }
    if (models.length > 1) for (let i = 0; i < small.length; i++) small[i] /= models.length;
    return upsampleToGy(small, x, scale);
  };
  if (o.phases && !o.case)
    throw new Error(`predictOpenKbpGy: block-phase TTA re-samples the patient; pass its case (${s.id})`);
  const coarse = o.phases && o.case ? blockPhaseMeanGy(o.case, s, coarseGy) : coarseGy(s);
  const refiner = 'refiner' in m ? m.refiner : null;
  if (!refiner || o.refine === false) return coarse;
  if (!o.case)
    throw new Error(
      `predictOpenKbpGy: the model has a 128³ refiner; pass the patient's case (${s.id}) or refine: false`,
    );
  return refineGy(refiner, refinerCase(o.case, coarse), { tta: o.tta });
}
