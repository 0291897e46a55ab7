/**
 * QA review of one DICOM-RT case folder before preprocessing (issue 14 item 4, as the reference's
 * review tool): which ROIs the mapping matches to which channel, which ROIs no channel takes,
 * which channels have no ROI, Rx and where it comes from, the CT and dose grids, and the
 * warnings the readers raise. Errors (a file that does not parse, a frame-of-reference mismatch,
 * ...) are recorded per case instead of stopping the review.
 *
 * For the contact sheet it also keeps one axial CT slice through the PTV70 centroid (area-
 * weighted centroid of the PTV70 contours), the dose on that slice (trilinear samples of the
 * RTDOSE grid at the CT pixel centres: display only, not the preprocessing's B-spline) and the
 * contours on it, all in patient mm (x along columns, y along rows).
 */
import * as path from 'node:path';
import { DataError } from '../../core/errors';
import { PROSTATE_V23_STRUCTURES, PROSTATE_V24_STRUCTURES } from '../../data/profiles';
import { type CtSeries, loadCtSeries } from '../ct_series';
import { readDicomFile } from '../dicom_file';
import { selectCaseFiles } from '../files';
import type { OarMapping } from '../roi_mapping';
import { type DoseGrid, readDoseGrid } from '../rtdose';
import { readPrescription } from '../rtplan';
import { type StructureRoi, checkStructureFrame, matchRois, nearestSlice, readStructureSet } from '../rtstruct';

/** one case's entry of qa_manifest.json */
export interface CaseManifest {
  case_id: string;
  status: 'ok' | 'error';
  /** the first error that stopped the review of this case (file, tag, expected vs found) */
  error: string | null;
  files: { ct: number; rtstruct: string | null; rtplan: string | null; rtdose: string | null };
  ct: {
    rows: number;
    columns: number;
    slices: number;
    spacing_mm: [number, number, number];
    frame_of_reference_uid: string | null;
  } | null;
  /** channel name -> ROI names matched to it (all are unioned by preprocess) */
  matched: Record<string, string[]>;
  /** ROI names no channel takes */
  unmatched: string[];
  /** channels without any ROI */
  missing: string[];
  prescription: { primary_dose: number; fractions: number; dose_per_fraction: number; source: string } | null;
  dose_grid: {
    rows: number;
    columns: number;
    frames: number;
    spacing_mm: [number, number, number];
    origin_mm: [number, number, number];
    max_gy: number;
    frame_of_reference_uid: string | null;
  } | null;
  /** the axial slice the contact sheet shows (through the PTV70 centroid) */
  review_slice: { index: number; z_mm: number; through: 'PTV70 centroid' | 'middle slice' } | null;
  warnings: string[];
}

/** contours of one ROI on the review slice, as closed polylines in patient mm */
export interface SliceContours {
  roi: string;
  /** channel name, or null for an unmatched ROI */
  channel: string | null;
  polygons: Array<{ x: number[]; y: number[] }>;
}

/** what the contact sheet draws for a case */
export interface CaseSlice {
  /** column x positions (mm) and row y positions (mm) of the (possibly strided) image */
  xMm: number[];
  yMm: number[];
  /** HU, rows x columns of the strided image */
  hu: number[][];
  /** dose in Gy on the same pixels, null where outside the dose grid or without RTDOSE */
  doseGy: Array<Array<number | null>> | null;
  contours: SliceContours[];
}

export interface CaseReview {
  manifest: CaseManifest;
  slice: CaseSlice | null;
}

/** channel names of a mapping: the v2.3/v2.4 profile names for 8/9 channels, else the mapping's names */
export function channelNames(mapping: OarMapping): string[] {
  const n = mapping.channels.length;
  if (n === 9) return [...PROSTATE_V24_STRUCTURES];
  if (n === 8) return [...PROSTATE_V23_STRUCTURES];
  return mapping.channels.map((c) => c.name);
}

