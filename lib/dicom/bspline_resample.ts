/**
 * Cubic B-spline resampling of a dose grid onto the CT grid, equal to what the reference gets
 * from SimpleITK (`ResampleImageFilter`, `sitkBSpline`, identity transform and directions,
 * default value 0; spec 2.2 step 8):
 * - coefficients: ITK's BSplineDecompositionImageFilter (Unser 1999, pole √3 − 2, gain 6,
 *   mirror-boundary causal initialisation truncated at the 1e-10 horizon, anticausal
 *   initialisation per Unser's erratum), along x, then y, then z, in float64;
 * - evaluation: ITK's BSplineInterpolateImageFunction (order 3: support floor(x) − 1 … + 2,
 *   weights w³/6 …, whole-sample mirror of indices outside the grid — so a point within half a
 *   voxel beyond the outermost voxel centre gets a mirror-extrapolated value);
 * - a point whose continuous index is outside [−0.5, n − 0.5) on any axis (ITK's
 *   `IsInsideBuffer`) gets 0; continuous indices follow ITK's linear path: along a CT row x is
 *   interpolated between the row's start and one-past-end points, `cx = s·(1 − i/n) + e·i/n`.
 * Output float32 (the dose image's pixel type).
 *
 * Hand-written: no npm package does ITK-compatible B-spline resampling (SimpleITK/ITK have no JS
 * build that runs here). Because both grids are axis-aligned, the 4×4×4 tensor-product stencil is
 * applied separably (x, then y, then z) on just the output box that is needed — the same sums
 * regrouped, which changes results only in the last bits.
 */

/** An axis-aligned grid along one axis: voxel centre i at origin + i × spacing (mm). */
export interface Axis {
  origin: number;
  spacing: number;
  n: number;
}

const POLE = Math.sqrt(3.0) - 2.0;
/** ITK's BSplineDecompositionImageFilter tolerance (m_Tolerance) */
const TOLERANCE = 1e-10;
const HORIZON = Math.ceil(Math.log(TOLERANCE) / Math.log(Math.abs(POLE)));

/** In-place 1-D B-spline decomposition of s[0..n) (ITK DataToCoefficients1D, one pole). */
function decompose1d(s: Float64Array, n: number): void {
  if (n === 1) return;
  const z = POLE;
  const gain = 1.0 * (1.0 - z) * (1.0 - 1.0 / z);
  for (let i = 0; i < n; i++) s[i] *= gain;
  // causal initialisation (mirror boundaries)
  let zn = z;
  if (HORIZON < n) {
    let sum = s[0];
    for (let i = 1; i < HORIZON; i++) {
      sum += zn * s[i];
      zn *= z;
    }
    s[0] = sum;
  } else {
    const iz = 1.0 / z;
    let z2n = Math.pow(z, n - 1);
    let sum = s[0] + z2n * s[n - 1];
    z2n *= z2n * iz;
    for (let i = 1; i <= n - 2; i++) {
      sum += (zn + z2n) * s[i];
      zn *= z;
      z2n *= iz;
    }
    s[0] = sum / (1.0 - zn * zn);
  }
  for (let i = 1; i < n; i++) s[i] += z * s[i - 1];
  // anticausal initialisation and recursion
  s[n - 1] = (z / (z * z - 1.0)) * (z * s[n - 2] + s[n - 1]);
  for (let i = n - 2; i >= 0; i--) s[i] = z * (s[i + 1] - s[i]);
}

/**
 * Cubic B-spline coefficients (float64) of a volume stored (nz, ny, nx) C order (x fastest, as a
 * DICOM multi-frame dose), filtered along x, then y, then z as ITK does.
 */
export function bsplineCoefficients(data: ArrayLike<number>, nz: number, ny: number, nx: number): Float64Array {
  const c = Float64Array.from(data);
  const scratch = new Float64Array(Math.max(nx, ny, nz));
  // x
  for (let k = 0; k < nz * ny; k++) {
    const off = k * nx;
    for (let i = 0; i < nx; i++) scratch[i] = c[off + i];
    decompose1d(scratch, nx);
    for (let i = 0; i < nx; i++) c[off + i] = scratch[i];
  }
  // y
  for (let k = 0; k < nz; k++) {
    for (let i = 0; i < nx; i++) {
      const off = k * ny * nx + i;
      for (let j = 0; j < ny; j++) scratch[j] = c[off + j * nx];
      decompose1d(scratch, ny);
      for (let j = 0; j < ny; j++) c[off + j * nx] = scratch[j];
    }
  }
  // z
  const plane = ny * nx;
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < nz; k++) scratch[k] = c[p + k * plane];
    decompose1d(scratch, nz);
    for (let k = 0; k < nz; k++) c[p + k * plane] = scratch[k];
  }
  return c;
}

