/**
 * How a model's input channels are built from a Case. Stored with every checkpoint so inference
 * builds exactly the channels the model was trained on.
 */
export interface InputRecipe {
  /** dataset profile, e.g. 'prostate-v2.3' (8 structures), 'prostate-v2.4' (9), 'openkbp' */
  profile: string;
  /** CT channel: clip(HU, -1000, 3000) / 4000 + 0.5 (reference 1.3) */
  ct: 'clip(HU,-1000,3000)/4000+0.5';
  /** structure SDF channels, in this order, after the CT channel */
  structures: string[];
  /** SDF clip distance (mm) the SDFs are divided by */
  sdfClipMm: number;
  /** SDF value of an absent structure: +1 (v2.3) or 0 (v2.4 three-way signal) */
  absentSdfValue: number;
  /** constraint vector length fed to FiLM */
  constraintDim: number;
}

/** Network input channels of a recipe: CT + one SDF per structure. */
export function inChannelsOf(r: InputRecipe): number {
  return 1 + r.structures.length;
}
