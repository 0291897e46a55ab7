/**
 * Signed distance field of a binary mask exactly as the reference preprocessing (spec 1.4):
 * `sdf = EDT(~mask) − EDT(mask)` in mm with `scipy.ndimage.distance_transform_edt(…, sampling=
 * spacing)`, clipped to ±clipMm and divided by clipMm → [−1, 1], negative inside. Computed on
 * the (cropped) grid as given, so truncated structures are measured to the grid boundary.
 */
import type { Shape3 } from '../core/shape';
import { squaredDistanceToFeatures } from './edt';

/** reference default `--sdf_clip_mm` */
export const DEFAULT_SDF_CLIP_MM = 50;

/** SDF value the reference stores for an absent (empty) structure: v2.3 → +1.0, v2.4 → 0.0 */
export function absentSdfValue(layout: 'v2.3' | 'v2.4'): number {
  return layout === 'v2.3' ? 1 : 0;
}

/**
 * `clip(EDT(~mask) − EDT(mask), −clipMm, clipMm) / clipMm` as float32 (spec 1.4).
 * An empty mask gives +1 everywhere and a full mask −1 everywhere (the clipped limits);
 * callers that need the v2.4 absent convention (0.0) apply it themselves (see absentSdfValue).
 */
export function signedDistanceField(
  mask: Uint8Array,
  shape: Shape3,
  spacingMm: Shape3,
  clipMm = DEFAULT_SDF_CLIP_MM,
): Float32Array {
  const N = shape[0] * shape[1] * shape[2];
  if (mask.length !== N)
    throw new Error(
      `signedDistanceField: mask has ${mask.length} voxels, shape ${shape.join('x')} needs ${N} (callers pass a C-order mask of that shape)`,
    );
  if (!(clipMm > 0))
    throw new Error(
      `signedDistanceField: clipMm must be > 0, got ${clipMm} (--sdf-clip-mm and case metadata are checked before)`,
    );
  // EDT(~mask) at an outside voxel = distance to the nearest mask voxel (features = mask)
  const outside = squaredDistanceToFeatures(mask, shape, spacingMm);
  const bg = new Uint8Array(N);
  for (let i = 0; i < N; i++) bg[i] = mask[i] ? 0 : 1;
  // EDT(mask) at an inside voxel = distance to the nearest background voxel
  const inside = squaredDistanceToFeatures(bg, shape, spacingMm);
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const v = mask[i] ? -Math.sqrt(inside[i]) : Math.sqrt(outside[i]);
    out[i] = (v > clipMm ? clipMm : v < -clipMm ? -clipMm : v) / clipMm;
  }
  return out;
}
