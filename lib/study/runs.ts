/**
 * The state of each run of a study, read from the disk (the single source of truth, whichever
 * executor ran it): `training_summary.json` in the run folder means training finished;
 * `*evaluation_results*.json` in its predictions folder means inference with metrics finished;
 * `checkpoints/last` without a summary means a partial run that resumes. The run's status record
 * (`logs/<run>/status.json`) adds what the disk cannot say: running (with pid/host or SLURM job),
 * failed with the reason and log, interrupted; and the exact argv of every attempt.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toJson, writeFileAtomicSync } from '../core/atomic';
import type { Study, StudyRun } from './study';

export type RunState = 'missing' | 'partial' | 'trained' | 'done' | 'failed' | 'interrupted' | 'running' | 'queued';

export interface Attempt {
  phase: 'train' | 'infer';
  argv: string[];
  started_at: string;
  ended_at: string | null;
  exit_code: number | null;
  signal: string | null;
  outcome: 'running' | 'ok' | 'interrupted' | 'failed' | 'skipped';
  executor: string;
  host: string;
  pid: number;
  slurm_job_id: string | null;
  log: string;
}

export interface StatusRecord {
  run: string;
  condition: string;
  seed: number;
  state: 'running' | 'trained' | 'done' | 'failed' | 'interrupted';
  phase: 'train' | 'infer' | null;
  reason: string | null;
  log: string | null;
  updated_at: string;
  attempts: Attempt[];
}

export interface RunStatus {
  run: StudyRun;
  state: RunState;
  /** epochs in metrics.csv */
  epochsDone: number;
  epochsPlanned: number;
  reason: string | null;
  log: string | null;
  evaluationFile: string | null;
  /** SLURM job/task id when queued or running under SLURM */
  job: string | null;
}

/** the run's status record file (logs/<run>/status.json) */
export function statusFile(run: StudyRun): string {
  return path.join(run.logDir, 'status.json');
}

/** the run's status record, or null when it has none (never attempted) */
export function readStatus(run: StudyRun): StatusRecord | null {
  try {
    return JSON.parse(fs.readFileSync(statusFile(run), 'utf8')) as StatusRecord;
  } catch {
    return null;
  }
}

/** writes the run's status record atomically */
export function writeStatus(run: StudyRun, rec: StatusRecord): void {
  writeFileAtomicSync(statusFile(run), toJson({ ...rec, updated_at: new Date().toISOString() }));
}

/** the run's training_summary.json (present once training finished) */
export function summaryFile(run: StudyRun): string {
  return path.join(run.runDir, 'training_summary.json');
}

/** the per-case evaluation JSON of a run (`evaluation_results.json`, else `*evaluation_results*.json`), or null */
export function evaluationFile(predDir: string): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(predDir).filter((n) => /evaluation_results.*\.json$/.test(n) && !n.startsWith('.'));
  } catch {
    return null;
  }
  if (!names.length) return null;
  const pick = names.includes('evaluation_results.json') ? 'evaluation_results.json' : names.sort()[0];
  return path.join(predDir, pick);
}

/** number of epochs recorded in the run's metrics.csv */
export function epochsDone(run: StudyRun): number {
  try {
    const lines = fs.readFileSync(path.join(run.runDir, 'metrics.csv'), 'utf8').split('\n').filter(Boolean);
    return Math.max(0, lines.length - 1);
  } catch {
    return 0;
  }
}

/** the last value of `--epochs` in an argv (default 200, the train command's) */
export function plannedEpochs(argv: string[]): number {
  let e = 200;
  argv.forEach((t, i) => {
    if (t === '--epochs' && i + 1 < argv.length) e = Number(argv[i + 1]);
    else if (t.startsWith('--epochs=')) e = Number(t.slice(9));
  });
  return Number.isFinite(e) ? e : 200;
}

/** whether a process with this pid is still running on this machine */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** the state of a run from the disk and its status record (SLURM queue states are added by the caller) */
export function runStatus(s: Study, run: StudyRun, trainArgv: string[]): RunStatus {
  const rec = readStatus(run);
  const ev = evaluationFile(run.predDir);
  const trained = fs.existsSync(summaryFile(run));
  const partial = fs.existsSync(path.join(run.runDir, 'checkpoints', 'last'));
  const base = {
    run,
    epochsDone: epochsDone(run),
    epochsPlanned: plannedEpochs(trainArgv),
    evaluationFile: ev,
    job: rec?.attempts.at(-1)?.slurm_job_id ?? null,
  };
  void s;
  if (trained && ev) return { ...base, state: 'done', reason: null, log: null };
  if (rec?.state === 'running') {
    const a = rec.attempts.at(-1);
    // a local attempt whose process is gone was killed without a word: treat as interrupted
    const alive = a && (a.slurm_job_id !== null || (a.host === os.hostname() && pidAlive(a.pid)));
    if (alive) return { ...base, state: 'running', reason: `${rec.phase ?? ''}`.trim() || null, log: rec.log };
    return {
      ...base,
      state: trained ? 'trained' : partial ? 'interrupted' : 'missing',
      reason: 'the process running it is gone',
      log: rec.log,
    };
  }
  if (rec?.state === 'failed') return { ...base, state: 'failed', reason: rec.reason, log: rec.log };
  if (trained) return { ...base, state: 'trained', reason: null, log: null };
  if (rec?.state === 'interrupted' && partial)
    return { ...base, state: 'interrupted', reason: rec.reason, log: rec.log };
  if (partial) return { ...base, state: 'partial', reason: null, log: null };
  return { ...base, state: 'missing', reason: null, log: null };
}
