/**
 * Fluence maps in the beam's-eye view and the lateral spread applied to them: a Gaussian for
 * the penumbra (source size, MLC leaf ends, lateral electron transport) plus a wide, weak
 * near-Gaussian for phantom scatter (three passes of a box filter per axis: the central limit
 * theorem makes it Gaussian-like at O(1) cost per cell). Maps are row-major [zRow][u] on a BevGrid. The blur uses
 * zero padding and symmetric kernels, so the same routine is its own adjoint (needed by the
 * fluence optimiser). Hand-written: a few separable 1-D convolutions on small 2-D maps.
 */

export interface SpreadKernel {
  /** penumbra sigma in cells along u and z */
  penU: Float64Array;
  penZ: Float64Array;
  /** half-widths (cells) of the scatter box filters along u and z */
  scatHalfU: number;
  scatHalfZ: number;
  scatterWeight: number;
}

/** normalised 1-D Gaussian taps, truncated at 3 sigma (sigma in cells) */
export function gaussianTaps(sigmaCells: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigmaCells));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-0.5 * (i / sigmaCells) ** 2);
    k[i + r] = v;
    s += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** half-width h of a box of width 2h+1 whose 3-fold self-convolution has the given sigma: sigma^2 = 3((2h+1)^2 - 1)/12 */
export function boxHalfWidth(sigmaCells: number): number {
  return Math.max(0, Math.round((Math.sqrt(4 * sigmaCells * sigmaCells + 1) - 1) / 2));
}

/** three zero-padded box passes of half-width h along one axis, in place; `line` is scratch of the line length */
function box3(a: Float32Array, start: number, stride: number, len: number, h: number, line: Float64Array): void {
  if (h === 0) return;
  const w = 2 * h + 1;
  for (let pass = 0; pass < 3; pass++) {
    for (let i = 0; i < len; i++) line[i] = a[start + i * stride];
    let s = 0;
    for (let i = 0; i < Math.min(h, len); i++) s += line[i];
    for (let i = 0; i < len; i++) {
      if (i + h < len) s += line[i + h];
      if (i - h - 1 >= 0) s -= line[i - h - 1];
      a[start + i * stride] = s / w;
    }
  }
}

/** The lateral spread of the fluence on a BEV grid of `du` × `dz` mm cells: Gaussian penumbra + weak box-approximated scatter (sigmas in mm). */
export function makeSpreadKernel(
  du: number,
  dz: number,
  penumbraSigmaMm: number,
  scatterSigmaMm: number,
  scatterWeight: number,
): SpreadKernel {
  return {
    penU: gaussianTaps(penumbraSigmaMm / du),
    penZ: gaussianTaps(penumbraSigmaMm / dz),
    scatHalfU: boxHalfWidth(scatterSigmaMm / du),
    scatHalfZ: boxHalfWidth(scatterSigmaMm / dz),
    scatterWeight,
  };
}

/** separable convolution of a [nz][nu] map with taps ku (along u) and kz (along z), zero padded */
export function convolveSeparable(
  src: Float32Array,
  nu: number,
  nz: number,
  ku: Float64Array,
  kz: Float64Array,
  tmp: Float32Array,
  dst: Float32Array,
  add = false,
  scale = 1,
): void {
  const ru = (ku.length - 1) / 2;
  const rz = (kz.length - 1) / 2;
  for (let z = 0; z < nz; z++) {
    const row = z * nu;
    let any = false;
    for (let u = 0; u < nu; u++)
      if (src[row + u] !== 0) {
        any = true;
        break;
      }
    if (!any) {
      tmp.fill(0, row, row + nu);
      continue;
    }
    for (let u = 0; u < nu; u++) {
      let s = 0;
      const a = Math.max(0, u - ru);
      const b = Math.min(nu - 1, u + ru);
      for (let v = a; v <= b; v++) s += ku[v - u + ru] * src[row + v];
      tmp[row + u] = s;
    }
  }
  for (let z = 0; z < nz; z++) {
    const a = Math.max(0, z - rz);
    const b = Math.min(nz - 1, z + rz);
    const row = z * nu;
    for (let u = 0; u < nu; u++) {
      let s = 0;
      for (let w = a; w <= b; w++) s += kz[w - z + rz] * tmp[w * nu + u];
      dst[row + u] = add ? dst[row + u] + scale * s : scale * s;
    }
  }
}

let lineScratch = new Float64Array(256);

/** dst = (1 - w) * G_pen * src + w * Box3 * src */
export function spread(
  src: Float32Array,
  nu: number,
  nz: number,
  k: SpreadKernel,
  tmp: Float32Array,
  dst: Float32Array,
): void {
  convolveSeparable(src, nu, nz, k.penU, k.penZ, tmp, dst, false, 1 - k.scatterWeight);
  if (k.scatterWeight <= 0) return;
  tmp.set(src.subarray(0, nu * nz));
  const line =
    lineScratch.length >= Math.max(nu, nz) ? lineScratch : (lineScratch = new Float64Array(Math.max(nu, nz)));
  for (let z = 0; z < nz; z++) box3(tmp, z * nu, 1, nu, k.scatHalfU, line);
  for (let u = 0; u < nu; u++) box3(tmp, u, nu, nz, k.scatHalfZ, line);
  const w = k.scatterWeight;
  for (let c = 0; c < nu * nz; c++) dst[c] += w * tmp[c];
}
