/**
 * Notebook parameters from environment variables, so the same notebook runs on the embedded
 * synthetic cohort (default), on a user's reference npz directory, and at a tiny test size.
 *
 *   VMAT_DATA_DIR        dataset folder (default data/synthetic)
 *   VMAT_RUNS_DIR        runs folder (default runs)
 *   VMAT_PREDICTIONS_DIR predictions folder (default predictions)
 *   VMAT_RUN_BASELINE    baseline run or experiment name (default baseline: runs/baseline_seed<VMAT_SEED>,
 *                        else runs/baseline, else the lowest-seed runs/baseline_seed<N>)
 *   VMAT_RUN_ASYM        asymmetric-PTV run or experiment name (default asymmetric_ptv, resolved the same way)
 *   VMAT_RUN_PREVIOUS    run the baseline report compares against in "What Changed" (default: the most
 *                        recent other evaluated run trained before this one)
 *   VMAT_SEED            seed of the single-seed reports (default 42)
 *   VMAT_SEEDS           seeds an experiment needs for the statistics (default 42,123,456, spec 8.2)
 *   VMAT_SEED_RUNS       comma-separated run names per condition for aggregate_seeds, as
 *                        "cond=run1,run2,run3;cond2=…" (default: <experiment>_seed<N> of both experiments)
 *   VMAT_CASE            case id for case_investigation (default: representative case)
 *   VMAT_FIGURES_DIR     where figures go (the runner sets figures/<experiment>)
 *   VMAT_TINY=1          tiny configuration (tests): notebooks skip slow optional work
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The environment variable `name`, or `fallback` when unset or empty. */
export function env(name: string, fallback: string): string {
  const v = process.env[name];
  return v !== undefined && v !== '' ? v : fallback;
}

export interface NotebookParams {
  dataDir: string;
  runsDir: string;
  predictionsDir: string;
  baselineRun: string;
  asymRun: string;
  /** experiment names (run names without `_seed<N>`) */
  baselineExperiment: string;
  asymExperiment: string;
  previousRun: string | null;
  seed: number;
  /** seeds the statistics need (VMAT_SEEDS) */
  seeds: number[];
  caseId: string | null;
  tiny: boolean;
}

/** `<experiment>_seed<N>` -> {experiment, seed}; other names -> {name, null} */
export function splitRunName(run: string): { experiment: string; seed: number | null } {
  const m = /^(.*)_seed(\d+)$/.exec(run);
  return m ? { experiment: m[1], seed: Number(m[2]) } : { experiment: run, seed: null };
}

/** seeded runs of an experiment in runsDir: [{run, seed}] sorted by seed */
export function seedRunsOf(runsDir: string, experiment: string): Array<{ run: string; seed: number }> {
  if (!fs.existsSync(runsDir)) return [];
  return fs
    .readdirSync(runsDir)
    .map((r) => ({ r, s: splitRunName(r) }))
    .filter(
      ({ r, s }) =>
        s.experiment === experiment && s.seed !== null && fs.existsSync(path.join(runsDir, r, 'training_config.json')),
    )
    .map(({ r, s }) => ({ run: r, seed: s.seed as number }))
    .sort((a, b) => a.seed - b.seed);
}

/**
 * The run folder name for a run or experiment name: the name itself when runs/<name> exists, else
 * runs/<name>_seed<seed>, else the lowest-seed runs/<name>_seed<N>, else the name unchanged (the
 * report then says the run is missing).
 */
export function resolveRunName(runsDir: string, name: string, seed: number): string {
  const has = (r: string) => fs.existsSync(path.join(runsDir, r, 'training_config.json'));
  if (has(name)) return name;
  if (has(`${name}_seed${seed}`)) return `${name}_seed${seed}`;
  return seedRunsOf(runsDir, name)[0]?.run ?? name;
}

/** The notebook parameters from the VMAT_* environment variables (see the header), run names resolved against the runs folder. */
export function notebookParams(): NotebookParams {
  const runsDir = env('VMAT_RUNS_DIR', 'runs');
  const seed = Number(env('VMAT_SEED', '42'));
  const baselineRun = resolveRunName(runsDir, env('VMAT_RUN_BASELINE', 'baseline'), seed);
  const asymRun = resolveRunName(runsDir, env('VMAT_RUN_ASYM', 'asymmetric_ptv'), seed);
  return {
    dataDir: env('VMAT_DATA_DIR', 'data/synthetic'),
    runsDir,
    predictionsDir: env('VMAT_PREDICTIONS_DIR', 'predictions'),
    baselineRun,
    asymRun,
    baselineExperiment: splitRunName(baselineRun).experiment,
    asymExperiment: splitRunName(asymRun).experiment,
    previousRun: process.env.VMAT_RUN_PREVIOUS || null,
    seed,
    seeds: env('VMAT_SEEDS', '42,123,456')
      .split(',')
      .map((x) => Number(x.trim()))
      .filter((x) => Number.isInteger(x)),
    caseId: process.env.VMAT_CASE || null,
    tiny: process.env.VMAT_TINY === '1',
  };
}

/** figures folder of an experiment: VMAT_FIGURES_DIR (set by the runner) or figures/<experiment> */
export function figuresDir(experiment: string): string {
  return env('VMAT_FIGURES_DIR', path.join('figures', experiment));
}
