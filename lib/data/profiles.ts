/** Structure channel orders of the supported dataset profiles (spec 1.6, openkbp.md 1.6). */

/** reference v2.3 (8 channels) */
export const PROSTATE_V23_STRUCTURES = [
  'PTV70', 'PTV56', 'Prostate', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel',
] as const;

/** reference v2.4 (9 channels: adds PTV50.4) */
export const PROSTATE_V24_STRUCTURES = [...PROSTATE_V23_STRUCTURES, 'PTV50.4'] as const;

/** OpenKBP official ROI order */
export const OPENKBP_STRUCTURES = [
  'Brainstem', 'SpinalCord', 'RightParotid', 'LeftParotid', 'Esophagus', 'Larynx', 'Mandible',
  'PTV56', 'PTV63', 'PTV70',
] as const;
/** The 7 OpenKBP organs at risk, in channel order. */
export const OPENKBP_OARS = OPENKBP_STRUCTURES.slice(0, 7);
/** The 3 OpenKBP targets (dose levels 56, 63 and 70 Gy). */
export const OPENKBP_TARGETS = ['PTV56', 'PTV63', 'PTV70'] as const;

/** Paired left/right structures swapped by a true left-right flip. */
export const LR_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['Femur_L', 'Femur_R'],
  ['LeftParotid', 'RightParotid'],
];

/** nominal prescription (Gy) of a target named PTV<dose> */
export function targetDoseGy(name: string): number | null {
  const m = /^PTV(\d+(?:\.\d+)?)$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Dose level (Gy) of a PTV for this case: the primary target (first prescription, else PTV70) gets
 * the case Rx (the normalisation dose read per case); other PTVs their prescription entry, else
 * the nominal dose in their name (readers derive those entries from the names).
 */
export function ptvLevelGy(
  name: string,
  rxGy: number,
  prescriptions: Array<{ structure: string; doseGy: number }> = [],
): number | null {
  const primary = prescriptions.length ? prescriptions[0].structure : 'PTV70';
  if (name === primary) return rxGy;
  const p = prescriptions.find((x) => x.structure === name);
  if (p) return p.doseGy;
  return targetDoseGy(name);
}
