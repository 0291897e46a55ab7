/**
 * An RT Structure Set (PS3.3 A.19: Structure Set, ROI Contour, RT ROI Observations modules) from
 * binary masks on a CT grid: per ROI and slice, the keyhole contours of contours.ts in patient
 * coordinates (CLOSED_PLANAR, each with a ContourImageSequence item naming its CT slice).
 */
import type { Shape3 } from '../../core/shape';
import { type DicomDataset, SOP_CLASS, ds } from './dataset';
import { maskSliceContours } from './contours';
import { type VolumeGeometry, sliceZ } from './geometry';
import { type DicomStudyContext, seriesModule, sopCommon, studyModules } from './modules';

export interface RoiInput {
  /** ROI name as written (e.g. a clinical spelling such as "PTV 7000") */
  name: string;
  /** 0/1 over the CT grid, (Y, X, Z) C order */
  mask: Uint8Array;
  /** RTROIInterpretedType: PTV, CTV, ORGAN, EXTERNAL, ... */
  interpretedType: string;
  /** display colour, 0-255 RGB */
  color: [number, number, number];
}

export interface RtStructInput {
  ctx: DicomStudyContext;
  geometry: VolumeGeometry;
  ctSeriesInstanceUid: string;
  /** SOPInstanceUID of each CT slice, lowest z first */
  ctSliceUids: string[];
  rois: RoiInput[];
  seriesInstanceUid: string;
  sopInstanceUid: string;
  label?: string;
  date: string;
  time: string;
  softwareVersion: string;
}

/** ContourData (x, y, z triplets as DS) of one slice's polygons of a mask */
function sliceContours(mask: Uint8Array, shape: Shape3, k: number, g: VolumeGeometry): string[][] {
  const [ny, nx, nz] = shape;
  const polys = maskSliceContours(ny, nx, (r, c) => mask[(r * nx + c) * nz + k] !== 0);
  const z = ds(sliceZ(g, k));
  return polys.map((p) => {
    const flat: string[] = [];
    for (const [r, c] of p)
      flat.push(ds(g.originMm[0] + c * g.spacingMm[1]), ds(g.originMm[1] + r * g.spacingMm[0]), z);
    return flat;
  });
}

/** the RTSTRUCT dataset */
export function rtStructDataset(o: RtStructInput): DicomDataset {
  const shape = o.geometry.shape;
  const [ny, nx, nz] = shape;
  if (o.ctSliceUids.length !== nz)
    throw new Error(`rtStructDataset: ${o.ctSliceUids.length} CT slice UIDs for ${nz} slices (one UID per z slice)`);
  const imageRef = (k: number) => ({ ReferencedSOPClassUID: SOP_CLASS.ct, ReferencedSOPInstanceUID: o.ctSliceUids[k] });
  const roiContours: DicomDataset[] = [];
  const roiSet: DicomDataset[] = [];
  const observations: DicomDataset[] = [];
  o.rois.forEach((roi, i) => {
    if (roi.mask.length !== ny * nx * nz)
      throw new Error(
        `rtStructDataset: ROI ${roi.name} mask has ${roi.mask.length} voxels, shape ${shape.join('x')} needs ${ny * nx * nz}`,
      );
    const number = i + 1;
    const contours: DicomDataset[] = [];
    for (let k = 0; k < nz; k++) {
      for (const data of sliceContours(roi.mask, shape, k, o.geometry)) {
        contours.push({
          ContourImageSequence: [imageRef(k)],
          ContourGeometricType: 'CLOSED_PLANAR',
          NumberOfContourPoints: data.length / 3,
          ContourNumber: contours.length + 1,
          ContourData: data,
        });
      }
    }
    roiSet.push({
      ROINumber: number,
      ReferencedFrameOfReferenceUID: o.ctx.frameOfReferenceUid,
      ROIName: roi.name,
      ROIGenerationAlgorithm: 'MANUAL',
    });
    roiContours.push({ ROIDisplayColor: roi.color, ReferencedROINumber: number, ContourSequence: contours });
    observations.push({
      ObservationNumber: number,
      ReferencedROINumber: number,
      RTROIInterpretedType: roi.interpretedType,
      ROIInterpreter: '',
    });
  });
  return {
    ...studyModules(o.ctx, o.softwareVersion),
    ...seriesModule({
      modality: 'RTSTRUCT',
      seriesInstanceUid: o.seriesInstanceUid,
      seriesNumber: 2,
      seriesDescription: 'Structure set',
      date: o.date,
      time: o.time,
    }),
    ...sopCommon(SOP_CLASS.rtStruct, o.sopInstanceUid, o.date, o.time),
    InstanceNumber: 1,
    StructureSetLabel: o.label ?? 'RS',
    StructureSetDate: o.date,
    StructureSetTime: o.time,
    ReferencedFrameOfReferenceSequence: [
      {
        FrameOfReferenceUID: o.ctx.frameOfReferenceUid,
        RTReferencedStudySequence: [
          {
            ReferencedSOPClassUID: SOP_CLASS.study,
            ReferencedSOPInstanceUID: o.ctx.studyInstanceUid,
            RTReferencedSeriesSequence: [
              {
                SeriesInstanceUID: o.ctSeriesInstanceUid,
                ContourImageSequence: o.ctSliceUids.map((_, k) => imageRef(k)),
              },
            ],
          },
        ],
      },
    ],
    StructureSetROISequence: roiSet,
    ROIContourSequence: roiContours,
    RTROIObservationsSequence: observations,
  };
}
