/**
 * An RT Dose (PS3.3 A.18: Image Plane, Image Pixel, Multi-frame, RT Dose modules): a 3-D dose
 * grid in Gy as 32-bit unsigned pixels × DoseGridScaling, one frame per z, frames placed by
 * GridFrameOffsetVector (relative to ImagePositionPatient z, first offset 0).
 *
 * DoseGridScaling is chosen so the maximum dose maps to about 4e9 (below 2^32 - 1) and is the
 * value written as a decimal string; pixels are round(dose / scaling) with that exact value, so
 * a reader's pixel × DoseGridScaling is within half a scaling step of the input (a step is about
 * maxDose / 4e9, far below float32 precision).
 */
import { type DicomDataset, SOP_CLASS, ds, dsValue, pixelBytes } from './dataset';
import { HFS_ORIENTATION, type VolumeGeometry } from './geometry';
import { type DicomStudyContext, seriesModule, sopCommon, studyModules } from './modules';

export interface RtDoseInput {
  ctx: DicomStudyContext;
  geometry: VolumeGeometry;
  /** dose in Gy, (Y, X, Z) C order over geometry.shape; must be finite and >= 0 */
  doseGy: Float32Array;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  seriesDescription: string;
  /** the plan this dose belongs to (ReferencedRTPlanSequence), if any */
  referencedPlanUid?: string;
  /** DoseComment */
  comment?: string;
  doseType?: 'PHYSICAL' | 'EFFECTIVE';
  summationType?: 'PLAN' | 'FRACTION' | 'BEAM';
  date: string;
  time: string;
  softwareVersion: string;
  /** extra attributes to add (e.g. ContentLabel) */
  extra?: DicomDataset;
  /** ImageOrientationPatient (default head-first supine [1,0,0,0,1,0]); `geometry.originMm` is then the position of voxel (0,0,0) */
  orientation?: number[];
  /** GridFrameOffsetVector (mm along the frame normal, first 0); default k × spacingMm[2] */
  frameOffsetsMm?: number[];
}

/** the largest pixel value used for the maximum dose (headroom below 2^32 - 1 for the DS rounding of the scaling) */
const PIXEL_MAX = 4e9;

/** DoseGridScaling (as written) and uint32 pixels for a dose array in Gy */
export function quantiseDose(doseGy: Float32Array): { scaling: number; pixels: Uint32Array } {
  let max = 0;
  for (let i = 0; i < doseGy.length; i++) {
    const v = doseGy[i];
    if (!Number.isFinite(v) || v < 0)
      throw new Error(
        `quantiseDose: dose must be finite and >= 0 Gy, found ${v} at voxel ${i} (export-rtdose checks and clamps the prediction first)`,
      );
    if (v > max) max = v;
  }
  const scaling = max > 0 ? dsValue(max / PIXEL_MAX) : 1;
  const pixels = new Uint32Array(doseGy.length);
  for (let i = 0; i < doseGy.length; i++) pixels[i] = Math.round(doseGy[i] / scaling);
  return { scaling, pixels };
}

/** the RTDOSE dataset (frames = z slices of the geometry, lowest z first) */
export function rtDoseDataset(o: RtDoseInput): DicomDataset {
  const [ny, nx, nz] = o.geometry.shape;
  if (o.doseGy.length !== ny * nx * nz)
    throw new Error(
      `rtDoseDataset: doseGy has ${o.doseGy.length} voxels, shape ${o.geometry.shape.join('x')} needs ${ny * nx * nz}`,
    );
  const { scaling, pixels } = quantiseDose(o.doseGy);
  const offsets = o.frameOffsetsMm ?? Array.from({ length: nz }, (_, k) => k * o.geometry.spacingMm[2]);
  if (offsets.length !== nz)
    throw new Error(`rtDoseDataset: ${offsets.length} frame offsets for ${nz} frames (one offset per z slice)`);
  // (Y, X, Z) -> frames of rows x columns
  const framed = new Uint32Array(pixels.length);
  for (let k = 0; k < nz; k++) for (let p = 0; p < ny * nx; p++) framed[k * ny * nx + p] = pixels[p * nz + k];
  const ds0: DicomDataset = {
    ...studyModules(o.ctx, o.softwareVersion),
    ...seriesModule({
      modality: 'RTDOSE',
      seriesInstanceUid: o.seriesInstanceUid,
      seriesNumber: 4,
      seriesDescription: o.seriesDescription,
      date: o.date,
      time: o.time,
    }),
    ...sopCommon(SOP_CLASS.rtDose, o.sopInstanceUid, o.date, o.time),
    InstanceNumber: 1,
    ContentDate: o.date,
    ContentTime: o.time,
    ImagePositionPatient: o.geometry.originMm.map(ds),
    ImageOrientationPatient: o.orientation ?? HFS_ORIENTATION,
    PixelSpacing: [ds(o.geometry.spacingMm[0]), ds(o.geometry.spacingMm[1])],
    SliceThickness: ds(Math.abs(o.geometry.spacingMm[2])),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: ny,
    Columns: nx,
    BitsAllocated: 32,
    BitsStored: 32,
    HighBit: 31,
    PixelRepresentation: 0,
    NumberOfFrames: nz,
    // (3004,000C) GridFrameOffsetVector
    FrameIncrementPointer: 0x3004000c,
    DoseUnits: 'GY',
    DoseType: o.doseType ?? 'PHYSICAL',
    DoseSummationType: o.summationType ?? 'PLAN',
    GridFrameOffsetVector: offsets.map(ds),
    DoseGridScaling: ds(scaling),
    ...(o.comment ? { DoseComment: o.comment } : {}),
    ...(o.referencedPlanUid
      ? {
          ReferencedRTPlanSequence: [
            { ReferencedSOPClassUID: SOP_CLASS.rtPlan, ReferencedSOPInstanceUID: o.referencedPlanUid },
          ],
        }
      : {}),
    ...o.extra,
    PixelData: pixelBytes(framed),
    _vrMap: { PixelData: 'OW' },
  };
  return ds0;
}
