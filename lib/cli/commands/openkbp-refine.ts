/**
 * `vmat openkbp refine-train`: train the 128³ refinement stage (lib/openkbp/refine_train.ts) on the
 * predictions of a trained 64³ model (--coarse-model) or on the ground truth down and up; resumable.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';
import { intOpt, numOpt } from '../options';
import { refinerTrainOptions, trainRefiner } from '../../openkbp/refine_train';

interface RefineFlags {
  dataDir: string;
  valDir: string;
  exp: string;
  runsDir: string;
  coarseModel?: string;
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

export function register(program: Command): void {
  const d = refinerTrainOptions({ dataDir: '', valDir: '', runDir: '' });
  openkbpGroup(program)
    .command('refine-train')
    .description(
      "train the 128³ refinement stage that corrects a 64³ model's up-sampled prediction with full-resolution CT and structures; resumable",
    )
    .requiredOption('--data-dir <dir>', 'training patients (openkbp npz files or pt_N/ folders)')
    .requiredOption('--val-dir <dir>', 'validation patients (scored before and after refinement at the end)')
    .requiredOption('--exp <name>', 'run folder name under --runs-dir')
    .option('--runs-dir <dir>', 'where run folders go', 'runs')
    .option(
      '--coarse-model <dir>',
      'the 64³ model whose predictions are refined (default: ground truth down to 64³ and up)',
    )
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
    .action(async (f: RefineFlags) => {
      const r = await trainRefiner(
        refinerTrainOptions({
          dataDir: f.dataDir,
          valDir: f.valDir,
          runDir: path.join(f.runsDir, f.exp),
          coarseModel: f.coarseModel ?? null,
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
          quiet: !!f.quiet,
        }),
      );
      if (f.json)
        printJson({
          stopped_by: r.stoppedBy,
          refiner_dir: r.refinerDir,
          last_checkpoint: r.lastDir,
          elapsed_minutes: r.elapsedSeconds / 60,
          validation: r.validation,
        });
      else if (!r.validation)
        console.log(
          `stopped at the time limit after ${(r.elapsedSeconds / 60).toFixed(1)} min; continue with --resume (${r.lastDir})`,
        );
      else
        console.log(
          `refiner saved to ${r.refinerDir} after ${(r.elapsedSeconds / 60).toFixed(1)} min: validation dose score ${r.validation.coarse.dose_score.toFixed(4)} → ${r.validation.refined.dose_score.toFixed(4)}, DVH score ${r.validation.coarse.dvh_score.toFixed(4)} → ${r.validation.refined.dvh_score.toFixed(4)}`,
        );
    });
}
