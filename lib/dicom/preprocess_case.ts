/**
 * One case of `vmat preprocess`: the reference pipeline of spec 2.2 (steps 1-13) from a DICOM-RT
 * folder to `<case>.npz` in the v2.3 or v2.4 layout (spec 1), written atomically.
 *
 * Compatible by default with the reference script (same keys, order, dtypes, metadata values and
 * types); documented corrections of its defects are options: `fill: 'even-odd'` (holes),
 * `spacingOrder: 'correct'` (PixelSpacing[1] is x), `reorient` (non-HFS orientations).
 * Every bad input is a DataError naming the file and the tag; nothing is written then.
 */
import * as path from 'node:path';
import { DataError } from '../core/errors';
import type { Shape3 } from '../core/shape';
import { ndarray } from '../data/npy';
import { writeNpz, type NpzWriteEntry } from '../data/npz';
import { pickleMetadata } from '../data/pickle';
import { constraintVector, prostateCaseType, type ReferenceLayout } from '../data/prostate_plan';
import { NpScalar, npBool, pyFloat, pyTuple, withIntKeys } from '../data/pyobj';
import { absentSdfValue, DEFAULT_SDF_CLIP_MM } from '../transforms/sdf';
import { type Axis, bsplineCoefficients, resampleBSpline } from './bspline_resample';
import { type ChannelMask, computeCropBox, cropSparseMask, type CropBox } from './crop';
import { type CtSeries, ctHuVolume, inPlaneSpacing, loadCtSeries, type PixelSpacingOrder } from './ct_series';
import { readDicomFile } from './dicom_file';
import { selectCaseFiles } from './files';
import { type OarMapping } from './roi_mapping';
import { prescriptionMetadata, readBeamGeometry, readPrescription } from './rtplan';
import { checkStructureFrame, matchRois, rasteriseChannels, readStructureSet, type SparseMask } from './rtstruct';
import { readDoseGrid, type DoseGrid } from './rtdose';
import { boundedSdf } from './sdf_channels';
import { dvhValidation, structureChannels, validatePreprocessed, validateSdf } from './validation';

/** Options of one case (the flags of `vmat preprocess`). */
export interface PreprocessOptions {
  layout: ReferenceLayout;
  mapping: OarMapping;
  /** compute masks_sdf (default true; `--no-sdf`) */
  computeSdf?: boolean;
  /** read beam geometry and MLC (default true; `--no-beams`) */
  extractBeams?: boolean;
  sdfClipMm?: number;
  inplaneSize?: number;
  zMarginMm?: number;
  /** skip (fail) a case whose validation fails (`--strict-validation`) */
  strictValidation?: boolean;
  /** write a case without RTDOSE without a `dose` member (`--allow-missing-dose`) */
  allowMissingDose?: boolean;
  /** 'or' (reference) | 'even-odd' (`--fill-holes`) */
  fill?: 'or' | 'even-odd';
  /** 'reference' (PixelSpacing[0] is x) | 'correct' (`--pixel-spacing-order`) */
  spacingOrder?: PixelSpacingOrder;
  /** flip non-HFS axis-aligned orientations to identity (`--reorient`) */
  reorient?: boolean;
  /** ISO date written as processed_date (default: now, local time, like datetime.now().isoformat()) */
  processedDate?: string;
}

/** The mid-slice images of the debug panel (spec 2.2 step 13), all (Y, X) C order. */
export interface DebugSlices {
  shape: [number, number];
  ct: Float32Array;
  /** dose in Gy, or null without dose */
  doseGy: Float32Array | null;
  /** channel name → 0/1 slice, for PTV70, PTV56, PTV50.4, Rectum, Bladder when present */
  masks: Record<string, Uint8Array>;
  /** PTV70 and Rectum SDF slices when SDFs were computed */
  sdf: Record<string, Float32Array>;
  summary: string[];
}

/** What one processed case reports. */
export interface CaseResult {
  caseId: string;
  npz: string;
  caseType: string;
  rxGy: number;
  shape: Shape3;
  allCriticalPassed: boolean;
  doseAvailable: boolean;
  warnings: string[];
  debug: DebugSlices;
}

/** numpy-style `datetime.now().isoformat()`: local time with microseconds */
export function isoNow(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
}

/** CT normalisation in float32 steps as numpy does it: clip(HU, −1000, 3000) / 4000 + 0.5 */
function normaliseCtF32(hu: Float32Array): Float32Array {
  const out = new Float32Array(hu.length);
  for (let i = 0; i < hu.length; i++) {
    const h = hu[i] < -1000 ? -1000 : hu[i] > 3000 ? 3000 : hu[i];
    out[i] = Math.fround(h / 4000) + 0.5;
  }
  return out;
}

