/**
 * Small volume operations for the 64³ OpenKBP pipeline: channel interleaving (planar → channels
 * last), the left-right flip (array axis 1 = patient right → left, openkbp.md 1.3) and integer
 * translation with a fill value. Hand-written: trivial index loops on typed arrays.
 */
import type { Shape3 } from '../core/shape';

/** planar channels (each Y·X·Z) → one channels-last buffer [Y, X, Z, C] */
export function interleave(channels: Float32Array[], out?: Float32Array, offset = 0): Float32Array {
  const nc = channels.length;
  const n = channels[0].length;
  const buf = out ?? new Float32Array(n * nc);
  for (let c = 0; c < nc; c++) {
    const ch = channels[c];
    for (let i = 0; i < n; i++) buf[offset + i * nc + c] = ch[i];
  }
  return buf;
}

/** A copy of the (Y, X, Z) C-order volume `v` mirrored along axis 1 (X, patient left-right). */
export function flipAxis1(v: Float32Array, shape: Shape3): Float32Array {
  const [A, B, C] = shape;
  const out = new Float32Array(v.length);
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++) {
      const src = (a * B + b) * C;
      const dst = (a * B + (B - 1 - b)) * C;
      out.set(v.subarray(src, src + C), dst);
    }
  return out;
}

/** out[y, x, z] = v[y − s0, x − s1, z − s2], `fill` where that lies outside the volume (same array type as `v`) */
export function shiftVolume<T extends Float32Array | Uint8Array>(v: T, shape: Shape3, s: Shape3, fill: number): T {
  const [A, B, C] = shape;
  const out = (v instanceof Uint8Array ? new Uint8Array(v.length) : new Float32Array(v.length)) as T;
  out.fill(fill);
  const z0 = Math.max(0, s[2]);
  const z1 = Math.min(C, C + s[2]);
  if (z1 <= z0) return out;
  for (let a = 0; a < A; a++) {
    const sa = a - s[0];
    if (sa < 0 || sa >= A) continue;
    for (let b = 0; b < B; b++) {
      const sb = b - s[1];
      if (sb < 0 || sb >= B) continue;
      const src = (sa * B + sb) * C;
      const dst = (a * B + b) * C;
      out.set(v.subarray(src + z0 - s[2], src + z1 - s[2]), dst + z0);
    }
  }
  return out;
}
