/**
 * Tiny hand-made prostate-like cases for trainer/inference tests: a box "body", a spherical
 * PTV70 whose dose falls off with distance, a rectum behind it, femoral heads left and right.
 * Array axes (Y, X, Z): X = column R→L, so patient-left structures sit at high x.
 */
import type { Case, Shape3 } from '../../lib/data/case';
import { PROSTATE_V23_STRUCTURES } from '../../lib/data/profiles';

export interface PhantomOptions {
  shape?: Shape3;
  spacingMm?: Shape3;
  rxGy?: number;
  /** PTV centre offset in voxels */
  shift?: Shape3;
  radius?: number;
  withFemurR?: boolean;
  id?: string;
}

export function phantomCase(o: PhantomOptions = {}): Case {
  const shape = o.shape ?? [24, 24, 16];
  const [Y, X, Z] = shape;
  const n = Y * X * Z;
  const rx = o.rxGy ?? 70;
  const sh = o.shift ?? [0, 0, 0];
  const r = o.radius ?? 4;
  const cy = Y / 2 + sh[0];
  const cx = X / 2 + sh[1];
  const cz = Z / 2 + sh[2];
  const ct = new Float32Array(n).fill(-1000);
  const dose = new Float32Array(n);
  const ptv = new Uint8Array(n);
  const rectum = new Uint8Array(n);
  const femL = new Uint8Array(n);
  const femR = new Uint8Array(n);
  for (let y = 0; y < Y; y++)
    for (let x = 0; x < X; x++)
      for (let z = 0; z < Z; z++) {
        const i = (y * X + x) * Z + z;
        const inBody = y > 2 && y < Y - 2 && x > 1 && x < X - 2;
        if (inBody) ct[i] = 40;
        const d = Math.hypot(y - cy, x - cx, (z - cz) * 1.5);
        if (d <= r) ptv[i] = 1;
        if (inBody) dose[i] = rx * Math.min(1.02, Math.exp(-Math.max(0, d - r) / 4));
        if (Math.hypot(y - (cy + r + 2), x - cx) <= 2 && Math.abs(z - cz) < 5) rectum[i] = 1;
        if (Math.hypot(y - cy, x - (X - 4)) <= 2 && Math.abs(z - cz) < 3) {
          femL[i] = 1;
          ct[i] = 700;
        }
        if (o.withFemurR !== false && Math.hypot(y - cy, x - 3) <= 2 && Math.abs(z - cz) < 3) {
          femR[i] = 1;
          ct[i] = 700;
        }
      }
  const masks = new Map<string, Uint8Array>([
    ['PTV70', ptv],
    ['Rectum', rectum],
    ['Femur_L', femL],
  ]);
  if (o.withFemurR !== false) masks.set('Femur_R', femR);
  return {
    id: o.id ?? 'phantom',
    source: 'synthetic',
    shape: [...shape] as Shape3,
    spacingMm: o.spacingMm ?? [2, 2, 3],
    ct,
    dose,
    structureNames: [...PROSTATE_V23_STRUCTURES],
    masks,
    rxGy: rx,
    prescriptions: [{ structure: 'PTV70', doseGy: 70 }],
    planType: 'single_rx',
    metadata: { case_id: o.id ?? 'phantom' },
  };
}

/** n small phantom cases with varied target positions and sizes, one in four at Rx 60 Gy */
export function phantomCohort(n: number): Case[] {
  return Array.from({ length: n }, (_, i) =>
    phantomCase({
      id: `case_${String(i).padStart(2, '0')}`,
      shape: [16, 16, 12],
      shift: [(i % 3) - 1, ((i * 2) % 3) - 1, 0],
      radius: 3 + (i % 2),
      rxGy: i % 4 === 3 ? 60 : 70,
    }),
  );
}

/** a training configuration small enough for a test (seconds per run) */
export const TINY_TRAINING = {
  patchSize: 16,
  baseChannels: 4,
  levels: 3,
  batchSize: 2,
  patchesPerVolume: 1,
  valEvery: 1,
  patience: 10,
  quiet: true,
  lr: 1e-3,
};
