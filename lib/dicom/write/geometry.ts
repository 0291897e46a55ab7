/**
 * The geometry of a volume in the DICOM patient coordinate system, for head-first-supine axial
 * images (ImageOrientationPatient [1,0,0, 0,1,0]): array axes (Y, X, Z) = (row, column, slice),
 * row r / column c / slice k at patient position
 *   x = originMm[0] + c * spacingMm[1],  y = originMm[1] + r * spacingMm[0],  z = originMm[2] + k * spacingMm[2].
 * `spacingMm` is in array-axis order (Y, X, Z) like Case.spacingMm, so DICOM PixelSpacing (row
 * spacing, column spacing) = [spacingMm[0], spacingMm[1]] (PS3.3 C.7.6.2.1.1).
 */
import type { Shape3 } from '../../core/shape';

export interface VolumeGeometry {
  /** (rows, columns, slices) */
  shape: Shape3;
  /** (row spacing = Y, column spacing = X, slice spacing = Z) in mm */
  spacingMm: Shape3;
  /** patient position (x, y, z) in mm of the centre of voxel (0, 0, 0): ImagePositionPatient of the first slice */
  originMm: [number, number, number];
}

/** ImageOrientationPatient of head-first supine: rows along +x, columns along +y (patient LPS). */
export const HFS_ORIENTATION = [1, 0, 0, 0, 1, 0];

/** patient z (mm) of slice k */
export function sliceZ(g: VolumeGeometry, k: number): number {
  return g.originMm[2] + k * g.spacingMm[2];
}

/**
 * The geometry of the sub-grid that takes every `step`-th voxel along each axis from `start`
 * (voxel indices in `g`) for `shape` voxels: its voxel centres are voxel centres of `g`.
 */
export function subGrid(g: VolumeGeometry, start: Shape3, shape: Shape3, step: Shape3 = [1, 1, 1]): VolumeGeometry {
  return {
    shape,
    spacingMm: [g.spacingMm[0] * step[0], g.spacingMm[1] * step[1], g.spacingMm[2] * step[2]],
    originMm: [
      g.originMm[0] + start[1] * g.spacingMm[1],
      g.originMm[1] + start[0] * g.spacingMm[0],
      g.originMm[2] + start[2] * g.spacingMm[2],
    ],
  };
}

/** a geometry whose grid centre is at patient (0, 0, 0) */
export function centredGeometry(shape: Shape3, spacingMm: Shape3): VolumeGeometry {
  return {
    shape,
    spacingMm,
    originMm: [
      (-(shape[1] - 1) / 2) * spacingMm[1],
      (-(shape[0] - 1) / 2) * spacingMm[0],
      (-(shape[2] - 1) / 2) * spacingMm[2],
    ],
  };
}
