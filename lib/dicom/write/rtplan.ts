/**
 * An RT Plan (PS3.3 A.20: RT General Plan, RT Prescription, RT Fraction Scheme, RT Beams) for
 * VMAT arcs: per beam the control points with gantry angle, cumulative meterset weight, the X/Y
 * jaws (ASYMX/ASYMY) and the MLC leaf positions (MLCX: bank A = first half of
 * LeafJawPositions, bank B = second half). The prescription goes in DoseReferenceSequence
 * (TargetPrescriptionDose per target, the primary first) and FractionGroupSequence (BeamDose per
 * fraction, so Σ BeamDose × NumberOfFractionsPlanned = the primary Rx).
 */
import { type DicomDataset, SOP_CLASS, ds } from './dataset';
import { type DicomStudyContext, seriesModule, sopCommon, studyModules } from './modules';
import { uidFromSeed } from './uid';

export interface ControlPointInput {
  gantryAngleDeg: number;
  /** cumulative meterset weight (0 at the first control point, the beam's final weight at the last) */
  cumulativeWeight: number;
  /** jaw positions (mm at the isocentre plane): X1, X2, Y1, Y2 */
  jaws: [number, number, number, number];
  /** MLC bank A (n leaf pairs, mm) */
  mlcA: Float32Array | number[];
  /** MLC bank B (n leaf pairs, mm) */
  mlcB: Float32Array | number[];
  /** dose rate (MU/min), optional */
  doseRate?: number;
}

export interface ArcBeamInput {
  name: string;
  /** LeafPositionBoundaries (n leaf pairs + 1 values, mm) */
  leafBoundaries: number[];
  /** isocentre (x, y, z) in patient mm */
  isocentreMm: [number, number, number];
  rotation: 'CW' | 'CC';
  energyMv: number;
  meterset: number;
  controlPoints: ControlPointInput[];
  machine?: string;
}

export interface TargetPrescription {
  /** target ROI name as in the RTSTRUCT */
  roiName: string;
  roiNumber: number;
  doseGy: number;
}

export interface RtPlanInput {
  ctx: DicomStudyContext;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  structureSetUid: string;
  label: string;
  /** targets, primary (highest) first: the first DoseReference item is what the reference reads as Rx */
  targets: TargetPrescription[];
  fractions: number;
  beams: ArcBeamInput[];
  date: string;
  time: string;
  softwareVersion: string;
}

const r2 = (v: number) => ds(Math.round(v * 100) / 100);

