/**
 * The reference's per-structure DVH block (`compute_dvh_metrics`, spec 7.3), for a predicted and a
 * reference dose in Gy on binary masks:
 *  - empty/absent mask -> {exists: false};
 *  - exists, n_voxels, dvh_reliable (n >= 100), volume_cc, pred|target_{mean,max,min}_gy,
 *    pred|target_Dx and Dx_error = round(pred - target, 4) for x in {98, 95, 50, 5, 2},
 *    mae_gy, pred|target_Vx and Vx_error for x in {70, 60, 50, 45, 40} Gy (every structure),
 *    Bowel: pred|target_V45_cc and V45_cc_error; PTVs: pred|target_V95 / V100 and errors
 *    (% >= 0.95 / 1.0 of the PTV's dose level).
 * Dx uses the reference's numpy method='lower' by default (spec 7.3); `dx_method` records the
 * method used. PTV levels come from the case (data/profiles.ts ptvLevelGy), not a fixed 70 Gy.
 * Extra keys beyond the reference: D0.1cc and D2cc (pred/target/error), Dmean_error.
 */
import { ptvLevelGy } from '../data/profiles';
import { StructureDose, type DxMethod } from './dvh';
import { npMean } from '../stats/npsum';

/** Dx levels of the reference DVH block (% of the structure volume). */
export const DX_LEVELS = [98, 95, 50, 5, 2] as const;
/** Vx levels of the reference DVH block (Gy). */
export const VX_LEVELS_GY = [70, 60, 50, 45, 40] as const;

export type DvhMetricsEntry = { exists: false } | ({ exists: true } & Record<string, number | boolean | string>);

/**
 * The DVH block of one structure: predicted vs reference Dx/Dmean/Dmax/Dmin (Gy), Vx (%), errors,
 * volume (cc from `voxelMm3`, mm³ per voxel). `pred` and `target` are doses in Gy over the case
 * grid (C order), `mask` the structure on the same grid; an absent or empty mask gives `{exists: false}`.
 */
export function structureDvhMetrics(
  name: string,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  mask: Uint8Array | undefined,
  voxelMm3: number,
  opts: { method?: DxMethod; rxGy: number; prescriptions?: Array<{ structure: string; doseGy: number }> },
): DvhMetricsEntry {
  if (!mask) return { exists: false };
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  if (n === 0) return { exists: false };
  const method = opts.method ?? 'lower';
  const p = new Float64Array(n);
  const t = new Float64Array(n);
  const ad = new Float64Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    p[k] = pred[i];
    t[k] = target[i];
    ad[k] = Math.abs(pred[i] - target[i]);
    k++;
  }
  const P = new StructureDose(p, voxelMm3);
  const T = new StructureDose(t, voxelMm3);
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const e: Record<string, number | boolean | string> = {
    exists: true,
    n_voxels: n,
    dvh_reliable: n >= 100,
    volume_cc: P.volumeCc,
    dx_method: method,
    pred_mean_gy: P.meanGy,
    target_mean_gy: T.meanGy,
    Dmean_error: P.meanGy - T.meanGy,
    pred_max_gy: P.maxGy,
    target_max_gy: T.maxGy,
    pred_min_gy: P.minGy,
    target_min_gy: T.minGy,
  };
  for (const x of DX_LEVELS) {
    const a = P.dx(x, method);
    const b = T.dx(x, method);
    e[`pred_D${x}`] = a;
    e[`target_D${x}`] = b;
    e[`D${x}_error`] = r4(a - b);
  }
  for (const [label, cc] of [
    ['D0.1cc', 0.1],
    ['D2cc', 2],
  ] as const) {
    const a = P.dcc(cc, method);
    const b = T.dcc(cc, method);
    e[`pred_${label}`] = a;
    e[`target_${label}`] = b;
    e[`${label}_error`] = r4(a - b);
  }
  e.mae_gy = npMean(ad);
  for (const x of VX_LEVELS_GY) {
    e[`pred_V${x}`] = P.vPct(x);
    e[`target_V${x}`] = T.vPct(x);
    e[`V${x}_error`] = P.vPct(x) - T.vPct(x);
  }
  if (name === 'Bowel') {
    e.pred_V45_cc = P.vCc(45);
    e.target_V45_cc = T.vCc(45);
    e.V45_cc_error = P.vCc(45) - T.vCc(45);
  }
  if (/^PTV/.test(name)) {
    const level = ptvLevelGy(name, opts.rxGy, opts.prescriptions);
    if (level !== null) {
      e.rx_gy = level;
      for (const [label, f] of [
        ['V95', 0.95],
        ['V100', 1],
      ] as const) {
        e[`pred_${label}`] = P.vPct(f * level);
        e[`target_${label}`] = T.vPct(f * level);
        e[`${label}_error`] = P.vPct(f * level) - T.vPct(f * level);
      }
    }
  }
  return e as DvhMetricsEntry;
}

/** The DVH blocks of every structure (names from `structureNames` and `masks`), doses in Gy, spacing in mm (Y, X, Z). */
export function dvhMetrics(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  masks: Map<string, Uint8Array>,
  structureNames: readonly string[],
  spacingMm: readonly number[],
  opts: { method?: DxMethod; rxGy: number; prescriptions?: Array<{ structure: string; doseGy: number }> },
): Record<string, DvhMetricsEntry> {
  const voxelMm3 = spacingMm[0] * spacingMm[1] * spacingMm[2];
  const names = [...new Set([...structureNames, ...masks.keys()])];
  const out: Record<string, DvhMetricsEntry> = {};
  for (const name of names) out[name] = structureDvhMetrics(name, pred, target, masks.get(name), voxelMm3, opts);
  return out;
}