/** false or np.bool_(False) */
function isFalse(v: unknown): boolean {
  return v === false || (v instanceof NpScalar && v.value === false);
}

function sparseEmpty(m: SparseMask): boolean {
  for (const p of m.values()) for (let i = 0; i < p.length; i++) if (p[i]) return false;
  return true;
}

function midSlice<T extends Float32Array | Uint8Array>(v: T, shape: Shape3, z: number, make: (n: number) => T): T {
  const [ny, nx, nz] = shape;
  const out = make(ny * nx);
  for (let i = 0; i < ny * nx; i++) out[i] = v[i * nz + z];
  return out;
}

/** Preprocesses one case folder into `<outputDir>/<case>.npz`; throws DataError for bad input. */
export async function preprocessCase(caseDir: string, outputDir: string, opts: PreprocessOptions): Promise<CaseResult> {
  const caseId = path.basename(path.resolve(caseDir));
  const layout = opts.layout;
  const order = opts.spacingOrder ?? 'reference';
  const computeSdf = opts.computeSdf ?? true;
  const clip = opts.sdfClipMm ?? DEFAULT_SDF_CLIP_MM;
  const warnings: string[] = [];
  const files = selectCaseFiles(caseDir);
  warnings.push(...files.warnings);

  // 1. CT
  const ct = loadCtSeries(files.ct, caseDir, { reorient: opts.reorient, spacingOrder: order });
  warnings.push(...ct.warnings);
  if (ct.slices.length < 2)
    throw new DataError(caseDir, null, 'a CT series of at least 2 slices (slice spacing)', `${ct.slices.length} slice`);
  const ctFile = ct.slices[0].file;

  // 2-3. RTPLAN: prescription and beams
  const plan = files.rtplan ? readDicomFile(files.rtplan) : null;
  if (plan) warnings.push(...plan.warnings);
  if (!plan) warnings.push(`No RP file found in ${caseDir}, using default prescription`);
  const rx = readPrescription(plan, warnings);
  if (Math.abs(rx.primary_dose - 70) > 1.0)
    warnings.push(`Prescription ${rx.primary_dose.toFixed(1)} Gy differs from expected 70.0 Gy`);
  const beams = (opts.extractBeams ?? true) ? readBeamGeometry(plan, warnings) : null;

  // 4. RTSTRUCT → channel masks on the CT grid
  if (!files.rtstruct)
    throw new DataError(caseDir, null, 'an RTSTRUCT file (name starting RS, RTSTRUCT or rtstruct)', 'none');
  const rsFile = readDicomFile(files.rtstruct);
  warnings.push(...rsFile.warnings);
  const ss = readStructureSet(rsFile);
  const match = matchRois(ss, opts.mapping);
  checkStructureFrame(ss, ct.frameOfReferenceUid, ctFile, match.channels.flat());
  const raster = rasteriseChannels(ss, match, ct, { fill: opts.fill, spacingOrder: order });
  warnings.push(...raster.warnings);
  const sparse = raster.masks;

  // 5. gate: PTV70 required (v2.3 data were made with --relax_filter: PTV56 not required)
  if (sparseEmpty(sparse[0])) {
    const names = match.channels[0].map((r) => `'${r.name}'`);
    throw new DataError(
      ss.file,
      `PTV70 (mapping channel 0 '${opts.mapping.channels[0].name}')`,
      'a non-empty PTV70 mask (the reference skips cases without one)',
      names.length
        ? `ROIs ${names.join(', ')} matched but have no contour inside the CT`
        : `no ROI name matches (ROIs: ${ss.rois.map((r) => `'${r.name}'`).join(', ')})`,
    );
  }

  // 6. case type and constraints (presence on the full CT grid)
  const C = sparse.length;
  const present = { ptv70: true, ptv56: !sparseEmpty(sparse[1]), ptv504: C > 8 && !sparseEmpty(sparse[8]) };
  const caseType = prostateCaseType(present, layout);
  const constraints = constraintVector(present, rx.primary_dose, layout);

  // 7. RTDOSE
  let grid: DoseGrid | null = null;
  if (files.rtdose) {
    const rdFile = readDicomFile(files.rtdose);
    warnings.push(...rdFile.warnings);
    grid = readDoseGrid(rdFile, ct.frameOfReferenceUid, ctFile, {
      reorient: opts.reorient,
      spacingOrder: order,
    });
    warnings.push(...grid.warnings);
  } else if (!opts.allowMissingDose) {
    throw new DataError(
      caseDir,
      null,
      'an RTDOSE file (name starting RD, RTDOSE or rtdose)',
      'none (use --allow-missing-dose to write the case without dose)',
    );
  } else warnings.push(`no RTDOSE in ${caseDir}: written without dose (--allow-missing-dose)`);

  // 9. crop box (before the resampling: only the crop box is resampled)
  const ctShape: Shape3 = [ct.rows, ct.columns, ct.slices.length];
  const box = computeCropBox(sparse, ctShape, ct.dz, opts.inplaneSize ?? 300, opts.zMarginMm ?? 30);
  const cbox = { y0: box.y_start, y1: box.y_end, x0: box.x_start, x1: box.x_end, z0: box.z_start, z1: box.z_end };
  const shape: Shape3 = [box.y_end - box.y_start, box.x_end - box.x_start, box.z_end - box.z_start];

  // 8. dose → CT grid (cubic B-spline, ITK semantics), normalised by Rx
  const sp = inPlaneSpacing(ct.pixelSpacing, order);
  let doseNorm: Float32Array | null = null;
  if (grid) doseNorm = resampleDose(grid, ct, sp, order, cbox, rx.primary_dose);

  // 10. CT and masks cropped, CT normalised
  const ctNorm = normaliseCtF32(ctHuVolume(ct, cbox));
  const N = shape[0] * shape[1] * shape[2];
  const masksAll = new Uint8Array(C * N);
  const masks = sparse.map((m, c) => cropSparseMask(m, ct.columns, box, masksAll.subarray(c * N, (c + 1) * N)));

  // 11. DVH sanity check
  let dvh: Record<string, unknown> | null = null;
  if (doseNorm) {
    const d = dvhValidation(layout, doseNorm, rx.primary_dose, masks, shape, caseId);
    dvh = d.dvh;
    warnings.push(...d.warnings);
  }

  // 12. SDFs and validation
  const voxelSpacing: Shape3 = [sp.y, sp.x, ct.dz];
  let sdfAll: Float32Array | null = null;
  let sdf: Float32Array[] | null = null;
  let sdfValidation: Record<string, unknown> | null = null;
  if (computeSdf) {
    const all = new Float32Array(C * N);
    sdfAll = all;
    sdf = masks.map((m, c) => {
      const out = all.subarray(c * N, (c + 1) * N);
      if (m.bounds) boundedSdf(m.data, m.bounds, shape, voxelSpacing, clip, out);
      else out.fill(absentSdfValue(layout));
      return out;
    });
    sdfValidation = {};
    structureChannels(layout).forEach((name, ch) => {
      if (ch >= C) return;
      const r = validateSdf(masks[ch], sdf![ch], shape);
      sdfValidation![name] = r;
      if (r.exists && isFalse(r.valid)) warnings.push(`SDF validation issue for ${name}`);
    });
  }
  const val = validatePreprocessed({
    layout,
    shape,
    ct: ctNorm,
    dose: doseNorm,
    masks,
    huMin: ct.huMin,
    huMax: ct.huMax,
  });
  warnings.push(...val.warnings);
  if (!val.allCriticalPassed) {
    warnings.push(`Validation failed for ${caseId}`);
    if (opts.strictValidation) {
      const failing = ['ct_range_valid', 'dose_nonneg', 'ptv70_exists', 'ptv70_dose_adequate', 'registration_valid']
        .filter((k) => isFalse(val.validation[k]))
        .join(', ');
      throw new DataError(
        caseDir,
        'validation',
        'all critical checks passed (--strict-validation)',
        `failed: ${failing || 'see metadata'}`,
      );
    }
  }

  // metadata (spec 1.7), in the reference's key order
  const metadata: Record<string, unknown> = {
    case_id: caseId,
    processed_date: opts.processedDate ?? isoNow(),
    script_version: layout === 'v2.4' ? '2.4.0' : '2.3.0',
    prescription_info: prescriptionMetadata(rx),
    case_type: {
      type: caseType,
      ptv70_exists: npBool(true),
      ptv56_exists: npBool(present.ptv56),
      ptv50_exists: layout === 'v2.4' && C > 8 ? npBool(present.ptv504) : false,
    },
    normalization_dose_gy: pyFloat(rx.primary_dose),
    voxel_spacing_mm: pyTuple([pyFloat(sp.y), pyFloat(sp.x), pyFloat(ct.dz)]),
    volume_shape: pyTuple([...shape]),
    crop_box: { ...box, centroid_voxel: pyTuple([...box.centroid_voxel]) },
    dose_grid_spacing_mm: grid
      ? pyTuple([pyFloat(grid.pixelSpacing[0]), pyFloat(grid.pixelSpacing[1]), pyFloat(grid.dz)])
      : null,
    sdf_clip_mm: computeSdf ? pyFloat(clip) : null,
    sdf_validation: sdfValidation,
    validation: val.validation,
    truncation_info: val.truncationInfo,
  };
  if (layout === 'v2.4') metadata.dvh_validation = dvh;
  metadata.structure_channels = withIntKeys(
    Object.fromEntries(structureChannels(layout).map((n, i) => [String(i), n])),
  );
  metadata.beam_geometry = beams ? beams.metadata : null;
  if (!grid) metadata.dose_available = false;

  // 13. the npz, in the reference's member order
  const entries: Array<[string, NpzWriteEntry]> = [
    ['ct', ndarray(ctNorm, [...shape])],
    ['masks', ndarray(masksAll, [C, ...shape])],
  ];
  if (doseNorm) entries.push(['dose', ndarray(doseNorm, [...shape])]);
  entries.push(['constraints', ndarray(constraints, [13])]);
  entries.push(['metadata', { pickle: pickleMetadata(metadata) }]);
  if (sdfAll) entries.push(['masks_sdf', ndarray(sdfAll, [C, ...shape])]);
  if (beams) for (const [k, a] of beams.mlcArrays) entries.push([k, a]);
  const npz = path.join(outputDir, `${caseId}.npz`);
  await writeNpz(npz, entries);

  return {
    caseId,
    npz,
    caseType,
    rxGy: rx.primary_dose,
    shape,
    allCriticalPassed: val.allCriticalPassed,
    doseAvailable: !!grid,
    warnings,
    debug: debugSlices(
      caseId,
      caseType,
      rx.primary_dose,
      shape,
      ctNorm,
      doseNorm,
      masks,
      sdf,
      val.ptv70DoseMean,
      val.allCriticalPassed,
      beams,
      layout,
    ),
  };
}

