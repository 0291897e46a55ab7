/**
 * One synthetic case as a DICOM-RT folder, as a planning system exports it: a CT series
 * (`CT.<case>.<slice>.dcm`), an RTSTRUCT (`RS.<case>.dcm`), an RTPLAN (`RP.<case>.dcm`) and an
 * RTDOSE (`RD.<case>.dcm`), so spec 2.2's file selection (name prefixes CT / RS / RP / RD) finds
 * them. All four share the patient, study and frame of reference; UIDs are derived from the
 * cohort seed and case id, and dates are fixed, so the same case gives the same bytes.
 *
 * Geometry: the CT is the case's own grid (Y, X, Z) = (rows, columns, slices), head-first supine,
 * its centre at patient (0, 0, 0); PixelSpacing = (Y spacing, X spacing).
 * RTSTRUCT: every present structure under a clinical-style name drawn from the mapping's
 * variations, plus BODY (EXTERNAL, HU > -500 with holes filled per slice; unmatched by the
 * mapping, as clinical body outlines are). RTPLAN: the synthetic arc (gantry angles, cumulative
 * meterset weights, jaws, 40 MLC leaf pairs of 5 mm from the case's beam0_mlc_a/b), Rx in
 * DoseReferenceSequence (the primary PTV first) and FractionGroupSequence (28 fractions).
 * RTDOSE: the planned dose on a grid coarser than the CT (every `doseGridStep` voxel, default
 * 2 in-plane and 1 in z) over the bounding box of the non-zero dose plus one coarse voxel
 * (past the CT's edge where the dose reaches it); every dose-grid point inside the CT is a CT
 * voxel centre, so at those voxels a reader's B-spline resampling
 * gives the dose back exactly (up to the 32-bit quantisation).
 */
import * as path from 'node:path';
import { withAtomicDir } from '../../core/atomic';
import type { Shape3 } from '../../core/shape';
import { Rng } from '../../core/rng';
import type { Case } from '../../data/case';
import { PyFloat } from '../../data/pyobj';
import { ctSeriesDatasets } from '../../dicom/write/ct_series';
import { type DicomDataset, encodePart10 } from '../../dicom/write/dataset';
import { type VolumeGeometry, centredGeometry, subGrid } from '../../dicom/write/geometry';
import type { DicomStudyContext } from '../../dicom/write/modules';
import { type ControlPointInput, rtPlanDataset } from '../../dicom/write/rtplan';
import { rtDoseDataset } from '../../dicom/write/rtdose';
import { type RoiInput, rtStructDataset } from '../../dicom/write/rtstruct';
import { uidFromSeed } from '../../dicom/write/uid';
import * as fs from 'node:fs';
import type { OarMapping } from '../../dicom/roi_mapping';
import { drawRoiNames } from './roi_names';

/** the fixed date and time of every synthetic DICOM object (as SYNTH_PROCESSED_DATE) */
export const SYNTH_DICOM_DATE = '20000101';
/** The fixed time of every synthetic DICOM object. */
export const SYNTH_DICOM_TIME = '000000';
/** SoftwareVersions written into synthetic DICOM objects. */
export const SYNTH_DICOM_SOFTWARE = 'vmat-lab synth-dicom 1';
/** Number of fractions of the synthetic plans. */
export const SYNTH_FRACTIONS = 28;
/** MLC of the synthetic plans: 40 leaf pairs of 5 mm over -100..100 mm */
const LEAF_BOUNDARIES = Array.from({ length: 41 }, (_, i) => -100 + 5 * i);

export interface SynthDicomOptions {
  /** the ROI-name mapping whose variations give the clinical names */
  mapping: OarMapping;
  /** dose grid step in CT voxels (Y, X, Z); default [2, 2, 1] */
  doseGridStep?: Shape3;
}

export interface SynthDicomResult {
  dir: string;
  files: string[];
  /** structure name -> ROI name written */
  roiNames: Record<string, string>;
  doseGrid: { shape: Shape3; spacingMm: Shape3; startVoxel: Shape3; step: Shape3 };
}

const COLORS: Record<string, [number, number, number]> = {
  PTV70: [255, 0, 0],
  PTV56: [255, 128, 0],
  'PTV50.4': [255, 255, 0],
  Prostate: [0, 255, 255],
  Rectum: [128, 64, 0],
  Bladder: [255, 255, 128],
  Femur_L: [0, 128, 255],
  Femur_R: [0, 0, 255],
  Bowel: [0, 192, 0],
  BODY: [0, 255, 0],
};

