/**
 * One synthetic prostate case as a `Case` (CT in HU, dose in Gy, profile masks, reference-style
 * metadata), built from a seeded anatomy (anatomy.ts) and a planned dose (dose.ts).
 *
 * The anatomy is drawn on a "world" grid that is the requested grid widened in Y/X when the
 * body would not fit, so the dose model sees the whole patient (beams enter through tissue
 * outside a tight crop); the case is then cropped back to the requested grid, centred, the way
 * the reference preprocessing crops a CT around the prostate (spec 2.2 step 9).
 */
import { UsageError } from '../core/errors';
import type { Case, Shape3 } from '../data/case';
import { PROSTATE_V23_STRUCTURES, PROSTATE_V24_STRUCTURES } from '../data/profiles';
import { constraintVector, type ReferenceLayout } from '../data/prostate_plan';
import { ndarray } from '../data/npy';
import type { NdArray } from '../data/ndarray';
import { pyFloat, pyTuple } from '../data/pyobj';
import { type Anatomy, type PlanType, PLAN_TARGETS, buildAnatomy, sampleAnatomy } from './anatomy';
import { type DoseModelOptions, type PlanResult, type TargetLevels, planDose } from './dose';
import { doseAtVolume, volumeAtDose } from '../eval/dvh';
import { Rng } from '../core/rng';

/** the embedded default grid: 96 x 96 x 64 voxels of 3.90625 x 3.90625 x 2.5 mm (375 x 375 x 160 mm) */
export const DEFAULT_SHAPE: Shape3 = [96, 96, 64];
/** Default voxel size of the synthetic grid (mm, (Y, X, Z)). */
export const DEFAULT_SPACING_MM: Shape3 = [3.90625, 3.90625, 2.5];
/** Prescription of the synthetic plans (Gy, PTV70). */
export const SYNTH_RX_GY = 70;
/** Number of fractions of the synthetic plans. */
export const SYNTH_FRACTIONS = 28;
/** fixed so the same arguments give the same bytes */
export const SYNTH_PROCESSED_DATE = '2000-01-01T00:00:00';
/** Generator name recorded in the metadata of synthetic cases. */
export const SYNTH_GENERATOR = 'vmat-lab synth 1';

export interface SynthCaseOptions {
  id: string;
  /** cohort seed; each case draws from its own named streams of it */
  seed: number;
  planType: PlanType;
  layout: ReferenceLayout;
  shape?: Shape3;
  spacingMm?: Shape3;
  dose?: Partial<DoseModelOptions>;
  onIteration?: (it: number) => void;
}

export interface SynthCaseResult {
  case: Case;
  plan: PlanResult;
  /** DVH numbers used by the CLI summary and the tests */
  dvh: Record<string, number>;
}

const TARGET_GY: Record<string, number> = { PTV70: 70, PTV56: 56, 'PTV50.4': 50.4 };

/** world grid (>= requested, same parity) that holds the whole body outline */
function worldShape(shape: Shape3, sp: Shape3, a: ReturnType<typeof sampleAnatomy>): Shape3 {
  const b = a.body;
  const zTop = ((shape[2] - 1) / 2) * sp[2];
  const hy = Math.max(Math.abs(b.centreY - b.semiY), Math.abs(b.centreY + b.semiY)) + 2 * sp[0];
  const hx = b.semiX * (1 + Math.max(0, b.widthSlopePerMm * (zTop - a.prostate.centre[2]))) + 2 * sp[1];
  const fit = (n: number, half: number, s: number) => {
    let w = Math.max(n, Math.ceil((2 * half) / s) + 1);
    if ((w - n) % 2) w++;
    return w;
  };
  return [fit(shape[0], hy, sp[0]), fit(shape[1], hx, sp[1]), shape[2]];
}

function crop<T extends Float32Array | Uint8Array>(src: T, world: Shape3, shape: Shape3, make: (n: number) => T): T {
  const oy = (world[0] - shape[0]) / 2;
  const ox = (world[1] - shape[1]) / 2;
  if (oy === 0 && ox === 0) return src;
  const out = make(shape[0] * shape[1] * shape[2]);
  const nz = shape[2];
  for (let y = 0; y < shape[0]; y++) {
    for (let x = 0; x < shape[1]; x++) {
      const s = ((y + oy) * world[1] + (x + ox)) * nz;
      out.set(src.subarray(s, s + nz), (y * shape[1] + x) * nz);
    }
  }
  return out;
}

