/**
 * What a notebook reads (run folders, metrics.csv, evaluation JSON, cases and predictions) fails
 * as a DataError naming the file and key, with expected vs found, when it is missing or malformed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../../lib/core/errors';
import { readRun, runEvaluation } from '../../lib/notebook/run_artifacts';
import { readEvaluation, representativeCase, type EvaluationResults } from '../../lib/notebook/eval_results';
import { findCasePath } from '../../lib/notebook/case_data';
import { parseMetricsCsv } from '../../lib/plot/training_history';

/** asserts `fn` throws a DataError whose message matches */
async function rejectsData(fn: () => unknown, message: RegExp): Promise<void> {
  await assert.rejects(
    async () => fn(),
    (e: unknown) => e instanceof DataError && message.test(e.message),
  );
}

test('run folders: a missing run and a run without evaluation name the file and say what to run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-nb-bad-'));
  try {
    await rejectsData(
      () => readRun(path.join(dir, 'runs'), 'nope'),
      /runs\/nope\/training_config\.json: expected the record of run 'nope' \(train it with `vmat train --exp-name nope`.*found no such file/,
    );
    fs.mkdirSync(path.join(dir, 'runs', 'r1'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'runs', 'r1', 'training_config.json'), '{}');
    const run = readRun(path.join(dir, 'runs'), 'r1', path.join(dir, 'predictions'));
    await rejectsData(() => runEvaluation(run), /predictions\/r1: expected an evaluation JSON \(run `vmat infer/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('metrics.csv: empty, or without an epoch column', async () => {
  await rejectsData(() => parseMetricsCsv('\n'), /^metrics\.csv: expected a header row .*, found an empty file$/);
  await rejectsData(
    () => parseMetricsCsv('step,loss\n1,2\n', 'runs/r/metrics.csv'),
    /^runs\/r\/metrics\.csv \[epoch\]: expected an 'epoch' column, found no 'epoch' column \(columns: step, loss\)$/,
  );
});

test('evaluation JSON: missing file, missing per_case_results, no case with an MAE', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-nb-eval-'));
  try {
    await rejectsData(() => readEvaluation(path.join(dir, 'none.json')), /none\.json: expected evaluation results/);
    fs.writeFileSync(path.join(dir, 'e.json'), '{"n_cases": 0}');
    await rejectsData(
      () => readEvaluation(path.join(dir, 'e.json')),
      /e\.json \[per_case_results\]: expected a list of per-case results, found no such key$/,
    );
    const ev = { per_case_results: [{ case_id: 'a', dose_metrics: {} }] } as unknown as EvaluationResults;
    await rejectsData(() => representativeCase(ev), /\[per_case_results\[\]\.dose_metrics\.mae_gy\]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a case id that is not in the data folder names the folder and the id', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-nb-case-'));
  try {
    await rejectsData(
      () => findCasePath(dir, 'case_09'),
      /\[case_09\]: expected a case file named case_09, found none among 0 cases$/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