function num(v: unknown, what: string): number {
  const x = v instanceof PyFloat ? v.value : v;
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  throw new Error(`synthetic case metadata: ${what} is not a number (${String(v)}); synthesizeCase writes every field`);
}

function rec(v: unknown, what: string): Record<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw new Error(`synthetic case metadata: ${what} missing (synthesizeCase writes every field)`);
}

/** body outline: HU > -500, with enclosed low-HU regions (bowel/rectal gas) filled per slice */
export function bodyMask(hu: Float32Array, shape: Shape3): Uint8Array {
  const [ny, nx, nz] = shape;
  const body = new Uint8Array(hu.length);
  const outside = new Uint8Array(ny * nx);
  const stack: number[] = [];
  for (let k = 0; k < nz; k++) {
    outside.fill(0);
    const low = (p: number) => hu[p * nz + k] <= -500;
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        if (y !== 0 && x !== 0 && y !== ny - 1 && x !== nx - 1) continue;
        const p = y * nx + x;
        if (low(p) && !outside[p]) {
          outside[p] = 1;
          stack.push(p);
        }
      }
    while (stack.length) {
      const p = stack.pop()!;
      const y = Math.floor(p / nx);
      const x = p % nx;
      for (const [dy, dx] of [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ]) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || xx < 0 || yy >= ny || xx >= nx) continue;
        const q = yy * nx + xx;
        if (!outside[q] && low(q)) {
          outside[q] = 1;
          stack.push(q);
        }
      }
    }
    for (let p = 0; p < ny * nx; p++) body[p * nz + k] = outside[p] ? 0 : 1;
  }
  return body;
}

/**
 * The coarse dose grid: every `step` voxel over the bounding box of dose > 0 widened by one
 * coarse voxel, on multiples of the step (so its points are CT voxel centres). Where the dose
 * reaches the CT's edge, the grid runs past it (as clinical dose grids may) with the dose
 * extrapolated linearly from the edge, so every CT voxel lies well inside the grid.
 */
function doseGrid(dose: Float32Array, shape: Shape3, step: Shape3): { start: Shape3; shape: Shape3 } {
  const [ny, nx, nz] = shape;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let y = 0; y < ny; y++)
    for (let x = 0; x < nx; x++)
      for (let z = 0; z < nz; z++)
        if (dose[(y * nx + x) * nz + z] > 0) {
          const v = [y, x, z];
          for (let a = 0; a < 3; a++) {
            lo[a] = Math.min(lo[a], v[a]);
            hi[a] = Math.max(hi[a], v[a]);
          }
        }
  if (!(lo[0] <= hi[0])) return { start: [0, 0, 0], shape: [1, 1, 1] };
  const start = [0, 0, 0] as Shape3;
  const n = [0, 0, 0] as Shape3;
  for (let a = 0; a < 3; a++) {
    const s = step[a];
    const first = Math.floor(lo[a] / s) * s - s;
    const last = Math.ceil(hi[a] / s) * s + s;
    start[a] = first;
    n[a] = (last - first) / s + 1;
  }
  return { start, shape: n };
}

