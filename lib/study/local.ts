/**
 * The local executor: a queue of the study's unfinished runs on this machine, `maxParallel` at a
 * time (default: what the cores and memory allow for the study's cpus_per_task and mem), with one
 * progress display for the whole study (epochs of every run + one unit per inference).
 *
 * Ctrl-C safe: the first SIGINT/SIGTERM stops starting runs and forwards the signal once to the
 * running commands (spawned in their own process groups, so the terminal's Ctrl-C reaches only this
 * process); the training engine checkpoints and exits 75, the runs are recorded as interrupted and
 * resume on the next `vmat study run`. A second Ctrl-C kills them (they then resume from their last
 * end-of-epoch checkpoint).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../core/errors';
import { createProgress } from '../core/progress';
import { toJson, writeFileAtomicSync } from '../core/atomic';
import { assertSameSplit, executeRun, RunControl, trainArgv, type RunOutcome } from './run_one';
import { epochsDone, pidAlive, runStatus } from './runs';
import { studyRuns, type Study, type StudyRun } from './study';
import { readSubmission, withQueueStates } from './slurm';

/** bytes of a SLURM memory string ("4G", "500M", "1024" = MB) */
export function parseMemBytes(mem: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(mem.trim());
  if (!m) return NaN;
  const unit = { '': 2 ** 20, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2].toUpperCase()] ?? 2 ** 20;
  return Number(m[1]) * unit;
}

/** how many runs fit on this machine at once: cores / cpus_per_task, and 90 % of the memory / mem per run */
export function defaultMaxParallel(s: Study): { n: number; why: string } {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const byCpu = Math.max(1, Math.floor(cores / s.resources.cpus_per_task));
  const mem = parseMemBytes(s.resources.mem);
  const byMem = Number.isFinite(mem) && mem > 0 ? Math.max(1, Math.floor((0.9 * os.totalmem()) / mem)) : byCpu;
  const n = Math.min(byCpu, byMem);
  return {
    n,
    why: `${cores} cores / ${s.resources.cpus_per_task} per run = ${byCpu}; ${(os.totalmem() / 2 ** 30).toFixed(1)} GB / ${s.resources.mem} per run = ${byMem}`,
  };
}

export interface LocalOptions {
  maxParallel?: number;
  quiet?: boolean;
  /** notebook hook for the whole-study progress */
  onUpdate?: (done: number, total: number, info: string) => void;
  /** log line sink (default stderr) */
  say?: (line: string) => void;
  /** test hook: called when a run starts */
  onRunStart?: (run: StudyRun) => void;
}

export interface LocalResult {
  outcomes: Record<string, RunOutcome | 'skipped'>;
  interrupted: boolean;
  failed: string[];
}

function lockFile(s: Study): string {
  return path.join(s.jobsDir, 'local.lock');
}

