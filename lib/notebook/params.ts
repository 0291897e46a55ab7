/**
 * Notebook parameters from environment variables, so the same notebook runs on the embedded
 * synthetic cohort (default), on a user's reference npz directory, and at a tiny test size.
 *
 *   VMAT_DATA_DIR        dataset folder (default data/synthetic)
 *   VMAT_RUNS_DIR        runs folder (default runs)
 *   VMAT_PREDICTIONS_DIR predictions folder (default predictions)
 *   VMAT_RUN_BASELINE    baseline run name (default baseline)
 *   VMAT_RUN_ASYM        asymmetric-PTV run name (default asymmetric_ptv)
 *   VMAT_SEED_RUNS       comma-separated run names per condition for aggregate_seeds, as
 *                        "cond=run1,run2,run3;cond2=…" (default: <baseline>_seed*, <asym>_seed*)
 *   VMAT_CASE            case id for case_investigation (default: representative case)
 *   VMAT_FIGURES_DIR     where figures go (the runner sets figures/<experiment>)
 *   VMAT_TINY=1          tiny configuration (tests): notebooks skip slow optional work
 */
import * as path from 'node:path';

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
  caseId: string | null;
  tiny: boolean;
}

export function notebookParams(): NotebookParams {
  return {
    dataDir: env('VMAT_DATA_DIR', 'data/synthetic'),
    runsDir: env('VMAT_RUNS_DIR', 'runs'),
    predictionsDir: env('VMAT_PREDICTIONS_DIR', 'predictions'),
    baselineRun: env('VMAT_RUN_BASELINE', 'baseline'),
    asymRun: env('VMAT_RUN_ASYM', 'asymmetric_ptv'),
    caseId: process.env.VMAT_CASE || null,
    tiny: process.env.VMAT_TINY === '1',
  };
}

/** figures folder of an experiment: VMAT_FIGURES_DIR (set by the runner) or figures/<experiment> */
export function figuresDir(experiment: string): string {
  return env('VMAT_FIGURES_DIR', path.join('figures', experiment));
}
