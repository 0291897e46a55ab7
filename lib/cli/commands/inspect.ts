/** `vmat inspect PATH`: summary of one case (reference npz, openkbp npz or OpenKBP folder). */
import type { Command } from 'commander';
import { voxelCc, type Case } from '../../data/case';
import { printJson } from '../json';

export interface InspectSummary {
  id: string;
  source: string;
  shape: number[];
  spacing_mm: number[];
  rx_gy: number;
  plan_type: string | null;
  /** present structures only: name → voxel count */
  structures: Record<string, number>;
  /** present structures only: name → volume in cm³ (voxel count × voxel volume) */
  structures_cc: Record<string, number>;
  /** false for a case without a plan dose (e.g. an inference-only input) */
  dose_available: boolean;
  dose_max_gy: number | null;
  /** mean over every voxel of the grid */
  dose_mean_gy: number | null;
  warnings?: string[];
}

/** the `inspect --json` object for a loaded case */
export function inspectSummary(c: Case): InspectSummary {
  const structures: Record<string, number> = {};
  const structuresCc: Record<string, number> = {};
  const cc = voxelCc(c);
  for (const name of c.structureNames) {
    const m = c.masks.get(name);
    if (!m) continue;
    let k = 0;
    for (let i = 0; i < m.length; i++) k += m[i] ? 1 : 0;
    if (k > 0) {
      structures[name] = k;
      structuresCc[name] = Math.round(k * cc * 1000) / 1000;
    }
  }
  let max: number | null = null;
  let mean: number | null = null;
  if (c.dose) {
    let mx = -Infinity;
    let s = 0;
    for (let i = 0; i < c.dose.length; i++) {
      const v = c.dose[i];
      if (v > mx) mx = v;
      s += v;
    }
    max = mx;
    mean = s / c.dose.length;
  }
  return {
    id: c.id,
    source: c.source,
    shape: [...c.shape],
    spacing_mm: [...c.spacingMm],
    rx_gy: c.rxGy,
    plan_type: c.planType ?? null,
    structures,
    structures_cc: structuresCc,
    dose_available: c.dose !== null,
    dose_max_gy: max,
    dose_mean_gy: mean,
    ...(c.warnings?.length ? { warnings: c.warnings } : {}),
  };
}

/** the human-readable `vmat inspect` text */
export function readableInspect(s: InspectSummary): string {
  const names = Object.keys(s.structures);
  const w = Math.max(14, ...names.map((n) => n.length + 1));
  const lines = [
    `${s.id}  (${s.source})`,
    `  shape       ${s.shape.join(' x ')}`,
    `  spacing_mm  ${s.spacing_mm.map((x) => +x.toFixed(4)).join(' x ')}`,
    `  rx_gy       ${s.rx_gy}`,
    `  plan_type   ${s.plan_type ?? '-'}`,
    `  dose        ${!s.dose_available || s.dose_max_gy === null ? 'no dose (case without a plan dose)' : `max ${s.dose_max_gy.toFixed(2)} Gy, mean ${s.dose_mean_gy!.toFixed(3)} Gy`}`,
    `  structures`,
    `    ${'name'.padEnd(w)} ${'volume (cc)'.padStart(14)}  voxels`,
    ...names.map((k) => `    ${k.padEnd(w)} ${s.structures_cc[k].toFixed(2).padStart(14)}  ${s.structures[k]}`),
    ...(s.warnings ?? []).map((w) => `  warning: ${w}`),
  ];
  return lines.join('\n') + '\n';
}

/** Registers `vmat inspect`: summarises one case (grid, spacing in mm, Rx in Gy, structure volumes in cc, dose statistics). */
export function register(program: Command): void {
  program
    .command('inspect')
    .description('summarise one case: reference npz (v2.3/v2.4), openkbp npz or OpenKBP patient folder')
    .argument('<path>', 'case file (.npz) or OpenKBP patient folder (pt_N/)')
    .option(
      '--json',
      'print one JSON object {source, shape, spacing_mm, rx_gy, structures (voxels), structures_cc, dose_available, dose_max_gy, dose_mean_gy}',
    )
    .action(async (p: string, opts: { json?: boolean }) => {
      const { loadCase } = await import('../../data/load');
      const s = inspectSummary(await loadCase(p));
      if (opts.json) printJson(s);
      else process.stdout.write(readableInspect(s));
    });
}