/** One synthetic case from named seeded streams: anatomy, planned dose (Gy) and reference metadata on a (Y, X, Z) grid. */
export function synthesizeCase(o: SynthCaseOptions): SynthCaseResult {
  const shape = o.shape ?? DEFAULT_SHAPE;
  const sp = o.spacingMm ?? DEFAULT_SPACING_MM;
  const stream = (name: string) => Rng.fromSeed(`vmat-synth:${o.seed}:${o.id}:${name}`);
  const planRng = stream('plan');
  const params = sampleAnatomy(stream('anatomy'), o.planType);
  const world = worldShape(shape, sp, params);
  const anat: Anatomy = buildAnatomy(world, sp, params, stream('noise'));
  if (!crop(anat.masks.get('PTV70')!, world, shape, (k) => new Uint8Array(k)).some((v) => v !== 0)) {
    throw new UsageError(
      `${o.id}: the ${shape.join('x')} grid at ${sp.join('x')} mm does not reach the PTV70 (prostate ~3 cm below the grid centre); use a larger --shape or --spacing-mm`,
    );
  }
  const t = PLAN_TARGETS[o.planType];
  const targets: TargetLevels = [{ name: 'PTV70', gy: 70 }];
  if (t.ptv56) targets.push({ name: 'PTV56', gy: 56 });
  if (t.ptv50 && o.layout === 'v2.4') targets.push({ name: 'PTV50.4', gy: 50.4 });
  // clinical normalisation varies a little around "PTV70 D95 = Rx"
  const drawn = planRng.uniform(0.985, 1.015);
  const d95Factor = o.dose?.d95Factor ?? drawn;
  const plan = planDose(anat, targets, { ...o.dose, d95Factor }, o.onIteration);

  // ---- crop to the requested grid
  const names = [...(o.layout === 'v2.4' ? PROSTATE_V24_STRUCTURES : PROSTATE_V23_STRUCTURES)];
  const ct = crop(anat.hu, world, shape, (k) => new Float32Array(k));
  const dose = crop(plan.doseGy, world, shape, (k) => new Float32Array(k));
  const masks = new Map<string, Uint8Array>();
  for (const nm of names) {
    const m = anat.masks.get(nm);
    if (!m) continue;
    const c = crop(m, world, shape, (k) => new Uint8Array(k));
    if (c.some((v) => v !== 0)) masks.set(nm, c);
  }
  const present = { ptv70: true, ptv56: masks.has('PTV56'), ptv504: masks.has('PTV50.4') };
  const prescriptions = targets.filter((p) => masks.has(p.name)).map((p) => ({ structure: p.name, doseGy: p.gy }));
  const planType = o.planType;

  const dvh: Record<string, number> = {};
  for (const [nm, m] of masks) {
    if (TARGET_GY[nm] !== undefined) dvh[`${nm}_D95`] = doseAtVolume(dose, m, 95);
  }
  for (const nm of ['Rectum', 'Bladder']) {
    const m = masks.get(nm);
    if (m) dvh[`${nm}_V70`] = volumeAtDose(dose, m, 70);
  }

  const oy = (world[0] - shape[0]) / 2;
  const ox = (world[1] - shape[1]) / 2;
  const metadata = buildMetadata(
    { ...o, dose: { ...o.dose, d95Factor } },
    shape,
    sp,
    ct,
    dose,
    masks,
    names,
    planType,
    present,
    plan,
    [oy, ox],
    world,
  );
  const extras = mlcArrays(plan);
  const c: Case = {
    id: o.id,
    source: 'synthetic',
    shape: [...shape] as Shape3,
    spacingMm: [...sp] as Shape3,
    ct,
    dose,
    structureNames: names,
    masks,
    rxGy: SYNTH_RX_GY,
    prescriptions,
    constraints: constraintVector(present, SYNTH_RX_GY, o.layout),
    planType,
    extras,
    metadata,
  };
  return { case: c, plan, dvh };
}

