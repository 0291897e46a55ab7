/**
 * RTDOSE (spec 2.2 step 7): `dose = float32(pixel) × float32(DoseGridScaling)` in Gy, frame z =
 * ImagePositionPatient z + GridFrameOffsetVector[i], frames sorted by z, Δz = mean frame step.
 * Errors (DataError naming file and tag): no DoseGridScaling, a single-frame grid (the reference
 * requires a 3-D `pixel_array`), GridFrameOffsetVector missing or of the wrong length, an oblique
 * orientation, a FrameOfReferenceUID different from the CT's.
 */
import { DataError } from '../core/errors';
import { axisOrientation, inPlaneSpacing, type PixelSpacingOrder } from './ct_series';
import { type DicomFile, numberOf, numbersOf, requireNumbers, stringOf, tagLabel } from './dicom_file';
import { npDiff, npMean } from '../stats/npsum';
import { decodePixelData } from './pixel_data';

/** A dose grid in Gy, frames sorted by z. */
export interface DoseGrid {
  file: string;
  /** float32 Gy, shape (frames, rows, columns) C order */
  dose: Float32Array;
  frames: number;
  rows: number;
  columns: number;
  /** ImagePositionPatient x, y of the grid and z of the lowest frame (mm), after reorientation */
  origin: [number, number, number];
  /** PixelSpacing [row spacing, column spacing] (mm) */
  pixelSpacing: [number, number];
  /** frame z positions, ascending (mm) */
  zPositions: Float64Array;
  /** numpy mean of the frame steps (mm) */
  dz: number;
  frameOfReferenceUid: string | null;
  warnings: string[];
}

export interface DoseGridOptions {
  reorient?: boolean;
  spacingOrder?: PixelSpacingOrder;
}

/** Reads an RTDOSE file and checks its frame of reference against the CT's (when both are known). */
export function readDoseGrid(
  f: DicomFile,
  ctFrameUid: string | null,
  ctFile: string,
  opts: DoseGridOptions = {},
): DoseGrid {
  const warnings: string[] = [];
  const frame = stringOf(f.ds, 'FrameOfReferenceUID');
  if (ctFrameUid && frame && frame !== ctFrameUid) {
    throw new DataError(
      f.file,
      tagLabel('FrameOfReferenceUID'),
      `the CT's FrameOfReferenceUID ${ctFrameUid} (${ctFile})`,
      frame,
    );
  }
  const scaling = numberOf(f.ds, 'DoseGridScaling');
  if (scaling === null || !Number.isFinite(scaling)) {
    throw new DataError(
      f.file,
      tagLabel('DoseGridScaling'),
      'DoseGridScaling (Gy per stored value)',
      scaling === null ? 'missing' : String(f.ds.DoseGridScaling),
    );
  }
  const { pixels, geometry } = decodePixelData(f);
  const { rows, columns, frames } = geometry;
  if (frames < 2)
    throw new DataError(
      f.file,
      tagLabel('NumberOfFrames'),
      'a 3-D dose grid (more than one frame), as the reference requires',
      `${frames} frame`,
    );
  const ipp = requireNumbers(f, 'ImagePositionPatient', 3);
  const ps = requireNumbers(f, 'PixelSpacing', 2);
  if (ps.some((v) => !(v > 0)))
    throw new DataError(f.file, tagLabel('PixelSpacing'), 'positive spacing (mm)', JSON.stringify(ps));
  const offsets = numbersOf(f.ds, 'GridFrameOffsetVector');
  if (!offsets)
    throw new DataError(
      f.file,
      tagLabel('GridFrameOffsetVector'),
      `${frames} frame offsets (mm)`,
      'missing (multi-frame dose without GridFrameOffsetVector)',
    );
  if (offsets.length !== frames || offsets.some((v) => !Number.isFinite(v))) {
    throw new DataError(
      f.file,
      tagLabel('GridFrameOffsetVector'),
      `${frames} frame offsets (one per frame)`,
      `${offsets.length} values`,
    );
  }
  if (offsets[0] !== 0)
    warnings.push(
      `${f.file}: ${tagLabel('GridFrameOffsetVector')} starts at ${offsets[0]}, read as relative to ImagePositionPatient z (as the reference)`,
    );
  const units = stringOf(f.ds, 'DoseUnits');
  if (units && units.toUpperCase() !== 'GY')
    warnings.push(`${f.file}: DoseUnits ${units} (read as Gy, as the reference)`);
  const iop = numbersOf(f.ds, 'ImageOrientationPatient');
  const origin: [number, number, number] = [ipp[0], ipp[1], ipp[2]];
  const scale = Math.fround(scaling);
  const n = rows * columns;
  const raw = new Float32Array(frames * n);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.fround(pixels[i]) * scale;
  if (iop && iop.length === 6) {
    const o = axisOrientation(iop, f.file);
    if (o.xSign < 0 || o.ySign < 0) {
      if (opts.reorient) {
        const sp = inPlaneSpacing(ps, opts.spacingOrder ?? 'reference');
        for (let k = 0; k < frames; k++) {
          for (let r = 0; r < rows; r++) {
            const rowStart = k * n + r * columns;
            if (o.xSign < 0) raw.subarray(rowStart, rowStart + columns).reverse();
          }
          if (o.ySign < 0) {
            for (let r = 0; r < rows >> 1; r++) {
              const a = raw.slice(k * n + r * columns, k * n + (r + 1) * columns);
              raw.copyWithin(k * n + r * columns, k * n + (rows - 1 - r) * columns, k * n + (rows - r) * columns);
              raw.set(a, k * n + (rows - 1 - r) * columns);
            }
          }
        }
        if (o.xSign < 0) origin[0] -= (columns - 1) * sp.x;
        if (o.ySign < 0) origin[1] -= (rows - 1) * sp.y;
        warnings.push(
          `${f.file}: RTDOSE ImageOrientationPatient [${iop.join(', ')}] reoriented to identity (--reorient)`,
        );
      } else {
        warnings.push(
          `${f.file}: RTDOSE ImageOrientationPatient [${iop.join(', ')}] is not the identity; treated as identity like the reference (use --reorient)`,
        );
      }
    }
  }
  const z = offsets.map((o) => ipp[2] + o);
  const order = z.map((_, i) => i).sort((a, b) => z[a] - z[b] || a - b);
  let dose = raw;
  if (order.some((v, i) => v !== i)) {
    dose = new Float32Array(raw.length);
    order.forEach((src, dst) => dose.set(raw.subarray(src * n, (src + 1) * n), dst * n));
  }
  const zPositions = Float64Array.from(order.map((i) => z[i]));
  origin[2] = zPositions[0];
  return {
    file: f.file,
    dose,
    frames,
    rows,
    columns,
    origin,
    pixelSpacing: [ps[0], ps[1]],
    zPositions,
    dz: npMean(npDiff(zPositions)),
    frameOfReferenceUid: frame,
    warnings,
  };
}
