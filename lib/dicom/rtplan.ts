/**
 * RTPLAN: the prescription (spec 2.2 step 2) and the beam geometry with MLC arrays (step 3), with
 * the reference's exact rules and metadata types:
 * - prescription: default 70 Gy / 28 fx; first DoseReferenceSequence item with
 *   TargetPrescriptionDose wins and `fractions` then stays 28 (FractionGroupSequence is not
 *   read); else the first FractionGroupSequence item with a positive Σ BeamDose gives
 *   Σ BeamDose × NumberOfFractionsPlanned (every item visited on the way sets `fractions`);
 *   `dose_per_fraction = primary_dose / fractions` when fractions > 0;
 * - beams: per BeamSequence item the fields of spec 1.7 (`final_mu` is
 *   FinalCumulativeMetersetWeight, a weight), control-point arrays rounded to float32 (the
 *   reference stores `np.float32(...).tolist()`), MLC banks as float32 (n_cp, n_leaves) arrays.
 */
import { type Dataset, type DicomFile, numberOf, numbersOf, sequenceOf, stringOf } from './dicom_file';
import { ndarray } from '../data/npy';
import type { NdArray } from '../data/ndarray';
import { pyFloat } from '../data/pyobj';

/** the reference's default prescription (Gy) and fractions */
export const DEFAULT_RX_GY = 70;
/** The reference's default number of fractions. */
export const DEFAULT_FRACTIONS = 28;

/** metadata `prescription_info` (spec 1.7) */
export interface PrescriptionInfo {
  primary_dose: number;
  fractions: number;
  dose_per_fraction: number;
  source: 'default' | 'DoseReferenceSequence' | 'FractionGroupSequence';
}

/** The reference's default: 70 Gy in 28 fractions, source 'default'. */
export function defaultPrescription(): PrescriptionInfo {
  return {
    primary_dose: DEFAULT_RX_GY,
    fractions: DEFAULT_FRACTIONS,
    dose_per_fraction: DEFAULT_RX_GY / DEFAULT_FRACTIONS,
    source: 'default',
  };
}

/**
 * Thrown where the reference's Python raises on an attribute that is present but empty
 * (`float(None)`): pydicom's `hasattr` is true for an empty element, so the reference converts
 * None and fails; vmat follows the same path (the caller falls back as the reference does).
 */
class EmptyAttribute extends Error {}

/** pydicom's `hasattr(ds, key)`: the element is present, possibly empty */
function present(ds: Dataset, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(ds, key) && ds[key] !== undefined;
}

/** `float(ds.key)` of a present element: EmptyAttribute when it has no value */
function pyNumber(ds: Dataset, key: string): number {
  const v = numberOf(ds, key);
  if (v === null || Number.isNaN(v)) throw new EmptyAttribute(`${key} is present but empty`);
  return v;
}

/** `[float(x) for x in ds.key]` of a present element */
function pyNumbers(ds: Dataset, key: string): number[] {
  const v = numbersOf(ds, key);
  if (v === null || v.some((x) => Number.isNaN(x))) throw new EmptyAttribute(`${key} is present but empty`);
  return v;
}

/** `str(ds.key)` of a present text element ('' when empty) */
function pyString(ds: Dataset, key: string): string {
  return stringOf(ds, key) ?? '';
}

/**
 * `extract_prescription_dose` (spec 2.2 step 2) on a parsed RTPLAN (null: no RTPLAN → default).
 * Where the reference's try-block aborts (an empty TargetPrescriptionDose, BeamDose or
 * NumberOfFractionsPlanned), the values set so far are kept and a warning is added, as there.
 */
export function readPrescription(plan: DicomFile | null, warnings: string[] = []): PrescriptionInfo {
  const rx = defaultPrescription();
  if (!plan) return rx;
  try {
    if (present(plan.ds, 'DoseReferenceSequence')) {
      for (const ref of sequenceOf(plan.ds, 'DoseReferenceSequence')) {
        if (present(ref, 'TargetPrescriptionDose')) {
          rx.primary_dose = pyNumber(ref, 'TargetPrescriptionDose');
          rx.source = 'DoseReferenceSequence';
          break;
        }
      }
    }
    if (rx.source === 'default' && present(plan.ds, 'FractionGroupSequence')) {
      for (const fg of sequenceOf(plan.ds, 'FractionGroupSequence')) {
        if (present(fg, 'NumberOfFractionsPlanned'))
          rx.fractions = Math.trunc(pyNumber(fg, 'NumberOfFractionsPlanned'));
        if (present(fg, 'ReferencedBeamSequence')) {
          let total = 0;
          for (const rb of sequenceOf(fg, 'ReferencedBeamSequence'))
            if (present(rb, 'BeamDose')) total += pyNumber(rb, 'BeamDose');
          if (total > 0) {
            rx.primary_dose = total * rx.fractions;
            rx.source = 'FractionGroupSequence';
            break;
          }
        }
      }
    }
    if (rx.fractions > 0) rx.dose_per_fraction = rx.primary_dose / rx.fractions;
  } catch (e) {
    if (!(e instanceof EmptyAttribute)) throw e;
    warnings.push(
      `${plan.file}: error extracting prescription (${e.message}); values so far kept, as the reference does`,
    );
  }
  return rx;
}

