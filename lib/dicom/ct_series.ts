/**
 * The CT series of a case (spec 2.2 step 1): slices sorted by ImagePositionPatient z, stored
 * values to HU (`pixel × RescaleSlope + RescaleIntercept` in float32, as numpy computes it),
 * spacing `[PixelSpacing[0], PixelSpacing[1], mean(diff(z))]`, the lowest slice's position.
 *
 * Checks the reference does not make (each a DataError naming the file and tag): one series
 * only, equal Rows/Columns/PixelSpacing/orientation on every slice, evenly spaced slices (a
 * missing or duplicated slice), an axis-aligned ImageOrientationPatient (oblique is refused).
 * A flipped axis-aligned orientation (HFP, FFS, FFP...) is, like the reference, treated as
 * identity with a warning, or with `reorient` flipped to identity (rows along +y, columns +x).
 *
 * Memory: slices are kept as their stored integer arrays (2 bytes/voxel for CT) and HU are made
 * only for the crop box (`ctHuVolume`).
 */
import { DataError } from '../core/errors';
import { type DicomFile, numberOf, numbersOf, readDicomFile, stringOf, tagLabel } from './dicom_file';
import { npDiff, npMean } from '../stats/npsum';
import { decodePixelData, type PixelArray } from './pixel_data';

/** x/y pixel spacing convention (spec 2.2, issue 14 contract): the reference uses PixelSpacing[0] (the row spacing) for x */
export type PixelSpacingOrder = 'reference' | 'correct';

/** in-plane (x, y) spacing in mm from DICOM PixelSpacing [row spacing, column spacing] */
export function inPlaneSpacing(ps: readonly number[], order: PixelSpacingOrder): { x: number; y: number } {
  return order === 'reference' ? { x: ps[0], y: ps[1] } : { x: ps[1], y: ps[0] };
}

/** One slice: its file, position, spacing, stored pixels (rows × columns) and rescale. */
export interface CtSlice {
  file: string;
  /** ImagePositionPatient (mm), after reorientation if requested */
  position: [number, number, number];
  /** PixelSpacing [row spacing, column spacing] (mm) */
  pixelSpacing: [number, number];
  pixels: PixelArray;
  slope: number;
  intercept: number;
}

/** The sorted CT series. Volumes built from it are (Y = row, X = column, Z = slice) in C order. */
export interface CtSeries {
  rows: number;
  columns: number;
  slices: CtSlice[];
  /** ImagePositionPatient z of each slice, ascending */
  sliceZ: Float64Array;
  /** PixelSpacing of the lowest slice [row, column] (mm) */
  pixelSpacing: [number, number];
  /** mean slice spacing (mm), numpy's mean(diff(z)); NaN for a single slice (as numpy) */
  dz: number;
  /** ImagePositionPatient of the lowest slice (mm) */
  position: [number, number, number];
  frameOfReferenceUid: string | null;
  seriesInstanceUid: string | null;
  /** min and max HU over the whole series (float32 values) */
  huMin: number;
  huMax: number;
  /** the orientation is a flipped one that was treated as identity (no reorientation) */
  orientationAssumed: boolean;
  warnings: string[];
}

export interface CtSeriesOptions {
  /** flip a flipped axis-aligned orientation to identity instead of assuming identity (default false) */
  reorient?: boolean;
  /** tolerance on direction cosines for "axis-aligned" (default 1e-3) */
  orientationTolerance?: number;
}

/** Orientation of an ImageOrientationPatient: identity, flipped axes, or unsupported. */
export interface AxisOrientation {
  /** +1 when columns run along +x, -1 along -x */
  xSign: 1 | -1;
  /** +1 when rows run along +y, -1 along -y */
  ySign: 1 | -1;
}

/**
 * Classifies ImageOrientationPatient: rows along ±x and columns along ±y give the signs; anything
 * else (oblique, or the axes swapped) is a DataError naming the file and tag.
 */
