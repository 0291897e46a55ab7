/**
 * A CT image series (PS3.3 A.3, one file per axial slice) from a HU volume in (Y, X, Z) order.
 * HU are stored as signed 16-bit integers, rounded to the nearest HU, with RescaleSlope 1 and
 * RescaleIntercept 0, so a reader gets each voxel back within 0.5 HU.
 */
import { type DicomDataset, SOP_CLASS, ds, pixelBytes } from './dataset';
import { HFS_ORIENTATION, type VolumeGeometry, sliceZ } from './geometry';
import { type DicomStudyContext, seriesModule, sopCommon, studyModules } from './modules';

export interface CtSeriesInput {
  ctx: DicomStudyContext;
  geometry: VolumeGeometry;
  /** Hounsfield units, (Y, X, Z) C order, length = product of geometry.shape */
  hu: Float32Array;
  seriesInstanceUid: string;
  /** SOPInstanceUID of slice k (k = 0 is the lowest z) */
  sliceUids: string[];
  seriesDescription?: string;
  date: string;
  time: string;
  softwareVersion: string;
}

/** one dataset per slice, lowest z first */
export function ctSeriesDatasets(o: CtSeriesInput): DicomDataset[] {
  const [ny, nx, nz] = o.geometry.shape;
  if (o.hu.length !== ny * nx * nz)
    throw new Error(
      `ctSeriesDatasets: hu has ${o.hu.length} voxels, shape ${o.geometry.shape.join('x')} needs ${ny * nx * nz}`,
    );
  if (o.sliceUids.length !== nz)
    throw new Error(`ctSeriesDatasets: ${o.sliceUids.length} slice UIDs for ${nz} slices (one UID per z slice)`);
  const common: DicomDataset = {
    ...studyModules(o.ctx, o.softwareVersion),
    ...seriesModule({
      modality: 'CT',
      seriesInstanceUid: o.seriesInstanceUid,
      seriesNumber: 1,
      seriesDescription: o.seriesDescription ?? 'CT',
      date: o.date,
      time: o.time,
    }),
    PatientPosition: 'HFS',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    ContentDate: o.date,
    ContentTime: o.time,
    ImageOrientationPatient: HFS_ORIENTATION,
    PixelSpacing: [ds(o.geometry.spacingMm[0]), ds(o.geometry.spacingMm[1])],
    SliceThickness: ds(o.geometry.spacingMm[2]),
    KVP: '120',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: ny,
    Columns: nx,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    RescaleIntercept: '0',
    RescaleSlope: '1',
    RescaleType: 'HU',
    WindowCenter: '40',
    WindowWidth: '400',
    _vrMap: { PixelData: 'OW' },
  };
  const out: DicomDataset[] = [];
  for (let k = 0; k < nz; k++) {
    const px = new Int16Array(ny * nx);
    for (let p = 0; p < ny * nx; p++) {
      const v = Math.round(o.hu[p * nz + k]);
      px[p] = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
    }
    const z = sliceZ(o.geometry, k);
    out.push({
      ...common,
      ...sopCommon(SOP_CLASS.ct, o.sliceUids[k], o.date, o.time),
      InstanceNumber: k + 1,
      ImagePositionPatient: [ds(o.geometry.originMm[0]), ds(o.geometry.originMm[1]), ds(z)],
      SliceLocation: ds(z),
      PixelData: pixelBytes(px),
    });
  }
  return out;
}
