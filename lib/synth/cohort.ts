/**
 * The synthetic prostate cohort (the embedded default data set): N cases in the reference npz
 * layout, a locked stratified split manifest (split.json) and a batch_summary.json like the
 * reference preprocessing writes (spec 1.8). Deterministic: the same arguments give
 * byte-identical files (seeded streams per case; fixed dates; no clock, no Math.random).
 */
import { runJobPool, workerSource } from '../core/workers';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../core/errors';
import type { Shape3 } from '../data/case';
import type { ReferenceLayout } from '../data/prostate_plan';
import { type SplitManifest, makeStratifiedSplit, tertileLabels, writeSplit } from '../data/split';
import { writeJsonAtomic } from '../core/atomic';
import type { PlanType } from './anatomy';
import { type CaseJob, type CaseJobResult, runCaseJob } from './cohort_job';
import type { DoseModelOptions } from './dose';
import type { OarMapping } from '../dicom/roi_mapping';
import { Rng } from '../core/rng';
import { DEFAULT_SHAPE, DEFAULT_SPACING_MM, SYNTH_GENERATOR, SYNTH_PROCESSED_DATE } from './synth_case';

/** plan-type mix of the cohort (v2.3 has only two types; v2.4 adds nodal plans) */
export const PLAN_MIX: Record<ReferenceLayout, Array<[PlanType, number]>> = {
  'v2.3': [
    ['sib_2level', 0.35],
    ['single_rx', 0.65],
  ],
  'v2.4': [
    ['sib_2level', 0.2],
    ['sib_3level', 0.15],
    ['nodal_only', 0.25],
    ['single_rx', 0.4],
  ],
};

export interface CohortOptions {
  out: string;
  cases: number;
  seed: number;
  layout?: ReferenceLayout;
  shape?: Shape3;
  spacingMm?: Shape3;
  /** split fractions (default 0.15 each: 24 cases -> 18/3/3) */
  valFraction?: number;
  testFraction?: number;
  /** worker threads (default: available cores, at most the number of cases; 1 = in process) */
  threads?: number;
  dose?: Partial<DoseModelOptions>;
  /**
   * 'npz' (default): reference npz files + split.json + batch_summary.json; 'dicom': one DICOM-RT
   * folder per case (CT, RS, RP, RD files) + split.json + synthetic_cohort.json
   */
  format?: 'npz' | 'dicom';
  /** ROI-name mapping for format 'dicom' */
  mapping?: OarMapping;
  onProgress?: (done: number, total: number, info: string) => void;
}

export interface CohortResult {
  files: string[];
  split: SplitManifest;
  cases: CaseJobResult[];
}

/** Id of the i-th synthetic case (0-based): synth_0001, synth_0002, … */
export function caseId(i: number): string {
  return `synth_${String(i + 1).padStart(4, '0')}`;
}

/** plan type of each case: counts by largest remainder, order by a seeded shuffle */
export function assignPlanTypes(n: number, seed: number, layout: ReferenceLayout): PlanType[] {
  const mix = PLAN_MIX[layout];
  // rounded so float noise (0.15 * 4 = 0.6000000000000001) cannot break remainder ties
  const exact = mix.map(([, f]) => Math.round(f * n * 1e9) / 1e9);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = mix.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of order) {
    if (left-- <= 0) break;
    counts[i]++;
  }
  const types: PlanType[] = [];
  mix.forEach(([t], i) => {
    for (let k = 0; k < counts[i]; k++) types.push(t);
  });
  return Rng.fromSeed(`vmat-synth:${seed}:plan-types:${layout}`).shuffle(types);
}

async function runInWorkers(
  jobs: CaseJob[],
  threads: number,
  onDone: (r: CaseJobResult) => void,
): Promise<CaseJobResult[]> {
  const results: CaseJobResult[] = new Array(jobs.length);
  let error: Error | null = null;
  await runJobPool<CaseJob, CaseJobResult>(
    jobs,
    threads,
    workerSource(__dirname, 'cohort_worker', 'runCohortWorker'),
    (k, m) => {
      if (!m.ok) {
        error = m.userError ? new UsageError(m.error ?? '') : new Error(`synthetic case ${jobs[k].id}: ${m.error}`);
        return false;
      }
      results[k] = m.result!;
      onDone(m.result!);
    },
  );
  if (error) throw error;
  return results;
}

