/**
 * `vmat openkbp refine-train`: train the 128³ refinement stage (the refiner task of the training
 * engine, lib/openkbp/refiner_task.ts) on the predictions of a trained 64³ model (--coarse-model) or
 * on the ground truth down and up; resumable.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';
import { intOpt, numOpt } from '../options';
import { effectiveCommand } from '../effective_command';
import { UsageError } from '../../core/errors';
import { refinerTrainOptions } from '../../openkbp/refiner_options';

interface RefineFlags {
  dataDir: string;
  valDir: string;
  expName?: string;
  exp?: string;
  runsDir: string;
  coarseModel?: string;
  coarseTta?: boolean;
  steps: number;
  lr: number;
  patch: number;
  baseChannels: number;
  levels: number;
  seed: number;
  trainLimit: number;
  valLimit?: number;
  resume: boolean;
  initFrom?: string;
  maxMinutes?: number;
  json?: boolean;
  quiet?: boolean;
}

/** Registers `vmat openkbp refine-train`: trains the 128³ refiner on the predictions of a coarse 64³ model. */
export function register(program: Command): void {
  const d = refinerTrainOptions({ dataDir: '', valDir: '', expName: '' });
  openkbpGroup(program)
    .command('refine-train')
    .description(
      "train the 128³ refinement stage that corrects a 64³ model's up-sampled prediction with full-resolution CT and structures; resumable",
    )
    .requiredOption('--data-dir <dir>', 'training patients (openkbp npz files or pt_N/ folders)')
    .requiredOption('--val-dir <dir>', 'validation patients (scored before and after refinement at the end)')
    .option('--exp-name <name>', 'run folder name under --runs-dir')
    .addOption(new Option('--exp <name>', 'old name of --exp-name').hideHelp())
    .option('--runs-dir <dir>', 'where run folders go', 'runs')
    .option(
      '--coarse-model <dir>',
      'the model folder whose 64³ stage is refined (default: ground truth down to 64³ and up)',
    )
    .option('--coarse-tta', "left-right TTA on the coarse model's predictions (default: its manifest's setting)")
    .option('--steps <n>', 'optimisation steps (one 64³ patch each)', intOpt('--steps', 1), d.steps)
    .option('--lr <x>', 'peak learning rate (AdamW, warm-up then cosine)', numOpt('--lr', 0), d.lr)
    .option('--patch <n>', 'cubic patch edge at 128³', intOpt('--patch', 8), d.patch)
    .option('--base-channels <n>', 'refiner U-Net width', intOpt('--base-channels', 1), d.baseChannels)
    .option('--levels <n>', 'refiner U-Net levels', intOpt('--levels', 2), d.levels)
    .option('--seed <n>', 'seed', intOpt('--seed', 0), d.seed)
    .option(
      '--train-limit <n>',
      'training patients held in memory (the first n)',
      intOpt('--train-limit', 1),
      d.trainLimit as number,
    )
    .option('--val-limit <n>', 'score only the first n validation patients', intOpt('--val-limit', 1))
    .option('--resume', 'continue from checkpoints/last', false)
    .option('--init-from <dir>', 'start from the weights of this refiner checkpoint (fine-tuning)')
    .option('--max-minutes <m>', 'stop (resumably) after this much training time', numOpt('--max-minutes', 0))
    .option('--json', 'print a JSON summary at the end')
    .option('--quiet', 'no progress output')
    .action(async (f: RefineFlags, cmd: Command) => {
      const expName = f.expName ?? f.exp;
      if (!expName) throw new UsageError('openkbp refine-train: --exp-name is required');
      const { trainRefiner } = await import('../../openkbp/refiner_task');
      const r = await trainRefiner(
        refinerTrainOptions({
          dataDir: f.dataDir,
          valDir: f.valDir,
          runsDir: f.runsDir,
          expName,
          coarseModel: f.coarseModel ?? null,
          coarseTta: f.coarseTta,
          steps: f.steps,
          lr: f.lr,
          patch: f.patch,
          baseChannels: f.baseChannels,
          levels: f.levels,
          seed: f.seed,
          trainLimit: f.trainLimit,
          valLimit: f.valLimit ?? null,
          resume: f.resume,
          maxMinutes: f.maxMinutes ?? null,
          initFrom: f.initFrom ?? null,
          handleSignals: true,
          command: effectiveCommand(cmd, f as unknown as Record<string, unknown>),
          quiet: !!f.quiet,
        }),
      );
      const last = r.history[r.history.length - 1];
      if (f.json)
        printJson({
          run_dir: r.runDir,
          stopped_by: r.stoppedBy,
          best_checkpoint: r.bestCheckpoint,
          last_checkpoint: r.lastCheckpoint,
          elapsed_minutes: r.elapsedSeconds / 60,
          validation: last ?? null,
        });
      else if (!r.finished)
        console.log(
          `stopped at the time limit after ${(r.elapsedSeconds / 60).toFixed(1)} min of training; continue with --resume (${r.lastCheckpoint})`,
        );
      else
        console.log(
          `refiner saved to ${r.bestCheckpoint} after ${(r.elapsedSeconds / 60).toFixed(1)} min: validation dose score ${last?.val_coarse_dose_score?.toFixed(4)} → ${last?.val_dose_score?.toFixed(4)}, DVH score ${last?.val_coarse_dvh_score?.toFixed(4)} → ${last?.val_dvh_score?.toFixed(4)}`,
        );
    });
}
