/**
 * The SLURM executor: SLURM as it is, through sbatch, squeue and scontrol only.
 *  - `jobs/train.sbatch`: a job array, one task per condition x seed (job name
 *    `vmat-<study>-train`); each task runs `vmat study run-one FILE --run <id> --phase train`, which
 *    runs (or resumes) `vmat train` and records its argv.
 *  - `jobs/infer.sbatch`: a second array; task i depends on training task i
 *    (`--dependency=aftercorr:<train job>`, `--kill-on-invalid-dep=yes` so a failed training does
 *    not leave its inference pending forever).
 *  - `jobs/report.sbatch`: `vmat study report FILE` once the inference array has ended (afterany).
 * Tasks are `--requeue`able and get `--signal=B:USR1@<lead>`: before the time limit the batch
 * shell forwards USR1 to the run, the engine checkpoints and exits 75, and the task requeues itself
 * (`scontrol requeue`) to continue from that checkpoint. A task requeued from outside (`scontrol
 * requeue`, preemption) gets SIGTERM, stops the same way, and resumes when it starts again.
 * The scripts are plain bash with #SBATCH lines; they can be read and submitted by hand.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, VmatError } from '../core/errors';
import { PROJECT_ROOT } from '../core/project';
import { toJson, writeFileAtomicSync } from '../core/atomic';
import { assertSameSplit, shellQuote, trainArgv, vmatCommand } from './run_one';
import { runStatus, type RunStatus } from './runs';
import { studyRuns, type Study, type StudyRun } from './study';

/** resource flags for sbatch; command-line values override the study file's resources */
export interface SlurmResources {
  partition?: string;
  time?: string;
  gpusPerTask?: number;
  cpusPerTask?: number;
  mem?: string;
  account?: string;
  sbatchArgs?: string[];
  signalLeadSeconds?: number;
}

export interface Submission {
  submitted_at: string;
  study_sha256: string;
  runs: string[];
  indices: number[];
  train_job: string;
  infer_job: string;
  report_job: string | null;
  commands: string[][];
}

function timeText(t: string | number | undefined): string | undefined {
  return t === undefined ? undefined : String(t);
}

/** the #SBATCH resource lines of a task */
export function resourceLines(s: Study, r: SlurmResources): string[] {
  const res = s.resources;
  const lines: string[] = [];
  const partition = r.partition ?? res.partition;
  const time = r.time ?? timeText(res.time);
  const gpus = r.gpusPerTask ?? res.gpus_per_task;
  const cpus = r.cpusPerTask ?? res.cpus_per_task;
  const mem = r.mem ?? res.mem;
  const account = r.account ?? res.account;
  if (partition) lines.push(`#SBATCH --partition=${partition}`);
  if (account) lines.push(`#SBATCH --account=${account}`);
  if (time) lines.push(`#SBATCH --time=${time}`);
  lines.push(`#SBATCH --cpus-per-task=${cpus}`);
  lines.push(`#SBATCH --mem=${mem}`);
  if (gpus) lines.push(`#SBATCH --gpus-per-task=${gpus}`);
  for (const a of [...res.sbatch_args, ...(r.sbatchArgs ?? [])]) lines.push(`#SBATCH ${a}`);
  return lines;
}

function repoRoot(): string {
  return PROJECT_ROOT;
}

function arrayTaskScript(s: Study, runs: StudyRun[], phase: 'train' | 'infer', r: SlurmResources): string {
  const [node, bin] = vmatCommand();
  const lead = r.signalLeadSeconds ?? s.resources.signal_lead_seconds;
  const logs = path.join(s.logsDir, 'slurm');
  const table = runs.map((x) => `  ${shellQuote(x.id)}   # ${x.index}`).join('\n');
  const commands =
    phase === 'train'
      ? runs
          .map(
            (x) =>
              `#   ${x.index}: ${['vmat', ...trainArgv(s, x, false)].map(shellQuote).join(' ')}   (+ --resume when checkpoints/last exists)`,
          )
          .join('\n')
      : `#   vmat infer --checkpoint <best checkpoint> --input-dir ${s.dataDir} --output-dir ${s.predictionsDir}/<run> --cases-from <run>/test_cases.json --compute-metrics ${s.evaluation.argv.join(' ')}`;
  const submitHint =
    phase === 'train'
      ? `sbatch ${path.join(s.jobsDir, 'train.sbatch')}`
      : `sbatch --dependency=aftercorr:<training job id> --kill-on-invalid-dep=yes ${path.join(s.jobsDir, 'infer.sbatch')}`;
  return `#!/bin/bash
# vmat-lab study "${s.name}" — ${phase === 'train' ? 'training' : 'inference + metrics'}: a job array, one task per condition x seed.
# Written by \`vmat study run --executor slurm\` from ${s.file}.
# Submit by hand (every task; finished runs exit at once):
#   ${submitHint}
# Each task runs \`vmat study run-one\`, which ${phase === 'train' ? 'runs `vmat train` (resuming from checkpoints/last when it exists)' : 'runs `vmat infer --compute-metrics` with the best checkpoint'}
# and records the exact argv in ${s.logsDir}/<run>/status.json. The commands:
${commands}
#SBATCH --job-name=vmat-${s.name}-${phase}
#SBATCH --array=0-${runs.length - 1}
#SBATCH --output=${logs}/${phase}_%A_%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --signal=B:USR1@${lead}
${resourceLines(s, r).join('\n')}
set -uo pipefail
RUNS=(
${table}
)
RUN=\${RUNS[\${SLURM_ARRAY_TASK_ID:?run this script with sbatch}]}
cd ${shellQuote(repoRoot())}
echo "=== $(date -Is) $(hostname) job \${SLURM_ARRAY_JOB_ID:-?}_\${SLURM_ARRAY_TASK_ID} restart \${SLURM_RESTART_COUNT:-0}: ${phase} $RUN"
${shellQuote(node)} ${shellQuote(bin)} study run-one ${shellQuote(s.file)} --run "$RUN" --phase ${phase} --executor slurm &
child=$!
near_limit=0
# USR1 (--signal, before the time limit): the run checkpoints and stops; this task then requeues itself.
trap 'near_limit=1; kill -USR1 $child 2>/dev/null' USR1
# TERM (scontrol requeue, scancel, preemption): the run checkpoints and stops; SLURM requeues or ends the task.
trap 'kill -TERM $child 2>/dev/null' TERM
rc=0
wait $child; rc=$?
while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
if [ $rc -eq 75 ] && [ $near_limit -eq 1 ]; then
  echo "=== $(date -Is) interrupted before the time limit: requeueing \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
fi
exit $rc
`;
}