/**
 * Whole-sample mirror of an index into [0, n): ITK's single reflection
 * (BSplineInterpolateImageFunction::ApplyMirrorBoundaryConditions) for every index a stencil can
 * reach when n ≥ 3; repeated (period 2n − 2, as scipy's 'mirror') where one reflection would
 * leave the grid (n = 2, where ITK would read outside its buffer).
 */
function mirror(idx: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let i = idx % period;
  if (i < 0) i += period;
  return i >= n ? period - i : i;
}

/** Stencil of one continuous index: 4 mirrored indices and weights. */
function stencil(x: number, n: number, idx: Int32Array, w: Float64Array, at: number): void {
  // ITK: floor((float)x) − 1 for odd orders (the float cast only matters within 1e-7 of an
  // integer, where both supports give the same value up to rounding)
  const base = Math.floor(Math.fround(x)) - 1;
  const t = x - (base + 1);
  const w3 = (1.0 / 6.0) * t * t * t;
  const w0 = 1.0 / 6.0 + 0.5 * t * (t - 1.0) - w3;
  const w2 = t + w0 - 2.0 * w3;
  const w1 = 1.0 - w0 - w2 - w3;
  w[at] = w0;
  w[at + 1] = w1;
  w[at + 2] = w2;
  w[at + 3] = w3;
  for (let k = 0; k < 4; k++) idx[at + k] = mirror(base + k, n);
}

/** ITK's IsInsideBuffer on one axis: −0.5 ≤ x < n − 0.5 */
function inside(x: number, n: number): boolean {
  return x >= -0.5 && x < n - 0.5;
}

/**
 * Continuous input indices of output voxels [first, first + count) of `out` in the grid `inp`,
 * as ITK computes them (point = origin + spacing × index; index = (point − origin) × (1/spacing)).
 */
function continuousIndex(out: Axis, inp: Axis, index: number): number {
  const p = out.origin + out.spacing * index;
  return (p - inp.origin) * (1.0 / inp.spacing);
}

/**
 * Resamples `coeffs` (B-spline coefficients of a grid with axes `inX`, `inY`, `inZ`, stored
 * (z, y, x)) at the CT voxels of the box `[x0, x1) × [y0, y1) × [z0, z1)` of the output grid
 * `outX`, `outY`, `outZ` (the full CT grid: ITK's scanline runs over the whole CT row). Returns
 * float32 of shape (y1 − y0, x1 − x0, z1 − z0) in C order — the (Y, X, Z) layout of the npz —
 * with 0 outside the input grid and negative values clamped to 0 (`np.maximum(dose, 0)`).
 */
