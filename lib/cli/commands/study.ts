/**
 * `vmat study plan|run|status|report|run-one`: a study (conditions x seeds, studies/<name>.json) as
 * one reproducible object, run on this machine or a SLURM cluster, ending in the pre-registered
 * statistics (lib/study/). The study's flags are checked against the `train` and `infer` commands'
 * own option lists and parsers, built here from their modules (lib/study sits below the CLI).
 */
import { Command, type Option } from 'commander';
import { UsageError, VmatError } from '../../core/errors';
import { register as registerTrain } from './train';
import { register as registerInfer } from './infer';
import { intOpt } from '../options';
import { printJson } from '../json';
import type { CommandSpec, CommandSpecs } from '../../study/command_spec';
import type { Study } from '../../study/study';
import type { SlurmResources } from '../../study/slurm';

/** the study library, loaded inside the actions (registering commands loads no heavy library: zod, jszip) */
async function studyLib() {
  const [study, plan, local, slurm, report, runOne] = await Promise.all([
    import('../../study/study'),
    import('../../study/plan'),
    import('../../study/local'),
    import('../../study/slurm'),
    import('../../study/report'),
    import('../../study/run_one'),
  ]);
  return { ...study, ...plan, ...local, ...slurm, ...report, ...runOne };
}

function commandSpec(register: (p: Command) => void, name: string): CommandSpec {
  const make = (): Command => {
    const p = new Command();
    register(p);
    const c = p.commands.find((x) => x.name() === name);
    if (!c) throw new Error(`study: the ${name} command is not registered`);
    c.exitOverride();
    c.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    c.action(() => {});
    return c;
  };
  const c = make();
  return {
    name,
    options: (c.options as Option[])
      .filter((o) => o.long)
      .map((o) => ({ long: o.long as string, takesValue: o.required || o.optional, negate: o.negate })),
    parse(argv: string[]) {
      make().parse(argv, { from: 'user' });
    },
  };
}

let specsCache: CommandSpecs | null = null;
/** the train and infer commands' option lists and parsers */
export function studyCommandSpecs(): CommandSpecs {
  specsCache ??= { train: commandSpec(registerTrain, 'train'), infer: commandSpec(registerInfer, 'infer') };
  return specsCache;
}

/** loads and validates a study file with the CLI's command specs */
export async function openStudy(file: string, requireData = true): Promise<Study> {
  const { loadStudy } = await import('../../study/study');
  return loadStudy(file, studyCommandSpecs(), { requireData });
}

const say = (l: string) => process.stderr.write(`${l}\n`);

interface RunFlags {
  executor: string;
  maxParallel?: number;
  partition?: string;
  time?: string;
  gpusPerTask?: number;
  cpusPerTask?: number;
  mem?: string;
  account?: string;
  sbatchArg: string[];
  signalLead?: number;
  wait: boolean;
  dryRun: boolean;
  report: boolean;
  quiet: boolean;
}

