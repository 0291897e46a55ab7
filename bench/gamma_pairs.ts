/**
 * Realistic dose pairs for `vmat bench gamma` (bench/gamma.ts):
 *  - `synthetic`: a synthetic prostate case's dose (lib/synth, 96x96x64 at 3.906x3.906x2.5 mm) against a
 *    realistic perturbation of it — Gaussian blur (sigma 2 mm), a 1.2/-0.8/1.5 mm shift, and a smooth
 *    random +-3 % dose-scale field (seeded) — the kind of error a dose-prediction model makes;
 *  - `openkbp-blur`: OpenKBP validation doses (/work/shared/data/openkbp or VMAT_OPENKBP_DIR) against a
 *    blurred (2 mm), shifted (1.5/-1/2 mm), 1 % rescaled copy;
 *  - `openkbp-model`: an OpenKBP validation dose against the shipped model's prediction
 *    (models/openkbp-64-b16 through `vmat openkbp predict`, no test-time augmentation).
 * Pairs whose data or model is absent are skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../lib/core/rng';
import { loadArrayArg } from '../lib/data/array_arg';
import { readOpenKbpDoseCsv } from '../lib/data/openkbp';
import { synthesizeCase } from '../lib/synth/synth_case';

export interface DosePair {
  name: string;
  description: string;
  ref: Float32Array;
  ev: Float32Array;
  shape: [number, number, number];
  spacingMm: [number, number, number];
}

export type PairResult = DosePair | { name: string; skipped: string };

/** 1-D Gaussian kernel (truncated at 4 sigma, as scipy.ndimage.gaussian_filter) */
function kernel1d(sigma: number): Float64Array {
  const r = Math.max(1, Math.round(4 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** separable Gaussian blur, sigma per axis in voxels, edges reflected (scipy mode 'reflect') */
export function gaussianBlur(a: Float32Array, shape: readonly number[], sigmaVox: readonly number[]): Float32Array {
  let cur = Float32Array.from(a);
  const strides = [shape[1] * shape[2], shape[2], 1];
  for (let ax = 0; ax < 3; ax++) {
    if (!(sigmaVox[ax] > 0)) continue;
    const k = kernel1d(sigmaVox[ax]);
    const r = (k.length - 1) / 2;
    const n = shape[ax];
    const st = strides[ax];
    const out = new Float32Array(cur.length);
    const refl = (i: number): number => {
      while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
      return i;
    };
    for (let base = 0; base < cur.length; base++) {
      const i = Math.floor(base / st) % n;
      const line = base - i * st;
      let s = 0;
      for (let t = -r; t <= r; t++) s += k[t + r] * cur[line + refl(i + t) * st];
      out[base] = s;
    }
    cur = out;
  }
  return cur;
}

/** out(x) = a(x - shift) by trilinear interpolation, shift in voxels, edges clamped */
export function shiftTrilinear(a: Float32Array, shape: readonly number[], shiftVox: readonly number[]): Float32Array {
  const [n0, n1, n2] = shape;
  const out = new Float32Array(a.length);
  const at = (i: number, j: number, k: number) =>
    a[
      (Math.min(n0 - 1, Math.max(0, i)) * n1 + Math.min(n1 - 1, Math.max(0, j))) * n2 + Math.min(n2 - 1, Math.max(0, k))
    ];
  for (let i = 0, q = 0; i < n0; i++)
    for (let j = 0; j < n1; j++)
      for (let k = 0; k < n2; k++, q++) {
        const x = i - shiftVox[0];
        const y = j - shiftVox[1];
        const z = k - shiftVox[2];
        const i0 = Math.floor(x);
        const j0 = Math.floor(y);
        const k0 = Math.floor(z);
        const fx = x - i0;
        const fy = y - j0;
        const fz = z - k0;
        let v = 0;
        for (let di = 0; di < 2; di++)
          for (let dj = 0; dj < 2; dj++)
            for (let dk = 0; dk < 2; dk++) {
              const w = (di ? fx : 1 - fx) * (dj ? fy : 1 - fy) * (dk ? fz : 1 - fz);
              if (w) v += w * at(i0 + di, j0 + dj, k0 + dk);
            }
        out[q] = v;
      }
  return out;
}

/** blur (mm), shift (mm), then scale by (1 + amplitude * smooth seeded field in [-1, 1]) */
export function perturb(
  dose: Float32Array,
  shape: [number, number, number],
  spacingMm: readonly number[],
  o: { blurMm: number; shiftMm: [number, number, number]; scale?: number; fieldAmplitude?: number; seed?: number },
): Float32Array {
  const blurred = gaussianBlur(
    dose,
    shape,
    spacingMm.map((s) => o.blurMm / s),
  );
  const out = shiftTrilinear(
    blurred,
    shape,
    o.shiftMm.map((m, a) => m / spacingMm[a]),
  );
  const scale = o.scale ?? 1;
  const amp = o.fieldAmplitude ?? 0;
  let field: Float32Array | null = null;
  if (amp > 0) {
    const rng = Rng.fromSeed(o.seed ?? 1);
    const noise = Float32Array.from({ length: dose.length }, () => rng.normal());
    field = gaussianBlur(noise, shape, [6, 6, 6]);
    let mx = 0;
    for (const v of field) mx = Math.max(mx, Math.abs(v));
    for (let i = 0; i < field.length; i++) field[i] /= mx;
  }
  for (let i = 0; i < out.length; i++) out[i] *= scale * (1 + (field ? amp * field[i] : 0));
  return out;
}

export function syntheticPair(): DosePair {
  const r = synthesizeCase({ id: 'case_000', seed: 42, planType: 'sib_2level', layout: 'v2.4' });
  const c = r.case;
  if (!c.dose) throw new Error('synthetic case without dose');
  const shape = c.shape as [number, number, number];
  const spacingMm = c.spacingMm as [number, number, number];
  return {
    name: 'synthetic',
    description: `synthetic prostate case (${shape.join('x')}) vs blurred 2 mm, shifted (1.2,-0.8,1.5) mm, +-3 % smooth field`,
    ref: c.dose,
    ev: perturb(c.dose, shape, spacingMm, { blurMm: 2, shiftMm: [1.2, -0.8, 1.5], fieldAmplitude: 0.03, seed: 5 }),
    shape,
    spacingMm,
  };
}

export function openKbpDir(): string | null {
  const d = process.env.VMAT_OPENKBP_DIR ?? '/work/shared/data/openkbp';
  return fs.existsSync(path.join(d, 'npz', 'validation')) ? d : null;
}

async function openKbpDose(file: string): Promise<{ dose: Float32Array; spacingMm: [number, number, number] }> {
  const dose = await loadArrayArg(`${file}:dose`);
  const vox = await loadArrayArg(`${file}:voxel_dimensions`);
  return {
    dose: dose.data as Float32Array,
    spacingMm: Array.from(vox.data as Float64Array) as [number, number, number],
  };
}

export async function openKbpBlurPair(patient: string): Promise<PairResult> {
  const name = `openkbp-blur ${patient}`;
  const dir = openKbpDir();
  if (!dir) return { name, skipped: 'OpenKBP data absent (VMAT_OPENKBP_DIR)' };
  const file = path.join(dir, 'npz', 'validation', `${patient}.npz`);
  if (!fs.existsSync(file)) return { name, skipped: `${file} absent` };
  const { dose, spacingMm } = await openKbpDose(file);
  const shape: [number, number, number] = [128, 128, 128];
  return {
    name,
    description: `OpenKBP validation ${patient} vs blurred 2 mm, shifted (1.5,-1,2) mm, x1.01`,
    ref: dose,
    ev: perturb(dose, shape, spacingMm, { blurMm: 2, shiftMm: [1.5, -1, 2], scale: 1.01 }),
    shape,
    spacingMm,
  };
}

/** the shipped OpenKBP model's prediction through the CLI (a product interface), no TTA */
export async function openKbpModelPair(patient: string, repoRoot: string): Promise<PairResult> {
  const name = `openkbp-model ${patient}`;
  const dir = openKbpDir();
  if (!dir) return { name, skipped: 'OpenKBP data absent (VMAT_OPENKBP_DIR)' };
  const model = path.join(repoRoot, 'models', 'openkbp-64-b16');
  if (!fs.existsSync(model)) return { name, skipped: `${model} absent` };
  const file = path.join(dir, 'npz', 'validation', `${patient}.npz`);
  if (!fs.existsSync(file)) return { name, skipped: `${file} absent` };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-bench-okbp-'));
  try {
    fs.mkdirSync(path.join(tmp, 'in'));
    fs.symlinkSync(file, path.join(tmp, 'in', `${patient}.npz`));
    const r = spawnSync(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'vmat.js'),
        'openkbp',
        'predict',
        '--model',
        model,
        '--input-dir',
        path.join(tmp, 'in'),
        '--out',
        path.join(tmp, 'out'),
        '--no-tta',
        '--no-phase-tta',
        '--quiet',
      ],
      { encoding: 'utf8' },
    );
    const csv = path.join(tmp, 'out', `${patient}.csv`);
    if (r.status !== 0 || !fs.existsSync(csv))
      return { name, skipped: `vmat openkbp predict failed: ${(r.stderr || r.stdout).slice(-300)}` };
    const pred = await readOpenKbpDoseCsv(csv);
    const { dose, spacingMm } = await openKbpDose(file);
    return {
      name,
      description: `OpenKBP validation ${patient} vs the shipped model's prediction (models/openkbp-64-b16, no TTA)`,
      ref: dose,
      ev: pred,
      shape: [128, 128, 128],
      spacingMm,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