/** 5 mm leaf pairs spanning +-100 mm at the isocentre (40 pairs per bank) */
const LEAF_WIDTH_MM = 5;
const LEAF_PAIRS = 40;

/**
 * MLC bank positions per control point (mm at the isocentre), from the conformal apertures:
 * bank A = left edge (negative X), bank B = right edge; closed pairs meet at 0.
 */
function mlcArrays(plan: PlanResult): Map<string, NdArray> {
  const K = plan.gantryAnglesDeg.length;
  const a = new Float32Array(K * LEAF_PAIRS);
  const b = new Float32Array(K * LEAF_PAIRS);
  const bev = plan.bev;
  for (let k = 0; k < K; k++) {
    const e = plan.apertures[k];
    for (let p = 0; p < LEAF_PAIRS; p++) {
      const z0 = (p - LEAF_PAIRS / 2) * LEAF_WIDTH_MM;
      const z1 = z0 + LEAF_WIDTH_MM;
      let lo = Infinity;
      let hi = -Infinity;
      for (let r = 0; r < bev.nz; r++) {
        const zc = bev.z0 + r * bev.dz;
        if (zc + bev.dz / 2 <= z0 || zc - bev.dz / 2 >= z1) continue;
        if (e[2 * r + 1] > e[2 * r]) {
          lo = Math.min(lo, e[2 * r]);
          hi = Math.max(hi, e[2 * r + 1]);
        }
      }
      a[k * LEAF_PAIRS + p] = hi > lo ? lo : 0;
      b[k * LEAF_PAIRS + p] = hi > lo ? hi : 0;
    }
  }
  return new Map([
    ['beam0_mlc_a', ndarray(a, [K, LEAF_PAIRS])],
    ['beam0_mlc_b', ndarray(b, [K, LEAF_PAIRS])],
  ]);
}