/** the metadata dict of a prescription with Python float/int types */
export function prescriptionMetadata(rx: PrescriptionInfo): Record<string, unknown> {
  return {
    primary_dose: pyFloat(rx.primary_dose),
    fractions: rx.fractions,
    dose_per_fraction: pyFloat(rx.dose_per_fraction),
    source: rx.source,
  };
}

/** Beam geometry in metadata form (plain values; floats wrapped so they pickle as Python floats) plus the MLC arrays. */
export interface BeamGeometry {
  /** metadata `beam_geometry` (spec 1.7) */
  metadata: Record<string, unknown>;
  /** `beam{N}_mlc_a`, `beam{N}_mlc_b` (float32, (n_control_points, n_leaves_per_bank)), N = index in BeamSequence */
  mlcArrays: Array<[string, NdArray]>;
  /** total of final_mu and number of beams (for the debug panel) */
  totalMu: number;
  numBeams: number;
}

const f32 = (v: number): number => Math.fround(v);
/** `float(ds.key) if hasattr(ds, key) else None` */
const optFloat = (ds: Dataset, k: string) => (present(ds, k) ? pyFloat(pyNumber(ds, k)) : null);
/** `str(ds.key) if hasattr(ds, key) else None` */
const optStr = (ds: Dataset, k: string): string | null => (present(ds, k) ? pyString(ds, k) : null);
/** `float(ds.key) if hasattr(ds, key) else None` as a plain number */
const optNum = (ds: Dataset, k: string): number | null => (present(ds, k) ? pyNumber(ds, k) : null);

interface ControlPointData {
  gantry: number | null;
  cmw: number | null;
  doseRate: number | null;
  mlcA: number[] | null;
  mlcB: number[] | null;
  jaw: { x1: number | null; x2: number | null; y1: number | null; y2: number | null } | null;
}

function readControlPoint(cp: Dataset): ControlPointData {
  const out: ControlPointData = {
    gantry: optNum(cp, 'GantryAngle'),
    cmw: optNum(cp, 'CumulativeMetersetWeight'),
    doseRate: optNum(cp, 'DoseRateSet'),
    mlcA: null,
    mlcB: null,
    jaw: null,
  };
  if (present(cp, 'BeamLimitingDevicePositionSequence')) {
    let jx: Array<number | null> = [null, null];
    let jy: Array<number | null> = [null, null];
    for (const bld of sequenceOf(cp, 'BeamLimitingDevicePositionSequence')) {
      const type = present(bld, 'RTBeamLimitingDeviceType') ? pyString(bld, 'RTBeamLimitingDeviceType') : '';
      if (!present(bld, 'LeafJawPositions')) continue;
      const pos = pyNumbers(bld, 'LeafJawPositions');
      if (type.toUpperCase().includes('MLC')) {
        const h = Math.floor(pos.length / 2);
        out.mlcA = pos.slice(0, h);
        out.mlcB = pos.slice(h);
      } else if (type === 'X' || type === 'ASYMX') jx = pos;
      else if (type === 'Y' || type === 'ASYMY') jy = pos;
    }
    out.jaw = { x1: jx[0] ?? null, x2: jx[1] ?? null, y1: jy[0] ?? null, y2: jy[1] ?? null };
  }
  return out;
}

/** float32 list as `np.array(values, dtype=float32).tolist()` (None → nan) */
function float32List(values: Array<number | null>): unknown[] {
  return values.map((v) => pyFloat(v === null ? NaN : f32(v)));
}

/**
 * `extract_beam_geometry` (spec 2.2 step 3) on a parsed RTPLAN. Returns null when there is no
 * RTPLAN or no BeamSequence, and — as the reference, whose try-block returns None then — when a
 * numeric attribute is present but empty, or a beam's control points carry MLC banks of
 * different lengths or only some have MLC (numpy cannot stack them); `warnings` says why.
 */
export function readBeamGeometry(plan: DicomFile | null, warnings: string[] = []): BeamGeometry | null {
  if (!plan || !present(plan.ds, 'BeamSequence')) return null;
  try {
    return beamGeometry(plan);
  } catch (e) {
    if (!(e instanceof EmptyAttribute)) throw e;
    warnings.push(
      `${plan.file}: error extracting beam geometry (${e.message}); beam_geometry is None, as in the reference`,
    );
    return null;
  }
}