export function axisOrientation(iop: number[], file: string, tol = 1e-3): AxisOrientation {
  const [rx, ry, rz, cx, cy, cz] = iop;
  const near = (v: number, t: number): boolean => Math.abs(v - t) <= tol;
  const rowX = near(Math.abs(rx), 1) && near(ry, 0) && near(rz, 0);
  const colY = near(cx, 0) && near(Math.abs(cy), 1) && near(cz, 0);
  if (rowX && colY) return { xSign: rx > 0 ? 1 : -1, ySign: cy > 0 ? 1 : -1 };
  const axisAligned = iop.every((v) => near(Math.abs(v), 0) || near(Math.abs(v), 1));
  throw new DataError(
    file,
    tagLabel('ImageOrientationPatient'),
    'an axial ImageOrientationPatient (rows along ±x, columns along ±y, within 1e-3)',
    `[${iop.join(', ')}] (${axisAligned ? 'a non-axial (sagittal/coronal or transposed) orientation' : 'oblique'}; vmat does not resample oblique images)`,
  );
}

/** in-place flip of a rows × columns image along columns (x) and/or rows (y) */
function flipImage(p: PixelArray, rows: number, cols: number, flipX: boolean, flipY: boolean): void {
  if (flipX) for (let r = 0; r < rows; r++) p.subarray(r * cols, (r + 1) * cols).reverse();
  if (flipY) {
    for (let r = 0; r < rows >> 1; r++) {
      const a = p.slice(r * cols, (r + 1) * cols);
      p.copyWithin(r * cols, (rows - 1 - r) * cols, (rows - r) * cols);
      p.set(a, (rows - 1 - r) * cols);
    }
  }
}

function readSlice(f: DicomFile): {
  slice: CtSlice;
  iop: number[] | null;
  rows: number;
  cols: number;
  series: string | null;
  frame: string | null;
} {
  const ipp = numbersOf(f.ds, 'ImagePositionPatient');
  if (!ipp || ipp.length !== 3 || ipp.some((v) => !Number.isFinite(v))) {
    throw new DataError(
      f.file,
      tagLabel('ImagePositionPatient'),
      '3 numbers (mm)',
      ipp ? JSON.stringify(f.ds.ImagePositionPatient) : 'missing',
    );
  }
  const ps = numbersOf(f.ds, 'PixelSpacing');
  if (!ps || ps.length !== 2 || ps.some((v) => !(v > 0)))
    throw new DataError(
      f.file,
      tagLabel('PixelSpacing'),
      '2 positive numbers (mm)',
      ps ? JSON.stringify(f.ds.PixelSpacing) : 'missing',
    );
  const { pixels, geometry } = decodePixelData(f);
  if (geometry.frames !== 1)
    throw new DataError(f.file, tagLabel('NumberOfFrames'), '1 frame per CT slice', String(geometry.frames));
  const iop = numbersOf(f.ds, 'ImageOrientationPatient');
  return {
    slice: {
      file: f.file,
      position: [ipp[0], ipp[1], ipp[2]],
      pixelSpacing: [ps[0], ps[1]],
      pixels,
      slope: numberOf(f.ds, 'RescaleSlope') ?? 1,
      intercept: numberOf(f.ds, 'RescaleIntercept') ?? 0,
    },
    iop: iop && iop.length === 6 ? iop : null,
    rows: geometry.rows,
    cols: geometry.columns,
    series: stringOf(f.ds, 'SeriesInstanceUID'),
    frame: stringOf(f.ds, 'FrameOfReferenceUID'),
  };
}

/** relative tolerance on slice spacing before a gap or overlap is an error */
export const SLICE_SPACING_TOLERANCE = 0.05;

/**
 * Reads and checks the CT series from `files` (spec 2.2 step 1). `spacingOrder` decides which
 * PixelSpacing entry is x when reorienting (the flip moves the origin by (n−1) × spacing).
 */
