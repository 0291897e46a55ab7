/**
 * RTSTRUCT: ROIs and their planar contours, matched to the mapping's channels (spec 1.6) and
 * rasterised on the CT grid as the reference does (spec 2.2 step 4):
 * - a contour goes to the CT slice nearest to its first point's z;
 * - points to pixels with that slice's own ImagePositionPatient and PixelSpacing:
 *   `col = (x − IPPx) / PixelSpacing[0]`, `row = (y − IPPy) / PixelSpacing[1]` (the reference's
 *   x/row-spacing mix-up; `spacingOrder: 'correct'` uses PixelSpacing[1] for x);
 * - filled like `skimage.draw.polygon` (polygon_fill.ts), clipped to the image;
 * - fills OR-ed (holes and inner contours filled), or with `fill: 'even-odd'` XOR-ed per ROI and
 *   slice so inner contours cut holes.
 * Masks are kept sparse (only slices with contours) because the full-grid channel stack of a
 * 512 × 512 × 200 CT would take 470 MB; the crop box needs only per-slice data.
 */
import { DataError } from '../core/errors';
import { type PixelSpacingOrder, type CtSeries, inPlaneSpacing } from './ct_series';
import { type Dataset, type DicomFile, numberOf, numbersOf, sequenceOf, stringOf, tagLabel } from './dicom_file';
import { fillPolygon } from './polygon_fill';
import { type OarMapping, normaliseRoiName } from './roi_mapping';

/** One contour: its points (x, y, z triplets in mm) and geometric type. */
export interface RoiContour {
  points: Float64Array;
  type: string | null;
}

/** One ROI of StructureSetROISequence with its contours from ROIContourSequence. */
export interface StructureRoi {
  number: number;
  name: string;
  referencedFrameUid: string | null;
  /** null when ROIContourSequence has no item for this ROI; [] when the item has no ContourSequence */
  contours: RoiContour[] | null;
}

/** A parsed RTSTRUCT. */
export interface StructureSet {
  file: string;
  /** in StructureSetROISequence order */
  rois: StructureRoi[];
  /** FrameOfReferenceUIDs listed in ReferencedFrameOfReferenceSequence */
  referencedFrameUids: string[];
  /** a top-level FrameOfReferenceUID (not part of the RTSTRUCT IOD, but some writers add it) */
  frameOfReferenceUid: string | null;
}

/** Reads the ROIs and contours of an RTSTRUCT file. */
export function readStructureSet(f: DicomFile): StructureSet {
  const roiSeq = sequenceOf(f.ds, 'StructureSetROISequence');
  if (!roiSeq.length)
    throw new DataError(
      f.file,
      tagLabel('StructureSetROISequence'),
      'an RTSTRUCT with ROIs',
      'no StructureSetROISequence items',
    );
  const contourItems = sequenceOf(f.ds, 'ROIContourSequence');
  const rois = roiSeq.map((item, i): StructureRoi => {
    const number = numberOf(item, 'ROINumber');
    if (number === null || !Number.isFinite(number))
      throw new DataError(f.file, `${tagLabel('ROINumber')} of item ${i + 1}`, 'an ROI number', 'missing');
    // the reference takes the first ROIContourSequence item with this ReferencedROINumber
    const item2 = contourItems.find((c) => numberOf(c, 'ReferencedROINumber') === number);
    return {
      number,
      name: stringOf(item, 'ROIName') ?? '',
      referencedFrameUid: stringOf(item, 'ReferencedFrameOfReferenceUID'),
      contours: item2 ? readContours(f, item2, number) : null,
    };
  });
  return {
    file: f.file,
    rois,
    referencedFrameUids: sequenceOf(f.ds, 'ReferencedFrameOfReferenceSequence')
      .map((it) => stringOf(it, 'FrameOfReferenceUID'))
      .filter((u): u is string => !!u),
    frameOfReferenceUid: stringOf(f.ds, 'FrameOfReferenceUID'),
  };
}

function readContours(f: DicomFile, item: Dataset, roiNumber: number): RoiContour[] {
  return sequenceOf(item, 'ContourSequence').map((c, k) => {
    const pts = numbersOf(c, 'ContourData') ?? [];
    if (pts.length === 0 || pts.length % 3 !== 0 || pts.some((v) => !Number.isFinite(v))) {
      throw new DataError(
        f.file,
        `${tagLabel('ContourData')} of ROI ${roiNumber}, contour ${k + 1}`,
        'x, y, z triplets (mm)',
        `${pts.length} values`,
      );
    }
    return { points: Float64Array.from(pts), type: stringOf(c, 'ContourGeometricType') };
  });
}

