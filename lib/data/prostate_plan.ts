/**
 * Prostate (reference v2.3/v2.4) plan conventions derived from which targets exist:
 * the constraint vector (spec 1.5) and the case type (spec 1.7).
 */

export type ReferenceLayout = 'v2.3' | 'v2.4';

/**
 * The 13-element conditioning vector of `build_constraints_vector` (spec 1.5), float32.
 * Target elements are dose/Rx when the PTV exists, else 0; v2.3 always has element 2 = 0
 * (`ptv50_exists=False` hard-coded). Elements 3-12 are fixed limits.
 */
export function constraintVector(present: { ptv70: boolean; ptv56: boolean; ptv504: boolean }, rxGy: number, layout: ReferenceLayout): Float32Array {
  return Float32Array.from([
    present.ptv70 ? 70 / rxGy : 0,
    present.ptv56 ? 56 / rxGy : 0,
    layout === 'v2.4' && present.ptv504 ? 50.4 / rxGy : 0,
    50 / 100,
    35 / 100,
    20 / 100,
    75 / rxGy,
    50 / 100,
    35 / 100,
    25 / 100,
    10 / 100,
    195 / 500,
    45 / rxGy,
  ]);
}

/** `case_type.type` of the reference: v2.3 sib_2level|single_rx; v2.4 adds sib_3level, nodal_only */
export function prostateCaseType(present: { ptv70: boolean; ptv56: boolean; ptv504: boolean }, layout: ReferenceLayout): string {
  if (layout === 'v2.3') return present.ptv56 ? 'sib_2level' : 'single_rx';
  if (present.ptv56 && present.ptv504) return 'sib_3level';
  if (present.ptv56) return 'sib_2level';
  if (present.ptv504) return 'nodal_only';
  return 'single_rx';
}
