/**
 * The native gamma search (native/src/gamma.cc) behind gamma.ts: the addon handle, the native shell
 * tables, and the search loop with table growth. The shell coordinates are computed here in
 * JavaScript (shellCoordinates3d: Math.sin / Math.cos, the same values the JavaScript kernel's table
 * holds); the addon groups them into grid cells with buildShellTable's arithmetic, so both kernels
 * search the same points.
 */
import { VmatError } from '../core/errors';
import { loadNativeAddon, type GammaTableHandle, type NativeAddon } from '../engine/native_addon';
import type { GammaKernelParams } from './gamma_kernel';
import { distanceSchedule, shellCoordinates3d } from './gamma_shells';

/** The addon when the native kernel is to run, null for the JavaScript one ('native' without the addon throws). */
export function nativeKernel(want: 'auto' | 'native' | 'js' = 'auto'): NativeAddon | null {
  if (want === 'js') return null;
  const { addon, reason } = loadNativeAddon();
  if (addon && typeof addon.gammaSearch === 'function') return addon;
  if (want === 'native')
    throw new VmatError(`gamma: the native kernel was asked for but the addon is unavailable (${reason})`);
  return null;
}

/** A native table for one search pattern, grown on demand (only needed when max_gamma is infinite). */
class NativeShellTable {
  handle: GammaTableHandle;
  complete = false;
  private upTo: number;
  constructor(
    private readonly addon: NativeAddon,
    private readonly p: GammaKernelParams,
  ) {
    this.upTo = Number.isFinite(p.maxGamma) ? p.dtaMm * p.maxGamma : 2 * p.dtaMm;
    this.handle = this.build();
  }
  private build(): GammaTableHandle {
    const { shells, exhausted } = distanceSchedule(this.p.dtaMm, this.p.interpFraction, this.p.maxGamma, this.upTo);
    const coords = shells.map(([d, step]) => shellCoordinates3d(d, step));
    const shellStart = new Int32Array(shells.length + 1);
    for (let k = 0; k < shells.length; k++) shellStart[k + 1] = shellStart[k] + coords[k][0].length;
    const flat = new Float64Array(3 * shellStart[shells.length]);
    for (let k = 0, q = 0; k < shells.length; k++) {
      const [xs, ys, zs] = coords[k];
      for (let i = 0; i < xs.length; i++, q += 3) {
        flat[q] = xs[i];
        flat[q + 1] = ys[i];
        flat[q + 2] = zs[i];
      }
    }
    // (d / dta)^2 exactly as buildShellTable computes it
    const dd2 = Float64Array.from(shells, ([d]) => (d / this.p.dtaMm) * (d / this.p.dtaMm));
    this.complete = exhausted;
    return this.addon.gammaTable(flat, shellStart, dd2, exhausted, this.p.spacingMm);
  }
  /** extends the table; returns false when no further shells exist */
  grow(): boolean {
    if (this.complete) return false;
    this.upTo *= 2;
    this.handle = this.build();
    return true;
  }
}

const tables = new Map<string, NativeShellTable>();

function tableFor(addon: NativeAddon, p: GammaKernelParams): NativeShellTable {
  const key = `${p.spacingMm.join(',')}|${p.dtaMm}|${p.interpFraction}|${p.maxGamma}`;
  let t = tables.get(key);
  if (!t) {
    if (tables.size > 16) tables.clear();
    t = new NativeShellTable(addon, p);
    tables.set(key, t);
  }
  return t;
}

/**
 * Gamma at the reference points (flat indices) into `gamma` (one entry per voxel, left as it is
 * elsewhere), on `threads` OpenMP threads. ref and ev: both Float32Array or both Float64Array.
 * With max_gamma = infinity, points whose search ran past the table come back marked -1 and are
 * searched again on a grown table (from the start: the shells are the same, so is the result).
 */
export function searchNative(
  addon: NativeAddon,
  ref: Float32Array | Float64Array,
  ev: Float32Array | Float64Array,
  points: Int32Array,
  p: GammaKernelParams,
  gamma: Float64Array,
  threads: number,
): void {
  const table = tableFor(addon, p);
  let todo = points;
  for (;;) {
    const incomplete = addon.gammaSearch(ref, ev, todo, gamma, p, table.handle, threads);
    if (incomplete === 0) return;
    const again = new Int32Array(incomplete);
    for (let q = 0, k = 0; q < todo.length; q++) if (gamma[todo[q]] === -1) again[k++] = todo[q];
    if (!table.grow()) throw new VmatError('gamma: internal error: the native search ran past a complete shell table');
    todo = again;
  }
}
