/** The layout of report/report.json (written by lib/study/report.ts, rendered by markdown.ts and the notebook). */
import type { StudyAnalysis } from './analysis';
import type { RunState } from './runs';

export interface ReportRun {
  id: string;
  condition: string;
  seed: number;
  state: RunState;
  evaluation_file: string | null;
  n_cases: number | null;
  stopped_by: string | null;
  epochs_completed: number | null;
  best_checkpoint: string | null;
  /** the exact argv of the last successful training and inference attempts */
  train_argv: string[] | null;
  infer_argv: string[] | null;
}

export interface StudyReport extends StudyAnalysis {
  format: 'vmat-study-report/1';
  generated_at: string;
  study: {
    name: string;
    title: string;
    description: string;
    file: string;
    sha256: string;
    data_dir: string;
    split_file: string;
    n_train: number;
    n_val: number;
    n_test: number;
    test_cases: string[];
  };
  plan: {
    reference: string;
    seeds: number[];
    conditions: Array<{ name: string; description: string; flags: string[] }>;
    training_argv: string[];
    evaluation: { checkpoint: string; argv: string[] };
    metrics: Array<{ id: string; path: string; abs: boolean; better: string; primary: boolean; label: string | null }>;
    alpha: number;
    min_pairs: number;
    bootstrap: { resamples: number; seed: number; ci: number };
    wilcoxon: string;
    holm: string;
    families: Array<{ name: string; comparisons: Array<[string, string]> }>;
  };
  runs: ReportRun[];
  missing_runs: string[];
}
