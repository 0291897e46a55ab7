/**
 * `vmat openkbp train`: train the 64³ OpenKBP model (the OpenKBP task of the training engine,
 * lib/openkbp/train_task.ts) with validation by the official dose score; resumable (--resume), with a
 * training-time budget (--max-minutes). With `--recipe FILE` it runs (and resumes) every stage of an
 * OpenKBP recipe instead (lib/openkbp/recipe.ts); `--plan` only lists them.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';
import { intOpt, numOpt } from '../options';
import { effectiveCommand } from '../effective_command';
import { UsageError } from '../../core/errors';
import { openKbpTrainOptions } from '../../openkbp/train_options';
import type { Recipe } from '../../openkbp/recipe';

interface TrainFlags {
  recipe?: string;
  plan?: boolean;
  stage?: string[];
  dataDir?: string;
  valDir?: string;
  expName?: string;
  runsDir: string;
  epochs: number;
  lr: number;
  weightDecay: number;
  baseChannels: number;
  levels: number;
  seed: number;
  valEvery: number;
  valLimit?: number;
  trainLimit?: number;
  augment: boolean;
  maxMinutes?: number;
  checkpointEveryMinutes: number;
  resume: boolean;
  initFrom?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Registers `vmat openkbp train`: one 64³ training stage from flags, or every stage of a `--recipe` file. */
export function register(program: Command): void {
  const d = openKbpTrainOptions({ dataDir: '', valDir: '', expName: '' });
  openkbpGroup(program)
    .command('train')
    .description(
      'train the 64³ OpenKBP dose model (masked L1, validation by the official dose score, best checkpoint by it); resumable',
    )
    .option('--recipe <file>', 'run every stage of an OpenKBP recipe (recipes/*.json), resuming unfinished ones')
    .option('--plan', 'with --recipe: list the stages, their state and commands; train nothing')
    .option('--stage <name>', 'with --recipe: run only this stage (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option(
      '--data-dir <dir>',
      'training patients (openkbp npz files or pt_N/ folders), e.g. …/openkbp/npz/train (with --recipe: overrides its data.train_dir)',
    )
    .option(
      '--val-dir <dir>',
      'validation patients, e.g. …/openkbp/npz/validation (with --recipe: overrides data.val_dir)',
    )
    .option('--exp-name <name>', 'run folder name under --runs-dir')
    .option('--runs-dir <dir>', 'where run folders go', d.runsDir)
    .option('--epochs <n>', 'epochs (the cosine schedule spans them)', intOpt('--epochs', 1), d.epochs)
    .option('--lr <x>', 'peak learning rate (AdamW)', numOpt('--lr', 0), d.lr)
    .option('--weight-decay <x>', 'AdamW weight decay', numOpt('--weight-decay', 0), d.weightDecay)
    .option('--base-channels <n>', 'U-Net width at 64³', intOpt('--base-channels', 1), d.baseChannels)
    .option('--levels <n>', 'U-Net levels', intOpt('--levels', 2), d.levels)
    .option('--seed <n>', 'seed (weights, order, augmentation)', intOpt('--seed', 0), d.seed)
    .option('--val-every <n>', 'validate every n epochs', intOpt('--val-every', 1), d.valEvery)
    .option('--val-limit <n>', 'score only the first n validation patients (quick checks)', intOpt('--val-limit', 1))
    .option('--train-limit <n>', 'use only the first n training patients (quick checks)', intOpt('--train-limit', 1))
    .option('--no-augment', 'no flips/shifts')
    .option(
      '--max-minutes <m>',
      'stop (resumably) after this much training time over all sessions',
      numOpt('--max-minutes', 0),
    )
    .option(
      '--checkpoint-every-minutes <m>',
      'save checkpoints/last at least this often',
      numOpt('--checkpoint-every-minutes', 0.1),
      d.checkpointEveryMinutes,
    )
    .option('--resume', 'continue the run from checkpoints/last', false)
    .option(
      '--init-from <dir>',
      'fine-tune: start a new run from the weights of this checkpoint (fresh optimiser and schedule)',
    )
    .option('--json', 'print a JSON summary at the end')
    .option('--quiet', 'no progress output')
    .action(async (f: TrainFlags, cmd: Command) => {
      if (f.recipe) return recipeAction(f);
      if (f.plan || f.stage) throw new UsageError('openkbp train: --plan and --stage need --recipe');
      if (!f.dataDir || !f.valDir || !f.expName)
        throw new UsageError('openkbp train: give --data-dir, --val-dir and --exp-name (or --recipe)');
      const { trainOpenKbp } = await import('../../openkbp/train_task');
      const r = await trainOpenKbp(
        openKbpTrainOptions({
          dataDir: f.dataDir,
          valDir: f.valDir,
          expName: f.expName,
          runsDir: f.runsDir,
          epochs: f.epochs,
          lr: f.lr,
          weightDecay: f.weightDecay,
          baseChannels: f.baseChannels,
          levels: f.levels,
          seed: f.seed,
          valEvery: f.valEvery,
          valLimit: f.valLimit ?? null,
          trainLimit: f.trainLimit ?? null,
          augment: f.augment,
          maxMinutes: f.maxMinutes ?? null,
          checkpointEveryMinutes: f.checkpointEveryMinutes,
          resume: f.resume,
          initFrom: f.initFrom ?? null,
          handleSignals: true,
          command: effectiveCommand(cmd, f as unknown as Record<string, unknown>),
          quiet: !!f.quiet,
        }),
      );
      const scored = r.history.filter((h) => typeof h.val_dose_score === 'number');
      const best = scored.reduce<(typeof r.history)[number] | null>(
        (b, h) => (b === null || (h.val_dose_score as number) < (b.val_dose_score as number) ? h : b),
        null,
      );
      const out = {
        run_dir: r.runDir,
        stopped_by: r.stoppedBy,
        elapsed_hours: r.elapsedSeconds / 3600,
        best_checkpoint: r.bestCheckpoint,
        best,
        history: r.history,
      };
      if (f.json) printJson(out);
      else
        console.log(
          `${r.stoppedBy === 'time_limit' ? 'stopped at the time limit (continue with --resume)' : 'finished'} after ${(r.elapsedSeconds / 60).toFixed(1)} min of training; best val dose score ${best ? (best.val_dose_score as number).toFixed(4) : 'n/a'}, DVH score ${best ? (best.val_dvh_score as number).toFixed(4) : 'n/a'} (${r.bestCheckpoint ?? 'no checkpoint'})`,
        );
    });
}