/** dose grid → normalised dose on the crop box of the CT grid */
function resampleDose(
  grid: DoseGrid,
  ct: CtSeries,
  sp: { x: number; y: number },
  order: PixelSpacingOrder,
  box: { x0: number; x1: number; y0: number; y1: number; z0: number; z1: number },
  rxGy: number,
): Float32Array {
  const dsp = inPlaneSpacing(grid.pixelSpacing, order);
  const inX: Axis = { origin: grid.origin[0], spacing: dsp.x, n: grid.columns };
  const inY: Axis = { origin: grid.origin[1], spacing: dsp.y, n: grid.rows };
  const inZ: Axis = { origin: grid.origin[2], spacing: grid.dz, n: grid.frames };
  const outX: Axis = { origin: ct.position[0], spacing: sp.x, n: ct.columns };
  const outY: Axis = { origin: ct.position[1], spacing: sp.y, n: ct.rows };
  const outZ: Axis = { origin: ct.position[2], spacing: ct.dz, n: ct.slices.length };
  const coeffs = bsplineCoefficients(grid.dose, grid.frames, grid.rows, grid.columns);
  const gy = resampleBSpline(coeffs, inX, inY, inZ, outX, outY, outZ, box);
  const rx32 = Math.fround(rxGy);
  for (let i = 0; i < gy.length; i++) gy[i] = gy[i] / rx32;
  return gy;
}

