/**
 * `vmat study report`: reads the per-case evaluation JSON of every finished run, refuses runs made
 * with another split or test set, applies the plan (lib/study/analysis.ts) and writes
 * `studies/<name>/report/report.json` (numbers unrounded; metrics named by their JSON path) and
 * `report.md` (tables for reading; rounded for display only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { toJson, writeFileAtomicSync } from '../core/atomic';
import { analyseStudy, type AnalysisPlan, type RunResults } from './analysis';
import type { ReportRun, StudyReport } from './report_types';
import { renderMarkdown } from './markdown';
import { splitMismatch, trainArgv } from './run_one';
import { readStatus, runStatus, summaryFile } from './runs';
import { metricId, studyRuns, type Study } from './study';

export type { ReportRun, StudyReport } from './report_types';

/** the analysis plan of a study */
export function analysisPlan(s: Study): AnalysisPlan {
  return {
    reference: s.reference,
    conditions: s.conditions.map((c) => c.name),
    seeds: s.seeds,
    metrics: s.metrics,
    primary: s.analysis.primary_metrics.map(metricId),
    alpha: s.analysis.alpha,
    minPairs: s.analysis.min_pairs,
    bootstrap: s.analysis.bootstrap,
    comparisons: s.comparisons,
    decisionRules: s.analysis.decision_rules,
    seedExtension: s.analysis.seed_extension ?? null,
  };
}

function sameSet(a: string[], b: string[]): boolean {
  const sb = new Set(b);
  return a.length === b.length && a.every((x) => sb.has(x));
}

/** the finished runs' per-case results; throws a DataError for a run with another split or test set */
export function collectResults(s: Study): { results: RunResults[]; runs: ReportRun[] } {
  const results: RunResults[] = [];
  const runs: ReportRun[] = [];
  for (const r of studyRuns(s)) {
    const st = runStatus(s, r, trainArgv(s, r, false));
    const rec = readStatus(r);
    const lastOk = (phase: 'train' | 'infer') =>
      [...(rec?.attempts ?? [])].reverse().find((a) => a.phase === phase && a.outcome === 'ok')?.argv ?? null;
    let summary: Record<string, unknown> | null = null;
    try {
      summary = JSON.parse(fs.readFileSync(summaryFile(r), 'utf8')) as Record<string, unknown>;
    } catch {
      summary = null;
    }
    const row: ReportRun = {
      id: r.id,
      condition: r.condition,
      seed: r.seed,
      state: st.state,
      evaluation_file: st.evaluationFile,
      n_cases: null,
      stopped_by: (summary?.stopped_by as string | undefined) ?? null,
      epochs_completed: (summary?.epochs_completed as number | undefined) ?? null,
      best_checkpoint: (summary?.best_checkpoint as string | null | undefined) ?? null,
      train_argv: lastOk('train'),
      infer_argv: lastOk('infer'),
    };
    runs.push(row);
    if (st.state !== 'done' || !st.evaluationFile) continue;
    const mismatch = splitMismatch(s, r);
    if (mismatch)
      throw new DataError(s.file, 'data_dir', `every run made with the locked split ${s.splitFile}`, mismatch);
    let ev: { per_case_results?: Array<{ case_id: string }> };
    try {
      ev = JSON.parse(fs.readFileSync(st.evaluationFile, 'utf8')) as typeof ev;
    } catch (e) {
      throw new DataError(st.evaluationFile, null, 'an evaluation JSON', (e as Error).message);
    }
    if (!Array.isArray(ev.per_case_results))
      throw new DataError(st.evaluationFile, 'per_case_results', 'a list of per-case results', 'missing');
    const ids = ev.per_case_results.map((c) => c.case_id);
    if (!sameSet(ids, s.split.test))
      throw new DataError(
        st.evaluationFile,
        'per_case_results[*].case_id',
        `exactly the ${s.split.test.length} test cases of ${s.splitFile}`,
        `${ids.length} cases (${
          ids
            .filter((x) => !s.split.test.includes(x))
            .slice(0, 3)
            .join(', ') || 'some test cases missing'
        })`,
      );
    row.n_cases = ids.length;
    results.push({
      run: r.id,
      condition: r.condition,
      seed: r.seed,
      cases: Object.fromEntries(ev.per_case_results.map((c) => [c.case_id, c])),
    });
  }
  return { results, runs };
}

/** the whole report object (nothing written) */
export function buildReport(s: Study): StudyReport {
  const { results, runs } = collectResults(s);
  const analysis = analyseStudy(analysisPlan(s), results);
  const missing = runs.filter((r) => r.state !== 'done');
  const deviations = [
    ...missing.map(
      (r) =>
        `run ${r.id} missing from the analysis (${r.state}); its condition's per-case means use the seeds that finished`,
    ),
    ...runs
      .filter(
        (r) => r.state === 'done' && r.stopped_by && r.stopped_by !== 'max_epochs' && r.stopped_by !== 'early_stopping',
      )
      .map((r) => `run ${r.id} stopped by ${r.stopped_by} (before its planned epochs)`),
    ...analysis.deviations,
  ];
  const primary = new Set(s.analysis.primary_metrics.map(metricId));
  const families = new Map<string, Array<[string, string]>>();
  for (const c of s.comparisons) {
    if (!families.has(c.family)) families.set(c.family, []);
    families.get(c.family)!.push([c.condition, c.against]);
  }
  return {
    format: 'vmat-study-report/1',
    generated_at: new Date().toISOString(),
    study: {
      name: s.name,
      title: s.title,
      description: s.description,
      file: s.file,
      sha256: s.sha256,
      data_dir: s.dataDir,
      split_file: s.splitFile,
      n_train: s.split.train.length,
      n_val: s.split.val.length,
      n_test: s.split.test.length,
      test_cases: s.split.test.slice().sort(),
    },
    plan: {
      reference: s.reference,
      seeds: s.seeds,
      conditions: s.conditions,
      training_argv: s.trainingArgv,
      evaluation: s.evaluation,
      metrics: s.metrics.map((m) => ({
        id: metricId(m),
        path: m.path,
        abs: m.abs,
        better: m.better,
        primary: primary.has(metricId(m)),
        label: m.label ?? null,
      })),
      alpha: s.analysis.alpha,
      min_pairs: s.analysis.min_pairs,
      bootstrap: s.analysis.bootstrap,
      wilcoxon:
        'two-sided paired Wilcoxon signed-rank on per-case means (scipy.stats.wilcoxon defaults: zero_method wilcox, no correction, method auto)',
      holm: 'standard step-down Holm (monotone adjusted p-values) within each family, per metric',
      families: [...families.entries()].map(([name, comparisons]) => ({ name, comparisons })),
    },
    runs,
    missing_runs: missing.map((r) => r.id),
    ...analysis,
    deviations,
  };
}

/** writes report/report.json and report/report.md; returns their paths and the report */
export function writeReport(s: Study): { json: string; markdown: string; report: StudyReport } {
  const report = buildReport(s);
  const json = path.join(s.reportDir, 'report.json');
  const md = path.join(s.reportDir, 'report.md');
  writeFileAtomicSync(json, toJson(report));
  writeFileAtomicSync(md, renderMarkdown(report));
  return { json, markdown: md, report };
}
