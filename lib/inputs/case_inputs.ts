/**
 * Model inputs from a Case (reference 4.4 / 6.2): channel 0 = CT normalised as the reference
 * preprocessing (clip(HU, −1000, 3000)/4000 + 0.5), channels 1..C = one SDF per structure in the
 * dataset profile's order (the stored SDFs when the case has them, else computed from the masks);
 * target = dose / the case's own Rx; the 13-element constraint vector for FiLM.
 */
import type { Case, Shape3 } from '../data/case';
import { LR_PAIRS, targetDoseGy } from '../data/profiles';
import { constraintVector } from '../data/prostate_plan';
import { signedDistanceField, DEFAULT_SDF_CLIP_MM } from '../transforms/sdf';
import type { InputRecipe } from './recipe';
import { DataError } from '../core/errors';

/** The CT channel's normalisation of the reference (HU in, [0.25, 1.25] out), recorded in recipes. */
export const CT_NORMALISATION = 'clip(HU,-1000,3000)/4000+0.5' as const;
/** normalised CT of air (−1000 HU): the padding value of the CT channel */
export const CT_AIR = 0.25;

/** Reference CT normalisation of one value: clip(HU, −1000, 3000) / 4000 + 0.5. */
export function normaliseCtHu(hu: number): number {
  return Math.min(Math.max(hu, -1000), 3000) / 4000 + 0.5;
}

/** The structure profile of a case: prostate-v2.3 / prostate-v2.4 (by source or channel count), openkbp, or custom. */
export function profileOf(c: Case): string {
  if (c.source === 'vmat-npz-v2.3') return 'prostate-v2.3';
  if (c.source === 'vmat-npz-v2.4') return 'prostate-v2.4';
  if (c.source === 'openkbp-csv' || c.source === 'openkbp-npz') return 'openkbp';
  return c.structureNames.length === 8 ? 'prostate-v2.3' : c.structureNames.length === 9 ? 'prostate-v2.4' : 'custom';
}

/** the input recipe shared by a set of cases (they must agree on the structure channels) */
export function inputRecipeFor(cases: Case[]): InputRecipe {
  if (!cases.length) throw new Error('inputRecipeFor: no cases (callers check the data folder is not empty)');
  const first = cases[0];
  for (const c of cases) {
    if (c.structureNames.join('|') !== first.structureNames.join('|')) {
      throw new DataError(
        c.id,
        'structureNames',
        `the channels of ${first.id} (${first.structureNames.join(', ')})`,
        c.structureNames.join(', '),
      );
    }
  }
  const profile = profileOf(first);
  return {
    profile,
    ct: CT_NORMALISATION,
    structures: [...first.structureNames],
    sdfClipMm: first.sdfClipMm ?? DEFAULT_SDF_CLIP_MM,
    // v2.3 stores +1 for an absent structure; v2.4 (and every other profile here) uses 0
    absentSdfValue: profile === 'prostate-v2.3' ? 1 : 0,
    constraintDim: 13,
  };
}

/**
 * The 13-element FiLM vector: the stored one, else recomputed from the case's own Rx (spec 1.5).
 * For non-prostate profiles elements 0-2 hold the three highest targets' dose/Rx when present.
 */
export function constraintsOf(c: Case, recipe: InputRecipe): Float32Array {
  if (c.constraints && c.constraints.length === 13) return c.constraints;
  const has = (n: string) => c.masks.has(n);
  if (recipe.profile.startsWith('prostate')) {
    return constraintVector(
      { ptv70: has('PTV70'), ptv56: has('PTV56'), ptv504: has('PTV50.4') },
      c.rxGy,
      recipe.profile === 'prostate-v2.4' ? 'v2.4' : 'v2.3',
    );
  }
  const targets = recipe.structures
    .filter((s) => targetDoseGy(s) !== null)
    .sort((a, b) => (targetDoseGy(b) ?? 0) - (targetDoseGy(a) ?? 0));
  const v = constraintVector({ ptv70: false, ptv56: false, ptv504: false }, c.rxGy, 'v2.4');
  for (let i = 0; i < 3 && i < targets.length; i++)
    v[i] = has(targets[i]) ? (targetDoseGy(targets[i]) as number) / c.rxGy : 0;
  return v;
}

/** A case turned into model-ready arrays (each (Y, X, Z) C-order). */
export interface PreparedCase {
  id: string;
  shape: Shape3;
  spacingMm: Shape3;
  rxGy: number;
  /** [CT, SDF_0 … SDF_{C−1}] */
  channels: Float32Array[];
  /** dose / Rx, or null for an inference-only case */
  dose: Float32Array | null;
  /** present[c]: structure c is non-empty */
  present: boolean[];
  constraints: Float32Array;
  /** SDF value used when padding channel c (present → +1 "far outside", absent → the absent value) */
  padValues: number[];
  planType?: string;
  /** the source case (masks for validation metrics, metadata for writers) */
  source: Case;
}

/**
 * A case as network inputs (each (Y, X, Z) C order): CT normalised, one SDF channel per recipe
 * structure (clipped at recipe.sdfClipMm, absent → recipe.absentSdfValue), dose / Rx, constraints (13).
 * Masks not in the recipe are a DataError.
 */
export function prepareCase(c: Case, recipe: InputRecipe): PreparedCase {
  const unknown = [...c.masks.keys()].filter((k) => !recipe.structures.includes(k));
  if (unknown.length)
    throw new DataError(
      c.id,
      'structures',
      `structures of the model's profile (${recipe.structures.join(', ')})`,
      unknown.join(', '),
    );
  const n = c.shape[0] * c.shape[1] * c.shape[2];
  const ct = new Float32Array(n);
  for (let i = 0; i < n; i++) ct[i] = normaliseCtHu(c.ct[i]);
  const channels: Float32Array[] = [ct];
  const present: boolean[] = [];
  const padValues: number[] = [CT_AIR];
  for (const name of recipe.structures) {
    const mask = c.masks.get(name);
    const isPresent = !!mask && mask.some((v) => v !== 0);
    present.push(isPresent);
    const stored = c.sdf?.get(name);
    let sdf: Float32Array;
    if (!isPresent) sdf = new Float32Array(n).fill(recipe.absentSdfValue);
    else if (stored && (c.sdfClipMm ?? DEFAULT_SDF_CLIP_MM) === recipe.sdfClipMm) sdf = stored;
    else sdf = signedDistanceField(mask!, c.shape, c.spacingMm, recipe.sdfClipMm);
    channels.push(sdf);
    padValues.push(isPresent ? 1 : recipe.absentSdfValue);
  }
  let dose: Float32Array | null = null;
  if (c.dose) {
    dose = new Float32Array(n);
    for (let i = 0; i < n; i++) dose[i] = c.dose[i] / c.rxGy;
  }
  return {
    id: c.id,
    shape: [...c.shape] as Shape3,
    spacingMm: [...c.spacingMm] as Shape3,
    rxGy: c.rxGy,
    channels,
    dose,
    present,
    constraints: constraintsOf(c, recipe),
    padValues,
    planType: c.planType,
    source: c,
  };
}

/** index pairs (into the structure list) swapped by a left-right flip */
export function lrChannelPairs(structures: string[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [l, r] of LR_PAIRS) {
    const a = structures.indexOf(l);
    const b = structures.indexOf(r);
    if (a >= 0 && b >= 0) out.push([a, b]);
  }
  return out;
}