/** area-weighted centroid (x, y, z in mm) of a set of planar contours, or null when they enclose no area */
export function contourCentroid(rois: StructureRoi[]): [number, number, number] | null {
  let a = 0;
  let cx = 0;
  let cy = 0;
  let cz = 0;
  for (const roi of rois) {
    for (const c of roi.contours ?? []) {
      const p = c.points;
      const n = p.length / 3;
      let area = 0;
      let sx = 0;
      let sy = 0;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const cross = p[3 * j] * p[3 * i + 1] - p[3 * i] * p[3 * j + 1];
        area += cross;
        sx += (p[3 * j] + p[3 * i]) * cross;
        sy += (p[3 * j + 1] + p[3 * i + 1]) * cross;
      }
      area /= 2;
      if (Math.abs(area) < 1e-9) continue;
      const w = Math.abs(area);
      cx += (sx / (6 * area)) * w;
      cy += (sy / (6 * area)) * w;
      cz += p[2] * w;
      a += w;
    }
  }
  return a > 0 ? [cx / a, cy / a, cz / a] : null;
}

/** trilinear sample (Gy) of a dose grid at patient (x, y, z); null outside the grid */
export function sampleDose(g: DoseGrid, x: number, y: number, z: number): number | null {
  const fc = (x - g.origin[0]) / g.pixelSpacing[1];
  const fr = (y - g.origin[1]) / g.pixelSpacing[0];
  const zs = g.zPositions;
  if (fc < 0 || fr < 0 || fc > g.columns - 1 || fr > g.rows - 1 || z < zs[0] || z > zs[zs.length - 1]) return null;
  let k = 0;
  while (k < zs.length - 2 && zs[k + 1] < z) k++;
  const tz = zs.length > 1 ? (z - zs[k]) / (zs[k + 1] - zs[k]) : 0;
  const c0 = Math.min(g.columns - 2, Math.floor(fc));
  const r0 = Math.min(g.rows - 2, Math.floor(fr));
  const tc = fc - c0;
  const tr = fr - r0;
  const at = (kk: number, r: number, c: number) => g.dose[(kk * g.rows + r) * g.columns + c];
  let v = 0;
  for (const [dk, wk] of [
    [0, 1 - tz],
    [1, tz],
  ]) {
    if (wk === 0 || k + dk >= zs.length) continue;
    for (const [dr, wr] of [
      [0, 1 - tr],
      [1, tr],
    ])
      for (const [dc, wc] of [
        [0, 1 - tc],
        [1, tc],
      ])
        v += wk * wr * wc * at(k + dk, Math.max(0, r0 + dr), Math.max(0, c0 + dc));
  }
  return v;
}

function sliceImage(ct: CtSeries, k: number, stride: number): { xMm: number[]; yMm: number[]; hu: number[][] } {
  const s = ct.slices[k];
  const [psRow, psCol] = ct.pixelSpacing;
  const xMm: number[] = [];
  const yMm: number[] = [];
  const hu: number[][] = [];
  for (let c = 0; c < ct.columns; c += stride) xMm.push(s.position[0] + c * psCol);
  for (let r = 0; r < ct.rows; r += stride) {
    yMm.push(s.position[1] + r * psRow);
    const row: number[] = [];
    for (let c = 0; c < ct.columns; c += stride)
      row.push(Math.round(s.pixels[r * ct.columns + c] * s.slope + s.intercept));
    hu.push(row);
  }
  return { xMm, yMm, hu };
}

/**
 * Reviews one case folder. `maxImagePixels` caps the contact-sheet image size (the slice is
 * strided to at most that many pixels per side; default 192).
 */