export function resampleBSpline(
  coeffs: Float64Array,
  inX: Axis,
  inY: Axis,
  inZ: Axis,
  outX: Axis,
  outY: Axis,
  outZ: Axis,
  box: { x0: number; x1: number; y0: number; y1: number; z0: number; z1: number },
): Float32Array {
  const NX = box.x1 - box.x0;
  const NY = box.y1 - box.y0;
  const NZ = box.z1 - box.z0;
  const out = new Float32Array(NY * NX * NZ);
  // x along the scanline: ITK interpolates between the start (index 0) and one past the end (index n)
  const sx = continuousIndex(outX, inX, 0);
  const ex = continuousIndex(outX, inX, outX.n);
  const alpha = new Float64Array(NX);
  const cx = new Float64Array(NX);
  for (let i = 0; i < NX; i++) {
    const a = (box.x0 + i) / outX.n;
    alpha[i] = a;
    cx[i] = sx * (1.0 - a) + ex * a;
  }
  const cy = new Float64Array(NY);
  for (let j = 0; j < NY; j++) cy[j] = continuousIndex(outY, inY, box.y0 + j);
  const cz = new Float64Array(NZ);
  for (let k = 0; k < NZ; k++) cz[k] = continuousIndex(outZ, inZ, box.z0 + k);
  // y and z indices along a scanline are c·(1 − a) + c·a, equal to c except within an ulp or
  // two: decide inside/outside per voxel only where c is that close to a boundary
  const near = (c: number, n: number) => Math.abs(c + 0.5) < 1e-9 || Math.abs(c - (n - 0.5)) < 1e-9;
  const wobble = (c: number, a: number) => c * (1.0 - a) + c * a;

  const vx = new Uint8Array(NX);
  const ix = new Int32Array(4 * NX);
  const wx = new Float64Array(4 * NX);
  for (let i = 0; i < NX; i++) {
    vx[i] = inside(cx[i], inX.n) ? 1 : 0;
    stencil(cx[i], inX.n, ix, wx, 4 * i);
  }
  const vy = new Uint8Array(NY); // 0 outside, 1 inside, 2 decided per voxel
  const iy = new Int32Array(4 * NY);
  const wy = new Float64Array(4 * NY);
  for (let j = 0; j < NY; j++) {
    vy[j] = near(cy[j], inY.n) ? 2 : inside(cy[j], inY.n) ? 1 : 0;
    stencil(cy[j], inY.n, iy, wy, 4 * j);
  }
  const vz = new Uint8Array(NZ);
  const iz = new Int32Array(4 * NZ);
  const wz = new Float64Array(4 * NZ);
  for (let k = 0; k < NZ; k++) {
    vz[k] = near(cz[k], inZ.n) ? 2 : inside(cz[k], inZ.n) ? 1 : 0;
    stencil(cz[k], inZ.n, iz, wz, 4 * k);
  }
  let anyX = false;
  for (let i = 0; i < NX; i++) if (vx[i]) anyX = true;
  if (!anyX) return out;

  const nxIn = inX.n;
  const nyIn = inY.n;
  const nzIn = inZ.n;
  // pass 1 (x): t1[kz][ky][i] = Σ_c wx · C[kz][ky][ix]
  const t1 = new Float64Array(nzIn * nyIn * NX);
  for (let kz = 0; kz < nzIn; kz++) {
    for (let ky = 0; ky < nyIn; ky++) {
      const src = (kz * nyIn + ky) * nxIn;
      const dst = (kz * nyIn + ky) * NX;
      for (let i = 0; i < NX; i++) {
        if (!vx[i]) continue;
        const b = 4 * i;
        t1[dst + i] =
          wx[b] * coeffs[src + ix[b]] +
          wx[b + 1] * coeffs[src + ix[b + 1]] +
          wx[b + 2] * coeffs[src + ix[b + 2]] +
          wx[b + 3] * coeffs[src + ix[b + 3]];
      }
    }
  }
  // pass 2 (y): t2[kz][j][i] = Σ_b wy · t1[kz][iy][i]
  const t2 = new Float64Array(nzIn * NY * NX);
  for (let kz = 0; kz < nzIn; kz++) {
    for (let j = 0; j < NY; j++) {
      if (!vy[j]) continue;
      const b = 4 * j;
      const r0 = (kz * nyIn + iy[b]) * NX;
      const r1 = (kz * nyIn + iy[b + 1]) * NX;
      const r2 = (kz * nyIn + iy[b + 2]) * NX;
      const r3 = (kz * nyIn + iy[b + 3]) * NX;
      const dst = (kz * NY + j) * NX;
      for (let i = 0; i < NX; i++)
        t2[dst + i] = wy[b] * t1[r0 + i] + wy[b + 1] * t1[r1 + i] + wy[b + 2] * t1[r2 + i] + wy[b + 3] * t1[r3 + i];
    }
  }
  // pass 3 (z) into (Y, X, Z)
  for (let j = 0; j < NY; j++) {
    if (!vy[j]) continue;
    for (let i = 0; i < NX; i++) {
      if (!vx[i]) continue;
      if (vy[j] === 2 && !inside(wobble(cy[j], alpha[i]), nyIn)) continue;
      const o = (j * NX + i) * NZ;
      for (let k = 0; k < NZ; k++) {
        if (!vz[k]) continue;
        if (vz[k] === 2 && !inside(wobble(cz[k], alpha[i]), nzIn)) continue;
        const b = 4 * k;
        const v =
          wz[b] * t2[(iz[b] * NY + j) * NX + i] +
          wz[b + 1] * t2[(iz[b + 1] * NY + j) * NX + i] +
          wz[b + 2] * t2[(iz[b + 2] * NY + j) * NX + i] +
          wz[b + 3] * t2[(iz[b + 3] * NY + j) * NX + i];
        out[o + k] = v > 0 ? v : 0;
      }
    }
  }
  return out;
}