function round(v: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

/** np.percentile(values, 5) with numpy's default linear interpolation (preprocessing's DVH check, spec 2.2 step 11) */
function d95Linear(dose: Float32Array, m: Uint8Array): number {
  const v: number[] = [];
  for (let i = 0; i < m.length; i++) if (m[i]) v.push(dose[i]);
  v.sort((p, q) => p - q);
  const pos = 0.05 * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

function buildMetadata(
  o: SynthCaseOptions,
  shape: Shape3,
  sp: Shape3,
  ctHu: Float32Array,
  doseGy: Float32Array,
  masks: Map<string, Uint8Array>,
  names: string[],
  planType: PlanType,
  present: { ptv70: boolean; ptv56: boolean; ptv504: boolean },
  plan: PlanResult,
  offset: [number, number],
  world: Shape3,
): Record<string, unknown> {
  const n = ctHu.length;
  const rx = SYNTH_RX_GY;
  const [ny, nx, nz] = shape;
  // CT/dose validation as the reference preprocessing records it (spec 1.7), on normalised values
  let huMin = Infinity;
  let huMax = -Infinity;
  let clipLo = 0;
  let clipHi = 0;
  for (let i = 0; i < n; i++) {
    const h = ctHu[i];
    if (h < huMin) huMin = h;
    if (h > huMax) huMax = h;
    if (h < -1000) clipLo++;
    if (h > 3000) clipHi++;
  }
  const ctMin = Math.min(Math.max(huMin, -1000), 3000) / 4000 + 0.5;
  const ctMax = Math.min(Math.max(huMax, -1000), 3000) / 4000 + 0.5;
  let dMin = Infinity;
  let dMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const d = doseGy[i] / rx;
    if (d < dMin) dMin = d;
    if (d > dMax) dMax = d;
  }
  const ptv = masks.get('PTV70')!;
  let s = 0;
  let s2 = 0;
  let k = 0;
  const anyPtv = new Uint8Array(n);
  for (const nm of ['PTV70', 'PTV56', 'PTV50.4']) {
    const m = masks.get(nm);
    if (m) for (let i = 0; i < n; i++) anyPtv[i] |= m[i];
  }
  let inS = 0;
  let inN = 0;
  let outS = 0;
  let outN = 0;
  for (let i = 0; i < n; i++) {
    const d = doseGy[i] / rx;
    if (ptv[i]) {
      s += d;
      s2 += d * d;
      k++;
    }
    if (anyPtv[i]) {
      inS += d;
      inN++;
    } else {
      outS += d;
      outN++;
    }
  }
  const mean = s / k;
  const std = Math.sqrt(Math.max(0, s2 / k - mean * mean));
  const truncation: Record<string, unknown> = {};
  let criticalTruncation = false;
  const critical = new Set(
    o.layout === 'v2.4' ? ['PTV70', 'PTV56', 'Rectum', 'Bladder', 'PTV50.4'] : ['PTV70', 'PTV56', 'Rectum', 'Bladder'],
  );
  for (const nm of names) {
    const m = masks.get(nm);
    if (!m) {
      truncation[nm] = { exists: false };
      continue;
    }
    const faces = { y_min: 0, y_max: 0, x_min: 0, x_max: 0, z_min: 0, z_max: 0 };
    let total = 0;
    let onFace = 0;
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++)
        for (let z = 0; z < nz; z++) {
          if (!m[(y * nx + x) * nz + z]) continue;
          total++;
          const f = [
            y === 0 && 'y_min',
            y === ny - 1 && 'y_max',
            x === 0 && 'x_min',
            x === nx - 1 && 'x_max',
            z === 0 && 'z_min',
            z === nz - 1 && 'z_max',
          ].filter(Boolean) as Array<keyof typeof faces>;
          for (const key of f) faces[key]++;
          if (f.length) onFace++;
        }
    const pct = (100 * Object.values(faces).reduce((p, q) => p + q, 0)) / total;
    if (critical.has(nm) && pct > 5) criticalTruncation = true;
    truncation[nm] = {
      exists: true,
      truncated: onFace > 0,
      truncation_percent: pyFloat(round(pct, 2)),
      total_voxels: total,
      boundary_voxels: faces,
      touching_boundaries: Object.entries(faces)
        .filter(([, v]) => v > 0)
        .map(([key]) => key),
    };
  }
  const ctOk = ctMin >= -0.01 && ctMax <= 1.26;
  const adequate = mean > 0.85 && mean < 1.15;
  const regOk = inN > 0 && outN > 0 ? inS / inN > outS / outN : true;
  const validation = {
    ct_range_valid: ctOk,
    ct_min: pyFloat(ctMin),
    ct_max: pyFloat(ctMax),
    hu_clipped_low: clipLo,
    hu_clipped_high: clipHi,
    hu_original_range: pyTuple([pyFloat(huMin), pyFloat(huMax)]),
    dose_nonneg: dMin >= 0,
    dose_min: pyFloat(dMin),
    dose_max: pyFloat(dMax),
    dose_reasonable: dMax < 1.5,
    ptv70_exists: true,
    ptv70_dose_mean: pyFloat(mean),
    ptv70_dose_std: pyFloat(std),
    ptv70_dose_adequate: adequate,
    registration_valid: regOk,
    dose_in_ptv: pyFloat(inN ? inS / inN : 0),
    dose_outside_ptv: pyFloat(outN ? outS / outN : 0),
    critical_truncation: criticalTruncation,
    all_critical_passed: ctOk && dMin >= 0 && adequate && regOk,
  };
  const K = plan.gantryAnglesDeg.length;
  let cum = 0;
  const cumulative = plan.controlPointWeights.map((w) => (cum += w));
  const wMax = Math.max(...plan.controlPointWeights) || 1;
  const mlcA = plan.apertures.map((e) => {
    let lo = Infinity;
    let hi = -Infinity;
    let z0 = Infinity;
    let z1 = -Infinity;
    for (let r = 0; r < plan.bev.nz; r++)
      if (e[2 * r + 1] > e[2 * r]) {
        lo = Math.min(lo, e[2 * r]);
        hi = Math.max(hi, e[2 * r + 1]);
        z0 = Math.min(z0, plan.bev.z0 + (r - 0.5) * plan.bev.dz);
        z1 = Math.max(z1, plan.bev.z0 + (r + 0.5) * plan.bev.dz);
      }
    return { lo, hi, z0, z1 };
  });
  const beam = {
    beam_name: 'ARC1',
    beam_number: 1,
    beam_type: 'DYNAMIC',
    radiation_type: 'PHOTON',
    treatment_machine: 'SYNTHETIC',
    num_control_points: K,
    arc_start_angle: pyFloat(plan.gantryAnglesDeg[0]),
    arc_stop_angle: pyFloat(plan.gantryAnglesDeg[K - 1]),
    arc_direction: 'clockwise',
    gantry_rotation_direction: 'CW',
    collimator_angle: pyFloat(0),
    couch_angle: pyFloat(0),
    nominal_energy: pyFloat(6),
    final_mu: pyFloat(1),
    mlc_type: 'MLCX',
    num_leaves: 2 * LEAF_PAIRS,
    leaf_pair_count: LEAF_PAIRS,
    control_point_data: {
      n_control_points: K,
      gantry_angles: plan.gantryAnglesDeg.map((v) => pyFloat(round(v, 4))),
      cumulative_meterset_weight: cumulative.map((v) => pyFloat(round(v, 6))),
      dose_rates: plan.controlPointWeights.map((w) => pyFloat(round((600 * w) / wMax, 2))),
      jaw_x1: mlcA.map((e) => pyFloat(round(e.lo, 2))),
      jaw_x2: mlcA.map((e) => pyFloat(round(e.hi, 2))),
      jaw_y1: mlcA.map((e) => pyFloat(round(e.z0, 2))),
      jaw_y2: mlcA.map((e) => pyFloat(round(e.z1, 2))),
    },
  };
  const md: Record<string, unknown> = {
    case_id: o.id,
    processed_date: SYNTH_PROCESSED_DATE,
    script_version: o.layout === 'v2.4' ? '2.4.0' : '2.3.0',
    prescription_info: {
      primary_dose: pyFloat(rx),
      fractions: SYNTH_FRACTIONS,
      dose_per_fraction: pyFloat(rx / SYNTH_FRACTIONS),
      source: 'default',
    },
    case_type: {
      type: planType,
      ptv70_exists: present.ptv70,
      ptv56_exists: present.ptv56,
      ptv50_exists: o.layout === 'v2.4' ? present.ptv504 : false,
    },
    normalization_dose_gy: pyFloat(rx),
    voxel_spacing_mm: pyTuple(sp.map((v) => pyFloat(v))),
    volume_shape: pyTuple([...shape]),
    crop_box: {
      y_start: offset[0],
      y_end: offset[0] + ny,
      x_start: offset[1],
      x_end: offset[1] + nx,
      z_start: 0,
      z_end: nz,
      centroid_voxel: pyTuple([Math.floor(world[0] / 2), Math.floor(world[1] / 2), Math.floor(nz / 2)]),
    },
    dose_grid_spacing_mm: pyTuple(sp.map((v) => pyFloat(v))),
    validation,
    truncation_info: truncation,
    beam_geometry: { num_beams: 1, total_mu: pyFloat(1), plan_label: 'SYNTH_VMAT', mlc_extracted: true, beams: [beam] },
    synthetic: {
      generator: SYNTH_GENERATOR,
      cohort_seed: o.seed,
      plan_type: planType,
      arc_control_points: K,
      iso_mm: pyTuple(plan.isoMm.map((v) => pyFloat(round(v, 3)))),
      d95_normalisation_gy: pyFloat(round(rx * (o.dose?.d95Factor ?? 1), 4)),
    },
  };
  if (o.layout === 'v2.4') {
    const dv: Record<string, unknown> = {};
    for (const [nm, gy] of Object.entries(TARGET_GY)) {
      const m = masks.get(nm);
      if (!m) continue;
      let cnt = 0;
      for (let i = 0; i < n; i++) cnt += m[i];
      dv[nm] = { d95_gy: pyFloat(d95Linear(doseGy, m)), rx_gy: pyFloat(gy), n_voxels: cnt };
    }
    md.dvh_validation = dv;
  }
  return md;
}