function debugSlices(
  caseId: string,
  caseType: string,
  rxGy: number,
  shape: Shape3,
  ct: Float32Array,
  dose: Float32Array | null,
  masks: ChannelMask[],
  sdf: Float32Array[] | null,
  ptv70Mean: number | null,
  pass: boolean,
  beams: { numBeams: number; totalMu: number } | null,
  layout: ReferenceLayout,
): DebugSlices {
  const mid = Math.floor(shape[2] / 2);
  const names = structureChannels(layout);
  const m: Record<string, Uint8Array> = {};
  for (const ch of [0, 1, 8, 3, 4])
    if (masks[ch]) m[names[ch] ?? `channel_${ch}`] = midSlice(masks[ch].data, shape, mid, (n) => new Uint8Array(n));
  const s: Record<string, Float32Array> = {};
  if (sdf) {
    s.PTV70 = midSlice(sdf[0], shape, mid, (n) => new Float32Array(n));
    s.Rectum = midSlice(sdf[3], shape, mid, (n) => new Float32Array(n));
  }
  const doseGy = dose ? midSlice(dose, shape, mid, (n) => new Float32Array(n)) : null;
  if (doseGy) for (let i = 0; i < doseGy.length; i++) doseGy[i] *= rxGy;
  const summary = [`Case: ${caseId}`, `Type: ${caseType}`, `Rx: ${rxGy.toFixed(1)} Gy`];
  if (ptv70Mean) summary.push(`PTV70 mean: ${ptv70Mean.toFixed(3)}`);
  summary.push(`Validation: ${pass ? 'PASS' : 'FAIL'}`);
  if (beams) summary.push(`Beams: ${beams.numBeams}, MU: ${beams.totalMu.toFixed(0)}`);
  if (!dose) summary.push('Dose: none (--allow-missing-dose)');
  return {
    shape: [shape[0], shape[1]],
    ct: midSlice(ct, shape, mid, (n) => new Float32Array(n)),
    doseGy,
    masks: m,
    sdf: s,
    summary,
  };
}

export type { CropBox };