function takeLock(s: Study): () => void {
  const f = lockFile(s);
  try {
    const l = JSON.parse(fs.readFileSync(f, 'utf8')) as { pid: number; host: string; started_at: string };
    if (l.host === os.hostname() && pidAlive(l.pid) && l.pid !== process.pid)
      throw new UsageError(
        `another \`vmat study run\` (pid ${l.pid}, started ${l.started_at}) is running this study; wait for it or stop it (Ctrl-C) first`,
      );
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
  writeFileAtomicSync(f, toJson({ pid: process.pid, host: os.hostname(), started_at: new Date().toISOString() }));
  return () => fs.rmSync(f, { force: true });
}

/** runs every unfinished run of the study on this machine */
export async function runLocal(s: Study, o: LocalOptions = {}): Promise<LocalResult> {
  const say = o.say ?? ((l: string) => process.stderr.write(`${l}\n`));
  const runs = studyRuns(s);
  assertSameSplit(s, runs);
  const release = takeLock(s);
  const outcomes: LocalResult['outcomes'] = {};
  const todo: StudyRun[] = [];
  let statuses = runs.map((r) => runStatus(s, r, trainArgv(s, r, false)));
  if (readSubmission(s)) statuses = withQueueStates(s, statuses);
  const busy = statuses.filter((st) => st.state === 'running' || st.state === 'queued');
  if (busy.length) {
    release();
    throw new UsageError(
      `study ${s.name}: ${busy.length} run(s) are queued or running elsewhere (${busy
        .slice(0, 3)
        .map((b) => `${b.run.id}${b.job ? ` as SLURM task ${b.job}` : ''}`)
        .join(', ')}); wait for them (vmat study status ${s.file})`,
    );
  }
  for (const st of statuses) {
    if (st.state === 'done') outcomes[st.run.id] = 'skipped';
    else todo.push(st.run);
  }
  const { n: autoN, why } = defaultMaxParallel(s);
  const maxParallel = Math.max(1, o.maxParallel ?? autoN);
  if (!o.quiet)
    say(
      `study ${s.name}: ${runs.length} runs, ${runs.length - todo.length} done, ${todo.length} to run, ${maxParallel} at a time${o.maxParallel ? '' : ` (${why})`}`,
    );

  // whole-study progress in epochs (+1 per inference)
  const planned = (r: StudyRun) => runStatus(s, r, trainArgv(s, r, false)).epochsPlanned;
  const total = todo.reduce((a, r) => a + planned(r) + 1, 0);
  const progress = createProgress({ label: `study ${s.name}`, total, quiet: o.quiet, onUpdate: o.onUpdate });
  const counted = new Map<string, number>();
  for (const r of todo) counted.set(r.id, Math.min(epochsDone(r), planned(r)));
  let done = [...counted.values()].reduce((a, b) => a + b, 0);
  if (done) progress.tick(done, 'already trained epochs');
  const running = new Map<string, RunControl>();
  const poll = setInterval(() => {
    let delta = 0;
    for (const id of running.keys()) {
      const r = todo.find((x) => x.id === id)!;
      const e = Math.min(epochsDone(r), planned(r));
      const prev = counted.get(id) ?? 0;
      if (e > prev) {
        delta += e - prev;
        counted.set(id, e);
      }
    }
    if (delta) {
      done += delta;
      progress.tick(delta, [...running.keys()].map((id) => `${id} ${counted.get(id)}`).join(', '));
    }
  }, 2000);

  let stopping: NodeJS.Signals | null = null;
  let signalsSeen = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signalsSeen++;
    stopping ??= sig;
    if (signalsSeen === 1) {
      say(
        `\nstudy ${s.name}: ${sig} — stopping: ${running.size} running run(s) checkpoint and stop; they resume on the next \`vmat study run\` (again to kill them)`,
      );
      for (const c of running.values()) c.interrupt(sig);
    } else for (const c of running.values()) c.interrupt('SIGKILL');
  };
  const handlers: Array<[NodeJS.Signals, () => void]> = (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]).map((sig) => [
    sig,
    () => onSignal(sig),
  ]);
  for (const [sig, h] of handlers) process.on(sig, h);

  const queue = todo.slice();
  const worker = async () => {
    while (queue.length && !stopping) {
      const r = queue.shift()!;
      const c = new RunControl();
      running.set(r.id, c);
      o.onRunStart?.(r);
      const out = await executeRun(s, r, c, { phase: 'all', executor: 'local' });
      running.delete(r.id);
      outcomes[r.id] = out;
      const e = Math.min(epochsDone(r), planned(r));
      const extra = out === 'done' ? planned(r) - (counted.get(r.id) ?? 0) + 1 : e - (counted.get(r.id) ?? 0);
      counted.set(r.id, out === 'done' ? planned(r) : e);
      if (extra > 0) {
        done += extra;
        progress.tick(extra, `${r.id} ${out}`);
      }
      if (out === 'failed' && !o.quiet) {
        const st = runStatus(s, r, trainArgv(s, r, false));
        say(`study ${s.name}: run ${r.id} FAILED: ${st.reason ?? ''}${st.log ? ` (log: ${st.log})` : ''}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(maxParallel, Math.max(1, todo.length)) }, () => worker()));
  } finally {
    clearInterval(poll);
    progress.stop();
    for (const [sig, h] of handlers) process.off(sig, h);
    release();
  }
  const failed = Object.entries(outcomes)
    .filter(([, v]) => v === 'failed')
    .map(([k]) => k);
  const interrupted = stopping !== null || Object.values(outcomes).includes('interrupted');
  return { outcomes, interrupted, failed };
}
