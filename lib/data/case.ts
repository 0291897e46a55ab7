/**
 * The one in-memory case type every loader produces and every consumer (training, inference,
 * evaluation, plots) reads. Volumes are flat typed arrays in C order over `shape`.
 *
 * Axis conventions: reference (vmat) npz files are (Y, X, Z) = (row A->P, column R->L, slice
 * ascending z); OpenKBP is (row A->P, column R->L, slice S->I). `spacingMm` is in array-axis order.
 */
import type { Shape3 } from '../core/shape';
import type { NdArray } from './ndarray';

export type { Shape3 };

export type CaseSource = 'vmat-npz-v2.3' | 'vmat-npz-v2.4' | 'openkbp-csv' | 'openkbp-npz' | 'synthetic';

export interface Prescription {
  /** target structure name, e.g. 'PTV70' */
  structure: string;
  doseGy: number;
}

export interface Case {
  id: string;
  source: CaseSource;
  shape: Shape3;
  /** voxel size in mm, in array-axis order */
  spacingMm: Shape3;
  /** CT in Hounsfield units */
  ct: Float32Array;
  /** dose in Gy (null for a case without a plan, e.g. inference-only inputs) */
  dose: Float32Array | null;
  /** channel order of the dataset profile, present or absent (e.g. PROSTATE_V23_STRUCTURES) */
  structureNames: string[];
  /** present (non-empty) structures only: name -> 0/1 mask over `shape` */
  masks: Map<string, Uint8Array>;
  /** signed distance fields in [-1, 1] (negative inside) as stored in reference npz, if available */
  sdf?: Map<string, Float32Array>;
  /** clip distance (mm) the SDFs were divided by */
  sdfClipMm?: number;
  /** primary prescription = normalisation dose (Gy); read per case, never assumed to be 70 */
  rxGy: number;
  /** all dose levels of the plan, highest first */
  prescriptions: Prescription[];
  /** OpenKBP possible-dose mask (1 where dose may be non-zero) */
  possibleDoseMask?: Uint8Array;
  /** 13-element conditioning vector of the reference preprocessing (spec 1.5) */
  constraints?: Float32Array;
  /** 'sib_2level' | 'sib_3level' | 'single_rx' | 'nodal_only' | OpenKBP target configuration */
  planType?: string;
  /** any further arrays kept for round-tripping (e.g. beam0_mlc_a) */
  extras?: Map<string, NdArray>;
  /** reference metadata dict (decoded pickle) or a plain object for other sources */
  metadata: Record<string, unknown>;
  /** loader notes about assumed values (e.g. Rx defaulted to 70 Gy because metadata lacked it) */
  warnings?: string[];
}

/** Number of voxels of the case grid (Y × X × Z). */
export function voxelCount(c: Pick<Case, 'shape'>): number {
  return c.shape[0] * c.shape[1] * c.shape[2];
}

/** voxel volume in cc */
export function voxelCc(c: Pick<Case, 'spacingMm'>): number {
  return (c.spacingMm[0] * c.spacingMm[1] * c.spacingMm[2]) / 1000;
}