/** Which ROIs each channel gets, and the ROIs no channel takes (for QA reports). */
export interface RoiMatch {
  /** per channel (mapping order): matched ROIs in StructureSetROISequence order */
  channels: StructureRoi[][];
  unmatched: StructureRoi[];
}

/** Matches ROI names to channels as the reference does (normalised exact match; every match unioned). */
export function matchRois(ss: StructureSet, mapping: OarMapping): RoiMatch {
  const used = new Set<StructureRoi>();
  const channels = mapping.channels.map((ch) =>
    ss.rois.filter((roi) => {
      const hit = ch.normalised.has(normaliseRoiName(roi.name));
      if (hit) used.add(roi);
      return hit;
    }),
  );
  return { channels, unmatched: ss.rois.filter((r) => !used.has(r)) };
}

/**
 * DataError when the RTSTRUCT's frame of reference differs from the CT's: its top-level
 * FrameOfReferenceUID (if any), ReferencedFrameOfReferenceSequence (the CT's must be listed when
 * the sequence is present) and the ReferencedFrameOfReferenceUID of every ROI in `rois`.
 */
export function checkStructureFrame(
  ss: StructureSet,
  ctFrameUid: string | null,
  ctFile: string,
  rois: StructureRoi[],
): void {
  if (!ctFrameUid) return;
  const mismatch = (key: string, found: string): never => {
    throw new DataError(ss.file, key, `the CT's FrameOfReferenceUID ${ctFrameUid} (${ctFile})`, found);
  };
  if (ss.frameOfReferenceUid && ss.frameOfReferenceUid !== ctFrameUid)
    mismatch(tagLabel('FrameOfReferenceUID'), ss.frameOfReferenceUid);
  if (ss.referencedFrameUids.length && !ss.referencedFrameUids.includes(ctFrameUid)) {
    mismatch(
      `${tagLabel('ReferencedFrameOfReferenceSequence')} > FrameOfReferenceUID`,
      ss.referencedFrameUids.join(', '),
    );
  }
  for (const roi of rois) {
    if (roi.referencedFrameUid && roi.referencedFrameUid !== ctFrameUid) {
      mismatch(
        `${tagLabel('ReferencedFrameOfReferenceUID')} of ROI '${roi.name}' (${roi.number})`,
        roi.referencedFrameUid,
      );
    }
  }
}

/** A binary mask on the CT grid stored per slice: slice index → rows × columns 0/1. */
export type SparseMask = Map<number, Uint8Array>;

/** Options of rasteriseChannels. */
export interface RasterOptions {
  /** 'or' (reference: fills OR-ed, holes filled) | 'even-odd' (XOR per ROI and slice) */
  fill?: 'or' | 'even-odd';
  spacingOrder?: PixelSpacingOrder;
}

