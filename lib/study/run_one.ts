/**
 * One run of a study, the unit both executors share: `vmat train ...` then
 * `vmat infer ... --compute-metrics`, as subprocesses (the study never reaches into the training
 * engine), with the exact argv of every attempt recorded in `logs/<run>/status.json` and the output
 * appended to `logs/<run>/train.log` / `infer.log`.
 *
 * Idempotent: a finished phase is skipped; a run with `checkpoints/last` but no
 * `training_summary.json` continues with `--resume` (exact: the engine's contract). Interruption:
 * `interrupt(signal)` forwards SIGINT / SIGTERM / SIGUSR1 to the running command (the engine then
 * checkpoints and exits 75, EX_TEMPFAIL); the run is recorded as interrupted and resumes on the next
 * `vmat study run`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { VMAT_BIN } from '../core/project';
import { readSplit } from '../data/split';
import { evaluationFile, readStatus, summaryFile, writeStatus, type Attempt, type StatusRecord } from './runs';
import type { Study, StudyRun } from './study';

/** exit code of an interrupted, resumable command (EX_TEMPFAIL) */
export const EXIT_INTERRUPTED = 75;

/** `node bin/vmat.js` of this checkout */
export function vmatCommand(): string[] {
  return [process.execPath, VMAT_BIN];
}

/** `vmat train` argv of a run (after `node bin/vmat.js`) */
export function trainArgv(s: Study, run: StudyRun, resume: boolean): string[] {
  const cond = s.conditions.find((c) => c.name === run.condition)!;
  return [
    'train',
    ...s.trainingArgv,
    ...cond.flags,
    '--data-dir',
    s.dataDir,
    '--runs-dir',
    s.runsDir,
    '--exp-name',
    run.id,
    '--seed',
    String(run.seed),
    ...(resume ? ['--resume'] : []),
  ];
}

/** the checkpoint inference uses: the summary's best (or last) checkpoint, found inside the run folder */
export function inferenceCheckpoint(s: Study, run: StudyRun): string {
  const f = summaryFile(run);
  const sum = JSON.parse(fs.readFileSync(f, 'utf8')) as { best_checkpoint?: string | null; last_checkpoint?: string };
  const chosen = s.evaluation.checkpoint === 'last' ? null : (sum.best_checkpoint ?? null);
  const name = chosen ? path.basename(chosen) : 'last';
  // the summary holds absolute paths of where the run was trained; the study folder may have moved since
  const dir = path.join(run.runDir, 'checkpoints', name);
  if (!fs.existsSync(dir))
    throw new DataError(
      f,
      chosen ? 'best_checkpoint' : 'last_checkpoint',
      'an existing checkpoint folder',
      `${dir} missing`,
    );
  return dir;
}

/** `vmat infer` argv of a run */
export function inferArgv(s: Study, run: StudyRun, checkpoint: string): string[] {
  return [
    'infer',
    '--checkpoint',
    checkpoint,
    '--input-dir',
    s.dataDir,
    '--output-dir',
    run.predDir,
    '--cases-from',
    path.join(run.runDir, 'test_cases.json'),
    '--compute-metrics',
    ...s.evaluation.argv,
  ];
}

/** environment of the run's commands: the thread count is part of the study (results do not depend on the machine) */
export function runEnv(s: Study): NodeJS.ProcessEnv {
  return { ...process.env, VMAT_THREADS: String(s.resources.cpus_per_task) };
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sb = new Set(b);
  return a.every((x) => sb.has(x));
}

/**
 * null when the run folder (if any) used the study's locked split; otherwise what differs.
 * Checks the run's split.json and test_cases.json against data_dir/split.json.
 */
