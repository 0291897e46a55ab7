/**
 * A training run's folder (runs/<run>/): configuration, summary, test split, metrics history,
 * plus where its predictions and evaluation live (predictions/<run>/ by convention).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { parseMetricsCsv, type TrainingHistory } from '../plot/training_history';
import { readEvaluation, type EvaluationResults } from './eval_results';

export interface RunArtifacts {
  name: string;
  dir: string;
  config: Record<string, unknown>;
  summary: Record<string, unknown> | null;
  testCases: { test_cases: string[]; seed?: number; [k: string]: unknown } | null;
  metricsCsv: string | null;
  history: TrainingHistory | null;
  predictionsDir: string;
  evaluationFile: string | null;
}

function readJsonIf(file: string): Record<string, unknown> | null {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : null;
}

/** metrics.csv directly in the run folder, else in version_1/, version_0/ (reference layout) */
export function findMetricsCsv(dir: string): string | null {
  for (const c of ['metrics.csv', 'version_1/metrics.csv', 'version_0/metrics.csv']) {
    const p = path.join(dir, c);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/**
 * The evaluation JSON of a predictions folder: `evaluation_results.json` (written by `vmat infer
 * --compute-metrics` / `vmat evaluate`), else the reference name `baseline_evaluation_results.json`
 * or any other `*evaluation_results*.json`.
 */
export function findEvaluationFile(predDir: string): string | null {
  if (!fs.existsSync(predDir)) return null;
  const names = fs.readdirSync(predDir).filter((n) => /evaluation_results.*\.json$/.test(n) || n === 'evaluation.json');
  const rank = (n: string) => (n === 'evaluation_results.json' ? 0 : n === 'baseline_evaluation_results.json' ? 1 : 2);
  const f = names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))[0];
  return f ? path.join(predDir, f) : null;
}

/** best and last checkpoint folders of a run (training_summary.json, else the checkpoints folder) */
export function runCheckpoints(run: RunArtifacts): { best: string | null; last: string | null } {
  const s = run.summary ?? {};
  const ck = path.join(run.dir, 'checkpoints');
  let best = typeof s.best_checkpoint === 'string' ? s.best_checkpoint : null;
  let last = typeof s.last_checkpoint === 'string' ? s.last_checkpoint : null;
  if (fs.existsSync(ck)) {
    const names = fs.readdirSync(ck);
    best ??= names.filter((n) => n.startsWith('best')).map((n) => path.join(ck, n))[0] ?? null;
    if (!last && names.includes('last')) last = path.join(ck, 'last');
  }
  return { best, last };
}

/** Reads runs/<name>/ (config, summary, test split, metrics history) and locates its predictions; DataError when the run does not exist. */
export function readRun(runsDir: string, name: string, predictionsDir = 'predictions'): RunArtifacts {
  const dir = path.join(runsDir, name);
  const config = readJsonIf(path.join(dir, 'training_config.json'));
  if (!config)
    throw new DataError(
      path.join(dir, 'training_config.json'),
      null,
      `the record of run '${name}' (train it with \`vmat train --exp-name ${name}\`, or set the run name variable)`,
      'no such file',
    );
  const metricsCsv = findMetricsCsv(dir);
  const predDir =
    [path.join(predictionsDir, name), path.join(predictionsDir, `${name}_test`)].find((p) => fs.existsSync(p)) ??
    path.join(predictionsDir, name);
  return {
    name,
    dir,
    config,
    summary: readJsonIf(path.join(dir, 'training_summary.json')),
    testCases: readJsonIf(path.join(dir, 'test_cases.json')) as RunArtifacts['testCases'],
    metricsCsv,
    history: metricsCsv ? parseMetricsCsv(fs.readFileSync(metricsCsv, 'utf8'), metricsCsv) : null,
    predictionsDir: predDir,
    evaluationFile: findEvaluationFile(predDir),
  };
}

/** The evaluation JSON of a run's predictions (DataError saying which command writes it when there is none). */
export function runEvaluation(run: RunArtifacts): EvaluationResults {
  if (!run.evaluationFile)
    throw new DataError(
      run.predictionsDir,
      null,
      'an evaluation JSON (run `vmat infer --compute-metrics` or `vmat evaluate`)',
      'none',
    );
  return readEvaluation(run.evaluationFile);
}

/** a value from training_config.json by dot path, looking in hparams/args too */
export function configValue(run: RunArtifacts, key: string): unknown {
  for (const root of [
    run.config,
    run.config.training,
    run.config.hparams,
    run.config.data,
    run.config.args,
    run.config.options,
  ]) {
    if (root && typeof root === 'object' && key in (root as Record<string, unknown>))
      return (root as Record<string, unknown>)[key];
  }
  return undefined;
}

/** the run's split (runs/<run>/split.json written by `vmat train`, else <data>/split.json), or null */
export function readSplit(run: RunArtifacts, dataDir: string): { file: string; split: Record<string, unknown> } | null {
  for (const f of [path.join(run.dir, 'split.json'), path.join(dataDir, 'split.json')]) {
    if (fs.existsSync(f)) return { file: f, split: JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown> };
  }
  return null;
}
