/**
 * `vmat export-rtdose`: a predicted dose (`<case>_pred.npz`, dose / Rx on the crop box of the
 * preprocessed case) back into the clinic's frame as an RT Dose object a planning system or
 * viewer loads next to the case's CT.
 *
 * - Dose in Gy = prediction × the case's own Rx (metadata `normalization_dose_gy`, else
 *   `prescription_info.primary_dose`; spec 1.3), never an assumed 70 Gy.
 * - Grid: the CT's own voxels. Default (`extent: 'crop'`) the crop box of metadata `crop_box`
 *   (spec 1.7), whose voxel centres are CT voxel centres; `extent: 'ct'` the whole CT, zero
 *   outside the crop box. Same ImageOrientationPatient as the CT; ImagePositionPatient = the
 *   position of the first voxel; GridFrameOffsetVector = the CT slice positions relative to it.
 * - The CT's FrameOfReferenceUID, StudyInstanceUID, patient and study modules; new series and
 *   SOP instance UIDs; ReferencedRTPlanSequence when the folder has an RTPLAN in the same frame
 *   of reference; DoseUnits GY, DoseType PHYSICAL, DoseSummationType PLAN; 32-bit unsigned
 *   pixels × DoseGridScaling; SeriesDescription "vmat-lab predicted dose (<model>)".
 *
 * Checks before anything is written (each a DataError naming file and key): the prediction's
 * shape equals the crop box, the crop box lies inside the CT, the case id matches the folder,
 * the metadata spacing matches the CT's, the dose is finite.
 */
import * as path from 'node:path';
import { DataError } from '../core/errors';
import type { Shape3 } from '../core/shape';
import { readPredictionNpz, rxFromMetadata } from '../data/reference_npz';
import { loadCtSeries } from './ct_series';
import { type Dataset, readDicomFile, stringOf } from './dicom_file';
import { selectCaseFiles } from './files';
import { dicomDateTime, writeDicomFile } from './write/dataset';
import type { DicomStudyContext } from './write/modules';
import { rtDoseDataset } from './write/rtdose';
import { newUid } from './write/uid';

export interface ExportRtDoseOptions {
  pred: string;
  dicomDir: string;
  out: string;
  /** 'crop' (default): the crop box only; 'ct': the whole CT grid, zero outside the crop box */
  extent?: 'crop' | 'ct';
  /** model name for SeriesDescription / DoseComment (default: from the prediction's metadata) */
  modelName?: string;
  /** refuse (default) or accept a prediction whose metadata case_id differs from the folder name */
  checkCaseId?: boolean;
  /** fixed date for reproducible files (default: now) */
  now?: Date;
}

export interface ExportRtDoseResult {
  out: string;
  caseId: string | null;
  model: string;
  rxGy: number;
  rxFrom: string;
  extent: 'crop' | 'ct';
  /** dose grid (rows, columns, frames) */
  shape: Shape3;
  /** crop box in CT voxel indices (end exclusive) */
  cropBox: { y: [number, number]; x: [number, number]; z: [number, number] };
  imagePositionPatient: [number, number, number];
  doseGridScaling: number;
  maxDoseGy: number;
  frameOfReferenceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  referencedPlanUid: string | null;
  warnings: string[];
}

/** patient-module attributes copied from the CT into the exported object */
const PATIENT_KEYS = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'IssuerOfPatientID',
  'OtherPatientIDs',
  'PatientAge',
  'PatientWeight',
  'PatientIdentityRemoved',
  'DeidentificationMethod',
];