/** index of the slice nearest to z (first of equals, as np.argmin) */
export function nearestSlice(sliceZ: Float64Array, z: number): number {
  let best = 0;
  let bestD = Math.abs(sliceZ[0] - z);
  for (let i = 1; i < sliceZ.length; i++) {
    const d = Math.abs(sliceZ[i] - z);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/**
 * DataError when every point of a contour lies outside the CT: in-plane outside the image
 * ([−0.5, n − 0.5] pixels from the slice's position, with the same spacing convention as the
 * fill) or more than half a slice beyond the first or last slice (issue 14 contract).
 */
function checkContourInside(
  ct: CtSeries,
  ssFile: string,
  roi: StructureRoi,
  k: number,
  pts: Float64Array,
  order: PixelSpacingOrder,
): void {
  const n = pts.length / 3;
  const half = Number.isFinite(ct.dz) ? Math.abs(ct.dz) / 2 : Infinity;
  const zLo = ct.sliceZ[0] - half;
  const zHi = ct.sliceZ[ct.sliceZ.length - 1] + half;
  const s = ct.slices[nearestSlice(ct.sliceZ, pts[2])];
  const sp = inPlaneSpacing(s.pixelSpacing, order);
  for (let i = 0; i < n; i++) {
    const col = (pts[3 * i] - s.position[0]) / sp.x;
    const row = (pts[3 * i + 1] - s.position[1]) / sp.y;
    const z = pts[3 * i + 2];
    if (col >= -0.5 && col <= ct.columns - 0.5 && row >= -0.5 && row <= ct.rows - 0.5 && z >= zLo && z <= zHi) return;
  }
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (let i = 0; i < n; i++) {
    xmin = Math.min(xmin, pts[3 * i]);
    xmax = Math.max(xmax, pts[3 * i]);
    ymin = Math.min(ymin, pts[3 * i + 1]);
    ymax = Math.max(ymax, pts[3 * i + 1]);
  }
  const x0 = s.position[0] - 0.5 * sp.x;
  const y0 = s.position[1] - 0.5 * sp.y;
  const r = (v: number) => +v.toFixed(2);
  throw new DataError(
    ssFile,
    `${tagLabel('ContourData')} of ROI '${roi.name}' (ROINumber ${roi.number}), contour ${k + 1}`,
    `a contour inside the CT (x ${r(x0)}..${r(x0 + ct.columns * sp.x)} mm, y ${r(y0)}..${r(y0 + ct.rows * sp.y)} mm, z ${r(zLo)}..${r(zHi)} mm)`,
    `all ${n} points outside (x ${r(xmin)}..${r(xmax)} mm, y ${r(ymin)}..${r(ymax)} mm, z ${r(pts[2])} mm)${
      ct.orientationAssumed
        ? "; the CT's ImageOrientationPatient is not the identity and was treated as identity: use --reorient"
        : ''
    }`,
  );
}

/**
 * Rasterises the matched ROIs of every channel onto the CT grid (sparse per slice). A contour
 * entirely outside the CT is a DataError naming the ROI; an ROI whose contour item is missing
 * or empty gives a warning and nothing (the reference fails the whole case on a missing
 * ContourSequence; an empty ROI is common in clinical exports, so vmat only warns).
 */
export function rasteriseChannels(
  ss: StructureSet,
  match: RoiMatch,
  ct: CtSeries,
  opts: RasterOptions = {},
): { masks: SparseMask[]; warnings: string[] } {
  const order = opts.spacingOrder ?? 'reference';
  const evenOdd = opts.fill === 'even-odd';
  const warnings: string[] = [];
  const R = ct.rows;
  const C = ct.columns;
  const masks = match.channels.map((rois) => {
    const mask: SparseMask = new Map();
    for (const roi of rois) {
      if (!roi.contours || roi.contours.length === 0) {
        warnings.push(`${ss.file}: ROI '${roi.name}' (${roi.number}) has no contours`);
        continue;
      }
      // even-odd: this ROI's own per-slice parity, OR-ed into the channel afterwards
      const own: SparseMask = evenOdd ? new Map() : mask;
      roi.contours.forEach((c, k) => {
        const pts = c.points;
        checkContourInside(ct, ss.file, roi, k, pts, order);
        const n = pts.length / 3;
        const zi = nearestSlice(ct.sliceZ, pts[2]);
        const s = ct.slices[zi];
        const sp = inPlaneSpacing(s.pixelSpacing, order);
        const rr = new Float64Array(n);
        const cc = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          cc[i] = (pts[3 * i] - s.position[0]) / sp.x;
          rr[i] = (pts[3 * i + 1] - s.position[1]) / sp.y;
        }
        let plane = own.get(zi);
        if (!plane) {
          plane = new Uint8Array(R * C);
          own.set(zi, plane);
        }
        const p = plane;
        if (evenOdd) fillPolygon(rr, cc, R, C, (row, col) => (p[row * C + col] ^= 1));
        else fillPolygon(rr, cc, R, C, (row, col) => (p[row * C + col] = 1));
      });
      if (evenOdd) {
        for (const [zi, plane] of own) {
          let dst = mask.get(zi);
          if (!dst) {
            dst = new Uint8Array(R * C);
            mask.set(zi, dst);
          }
          for (let i = 0; i < plane.length; i++) dst[i] |= plane[i];
        }
      }
    }
    return mask;
  });
  return { masks, warnings };
}

/** number of set voxels of a sparse mask */
export function sparseCount(m: SparseMask): number {
  let n = 0;
  for (const p of m.values()) for (let i = 0; i < p.length; i++) n += p[i];
  return n;
}