export function loadCtSeries(
  files: string[],
  caseDir: string,
  opts: CtSeriesOptions & { spacingOrder?: PixelSpacingOrder } = {},
): CtSeries {
  if (!files.length)
    throw new DataError(caseDir, null, 'CT slices (files named CT*/ct*, searched recursively)', 'none');
  const warnings: string[] = [];
  const read = files.map((file) => readSlice(readDicomFile(file)));
  // one series
  const bySeries = new Map<string, string[]>();
  for (const r of read) {
    const k = r.series ?? '(no SeriesInstanceUID)';
    if (!bySeries.has(k)) bySeries.set(k, []);
    bySeries.get(k)!.push(r.slice.file);
  }
  if (bySeries.size > 1) {
    const desc = [...bySeries].map(([uid, fs]) => `${uid} (${fs.length} files, e.g. ${fs[0]})`).join('; ');
    throw new DataError(
      caseDir,
      tagLabel('SeriesInstanceUID'),
      'one CT series per case folder',
      `${bySeries.size} series: ${desc}`,
    );
  }
  const first = read[0];
  for (const r of read) {
    if (r.rows !== first.rows || r.cols !== first.cols) {
      throw new DataError(
        r.slice.file,
        `${tagLabel('Rows')}/${tagLabel('Columns')}`,
        `${first.rows} x ${first.cols} as ${first.slice.file}`,
        `${r.rows} x ${r.cols}`,
      );
    }
    if (
      Math.abs(r.slice.pixelSpacing[0] - first.slice.pixelSpacing[0]) > 1e-6 ||
      Math.abs(r.slice.pixelSpacing[1] - first.slice.pixelSpacing[1]) > 1e-6
    ) {
      throw new DataError(
        r.slice.file,
        tagLabel('PixelSpacing'),
        `[${first.slice.pixelSpacing.join(', ')}] as ${first.slice.file}`,
        `[${r.slice.pixelSpacing.join(', ')}]`,
      );
    }
    if (r.frame !== first.frame)
      throw new DataError(
        r.slice.file,
        tagLabel('FrameOfReferenceUID'),
        `${first.frame} as ${first.slice.file}`,
        String(r.frame),
      );
  }
  // orientation
  const tol = opts.orientationTolerance ?? 1e-3;
  const orient = first.iop
    ? axisOrientation(first.iop, first.slice.file, tol)
    : { xSign: 1 as const, ySign: 1 as const };
  if (!first.iop) warnings.push(`${first.slice.file}: no ${tagLabel('ImageOrientationPatient')}; identity assumed`);
  for (const r of read) {
    if (!r.iop) continue;
    const o = axisOrientation(r.iop, r.slice.file, tol);
    if (o.xSign !== orient.xSign || o.ySign !== orient.ySign) {
      throw new DataError(
        r.slice.file,
        tagLabel('ImageOrientationPatient'),
        `[${first.iop!.join(', ')}] as ${first.slice.file}`,
        `[${r.iop.join(', ')}]`,
      );
    }
  }
  const flipped = orient.xSign < 0 || orient.ySign < 0;
  if (flipped) {
    if (opts.reorient) {
      const order = opts.spacingOrder ?? 'reference';
      for (const r of read) {
        const sp = inPlaneSpacing(r.slice.pixelSpacing, order);
        flipImage(r.slice.pixels, r.rows, r.cols, orient.xSign < 0, orient.ySign < 0);
        if (orient.xSign < 0) r.slice.position[0] -= (r.cols - 1) * sp.x;
        if (orient.ySign < 0) r.slice.position[1] -= (r.rows - 1) * sp.y;
      }
      warnings.push(`CT ImageOrientationPatient [${first.iop!.join(', ')}]: reoriented to identity (--reorient)`);
    } else {
      warnings.push(
        `CT ImageOrientationPatient [${first.iop!.join(', ')}] is not the identity (HFS); treated as identity like the reference, so positions are mirrored (use --reorient)`,
      );
    }
  }
  // sort by z (numpy argsort; equal z are an error below)
  const order = read.map((r, i) => i).sort((a, b) => read[a].slice.position[2] - read[b].slice.position[2] || a - b);
  const slices = order.map((i) => read[i].slice);
  const sliceZ = Float64Array.from(slices.map((s) => s.position[2]));
  const d = npDiff(sliceZ);
  if (d.length) {
    const sorted = [...d].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    for (let i = 0; i < d.length; i++) {
      if (Math.abs(d[i]) < 1e-3) {
        throw new DataError(
          slices[i + 1].file,
          `${tagLabel('ImagePositionPatient')} z`,
          'one slice per position',
          `a duplicated slice: z = ${sliceZ[i + 1]} mm also in ${slices[i].file}`,
        );
      }
      if (Math.abs(d[i] - median) > Math.max(0.01, SLICE_SPACING_TOLERANCE * median)) {
        throw new DataError(
          slices[i + 1].file,
          `${tagLabel('ImagePositionPatient')} z`,
          `evenly spaced slices (${median} mm apart)`,
          `a gap of ${d[i].toFixed(4)} mm after z = ${sliceZ[i]} mm (${slices[i].file}): a missing slice or uneven spacing`,
        );
      }
    }
    const xy0 = slices[0].position;
    if (slices.some((s) => Math.abs(s.position[0] - xy0[0]) > 1e-3 || Math.abs(s.position[1] - xy0[1]) > 1e-3)) {
      warnings.push(
        `CT ${tagLabel('ImagePositionPatient')} x/y differ between slices (gantry tilt?); each slice's own position is used for its contours, the lowest slice's for the dose`,
      );
    }
  }
  let huMin = Infinity;
  let huMax = -Infinity;
  for (const s of slices) {
    const slope = Math.fround(s.slope);
    const icpt = Math.fround(s.intercept);
    // numpy: float32(pixel) * float32(slope) + float32(intercept), each rounded to float32; the
    // extremes of the stored values give the extremes of HU (slope > 0) — checked per value anyway
    for (let i = 0; i < s.pixels.length; i++) {
      const hu = Math.fround(Math.fround(Math.fround(s.pixels[i]) * slope) + icpt);
      if (hu < huMin) huMin = hu;
      if (hu > huMax) huMax = hu;
    }
  }
  return {
    rows: first.rows,
    columns: first.cols,
    slices,
    sliceZ,
    pixelSpacing: [slices[0].pixelSpacing[0], slices[0].pixelSpacing[1]],
    dz: d.length ? npMean(d) : NaN,
    position: [...slices[0].position],
    frameOfReferenceUid: first.frame,
    seriesInstanceUid: first.series,
    huMin,
    huMax,
    orientationAssumed: flipped && !opts.reorient,
    warnings,
  };
}

/**
 * HU (float32) of the box [y0, y1) × [x0, x1) × [z0, z1) of the series, shape (Y, X, Z) C order.
 */
export function ctHuVolume(
  ct: CtSeries,
  box: { y0: number; y1: number; x0: number; x1: number; z0: number; z1: number },
): Float32Array {
  const ny = box.y1 - box.y0;
  const nx = box.x1 - box.x0;
  const nz = box.z1 - box.z0;
  const out = new Float32Array(ny * nx * nz);
  for (let k = 0; k < nz; k++) {
    const s = ct.slices[box.z0 + k];
    const slope = Math.fround(s.slope);
    const icpt = Math.fround(s.intercept);
    for (let y = 0; y < ny; y++) {
      const src = (box.y0 + y) * ct.columns + box.x0;
      let dst = y * nx * nz + k;
      for (let x = 0; x < nx; x++, dst += nz) out[dst] = Math.fround(Math.fround(s.pixels[src + x]) * slope) + icpt;
    }
  }
  return out;
}