/** the RTPLAN dataset */
export function rtPlanDataset(o: RtPlanInput): DicomDataset {
  if (!o.targets.length)
    throw new Error('rtPlanDataset: at least one target prescription is needed (the synthetic plan always has one)');
  if (!(o.fractions >= 1))
    throw new Error(
      `rtPlanDataset: fractions must be >= 1, got ${o.fractions} (callers pass the plan's fraction count)`,
    );
  const rx = o.targets[0].doseGy;
  const totalMeterset = o.beams.reduce((s, b) => s + b.meterset, 0);
  const beams = o.beams.map((b, bi) => {
    const nPairs = b.leafBoundaries.length - 1;
    const K = b.controlPoints.length;
    if (K < 2)
      throw new Error(
        `rtPlanDataset: beam ${b.name} needs >= 2 control points, got ${K} (an arc has a start and an end)`,
      );
    const finalWeight = b.controlPoints[K - 1].cumulativeWeight;
    const cps = b.controlPoints.map((cp, k) => {
      if (cp.mlcA.length !== nPairs || cp.mlcB.length !== nPairs) {
        throw new Error(
          `rtPlanDataset: beam ${b.name} control point ${k}: ${cp.mlcA.length}/${cp.mlcB.length} leaf positions for ${nPairs} leaf pairs (one per pair and bank)`,
        );
      }
      const item: DicomDataset = {
        ControlPointIndex: k,
        GantryAngle: ds(cp.gantryAngleDeg),
        GantryRotationDirection: k === K - 1 ? 'NONE' : b.rotation,
        CumulativeMetersetWeight: ds(cp.cumulativeWeight),
        BeamLimitingDevicePositionSequence: [
          { RTBeamLimitingDeviceType: 'ASYMX', LeafJawPositions: [r2(cp.jaws[0]), r2(cp.jaws[1])] },
          { RTBeamLimitingDeviceType: 'ASYMY', LeafJawPositions: [r2(cp.jaws[2]), r2(cp.jaws[3])] },
          {
            RTBeamLimitingDeviceType: 'MLCX',
            LeafJawPositions: [...Array.from(cp.mlcA, r2), ...Array.from(cp.mlcB, r2)],
          },
        ],
      };
      if (cp.doseRate !== undefined) item.DoseRateSet = r2(cp.doseRate);
      if (k === 0) {
        Object.assign(item, {
          NominalBeamEnergy: ds(b.energyMv),
          BeamLimitingDeviceAngle: '0',
          BeamLimitingDeviceRotationDirection: 'NONE',
          PatientSupportAngle: '0',
          PatientSupportRotationDirection: 'NONE',
          TableTopEccentricAngle: '0',
          TableTopEccentricRotationDirection: 'NONE',
          IsocenterPosition: b.isocentreMm.map((v) => ds(Math.round(v * 1000) / 1000)),
        });
      }
      return item;
    });
    return {
      BeamNumber: bi + 1,
      BeamName: b.name,
      BeamType: 'DYNAMIC',
      RadiationType: 'PHOTON',
      TreatmentMachineName: b.machine ?? 'SYNTHETIC',
      PrimaryDosimeterUnit: 'MU',
      SourceAxisDistance: '1000',
      BeamLimitingDeviceSequence: [
        { RTBeamLimitingDeviceType: 'ASYMX', NumberOfLeafJawPairs: 1 },
        { RTBeamLimitingDeviceType: 'ASYMY', NumberOfLeafJawPairs: 1 },
        {
          RTBeamLimitingDeviceType: 'MLCX',
          NumberOfLeafJawPairs: nPairs,
          LeafPositionBoundaries: b.leafBoundaries.map(ds),
        },
      ],
      TreatmentDeliveryType: 'TREATMENT',
      NumberOfWedges: 0,
      NumberOfCompensators: 0,
      NumberOfBoli: 0,
      NumberOfBlocks: 0,
      FinalCumulativeMetersetWeight: ds(finalWeight),
      NumberOfControlPoints: K,
      ControlPointSequence: cps,
    };
  });
  return {
    ...studyModules(o.ctx, o.softwareVersion),
    ...seriesModule({
      modality: 'RTPLAN',
      seriesInstanceUid: o.seriesInstanceUid,
      seriesNumber: 3,
      seriesDescription: 'Plan',
      date: o.date,
      time: o.time,
    }),
    ...sopCommon(SOP_CLASS.rtPlan, o.sopInstanceUid, o.date, o.time),
    InstanceNumber: 1,
    RTPlanLabel: o.label,
    RTPlanName: o.label,
    RTPlanDate: o.date,
    RTPlanTime: o.time,
    RTPlanGeometry: 'PATIENT',
    ReferencedStructureSetSequence: [
      { ReferencedSOPClassUID: SOP_CLASS.rtStruct, ReferencedSOPInstanceUID: o.structureSetUid },
    ],
    DoseReferenceSequence: o.targets.map((t, i) => ({
      DoseReferenceNumber: i + 1,
      DoseReferenceUID: uidFromSeed(`${o.sopInstanceUid}:doseref:${i}`),
      DoseReferenceStructureType: 'VOLUME',
      DoseReferenceDescription: t.roiName,
      ReferencedROINumber: t.roiNumber,
      DoseReferenceType: 'TARGET',
      DeliveryMaximumDose: ds(Math.round(t.doseGy * 1.07 * 100) / 100),
      TargetPrescriptionDose: ds(t.doseGy),
    })),
    FractionGroupSequence: [
      {
        FractionGroupNumber: 1,
        NumberOfFractionsPlanned: o.fractions,
        NumberOfBeams: o.beams.length,
        NumberOfBrachyApplicationSetups: 0,
        ReferencedBeamSequence: o.beams.map((b, bi) => ({
          ReferencedBeamNumber: bi + 1,
          // the primary Rx per fraction, split over the beams by meterset
          BeamDose: ds((rx / o.fractions) * (totalMeterset > 0 ? b.meterset / totalMeterset : 1 / o.beams.length)),
          BeamMeterset: ds(Math.round(b.meterset * 100) / 100),
        })),
      },
    ],
    BeamSequence: beams,
    ApprovalStatus: 'UNAPPROVED',
  };
}