/** the datasets of one case (file name -> dataset), without writing them */
export function synthCaseDatasets(
  c: Case,
  opts: SynthDicomOptions,
): {
  datasets: Array<[string, DicomDataset]>;
  roiNames: Record<string, string>;
  doseGrid: SynthDicomResult['doseGrid'];
} {
  if (!c.dose) throw new Error(`synthetic DICOM ${c.id}: the case has no dose (synthesizeCase always plans one)`);
  const md = c.metadata;
  const synth = rec(md.synthetic, 'synthetic');
  const cohortSeed = String(synth.cohort_seed ?? '0');
  const seed = (what: string) => uidFromSeed(`synth-dicom:${cohortSeed}:${c.id}:${what}`);
  const date = SYNTH_DICOM_DATE;
  const time = SYNTH_DICOM_TIME;
  const sw = SYNTH_DICOM_SOFTWARE;
  const geometry: VolumeGeometry = centredGeometry(c.shape, c.spacingMm);
  const nz = c.shape[2];
  const ctx: DicomStudyContext = {
    patient: { PatientName: `SYNTH^${c.id}`, PatientID: c.id, PatientBirthDate: '19500101', PatientSex: 'M' },
    studyInstanceUid: seed('study'),
    studyDate: date,
    studyTime: time,
    studyId: '1',
    studyDescription: 'vmat-lab synthetic prostate VMAT',
    accessionNumber: '',
    frameOfReferenceUid: seed('frame-of-reference'),
  };
  const ctSeries = seed('ct-series');
  const sliceUids = Array.from({ length: nz }, (_, k) => seed(`ct-slice:${k}`));
  const out: Array<[string, DicomDataset]> = [];
  ctSeriesDatasets({
    ctx,
    geometry,
    hu: c.ct,
    seriesInstanceUid: ctSeries,
    sliceUids,
    date,
    time,
    softwareVersion: sw,
  }).forEach((d, k) => out.push([`CT.${c.id}.${String(k + 1).padStart(4, '0')}.dcm`, d]));

  // ---- RTSTRUCT
  const channels: Record<string, number> = {};
  for (const e of opts.mapping.channels) {
    const s = c.structureNames.find((nm) => nm.toLowerCase() === e.name.toLowerCase());
    if (s && c.masks.has(s)) channels[s] = e.index;
  }
  const roiNames = drawRoiNames(opts.mapping, channels, Rng.fromSeed(`synth-dicom:${cohortSeed}:${c.id}:roi-names`));
  const rois: RoiInput[] = [];
  for (const s of c.structureNames) {
    const m = c.masks.get(s);
    if (!m) continue;
    const name = roiNames[s] ?? s;
    roiNames[s] = name;
    rois.push({
      name,
      mask: m,
      interpretedType: s.startsWith('PTV') ? 'PTV' : 'ORGAN',
      color: COLORS[s] ?? [200, 200, 200],
    });
  }
  rois.push({ name: 'BODY', mask: bodyMask(c.ct, c.shape), interpretedType: 'EXTERNAL', color: COLORS.BODY });
  const rsUid = seed('rtstruct');
  out.push([
    `RS.${c.id}.dcm`,
    rtStructDataset({
      ctx,
      geometry,
      ctSeriesInstanceUid: ctSeries,
      ctSliceUids: sliceUids,
      rois,
      seriesInstanceUid: seed('rtstruct-series'),
      sopInstanceUid: rsUid,
      label: 'SYNTH',
      date,
      time,
      softwareVersion: sw,
    }),
  ]);

  // ---- RTPLAN
  const bg = rec(md.beam_geometry, 'beam_geometry');
  const beam = rec((bg.beams as unknown[])[0], 'beam_geometry.beams[0]');
  const cpd = rec(beam.control_point_data, 'control_point_data');
  const arr = (k: string) => (cpd[k] as unknown[]).map((v, i) => num(v, `${k}[${i}]`));
  const angles = arr('gantry_angles');
  const cum = arr('cumulative_meterset_weight');
  const jaws = ['jaw_x1', 'jaw_x2', 'jaw_y1', 'jaw_y2'].map(arr);
  const rates = arr('dose_rates');
  const mlcA = c.extras?.get('beam0_mlc_a');
  const mlcB = c.extras?.get('beam0_mlc_b');
  if (!mlcA || !mlcB)
    throw new Error(
      `synthetic DICOM ${c.id}: the case has no beam0_mlc_a/b arrays (synthesizeCase always stores them)`,
    );
  const K = angles.length;
  const pairs = mlcA.shape[1];
  if (pairs !== LEAF_BOUNDARIES.length - 1)
    throw new Error(
      `synthetic DICOM ${c.id}: ${pairs} leaf pairs, expected ${LEAF_BOUNDARIES.length - 1} (the synthetic MLC model and LEAF_BOUNDARIES must agree)`,
    );
  // DICOM: 0 at the first control point, 1 at the last
  const span = cum[K - 1] - cum[0] || 1;
  const cps: ControlPointInput[] = angles.map((g, k) => ({
    gantryAngleDeg: g,
    cumulativeWeight: Math.round(((cum[k] - cum[0]) / span) * 1e6) / 1e6,
    jaws: [jaws[0][k], jaws[1][k], jaws[2][k], jaws[3][k]],
    mlcA: (mlcA.data as Float32Array).subarray(k * pairs, (k + 1) * pairs),
    mlcB: (mlcB.data as Float32Array).subarray(k * pairs, (k + 1) * pairs),
    doseRate: rates[k],
  }));
  const iso = (synth.iso_mm as unknown[]).map((v, i) => num(v, `iso_mm[${i}]`));
  const rpUid = seed('rtplan');
  const roiNumber = (s: string) => rois.findIndex((r) => r.name === roiNames[s]) + 1;
  const targets = [...c.prescriptions]
    .sort((a, b) => b.doseGy - a.doseGy)
    .map((p) => ({
      roiName: roiNames[p.structure] ?? p.structure,
      roiNumber: roiNumber(p.structure),
      doseGy: p.doseGy,
    }));
  out.push([
    `RP.${c.id}.dcm`,
    rtPlanDataset({
      ctx,
      seriesInstanceUid: seed('rtplan-series'),
      sopInstanceUid: rpUid,
      structureSetUid: rsUid,
      label: 'SYNTH_VMAT',
      targets,
      fractions: SYNTH_FRACTIONS,
      beams: [
        {
          name: 'ARC1',
          leafBoundaries: LEAF_BOUNDARIES,
          // iso_mm is (Y, X, Z) about the grid centre = patient (y, x, z)
          isocentreMm: [iso[1], iso[0], iso[2]],
          rotation: 'CW',
          energyMv: 6,
          meterset: 600,
          controlPoints: cps,
        },
      ],
      date,
      time,
      softwareVersion: sw,
    }),
  ]);

  // ---- RTDOSE on the coarse grid
  const step = opts.doseGridStep ?? ([2, 2, 1] as Shape3);
  const dg = doseGrid(c.dose, c.shape, step);
  const dgeo = subGrid(geometry, dg.start, dg.shape, step);
  const coarse = new Float32Array(dg.shape[0] * dg.shape[1] * dg.shape[2]);
  const [ny, nx] = c.shape;
  const dose = c.dose;
  const at = (y: number, x: number, z: number) => dose[(y * nx + x) * nz + z];
  const dims = [ny, nx, nz];
  let i = 0;
  for (let y = 0; y < dg.shape[0]; y++)
    for (let x = 0; x < dg.shape[1]; x++)
      for (let z = 0; z < dg.shape[2]; z++) {
        const idx = [dg.start[0] + y * step[0], dg.start[1] + x * step[1], dg.start[2] + z * step[2]];
        const cl = idx.map((v, a) => Math.min(dims[a] - 1, Math.max(0, v)));
        // past the CT's edge: linear extrapolation from the last two voxels along each axis,
        // so a resampled CT voxel between the last grid point inside and the first outside gets
        // a value close to its own
        let v = at(cl[0], cl[1], cl[2]);
        for (let a = 0; a < 3; a++) {
          const over = idx[a] - cl[a];
          if (over === 0 || dims[a] < 2) continue;
          const inner = [...cl];
          inner[a] -= Math.sign(over);
          v += Math.abs(over) * (at(cl[0], cl[1], cl[2]) - at(inner[0], inner[1], inner[2]));
        }
        coarse[i++] = Math.max(0, v);
      }
  out.push([
    `RD.${c.id}.dcm`,
    rtDoseDataset({
      ctx,
      geometry: dgeo,
      doseGy: coarse,
      seriesInstanceUid: seed('rtdose-series'),
      sopInstanceUid: seed('rtdose'),
      seriesDescription: 'Planned dose',
      referencedPlanUid: rpUid,
      date,
      time,
      softwareVersion: sw,
    }),
  ]);
  return {
    datasets: out,
    roiNames,
    doseGrid: { shape: dg.shape, spacingMm: dgeo.spacingMm, startVoxel: dg.start, step },
  };
}

/**
 * Writes one case as `<outDir>/<case id>/` (the folder appears whole or not at all) and returns
 * the file names, ROI names and dose grid.
 */
export async function writeSynthCaseDicom(c: Case, outDir: string, opts: SynthDicomOptions): Promise<SynthDicomResult> {
  const { datasets, roiNames, doseGrid: grid } = synthCaseDatasets(c, opts);
  const dir = path.join(outDir, c.id);
  await withAtomicDir(dir, async (tmp) => {
    for (const [name, ds] of datasets) await fs.promises.writeFile(path.join(tmp, name), encodePart10(ds));
  });
  return { dir, files: datasets.map(([n]) => n), roiNames, doseGrid: grid };
}