export function reviewCase(caseDir: string, mapping: OarMapping, opts: { maxImagePixels?: number } = {}): CaseReview {
  const names = channelNames(mapping);
  const m: CaseManifest = {
    case_id: path.basename(path.resolve(caseDir)),
    status: 'ok',
    error: null,
    files: { ct: 0, rtstruct: null, rtplan: null, rtdose: null },
    ct: null,
    matched: {},
    unmatched: [],
    missing: [],
    prescription: null,
    dose_grid: null,
    review_slice: null,
    warnings: [],
  };
  let slice: CaseSlice | null = null;
  try {
    const files = selectCaseFiles(caseDir);
    m.warnings.push(...files.warnings);
    m.files = {
      ct: files.ct.length,
      rtstruct: files.rtstruct && path.basename(files.rtstruct),
      rtplan: files.rtplan && path.basename(files.rtplan),
      rtdose: files.rtdose && path.basename(files.rtdose),
    };
    const plan = files.rtplan ? readDicomFile(files.rtplan) : null;
    if (!plan) m.warnings.push('no RTPLAN: Rx would default to 70 Gy / 28 fx');
    m.prescription = { ...readPrescription(plan, m.warnings) };
    if (m.prescription.source === 'default' && plan)
      m.warnings.push(`${m.files.rtplan}: no prescription found; Rx defaults to 70 Gy`);
    if (Math.abs(m.prescription.primary_dose - 70) > 1)
      m.warnings.push(`Rx ${m.prescription.primary_dose} Gy differs from 70 Gy by more than 1 Gy`);
    const ct = loadCtSeries(files.ct, caseDir);
    m.warnings.push(...ct.warnings);
    m.ct = {
      rows: ct.rows,
      columns: ct.columns,
      slices: ct.sliceZ.length,
      spacing_mm: [ct.pixelSpacing[0], ct.pixelSpacing[1], ct.dz],
      frame_of_reference_uid: ct.frameOfReferenceUid,
    };
    if (!files.rtstruct) throw new DataError(caseDir, 'RTSTRUCT', 'an RTSTRUCT file (RS*/RTSTRUCT*/rtstruct*)', 'none');
    const ss = readStructureSet(readDicomFile(files.rtstruct));
    const match = matchRois(ss, mapping);
    match.channels.forEach((rois, c) => {
      if (rois.length) m.matched[names[c]] = rois.map((r) => r.name);
      else m.missing.push(names[c]);
    });
    m.unmatched = match.unmatched.map((r) => r.name);
    if (!m.matched.PTV70) m.warnings.push('no PTV70: preprocess skips this case (the reference gate)');
    try {
      checkStructureFrame(ss, ct.frameOfReferenceUid, ct.slices[0].file, match.channels.flat());
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      m.warnings.push(e.message);
    }
    let dose: DoseGrid | null = null;
    if (files.rtdose) {
      try {
        dose = readDoseGrid(readDicomFile(files.rtdose), ct.frameOfReferenceUid, ct.slices[0].file);
        m.warnings.push(...dose.warnings);
        let max = 0;
        for (let i = 0; i < dose.dose.length; i++) if (dose.dose[i] > max) max = dose.dose[i];
        m.dose_grid = {
          rows: dose.rows,
          columns: dose.columns,
          frames: dose.frames,
          spacing_mm: [dose.pixelSpacing[0], dose.pixelSpacing[1], dose.dz],
          origin_mm: dose.origin,
          max_gy: max,
          frame_of_reference_uid: dose.frameOfReferenceUid,
        };
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        m.warnings.push(e.message);
      }
    } else m.warnings.push('no RTDOSE: only inference (preprocess --allow-missing-dose) can use this case');

    // ---- the review slice
    const ptv = match.channels[0] ?? [];
    const centre = contourCentroid(ptv);
    const k = centre ? nearestSlice(ct.sliceZ, centre[2]) : ct.sliceZ.length >> 1;
    const z = ct.sliceZ[k];
    m.review_slice = { index: k, z_mm: z, through: centre ? 'PTV70 centroid' : 'middle slice' };
    const stride = Math.max(1, Math.ceil(Math.max(ct.rows, ct.columns) / (opts.maxImagePixels ?? 192)));
    const img = sliceImage(ct, k, stride);
    const doseGy = dose ? img.yMm.map((y) => img.xMm.map((x) => sampleDose(dose!, x, y, z))) : null;
    const contours: SliceContours[] = [];
    const half = Number.isFinite(ct.dz) ? Math.abs(ct.dz) / 2 : 0.5;
    const channelOf = new Map<StructureRoi, string>();
    match.channels.forEach((rois, c) => rois.forEach((r) => channelOf.set(r, names[c])));
    for (const roi of ss.rois) {
      const polygons: Array<{ x: number[]; y: number[] }> = [];
      for (const c of roi.contours ?? []) {
        if (Math.abs(c.points[2] - z) > half) continue;
        const x: number[] = [];
        const y: number[] = [];
        for (let i = 0; i < c.points.length; i += 3) {
          x.push(c.points[i]);
          y.push(c.points[i + 1]);
        }
        x.push(x[0]);
        y.push(y[0]);
        polygons.push({ x, y });
      }
      if (polygons.length) contours.push({ roi: roi.name, channel: channelOf.get(roi) ?? null, polygons });
    }
    slice = { ...img, doseGy, contours };
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    m.status = 'error';
    m.error = e.message;
  }
  return { manifest: m, slice };
}