export function splitMismatch(s: Study, run: StudyRun): string | null {
  const f = path.join(run.runDir, 'split.json');
  if (fs.existsSync(f)) {
    const m = readSplit(f);
    for (const k of ['train', 'val', 'test'] as const)
      if (!sameSet(m[k], s.split[k]))
        return `${f}: its ${k} cases (${m[k].length}) differ from ${s.splitFile} (${s.split[k].length})`;
  }
  const tc = path.join(run.runDir, 'test_cases.json');
  if (fs.existsSync(tc)) {
    const t = JSON.parse(fs.readFileSync(tc, 'utf8')) as { test_cases?: string[] };
    if (!sameSet(t.test_cases ?? [], s.split.test))
      return `${tc}: its test cases differ from the test list of ${s.splitFile}`;
  }
  return null;
}

/** throws a DataError before anything runs when runs on disk used a different split */
export function assertSameSplit(s: Study, runs: StudyRun[]): void {
  const bad = runs.map((r) => [r.id, splitMismatch(s, r)] as const).filter(([, m]) => m !== null);
  if (bad.length)
    throw new DataError(
      s.file,
      'data_dir',
      `runs made with the study's locked split ${s.splitFile}`,
      `${bad.length} run folder(s) from a different split: ${bad
        .slice(0, 3)
        .map(([, m]) => m)
        .join('; ')}${bad.length > 3 ? '; …' : ''} (move them away or use another study name)`,
    );
}

export type RunOutcome = 'done' | 'trained' | 'interrupted' | 'failed';

export interface ExecuteOptions {
  /** 'all' = train then infer */
  phase: 'train' | 'infer' | 'all';
  executor: 'local' | 'slurm';
  slurmJobId?: string | null;
  onChild?: (child: ChildProcess | null) => void;
}

/** a handle to interrupt a run in progress */
export class RunControl {
  interrupted: NodeJS.Signals | null = null;
  private child: ChildProcess | null = null;
  attach(c: ChildProcess | null): void {
    this.child = c;
  }
  /**
   * forwards the signal to the running command's whole process group (the command may itself be a
   * small launcher with a child, e.g. bin/vmat.js re-executing under tsx); the run ends as 'interrupted'
   */
  interrupt(sig: NodeJS.Signals): void {
    this.interrupted ??= sig;
    const c = this.child;
    if (c && c.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid, sig);
      } catch {
        try {
          c.kill(sig);
        } catch {
          /* already gone */
        }
      }
    }
  }
}

function lastErrorLine(log: string): string | null {
  try {
    const text = fs.readFileSync(log, 'utf8');
    const lines = text.split('\n').filter((l) => l.trim());
    const err = [...lines].reverse().find((l) => /^vmat: |Error|error:/.test(l));
    return (err ?? lines.at(-1) ?? '').slice(0, 300) || null;
  } catch {
    return null;
  }
}