/** `openkbp train --recipe F [--plan] [--stage S]` */
async function recipeAction(f: TrainFlags): Promise<void> {
  const { planRecipe, planText, readRecipe, runRecipe } = await import('../../openkbp/recipe');
  const recipe: Recipe = readRecipe(f.recipe as string);
  const ctx = {
    runsDir: f.runsDir,
    trainDir: f.dataDir ?? recipe.data.train_dir,
    valDir: f.valDir ?? recipe.data.val_dir,
  };
  if (!f.plan) {
    for (const s of f.stage ?? [])
      if (!recipe.stages.some((x) => x.name === s))
        throw new UsageError(
          `--stage: the recipe has no stage '${s}' (${recipe.stages.map((x) => x.name).join(', ')})`,
        );
    await runRecipe(recipe, ctx, { only: f.stage, say: f.quiet ? () => {} : undefined });
  }
  const plan = planRecipe(recipe, ctx);
  if (f.json)
    printJson({
      recipe: recipe.name,
      runs_dir: path.resolve(f.runsDir, recipe.name),
      stages: plan.map((p) => ({
        name: p.stage.name,
        task: p.stage.task,
        state: p.state,
        run_dir: p.runDir,
        hours: p.hours,
        command: ['vmat', ...p.args],
      })),
      ship: recipe.ship,
    });
  else console.log(planText(recipe, plan));
}
