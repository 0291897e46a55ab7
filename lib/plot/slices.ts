/**
 * 2-D views of (Y, X, Z) volumes in radiological orientation with physical coordinates (mm).
 *
 * Array axes (lib/data/case.ts): Y = rows anterior->posterior, X = columns patient right->left,
 * Z = slices. Reference npz slices ascend inferior->superior (DICOM z); OpenKBP slices run
 * superior->inferior. Views (fixing one index):
 *   axial    (z = k): horizontal X (patient right on the viewer's left), vertical Y (anterior up)
 *   coronal  (y = k): horizontal X (right on the left),                   vertical Z (superior up)
 *   sagittal (x = k): horizontal Y (anterior on the left),                vertical Z (superior up)
 * This fixes the reference figures, which ignored spacing and drew coronal/sagittal with swapped,
 * unlabelled axes (spec 9.2).
 */
import type { Shape3 } from '../data/case';

export type ViewName = 'axial' | 'coronal' | 'sagittal';
/** The three orthogonal views, in figure order. */
export const VIEWS: readonly ViewName[] = ['axial', 'coronal', 'sagittal'];

/** which way array z runs in the patient */
export type ZDirection = 'inferior-to-superior' | 'superior-to-inferior';

/** Which way array z runs in the patient for a case source (OpenKBP: superior to inferior; reference npz: inferior to superior). */
export function zDirectionOf(source: string): ZDirection {
  return source.startsWith('openkbp') ? 'superior-to-inferior' : 'inferior-to-superior';
}

export interface Slice2D {
  view: ViewName;
  /** index of the fixed axis */
  index: number;
  /** number of columns (horizontal) and rows (vertical) */
  width: number;
  height: number;
  /** row-major, row r = vertical coordinate r */
  values: Float32Array;
  /** coordinates (mm) of column and row centres */
  xMm: number[];
  yMm: number[];
  xLabel: string;
  yLabel: string;
  /** true when the vertical axis must be drawn reversed (row 0 at the top) */
  yReversed: boolean;
}

function coords(n: number, spacing: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(i * spacing * 100) / 100);
}

/** The fixed-axis index of a view: axial fixes z (axis 2), coronal y (axis 0), sagittal x (axis 1). */
export function viewAxis(view: ViewName): 0 | 1 | 2 {
  return view === 'axial' ? 2 : view === 'coronal' ? 0 : 1;
}

/**
 * One 2-D slice of a (Y, X, Z) C-order volume for display: axial (fixed z; horizontal X, vertical Y,
 * anterior up), coronal (fixed y; X by Z) or sagittal (fixed x; Y by Z, superior up); coordinates in mm.
 */
export function extractSlice(
  vol: ArrayLike<number>,
  shape: Shape3,
  spacingMm: Shape3,
  view: ViewName,
  index: number,
  zDirection: ZDirection = 'inferior-to-superior',
): Slice2D {
  const [ny, nx, nz] = shape;
  const at = (y: number, x: number, z: number) => vol[(y * nx + x) * nz + z];
  const supUp = zDirection === 'inferior-to-superior';
  const zLabel = supUp ? 'Inferior → Superior (mm)' : 'Superior → Inferior (mm)';
  if (view === 'axial') {
    const k = clampIndex(index, nz);
    const v = new Float32Array(ny * nx);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) v[y * nx + x] = at(y, x, k);
    return {
      view,
      index: k,
      width: nx,
      height: ny,
      values: v,
      xMm: coords(nx, spacingMm[1]),
      yMm: coords(ny, spacingMm[0]),
      xLabel: 'Patient right → left (mm)',
      yLabel: 'Anterior → Posterior (mm)',
      yReversed: true,
    };
  }
  if (view === 'coronal') {
    const k = clampIndex(index, ny);
    const v = new Float32Array(nz * nx);
    for (let z = 0; z < nz; z++) for (let x = 0; x < nx; x++) v[z * nx + x] = at(k, x, z);
    return {
      view,
      index: k,
      width: nx,
      height: nz,
      values: v,
      xMm: coords(nx, spacingMm[1]),
      yMm: coords(nz, spacingMm[2]),
      xLabel: 'Patient right → left (mm)',
      yLabel: zLabel,
      yReversed: !supUp,
    };
  }
  const k = clampIndex(index, nx);
  const v = new Float32Array(nz * ny);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) v[z * ny + y] = at(y, k, z);
  return {
    view,
    index: k,
    width: ny,
    height: nz,
    values: v,
    xMm: coords(ny, spacingMm[0]),
    yMm: coords(nz, spacingMm[2]),
    xLabel: 'Anterior → Posterior (mm)',
    yLabel: zLabel,
    yReversed: !supUp,
  };
}

function clampIndex(i: number, n: number): number {
  return Math.max(0, Math.min(n - 1, Math.round(i)));
}

/**
 * Integer mean of the mask's voxel indices (y, x, z) — the reference's "PTV70 centroid"
 * (spec 9.2) — or the volume centre when the mask is absent or empty.
 */
export function maskCentroid(mask: ArrayLike<number> | undefined, shape: Shape3): [number, number, number] {
  const [ny, nx, nz] = shape;
  if (mask) {
    let sy = 0,
      sx = 0,
      sz = 0,
      n = 0;
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        const row = (y * nx + x) * nz;
        for (let z = 0; z < nz; z++)
          if (mask[row + z]) {
            sy += y;
            sx += x;
            sz += z;
            n++;
          }
      }
    if (n > 0) return [Math.floor(sy / n), Math.floor(sx / n), Math.floor(sz / n)];
  }
  return [Math.floor(ny / 2), Math.floor(nx / 2), Math.floor(nz / 2)];
}

/** The slice index a view uses from a (y, x, z) point. */
export function indexForView(view: ViewName, point: [number, number, number]): number {
  return point[viewAxis(view)];
}

/**
 * Rows of a slice as nested arrays for a Plotly heatmap, with values failing `keep` set to null
 * (drawn transparent) and values rounded for compact JSON.
 */
export function sliceRows(
  s: Slice2D,
  keep: (v: number) => boolean = () => true,
  digits = 2,
): Array<Array<number | null>> {
  const f = 10 ** digits;
  const rows: Array<Array<number | null>> = [];
  for (let r = 0; r < s.height; r++) {
    const row: Array<number | null> = new Array(s.width);
    for (let c = 0; c < s.width; c++) {
      const v = s.values[r * s.width + c];
      row[c] = Number.isFinite(v) && keep(v) ? Math.round(v * f) / f : null;
    }
    rows.push(row);
  }
  return rows;
}