/** adds `vmat study plan|run|status|report|run-one` (lib/study) */
export function register(program: Command): void {
  const study = program
    .command('study')
    .description(
      'studies: conditions x seeds from studies/<name>.json, run locally or on SLURM, with the pre-registered statistics',
    );

  study
    .command('plan <file>')
    .description(
      'what the study runs: condition x seed -> run folder, flags, resources, estimated cost, and what is done',
    )
    .option('--json', 'print the plan as JSON', false)
    .action(async (file: string, f: { json: boolean }) => {
      const { planSummary, planText } = await studyLib();
      const s = await openStudy(file, false);
      const p = planSummary(s);
      if (f.json) printJson({ ...p, data_problem: s.dataProblem });
      else process.stdout.write(planText(s, p) + '\n');
    });

  study
    .command('run <file>')
    .description(
      'run every missing, partial or failed run (train, then infer with metrics); finished runs are skipped, interrupted ones resume',
    )
    .option('--executor <name>', 'local | slurm', 'local')
    .option(
      '--max-parallel <n>',
      'local: runs at a time (default: what the cores and memory allow)',
      intOpt('--max-parallel', 1),
    )
    .option('--partition <name>', 'slurm: partition')
    .option('--time <limit>', 'slurm: time limit per task (minutes or [D-]HH:MM:SS)')
    .option('--gpus-per-task <n>', 'slurm: GPUs per task', intOpt('--gpus-per-task', 0))
    .option(
      '--cpus-per-task <n>',
      "slurm: CPUs per task (the engine threads stay the study file's cpus_per_task)",
      intOpt('--cpus-per-task', 1),
    )
    .option('--mem <size>', 'slurm: memory per task (e.g. 8G)')
    .option('--account <name>', 'slurm: account')
    .option(
      '--sbatch-arg <arg>',
      'slurm: extra #SBATCH argument (repeatable), e.g. --sbatch-arg=--qos=long',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--signal-lead <seconds>',
      'slurm: checkpoint and requeue this long before the time limit',
      intOpt('--signal-lead', 10),
    )
    .option('--wait', 'slurm: block until every submitted job has ended', false)
    .option('--dry-run', 'slurm: write the job scripts, submit nothing', false)
    .option('--no-report', 'local: do not write the report when every run is done')
    .option('--quiet', 'no progress output', false)
    .action(async (file: string, f: RunFlags) => {
      const {
        runLocal,
        studyStatuses,
        writeReport,
        EXIT_INTERRUPTED,
        writeJobScripts,
        submitStudy,
        waitForSubmission,
      } = await studyLib();
      const s = await openStudy(file);
      if (f.executor === 'local') {
        const r = await runLocal(s, { maxParallel: f.maxParallel, quiet: f.quiet });
        const statuses = studyStatuses(s);
        const done = statuses.filter((x) => x.state === 'done').length;
        if (!f.quiet)
          say(
            `study ${s.name}: ${done}/${statuses.length} runs done${r.failed.length ? `, failed: ${r.failed.join(', ')}` : ''}`,
          );
        if (r.interrupted) {
          say(`study ${s.name}: interrupted; run \`vmat study run ${file}\` again to resume`);
          process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        if (done === statuses.length && f.report) {
          const w = writeReport(s);
          if (!f.quiet) say(`report: ${w.json}, ${w.markdown}`);
        }
        if (r.failed.length) process.exitCode = 1;
        return;
      }
      if (f.executor !== 'slurm') throw new UsageError(`--executor: expected local or slurm, found '${f.executor}'`);
      const res: SlurmResources = {
        partition: f.partition,
        time: f.time,
        gpusPerTask: f.gpusPerTask,
        cpusPerTask: f.cpusPerTask,
        mem: f.mem,
        account: f.account,
        sbatchArgs: f.sbatchArg,
        signalLeadSeconds: f.signalLead,
      };
      if (f.dryRun) {
        const files = writeJobScripts(s, res);
        process.stdout.write(
          `job scripts written (nothing submitted):\n  ${files.train}\n  ${files.infer}\n  ${files.report}\nsubmit by hand:\n  T=$(sbatch --parsable ${files.train})\n  I=$(sbatch --parsable --dependency=aftercorr:$T --kill-on-invalid-dep=yes ${files.infer})\n  sbatch --dependency=afterany:$I ${files.report}\n`,
        );
        return;
      }
      const sub = submitStudy(s, res, say);
      if (sub && f.wait) {
        await waitForSubmission(s, sub, () => studyStatuses(s), say);
        const statuses = studyStatuses(s);
        const bad = statuses.filter((x) => x.state !== 'done');
        say(`study ${s.name}: ${statuses.length - bad.length}/${statuses.length} runs done`);
        if (bad.length) {
          for (const b of bad)
            say(`  ${b.run.id}: ${b.state}${b.reason ? ` — ${b.reason}` : ''}${b.log ? ` (log: ${b.log})` : ''}`);
          process.exitCode = 1;
        }
      }
    });

  study
    .command('status <file>')
    .description(
      'the state of every run: missing, partial, trained, queued, running, done, failed (reason, log), interrupted',
    )
    .option('--json', 'print JSON', false)
    .action(async (file: string, f: { json: boolean }) => {
      const { planSummary, statusText } = await studyLib();
      const s = await openStudy(file);
      const p = planSummary(s);
      if (f.json) printJson({ study: p.study, counts: p.counts, runs: p.runs });
      else process.stdout.write(statusText(s, p) + '\n');
    });

  study
    .command('report <file>')
    .description('the pre-registered analysis into studies/<name>/report/ (report.json unrounded, report.md)')
    .option('--json', 'print the report JSON', false)
    .action(async (file: string, f: { json: boolean }) => {
      const { writeReport } = await studyLib();
      const s = await openStudy(file);
      const w = writeReport(s);
      if (f.json) printJson(w.report);
      else {
        process.stdout.write(`report: ${w.json}\n        ${w.markdown}\n`);
        for (const d of w.report.decisions) process.stdout.write(`${d.id}: ${d.statement}\n`);
        if (w.report.seed_extension) process.stdout.write(`seed extension: ${w.report.seed_extension.statement}\n`);
        if (w.report.missing_runs.length) process.stdout.write(`missing runs: ${w.report.missing_runs.join(', ')}\n`);
      }
    });

  study
    .command('run-one <file>')
    .description(
      'one run of a study, one phase (what the SLURM job scripts call); exit 75 when interrupted (resumable)',
    )
    .requiredOption('--run <id>', 'run id <condition>_seed<N>')
    .option('--phase <phase>', 'train | infer | all', 'all')
    .option('--executor <name>', 'recorded in the run status: local | slurm', 'local')
    .action(async (file: string, f: { run: string; phase: string; executor: string }) => {
      const { studyRuns, RunControl, executeRun, EXIT_INTERRUPTED } = await studyLib();
      const s = await openStudy(file);
      const run = studyRuns(s).find((r) => r.id === f.run);
      if (!run)
        throw new UsageError(
          `--run: expected a run of study ${s.name} (${studyRuns(s)
            .map((r) => r.id)
            .join(', ')}), found '${f.run}'`,
        );
      if (!['train', 'infer', 'all'].includes(f.phase))
        throw new UsageError(`--phase: expected train|infer|all, found '${f.phase}'`);
      const control = new RunControl();
      const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGUSR1'];
      const handlers = sigs.map((sig) => [sig, () => control.interrupt(sig)] as const);
      for (const [sig, h] of handlers) process.on(sig, h);
      const jobId = process.env.SLURM_ARRAY_JOB_ID
        ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}`
        : (process.env.SLURM_JOB_ID ?? null);
      try {
        const out = await executeRun(s, run, control, {
          phase: f.phase as 'train' | 'infer' | 'all',
          executor: f.executor === 'slurm' ? 'slurm' : 'local',
          slurmJobId: jobId,
        });
        say(`study ${s.name}: ${run.id} ${f.phase}: ${out}`);
        if (out === 'interrupted') process.exitCode = EXIT_INTERRUPTED;
        else if (out === 'failed') throw new VmatError(`run ${run.id} failed; see ${run.logDir}/status.json`);
      } finally {
        for (const [sig, h] of handlers) process.off(sig, h);
      }
    });
}
