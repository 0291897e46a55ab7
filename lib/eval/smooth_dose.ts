/**
 * Deterministic smooth dose pairs for the gamma benchmark and examples: a prostate-like dose
 * (a high-dose ellipsoid with penumbra, a low-dose bath falling off towards the edge) and an
 * "evaluation" copy that is shifted, rescaled and slightly warped — the kind of disagreement a
 * dose-prediction model makes. Not patient data; no randomness.
 */
export interface SmoothDosePair {
  ref: Float32Array;
  ev: Float32Array;
  shape: [number, number, number];
  spacingMm: [number, number, number];
}

/**
 * A reference dose and a shifted (`shiftMm`), rescaled (`scale`) evaluation dose in Gy, (Y, X, Z)
 * C order on `shape` with `spacingMm` voxels; Rx `rxGy` (default 70). Deterministic.
 */
export function smoothDosePair(
  shape: [number, number, number] = [96, 96, 64],
  spacingMm: [number, number, number] = [3.906, 3.906, 2.5],
  opts: { shiftMm?: [number, number, number]; scale?: number; rxGy?: number } = {},
): SmoothDosePair {
  const [n0, n1, n2] = shape;
  const shift = opts.shiftMm ?? [4, -3, 4];
  const scale = opts.scale ?? 1.06;
  const rx = opts.rxGy ?? 70;
  const c = [((n0 - 1) * spacingMm[0]) / 2, ((n1 - 1) * spacingMm[1]) / 2, ((n2 - 1) * spacingMm[2]) / 2];
  const dose = (x: number, y: number, z: number, warp: number): number => {
    // high-dose ellipsoid (semi-axes 30, 35, 25 mm) with a smooth sigmoid edge of ~6 mm
    const r = Math.sqrt(((x - c[0]) / 30) ** 2 + ((y - c[1]) / 35) ** 2 + ((z - c[2]) / 25) ** 2);
    const core = 1 / (1 + Math.exp((r - 1) * 6));
    // low-dose bath and body fall-off
    const rb = Math.sqrt(((x - c[0]) / 140) ** 2 + ((y - c[1]) / 160) ** 2 + ((z - c[2]) / 90) ** 2);
    const bath = 0.35 * Math.exp(-1.2 * rb * rb);
    const ripple = 0.02 * Math.sin(x / 11 + warp) * Math.cos(y / 13) * Math.cos(z / 7 - warp);
    return rx * (core * 0.75 + bath + ripple + 0.02);
  };
  const n = n0 * n1 * n2;
  const ref = new Float32Array(n);
  const ev = new Float32Array(n);
  for (let i = 0, q = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      for (let k = 0; k < n2; k++, q++) {
        const x = i * spacingMm[0];
        const y = j * spacingMm[1];
        const z = k * spacingMm[2];
        ref[q] = dose(x, y, z, 0);
        ev[q] = scale * dose(x - shift[0], y - shift[1], z - shift[2], 0.3);
      }
    }
  }
  return { ref, ev, shape, spacingMm };
}