function beamGeometry(plan: DicomFile): BeamGeometry {
  const beams: Record<string, unknown>[] = [];
  const mlcArrays: Array<[string, NdArray]> = [];
  let totalMu = 0;
  let totalIsFloat = false;
  const seq = sequenceOf(plan.ds, 'BeamSequence');
  for (let bi = 0; bi < seq.length; bi++) {
    const beam = seq[bi];
    const info: Record<string, unknown> = {
      beam_name: optStr(beam, 'BeamName'),
      beam_number: present(beam, 'BeamNumber') ? Math.trunc(pyNumber(beam, 'BeamNumber')) : null,
      beam_type: optStr(beam, 'BeamType'),
      radiation_type: optStr(beam, 'RadiationType'),
      treatment_machine: optStr(beam, 'TreatmentMachineName'),
      num_control_points: null,
      arc_start_angle: null,
      arc_stop_angle: null,
      arc_direction: null,
      gantry_rotation_direction: null,
      collimator_angle: null,
      couch_angle: null,
      nominal_energy: null,
      final_mu: null,
      mlc_type: null,
      num_leaves: null,
      leaf_pair_count: null,
    };
    const cps = present(beam, 'ControlPointSequence') ? sequenceOf(beam, 'ControlPointSequence') : [];
    if (cps.length) info.nominal_energy = optFloat(cps[0], 'NominalBeamEnergy');
    if (present(beam, 'BeamLimitingDeviceSequence')) {
      for (const bld of sequenceOf(beam, 'BeamLimitingDeviceSequence')) {
        const type = present(bld, 'RTBeamLimitingDeviceType') ? pyString(bld, 'RTBeamLimitingDeviceType') : '';
        if (!type.toUpperCase().includes('MLC')) continue;
        info.mlc_type = type;
        if (present(bld, 'NumberOfLeafJawPairs')) {
          const pairs = Math.trunc(pyNumber(bld, 'NumberOfLeafJawPairs'));
          info.leaf_pair_count = pairs;
          info.num_leaves = pairs * 2;
        }
        if (present(bld, 'LeafPositionBoundaries'))
          info.leaf_boundaries = pyNumbers(bld, 'LeafPositionBoundaries').map((b) => pyFloat(b));
      }
    }
    let mlcA: Float32Array | null = null;
    let mlcB: Float32Array | null = null;
    let nA = 0;
    let nB = 0;
    if (cps.length) {
      info.num_control_points = cps.length;
      const cp0 = cps[0];
      info.arc_start_angle = optFloat(cp0, 'GantryAngle');
      info.collimator_angle = optFloat(cp0, 'BeamLimitingDeviceAngle');
      info.couch_angle = optFloat(cp0, 'PatientSupportAngle');
      const grd = optStr(cp0, 'GantryRotationDirection');
      info.gantry_rotation_direction = grd;
      info.arc_stop_angle = optFloat(cps[cps.length - 1], 'GantryAngle');
      info.arc_direction = grd === 'CW' ? 'clockwise' : grd === 'CC' ? 'counter_clockwise' : null;
      const data = cps.map(readControlPoint);
      if (data[0].mlcA) {
        nA = data[0].mlcA.length;
        nB = data[0].mlcB!.length;
        const bad = data.findIndex((d) => !d.mlcA || d.mlcA.length !== nA || d.mlcB!.length !== nB);
        if (bad >= 0) {
          throw new EmptyAttribute(
            `beam ${bi} control point ${bad} has ${data[bad].mlcA ? `${data[bad].mlcA!.length} MLC leaves per bank, not ${nA}` : 'no MLC positions'} (numpy cannot stack the banks)`,
          );
        }
        mlcA = new Float32Array(cps.length * nA);
        mlcB = new Float32Array(cps.length * nB);
        data.forEach((d, i) => {
          mlcA!.set(d.mlcA!, i * nA);
          mlcB!.set(d.mlcB!, i * nB);
        });
      }
      const jaw = (k: 'x1' | 'x2' | 'y1' | 'y2') => data.map((d) => (d.jaw && d.jaw[k] !== null ? d.jaw[k] : 0));
      info.control_point_data = {
        n_control_points: cps.length,
        gantry_angles: float32List(data.map((d) => d.gantry)),
        cumulative_meterset_weight: float32List(data.map((d) => d.cmw)),
        dose_rates: float32List(data.map((d) => d.doseRate ?? 0)),
        jaw_x1: float32List(jaw('x1')),
        jaw_x2: float32List(jaw('x2')),
        jaw_y1: float32List(jaw('y1')),
        jaw_y2: float32List(jaw('y2')),
      };
    }
    if (present(beam, 'FinalCumulativeMetersetWeight')) {
      const fm = pyNumber(beam, 'FinalCumulativeMetersetWeight');
      info.final_mu = pyFloat(fm);
      totalMu += fm;
      totalIsFloat = true;
    }
    beams.push(info);
    if (mlcA && mlcB) {
      mlcArrays.push([`beam${bi}_mlc_a`, ndarray(mlcA, [cps.length, nA])]);
      mlcArrays.push([`beam${bi}_mlc_b`, ndarray(mlcB, [cps.length, nB])]);
    }
  }
  return {
    metadata: {
      num_beams: beams.length,
      // an int 0 when no beam has FinalCumulativeMetersetWeight (the reference's `total_mu = 0`)
      total_mu: totalIsFloat ? pyFloat(totalMu) : 0,
      plan_label: optStr(plan.ds, 'RTPlanLabel'),
      mlc_extracted: true,
      beams,
    },
    mlcArrays,
    totalMu,
    numBeams: beams.length,
  };
}