/**
 * Generates the synthetic cohort into `opts.out`: one case per file (npz or DICOM-RT folder), split.json
 * and (npz) batch_summary.json; cases run on worker threads and the bytes depend only on the arguments (seed).
 */
export async function generateCohort(opts: CohortOptions): Promise<CohortResult> {
  const layout = opts.layout ?? 'v2.3';
  const shape = opts.shape ?? DEFAULT_SHAPE;
  const spacingMm = opts.spacingMm ?? DEFAULT_SPACING_MM;
  if (!(Number.isInteger(opts.cases) && opts.cases >= 1))
    throw new UsageError(`--cases: expected a positive integer number of cases, found ${opts.cases}`);
  const types = assignPlanTypes(opts.cases, opts.seed, layout);
  const jobs: CaseJob[] = types.map((planType, i) => ({
    id: caseId(i),
    file: path.join(opts.out, `${caseId(i)}.npz`),
    seed: opts.seed,
    planType,
    layout,
    shape,
    spacingMm,
    dose: opts.dose,
    format: opts.format,
    mapping: opts.mapping,
  }));
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), jobs.length));
  let done = 0;
  const tick = (r: CaseJobResult) => opts.onProgress?.(++done, jobs.length, `${r.id} ${r.planType}`);
  let results: CaseJobResult[];
  if (threads === 1) {
    results = [];
    for (const j of jobs) {
      const r = await runCaseJob(j);
      results.push(r);
      tick(r);
    }
  } else {
    results = await runInWorkers(jobs, threads, tick);
  }

  const tertiles = tertileLabels(results.map((r) => r.ptv70Cc));
  const split = makeStratifiedSplit(
    results.map((r, i) => ({ id: r.id, strata: [r.planType, tertiles[i]] })),
    {
      val: opts.valFraction ?? 0.15,
      test: opts.testFraction ?? 0.15,
      seed: opts.seed,
      strataKeys: ['plan_type', 'ptv70_volume_tertile'],
    },
  );
  await writeSplit(path.join(opts.out, 'split.json'), split);
  const synthetic = {
    generator: SYNTH_GENERATOR,
    seed: opts.seed,
    layout,
    shape,
    spacing_mm: spacingMm,
    cases: results.map((r) => ({
      id: r.id,
      plan_type: r.planType,
      ptv70_cc: Math.round(r.ptv70Cc * 100) / 100,
      dvh: r.dvh,
      ...(r.roiNames ? { roi_names: r.roiNames } : {}),
    })),
  };
  if (opts.format === 'dicom') {
    // the folder is an input for `vmat preprocess`: no batch_summary.json (that is preprocess output)
    await writeJsonAtomic(path.join(opts.out, 'synthetic_cohort.json'), { format: 'dicom', ...synthetic });
    return { files: results.map((r) => path.join(opts.out, r.id)), split, cases: results };
  }
  const typeCounts: Record<string, number> = {};
  for (const [t] of PLAN_MIX[layout]) typeCounts[t] = 0;
  for (const r of results) typeCounts[r.planType]++;
  await writeJsonAtomic(path.join(opts.out, 'batch_summary.json'), {
    processed_date: SYNTH_PROCESSED_DATE,
    script_version: layout === 'v2.4' ? '2.4.0' : '2.3.0',
    total_cases: results.length,
    processed: results.length,
    failed: 0,
    failed_cases: [],
    case_type_distribution: typeCounts,
    case_types: Object.fromEntries(results.map((r) => [r.id, r.planType])),
    settings: {
      strict_validation: false,
      compute_sdfs: true,
      extract_beams: true,
      extract_mlc: true,
      sdf_clip_mm: 50.0,
      inplane_size: shape[0],
      z_margin_mm: 30.0,
    },
    synthetic,
  });
  return { files: results.map((r) => r.file), split, cases: results };
}