function rec(v: unknown): Record<string, unknown> | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function int(v: unknown): number | null {
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

function num(v: unknown): number | null {
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'number')
    return (v as { value: number }).value;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** the crop box of spec 1.7 from prediction metadata, checked */
export function cropBoxFromMetadata(
  md: Record<string, unknown>,
  file: string,
): { y: [number, number]; x: [number, number]; z: [number, number] } {
  const cb = rec(md.crop_box);
  const expected =
    'a crop_box {y_start, y_end, x_start, x_end, z_start, z_end} (spec 1.7) in the metadata copied from the preprocessed case';
  if (!cb)
    throw new DataError(
      file,
      'metadata.crop_box',
      expected,
      md.crop_box === undefined ? 'no crop_box' : String(md.crop_box),
    );
  const get = (k: string): number => {
    const v = int(cb[k]);
    if (v === null || v < 0)
      throw new DataError(file, `metadata.crop_box.${k}`, 'a non-negative integer voxel index', String(cb[k]));
    return v;
  };
  const box = {
    y: [get('y_start'), get('y_end')],
    x: [get('x_start'), get('x_end')],
    z: [get('z_start'), get('z_end')],
  } as const;
  for (const a of ['y', 'x', 'z'] as const) {
    if (box[a][1] <= box[a][0])
      throw new DataError(file, `metadata.crop_box.${a}_end`, `> ${a}_start (${box[a][0]})`, String(box[a][1]));
  }
  return { y: [box.y[0], box.y[1]], x: [box.x[0], box.x[1]], z: [box.z[0], box.z[1]] };
}

/** the model that made the prediction: explicit name, else metadata keys a predictor may record, else 'unknown model' */
export function modelNameFromMetadata(md: Record<string, unknown>): string | null {
  const p = rec(md.prediction);
  for (const v of [p?.model, p?.model_name, md.model_name, md.model, p?.checkpoint, md.checkpoint]) {
    if (typeof v === 'string' && v.trim()) return v.includes('/') ? path.basename(v.replace(/\/+$/, '')) : v.trim();
  }
  return null;
}

/** unit vector helpers for ImageOrientationPatient */
function orientationOf(ds: Dataset, file: string): { iop: number[]; row: number[]; col: number[]; normal: number[] } {
  const v = ds.ImageOrientationPatient;
  const iop = Array.isArray(v) && v.length === 6 ? v.map(Number) : [1, 0, 0, 0, 1, 0];
  if (iop.some((x) => !Number.isFinite(x)))
    throw new DataError(file, 'ImageOrientationPatient (0020,0037)', 'six numbers', String(v));
  const row = iop.slice(0, 3); // direction of increasing column index
  const col = iop.slice(3, 6); // direction of increasing row index
  const normal = [
    row[1] * col[2] - row[2] * col[1],
    row[2] * col[0] - row[0] * col[2],
    row[0] * col[1] - row[1] * col[0],
  ];
  return { iop, row, col, normal };
}

/**
 * Writes the predicted dose as RTDOSE. Reads the prediction and the case folder's CT series
 * (and RTPLAN, if any), checks that they belong together, writes `opts.out` atomically.
 */
export async function exportPredictedRtDose(opts: ExportRtDoseOptions): Promise<ExportRtDoseResult> {
  const extent = opts.extent ?? 'crop';
  const warnings: string[] = [];
  const pred = await readPredictionNpz(opts.pred);
  const md = pred.metadata;
  if (!Object.keys(md).length) {
    throw new DataError(
      opts.pred,
      'metadata',
      'the metadata dict of the preprocessed case (crop_box, normalization_dose_gy), as `vmat infer` copies it',
      'no metadata',
    );
  }
  const { rx, from: rxFrom } = rxFromMetadata(md);
  if (rx === null) {
    throw new DataError(
      opts.pred,
      'metadata.normalization_dose_gy',
      "the case's Rx in Gy (normalization_dose_gy or prescription_info.primary_dose)",
      'neither key',
    );
  }
  const box = cropBoxFromMetadata(md, opts.pred);
  const boxShape: Shape3 = [box.y[1] - box.y[0], box.x[1] - box.x[0], box.z[1] - box.z[0]];
  if (pred.shape.some((v, i) => v !== boxShape[i])) {
    throw new DataError(
      opts.pred,
      'dose',
      `shape ${boxShape.join(' x ')} (the crop box of metadata.crop_box)`,
      `shape ${pred.shape.join(' x ')}: the prediction does not belong to this case`,
    );
  }
  const caseId = typeof md.case_id === 'string' ? md.case_id : null;
  const folder = path.basename(path.resolve(opts.dicomDir));
  if (caseId !== null && caseId !== folder && opts.checkCaseId !== false) {
    throw new DataError(
      opts.pred,
      'metadata.case_id',
      `the case folder's name "${folder}" (--dicom-dir ${opts.dicomDir})`,
      `"${caseId}": a prediction for another case? (--no-case-check to export anyway)`,
    );
  }

  // ---- the case folder: CT series geometry and identity, RTPLAN reference
  const files = selectCaseFiles(opts.dicomDir);
  if (!files.ct.length)
    throw new DataError(opts.dicomDir, 'CT', 'a CT series (files named CT*/ct*, searched recursively)', 'no CT files');
  const ct = loadCtSeries(files.ct, opts.dicomDir);
  warnings.push(...ct.warnings, ...files.warnings);
  const nz = ct.sliceZ.length;
  if (box.y[1] > ct.rows || box.x[1] > ct.columns || box.z[1] > nz) {
    throw new DataError(
      opts.pred,
      'metadata.crop_box',
      `a box inside the CT of ${opts.dicomDir} (${ct.rows} rows x ${ct.columns} columns x ${nz} slices)`,
      `rows [${box.y[0]}, ${box.y[1]}), columns [${box.x[0]}, ${box.x[1]}), slices [${box.z[0]}, ${box.z[1]})`,
    );
  }
  const sp = md.voxel_spacing_mm;
  if (Array.isArray(sp) && sp.length === 3) {
    const s = sp.map(num);
    const [r, c] = ct.pixelSpacing;
    const inPlaneOk = (s[0] !== null &&
      s[1] !== null &&
      ((Math.abs(s[0] - c) < 1e-3 && Math.abs(s[1] - r) < 1e-3) ||
        (Math.abs(s[0] - r) < 1e-3 && Math.abs(s[1] - c) < 1e-3))) as boolean;
    const zOk = s[2] !== null && (!Number.isFinite(ct.dz) || Math.abs(s[2] - ct.dz) < 1e-3 * Math.max(1, ct.dz));
    if (!inPlaneOk || !zOk) {
      throw new DataError(
        opts.pred,
        'metadata.voxel_spacing_mm',
        `the CT's spacing (PixelSpacing [${r}, ${c}], slice spacing ${ct.dz} mm)`,
        `(${s.join(', ')}): the prediction does not belong to this CT`,
      );
    }
  }
  const first = readDicomFile(ct.slices[0].file);
  const studyUid = stringOf(first.ds, 'StudyInstanceUID');
  const forUid = ct.frameOfReferenceUid;
  if (!studyUid) throw new DataError(first.file, 'StudyInstanceUID (0020,000D)', 'a study UID on the CT', 'none');
  if (!forUid)
    throw new DataError(first.file, 'FrameOfReferenceUID (0020,0052)', 'a frame of reference UID on the CT', 'none');
  let planUid: string | null = null;
  if (files.rtplan) {
    const plan = readDicomFile(files.rtplan);
    const planFor = stringOf(plan.ds, 'FrameOfReferenceUID');
    if (planFor && planFor !== forUid)
      warnings.push(
        `${files.rtplan}: FrameOfReferenceUID ${planFor} differs from the CT's ${forUid}; no ReferencedRTPlanSequence written`,
      );
    else planUid = stringOf(plan.ds, 'SOPInstanceUID');
  }

  // ---- the dose grid
  const { iop, row, col, normal } = orientationOf(first.ds, first.file);
  if (iop.some((v, i) => Math.abs(v - [1, 0, 0, 0, 1, 0][i]) > 1e-3)) {
    // the npz does not record whether preprocess flipped the arrays (--reorient)
    warnings.push(
      `CT ImageOrientationPatient [${iop.join(', ')}] is not HFS: the dose is placed in the stored image orientation, right only if the case was preprocessed without --reorient`,
    );
  }
  const [psRow, psCol] = ct.pixelSpacing;
  const grid =
    extent === 'crop'
      ? { y0: box.y[0], x0: box.x[0], z0: box.z[0], shape: boxShape }
      : { y0: 0, x0: 0, z0: 0, shape: [ct.rows, ct.columns, nz] as Shape3 };
  const [gy, gx, gz] = grid.shape;
  const dose = new Float32Array(gy * gx * gz);
  let negatives = 0;
  let maxDose = 0;
  const [py, px, pz] = pred.shape;
  for (let y = 0; y < py; y++)
    for (let x = 0; x < px; x++)
      for (let z = 0; z < pz; z++) {
        let v = pred.dose[(y * px + x) * pz + z];
        if (!Number.isFinite(v))
          throw new DataError(opts.pred, 'dose', 'finite values', `${v} at voxel (${y}, ${x}, ${z})`);
        if (v < 0) {
          negatives++;
          v = 0;
        }
        const gyv = v * rx;
        if (gyv > maxDose) maxDose = gyv;
        dose[((box.y[0] - grid.y0 + y) * gx + (box.x[0] - grid.x0 + x)) * gz + (box.z[0] - grid.z0 + z)] = gyv;
      }
  if (negatives) warnings.push(`${negatives} negative predicted voxels written as 0 Gy`);
  // position of voxel (y0, x0) on slice z0: the slice's IPP + column/row steps along the orientation
  const s0 = ct.slices[grid.z0].position;
  const origin = [0, 1, 2].map((a) => s0[a] + row[a] * grid.x0 * psCol + col[a] * grid.y0 * psRow) as [
    number,
    number,
    number,
  ];
  // frame offsets along the normal, from the CT's own slice positions
  const nzSign = Math.sign(normal[2]) || 1;
  const offsets = Array.from({ length: gz }, (_, k) => (ct.sliceZ[grid.z0 + k] - ct.sliceZ[grid.z0]) * nzSign);

  const model = opts.modelName ?? modelNameFromMetadata(md) ?? 'unknown model';
  const { date, time } = dicomDateTime(opts.now ?? new Date());
  const patientExtra: Dataset = {};
  for (const k of PATIENT_KEYS) if (first.ds[k] !== undefined) patientExtra[k] = first.ds[k];
  const ctx: DicomStudyContext = {
    patient: { PatientName: stringOf(first.ds, 'PatientName') ?? '', PatientID: stringOf(first.ds, 'PatientID') ?? '' },
    patientExtra,
    studyInstanceUid: studyUid,
    studyDate: stringOf(first.ds, 'StudyDate') ?? '',
    studyTime: stringOf(first.ds, 'StudyTime') ?? '',
    studyId: stringOf(first.ds, 'StudyID') ?? '',
    accessionNumber: stringOf(first.ds, 'AccessionNumber') ?? '',
    referringPhysicianName: stringOf(first.ds, 'ReferringPhysicianName') ?? '',
    ...(stringOf(first.ds, 'StudyDescription') ? { studyDescription: stringOf(first.ds, 'StudyDescription')! } : {}),
    frameOfReferenceUid: forUid,
    positionReferenceIndicator: stringOf(first.ds, 'PositionReferenceIndicator') ?? '',
  };
  const seriesUid = newUid();
  const sopUid = newUid();
  const dataset = rtDoseDataset({
    ctx,
    geometry: { shape: grid.shape, spacingMm: [psRow, psCol, Number.isFinite(ct.dz) ? ct.dz : 1], originMm: origin },
    orientation: iop,
    frameOffsetsMm: offsets,
    doseGy: dose,
    seriesInstanceUid: seriesUid,
    sopInstanceUid: sopUid,
    seriesDescription: `vmat-lab predicted dose (${model})`.slice(0, 64),
    comment: `Predicted dose, not a planned dose: ${model}; Rx ${rx} Gy (${rxFrom}); case ${caseId ?? folder}; vmat-lab`,
    referencedPlanUid: planUid ?? undefined,
    doseType: 'PHYSICAL',
    summationType: 'PLAN',
    date,
    time,
    softwareVersion: 'vmat-lab export-rtdose 1',
    extra: { ContentLabel: 'PREDICTED', ContentDescription: `predicted by ${model}`.slice(0, 64) },
  });
  await writeDicomFile(opts.out, dataset);
  return {
    out: opts.out,
    caseId,
    model,
    rxGy: rx,
    rxFrom,
    extent,
    shape: grid.shape,
    cropBox: box,
    imagePositionPatient: origin,
    doseGridScaling: Number(dataset.DoseGridScaling),
    maxDoseGy: maxDose,
    frameOfReferenceUid: forUid,
    studyInstanceUid: studyUid,
    seriesInstanceUid: seriesUid,
    sopInstanceUid: sopUid,
    referencedPlanUid: planUid,
    warnings,
  };
}