async function runCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  log: string,
  control: RunControl,
): Promise<{ code: number | null; signal: string | null }> {
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const [node, ...rest] = [...vmatCommand(), ...argv];
  const fd = fs.openSync(log, 'a');
  fs.writeSync(
    fd,
    `\n=== ${new Date().toISOString()} ${os.hostname()} pid ${process.pid}\n$ ${[node, ...rest].map(shellQuote).join(' ')}\n`,
  );
  try {
    // its own process group: a terminal's Ctrl-C reaches only this process, which forwards it once to the group
    const child = spawn(node, rest, { stdio: ['ignore', fd, fd], env, detached: true });
    control.attach(child);
    return await new Promise((resolve) => {
      child.on('error', () => resolve({ code: 127, signal: null }));
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  } finally {
    control.attach(null);
    fs.closeSync(fd);
  }
}

/** shell-quoted for logs and job scripts */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the missing phases of one run. Returns how it ended; never throws for a failing command
 * (the failure is recorded with its reason and log path, so the other runs go on).
 */
export async function executeRun(s: Study, run: StudyRun, control: RunControl, o: ExecuteOptions): Promise<RunOutcome> {
  const prev = readStatus(run);
  const rec: StatusRecord = {
    run: run.id,
    condition: run.condition,
    seed: run.seed,
    state: 'running',
    phase: null,
    reason: null,
    log: null,
    updated_at: '',
    attempts: prev?.attempts ?? [],
  };
  const env = runEnv(s);
  const attempt = (phase: 'train' | 'infer', argv: string[], log: string): Attempt => ({
    phase,
    argv: [...vmatCommand(), ...argv],
    started_at: new Date().toISOString(),
    ended_at: null,
    exit_code: null,
    signal: null,
    outcome: 'running',
    executor: o.executor,
    host: os.hostname(),
    pid: process.pid,
    slurm_job_id: o.slurmJobId ?? null,
    log,
  });
  /** records the attempt in status.json, runs the command, then records how it ended */
  const launch = async (phase: 'train' | 'infer', argv: string[], log: string) => {
    const a = attempt(phase, argv, log);
    rec.attempts.push(a);
    rec.phase = phase;
    rec.log = log;
    writeStatus(run, rec);
    const r = await runCommand(argv, env, log, control);
    a.ended_at = new Date().toISOString();
    a.exit_code = r.code;
    a.signal = r.signal;
    return { a, r };
  };
  const finish = (state: StatusRecord['state'], reason: string | null, log: string | null): void => {
    rec.state = state;
    rec.reason = reason;
    rec.log = log;
    writeStatus(run, rec);
  };

  const mismatch = splitMismatch(s, run);
  if (mismatch) {
    finish('failed', `refused: ${mismatch}`, null);
    return 'failed';
  }

  // training
  if (o.phase !== 'infer' && !fs.existsSync(summaryFile(run))) {
    if (control.interrupted) return 'interrupted';
    const resume = fs.existsSync(path.join(run.runDir, 'checkpoints', 'last'));
    const argv = trainArgv(s, run, resume);
    const log = path.join(run.logDir, 'train.log');
    const { a, r } = await launch('train', argv, log);
    if (r.code === 0 && fs.existsSync(summaryFile(run))) a.outcome = 'ok';
    else if (r.code === EXIT_INTERRUPTED || (control.interrupted && r.code !== 0)) {
      a.outcome = 'interrupted';
      finish(
        'interrupted',
        `training interrupted (${control.interrupted ?? `exit ${r.code}`}); resumes from checkpoints/last`,
        log,
      );
      return 'interrupted';
    } else {
      a.outcome = 'failed';
      const why =
        r.code === 0
          ? 'vmat train exited 0 without writing training_summary.json'
          : `vmat train ${r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`}: ${lastErrorLine(log) ?? ''}`;
      finish('failed', why.trim(), log);
      return 'failed';
    }
  }
  if (o.phase === 'train') {
    finish(evaluationFile(run.predDir) ? 'done' : 'trained', null, null);
    return evaluationFile(run.predDir) ? 'done' : 'trained';
  }

  // inference with metrics
  if (!fs.existsSync(summaryFile(run))) {
    finish('failed', 'inference needs a finished training run (no training_summary.json)', null);
    return 'failed';
  }
  if (!evaluationFile(run.predDir)) {
    if (control.interrupted) {
      finish('interrupted', 'stopped before inference', null);
      return 'interrupted';
    }
    const log = path.join(run.logDir, 'infer.log');
    let argv: string[];
    try {
      argv = inferArgv(s, run, inferenceCheckpoint(s, run));
    } catch (e) {
      finish('failed', (e as Error).message, null);
      return 'failed';
    }
    const { a, r } = await launch('infer', argv, log);
    if (r.code === 0 && evaluationFile(run.predDir)) a.outcome = 'ok';
    else if (control.interrupted || r.code === EXIT_INTERRUPTED) {
      a.outcome = 'interrupted';
      finish('interrupted', 'inference interrupted; it runs again on the next `vmat study run`', log);
      return 'interrupted';
    } else {
      a.outcome = 'failed';
      finish(
        'failed',
        `vmat infer ${r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`}: ${lastErrorLine(log) ?? ''}`.trim(),
        log,
      );
      return 'failed';
    }
  }
  finish('done', null, null);
  return 'done';
}
