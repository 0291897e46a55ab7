/**
 * `vmat study plan` / `vmat study status`: what the study runs (condition x seed -> run folder,
 * the exact `vmat train` argv, resources, estimated cost) and the state of each run (missing,
 * partial, trained, done, queued, running, failed with its reason and log, interrupted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shellQuote, trainArgv } from './run_one';
import { runStatus, type RunStatus } from './runs';
import { readSubmission, withQueueStates } from './slurm';
import { studyRuns, type Study } from './study';

export interface PlanRow {
  run: string;
  condition: string;
  seed: number;
  index: number;
  state: string;
  epochs: string;
  run_dir: string;
  predictions_dir: string;
  /** `vmat train` argv (after `node bin/vmat.js`), without --resume */
  train_argv: string[];
  reason: string | null;
  log: string | null;
  job: string | null;
}

export interface PlanSummary {
  study: string;
  file: string;
  dir: string;
  runs: PlanRow[];
  counts: Record<string, number>;
  resources: Study['resources'];
  /** runs not done x estimated minutes per run */
  estimate: {
    runs_to_go: number;
    minutes_per_run: number | null;
    run_hours: number | null;
    gpu_hours: number | null;
    cpu_hours: number | null;
  };
}

/** statuses of every run, with SLURM queue states when the study was submitted to SLURM */
export function studyStatuses(s: Study): RunStatus[] {
  const st = studyRuns(s).map((r) => runStatus(s, r, trainArgv(s, r, false)));
  return readSubmission(s) ? withQueueStates(s, st) : st;
}

/** what `vmat study plan` shows: every run with its folder, flags, resources, estimated cost and state */
export function planSummary(s: Study): PlanSummary {
  const statuses = studyStatuses(s);
  const runs: PlanRow[] = statuses.map((st) => ({
    run: st.run.id,
    condition: st.run.condition,
    seed: st.run.seed,
    index: st.run.index,
    state: st.state,
    epochs: `${st.epochsDone}/${st.epochsPlanned}`,
    run_dir: st.run.runDir,
    predictions_dir: st.run.predDir,
    train_argv: trainArgv(s, st.run, false),
    reason: st.reason,
    log: st.log,
    job: st.job,
  }));
  const counts: Record<string, number> = {};
  for (const r of runs) counts[r.state] = (counts[r.state] ?? 0) + 1;
  const toGo = runs.filter((r) => r.state !== 'done').length;
  const m = s.resources.estimated_minutes_per_run ?? null;
  const runHours = m === null ? null : (toGo * m) / 60;
  return {
    study: s.name,
    file: s.file,
    dir: s.dir,
    runs,
    counts,
    resources: s.resources,
    estimate: {
      runs_to_go: toGo,
      minutes_per_run: m,
      run_hours: runHours,
      gpu_hours: runHours === null ? null : runHours * s.resources.gpus_per_task,
      cpu_hours: runHours === null ? null : runHours * s.resources.cpus_per_task,
    },
  };
}

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/** the plan as text: one block per run with its flags */
export function planText(s: Study, p: PlanSummary): string {
  const lines: string[] = [];
  lines.push(
    `study ${s.name} (${rel(s.file)}): ${s.conditions.length} conditions x ${s.seeds.length} seeds = ${p.runs.length} training runs + ${p.runs.length} inference runs`,
  );
  lines.push(
    s.dataProblem
      ? `  data: NOT READY (${s.dataProblem}); \`vmat study run\` refuses until it is; outputs under ${rel(s.dir)}/`
      : `  data ${rel(s.dataDir)} (locked split ${s.split.train.length}/${s.split.val.length}/${s.split.test.length} train/val/test), outputs under ${rel(s.dir)}/`,
  );
  lines.push(`  shared training flags: ${s.trainingArgv.map(shellQuote).join(' ') || '(none)'}`);
  lines.push(
    `  evaluation: ${s.evaluation.checkpoint} checkpoint, vmat infer --compute-metrics ${s.evaluation.argv.map(shellQuote).join(' ')}`,
  );
  const r = s.resources;
  lines.push(
    `  resources per run: ${r.cpus_per_task} CPU (= VMAT_THREADS), ${r.mem}${r.gpus_per_task ? `, ${r.gpus_per_task} GPU` : ''}${r.time ? `, time ${r.time}` : ''}${r.partition ? `, partition ${r.partition}` : ''}`,
  );
  const e = p.estimate;
  lines.push(
    e.minutes_per_run === null
      ? `  cost: ${e.runs_to_go} runs to go (set resources.estimated_minutes_per_run for an estimate)`
      : `  cost: ${e.runs_to_go} runs to go x ${e.minutes_per_run} min = ${e.run_hours!.toFixed(1)} run-hours${e.gpu_hours ? ` (${e.gpu_hours.toFixed(1)} GPU-hours)` : ` (${e.cpu_hours!.toFixed(1)} CPU-hours)`}`,
  );
  lines.push(
    `  states: ${Object.entries(p.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
  );
  lines.push('');
  for (const row of p.runs) {
    const cond = s.conditions.find((c) => c.name === row.condition)!;
    lines.push(`[${row.index}] ${row.run}  ${row.state}  epochs ${row.epochs}  -> ${rel(row.run_dir)}`);
    lines.push(
      `     flags: ${cond.flags.map(shellQuote).join(' ') || '(none: the shared settings only)'}${cond.description ? `  # ${cond.description}` : ''}`,
    );
    if (row.reason)
      lines.push(
        `     ${row.state === 'failed' ? 'FAILED: ' : ''}${row.reason}${row.log ? ` (log: ${rel(row.log)})` : ''}`,
      );
  }
  return lines.join('\n');
}

/** the status table as text */
export function statusText(s: Study, p: PlanSummary): string {
  const head = ['run', 'state', 'epochs', 'job', 'reason / log'];
  const rows = p.runs.map((r) => [
    r.run,
    r.state,
    r.epochs,
    r.job ?? '',
    [r.reason ?? '', r.log ? `log: ${rel(r.log)}` : ''].filter(Boolean).join(' — '),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ');
  const sub = readSubmission(s);
  const out = [
    `study ${s.name}: ${Object.entries(p.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(
        ', ',
      )}${sub ? ` (SLURM submission ${sub.submitted_at}: train ${sub.train_job}, infer ${sub.infer_job}, report ${sub.report_job ?? '—'})` : ''}`,
    fmt(head),
    ...rows.map(fmt),
  ];
  const rep = path.join(s.reportDir, 'report.json');
  if (fs.existsSync(rep)) out.push(`report: ${rel(rep)}`);
  return out.join('\n');
}