function reportScript(s: Study): string {
  const [node, bin] = vmatCommand();
  return `#!/bin/bash
# vmat-lab study "${s.name}": the report, once the inference array has ended.
# Submit by hand: sbatch --dependency=afterany:<inference job id> ${path.join(s.jobsDir, 'report.sbatch')}
#SBATCH --job-name=vmat-${s.name}-report
#SBATCH --output=${path.join(s.logsDir, 'slurm')}/report_%j.out
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
${s.resources.partition ? `#SBATCH --partition=${s.resources.partition}\n` : ''}${s.resources.account ? `#SBATCH --account=${s.resources.account}\n` : ''}set -uo pipefail
cd ${shellQuote(repoRoot())}
${shellQuote(node)} ${shellQuote(bin)} study report ${shellQuote(s.file)}
`;
}

/** writes jobs/train.sbatch, jobs/infer.sbatch, jobs/report.sbatch (readable, submittable by hand) */
export function writeJobScripts(s: Study, r: SlurmResources = {}): { train: string; infer: string; report: string } {
  const runs = studyRuns(s);
  fs.mkdirSync(path.join(s.logsDir, 'slurm'), { recursive: true });
  const files = {
    train: path.join(s.jobsDir, 'train.sbatch'),
    infer: path.join(s.jobsDir, 'infer.sbatch'),
    report: path.join(s.jobsDir, 'report.sbatch'),
  };
  writeFileAtomicSync(files.train, arrayTaskScript(s, runs, 'train', r));
  writeFileAtomicSync(files.infer, arrayTaskScript(s, runs, 'infer', r));
  writeFileAtomicSync(files.report, reportScript(s));
  for (const f of Object.values(files)) fs.chmodSync(f, 0o755);
  return files;
}

function slurmCmd(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error)
    throw new UsageError(
      `${cmd}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (install the SLURM client, or start a one-node cluster: bash scripts/slurm/local-cluster.sh start, then export the SLURM_CONF it prints)' : r.error.message}`,
    );
  if (r.status !== 0)
    throw new VmatError(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** job ids of ours that are still in the queue (pending, running, completing) */
export function queuedTasks(jobIds: string[]): Map<string, { state: string; reason: string }> {
  const out = new Map<string, { state: string; reason: string }>();
  if (!jobIds.length) return out;
  const r = spawnSync('squeue', ['-h', '-r', '-j', jobIds.join(','), '-o', '%i|%T|%r'], { encoding: 'utf8' });
  if (r.status !== 0) return out; // ids unknown to the controller any more
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id) out.set(id, { state, reason: reason ?? '' });
  }
  return out;
}

/** what `study run --executor slurm` submitted (jobs/submission.json), or null */
export function readSubmission(s: Study): Submission | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(s.jobsDir, 'submission.json'), 'utf8')) as Submission;
  } catch {
    return null;
  }
}

/** adds SLURM queue states (queued / running, with the task id) to the disk states */
export function withQueueStates(s: Study, statuses: RunStatus[]): RunStatus[] {
  const sub = readSubmission(s);
  if (!sub) return statuses;
  const q = queuedTasks([sub.train_job, sub.infer_job]);
  return statuses.map((st) => {
    // a SLURM task recorded as running that has left the queue died without a word (node failure, kill -9)
    const gone = (x: RunStatus): RunStatus =>
      x.state === 'running' && x.job && x.job.includes('_') && !q.has(x.job)
        ? {
            ...x,
            state: x.epochsDone > 0 ? 'interrupted' : 'missing',
            reason: `its SLURM task ${x.job} has left the queue`,
          }
        : x;
    if (st.state === 'done' || st.state === 'failed') return st;
    if (!q.size) return gone(st);
    const i = st.run.index;
    const t = q.get(`${sub.train_job}_${i}`);
    const inf = q.get(`${sub.infer_job}_${i}`);
    const active = [
      t && { ...t, id: `${sub.train_job}_${i}`, phase: 'train' },
      inf && { ...inf, id: `${sub.infer_job}_${i}`, phase: 'infer' },
    ].filter(Boolean) as Array<{ state: string; reason: string; id: string; phase: string }>;
    const run = active.find((a) => a.state === 'RUNNING' || a.state === 'COMPLETING');
    if (run) return { ...st, state: 'running', job: run.id, reason: `${run.phase} (${run.state.toLowerCase()})` };
    const pend = active.find((a) => a.state === 'PENDING' || a.state === 'REQUEUED' || a.state === 'CONFIGURING');
    if (pend) return { ...st, state: 'queued', job: pend.id, reason: `${pend.phase}: ${pend.reason}` };
    return gone(st);
  });
}

/**
 * Writes the job scripts and submits the unfinished runs: training array, inference array
 * (aftercorr), report job (afterany). Returns after submitting.
 */
export function submitStudy(s: Study, r: SlurmResources = {}, say: (l: string) => void = () => {}): Submission | null {
  const runs = studyRuns(s);
  assertSameSplit(s, runs);
  const prev = readSubmission(s);
  if (prev) {
    const alive = queuedTasks([prev.train_job, prev.infer_job, ...(prev.report_job ? [prev.report_job] : [])]);
    if (alive.size)
      throw new UsageError(
        `study ${s.name} still has ${alive.size} task(s) in the SLURM queue from its submission of ${prev.submitted_at} (jobs ${prev.train_job}, ${prev.infer_job}); see \`vmat study status ${s.file}\` and wait (or cancel them) before submitting again`,
      );
  }
  const todo = runs.filter((x) => runStatus(s, x, trainArgv(s, x, false)).state !== 'done');
  const files = writeJobScripts(s, r);
  say(`job scripts: ${files.train}, ${files.infer}, ${files.report}`);
  if (!todo.length) {
    say(`study ${s.name}: every run is done; nothing to submit (vmat study report ${s.file})`);
    return null;
  }
  const indices = todo.map((x) => x.index).join(',');
  const commands: string[][] = [];
  const sbatch = (args: string[]): string => {
    commands.push(['sbatch', ...args]);
    return slurmCmd('sbatch', args).trim().split(';')[0];
  };
  const trainJob = sbatch(['--parsable', `--array=${indices}`, files.train]);
  const inferJob = sbatch([
    '--parsable',
    `--array=${indices}`,
    `--dependency=aftercorr:${trainJob}`,
    '--kill-on-invalid-dep=yes',
    files.infer,
  ]);
  const reportJob = sbatch(['--parsable', `--dependency=afterany:${inferJob}`, files.report]);
  const sub: Submission = {
    submitted_at: new Date().toISOString(),
    study_sha256: s.sha256,
    runs: todo.map((x) => x.id),
    indices: todo.map((x) => x.index),
    train_job: trainJob,
    infer_job: inferJob,
    report_job: reportJob,
    commands,
  };
  writeFileAtomicSync(path.join(s.jobsDir, 'submission.json'), toJson(sub));
  fs.appendFileSync(path.join(s.jobsDir, 'submissions.jsonl'), JSON.stringify(sub) + '\n');
  say(
    `study ${s.name}: submitted ${todo.length} runs: training array ${trainJob}, inference array ${inferJob} (aftercorr), report ${reportJob}`,
  );
  return sub;
}

/** blocks until the submission's jobs have left the queue; prints the study's state counts as they change */
export async function waitForSubmission(
  s: Study,
  sub: Submission,
  statusOf: () => RunStatus[],
  say: (l: string) => void,
  pollSeconds = Number(process.env.VMAT_STUDY_POLL_SECONDS ?? 10),
): Promise<void> {
  let last = '';
  for (;;) {
    const q = queuedTasks([sub.train_job, sub.infer_job, ...(sub.report_job ? [sub.report_job] : [])]);
    const counts = new Map<string, number>();
    for (const st of withQueueStates(s, statusOf())) counts.set(st.state, (counts.get(st.state) ?? 0) + 1);
    const line = [...counts.entries()].map(([k, v]) => `${v} ${k}`).join(', ');
    if (line !== last) {
      say(`study ${s.name}: ${line}${q.size ? ` (${q.size} task(s) in the queue)` : ''}`);
      last = line;
    }
    if (!q.size) return;
    await new Promise((res) => setTimeout(res, pollSeconds * 1000));
  }
}
