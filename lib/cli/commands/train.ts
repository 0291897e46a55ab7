/**
 * `vmat train`: trains a dose-prediction U-Net (flags = the reference script's, in kebab-case,
 * spec 4.1) into runs/<exp-name>/ with the prostate task of the training engine. See
 * lib/train/engine.ts for what the run folder holds.
 */
import type { Command } from 'commander';
import { trainOptions } from '../../prostate/options';
import { effectiveCommand } from '../effective_command';
import {
  lossConfig,
  DVH_LOSS_DEFAULTS,
  STRUCTURE_WEIGHTED_DEFAULTS,
  ASYMMETRIC_PTV_DEFAULTS,
} from '../../losses/config';
import { ARCHITECTURES, type Architecture } from '../../models/config';
import { intOpt, numOpt, choiceOpt } from '../options';
import { printJson } from '../json';
import { UsageError } from '../../core/errors';

interface TrainFlags {
  dataDir?: string;
  expName: string;
  runsDir: string;
  valSplit: number;
  testSplit: number;
  epochs: number;
  batchSize: number;
  patchSize: number;
  patchesPerVolume: number;
  lr: number;
  weightDecay: number;
  baseChannels: number;
  levels: number;
  architecture: Architecture;
  seed: number;
  splitSeed: number;
  valEvery: number;
  patience: number;
  monitor: 'val_mae_gy' | 'val_mae_gy_ptv70';
  augmentation: boolean;
  valOverlap?: number;
  valGamma: boolean;
  valGammaSubsample: number;
  useGradientLoss: boolean;
  gradientLossWeight: number;
  useDvhLoss: boolean;
  dvhLossWeight: number;
  dvhD95Weight: number;
  dvhVxWeight: number;
  dvhDmeanWeight: number;
  dvhTemperature: number;
  dvhVxTemperature: number;
  useStructureWeighted: boolean;
  structureWeightedWeight: number;
  structurePtvWeight: number;
  structureOarBoundaryWeight: number;
  structureBackgroundWeight: number;
  structureBoundaryWidthMm: number;
  useAsymmetricPtv: boolean;
  asymmetricPtvWeight: number;
  asymmetricUnderdoseWeight: number;
  asymmetricOverdoseWeight: number;
  useUncertaintyWeighting: boolean;
  calibrationJson?: string;
  resume: boolean;
  initFrom?: string;
  maxMinutes?: number;
  json: boolean;
  quiet: boolean;
}

/** Registers `vmat train`: trains a prostate dose U-Net on patches into runs/<exp-name>/ (resumable). */
export function register(program: Command): void {
  program
    .command('train')
    .description(
      'train a 3-D dose-prediction U-Net (reference BaselineUNet3D or ablation variants) into runs/<exp-name>/',
    )
    .option(
      '--data-dir <dir>',
      'folder of cases (reference npz v2.3/v2.4, OpenKBP); split.json there is used as the locked split',
    )
    .option('--exp-name <name>', 'run name (folder under --runs-dir); convention <exp>_seed<N>', 'baseline_unet')
    .option('--runs-dir <dir>', 'where run folders go', 'runs')
    .option('--val-split <f>', 'validation fraction when a split must be made', numOpt('--val-split', 0), 0.1)
    .option('--test-split <f>', 'test fraction when a split must be made', numOpt('--test-split', 0), 0.1)
    .option('--epochs <n>', 'maximum epochs (also the cosine schedule length)', intOpt('--epochs', 1), 200)
    .option('--batch-size <n>', 'patches per step', intOpt('--batch-size', 1), 2)
    .option(
      '--patch-size <n>',
      'cubic patch edge in voxels (divisible by 2^(levels-1))',
      intOpt('--patch-size', 2),
      128,
    )
    .option(
      '--patches-per-volume <n>',
      'patches drawn per training case per epoch',
      intOpt('--patches-per-volume', 1),
      4,
    )
    .option('--lr <x>', 'AdamW learning rate', numOpt('--lr', 0), 1e-4)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', numOpt('--weight-decay', 0), 1e-2)
    .option('--base-channels <n>', 'U-Net base width b (widths b, 2b, 4b, 8b)', intOpt('--base-channels', 1), 48)
    .option('--levels <n>', 'resolution levels incl. the bottleneck (reference 5)', intOpt('--levels', 2), 5)
    .option(
      '--architecture <name>',
      `one of ${ARCHITECTURES.join('|')}`,
      choiceOpt('--architecture', ARCHITECTURES),
      'baseline',
    )
    .option('--seed <n>', 'seed for weights, patch sampling and augmentation', intOpt('--seed', 0), 42)
    .option(
      '--split-seed <n>',
      'seed of a newly made split (kept apart from --seed so every seed shares it)',
      intOpt('--split-seed', 0),
      42,
    )
    .option('--val-every <n>', 'validate on full volumes every N epochs', intOpt('--val-every', 1), 1)
    .option('--patience <n>', 'early stopping: validations without improvement', intOpt('--patience', 1), 50)
    .option(
      '--monitor <metric>',
      'checkpoint/early-stopping metric: val_mae_gy|val_mae_gy_ptv70',
      choiceOpt('--monitor', ['val_mae_gy', 'val_mae_gy_ptv70'] as const),
      'val_mae_gy',
    )
    .option('--no-augmentation', 'turn off flip/translation/rotation/noise augmentation')
    .option('--val-overlap <n>', 'sliding-window overlap for validation (default patch/2)', intOpt('--val-overlap', 0))
    .option('--val-gamma', 'compute the global and PTV-region 3%/3 mm gamma pass rates at validation (default)', true)
    .option('--no-val-gamma', 'no gamma at validation')
    .option('--val-gamma-subsample <n>', 'gamma subsampling at validation', intOpt('--val-gamma-subsample', 1), 4)
    .option('--use-gradient-loss', '3-D Sobel gradient loss', false)
    .option('--gradient-loss-weight <w>', 'weight of the gradient loss', numOpt('--gradient-loss-weight', 0), 0.1)
    .option('--use-dvh-loss', 'differentiable DVH loss (D95, V70, Dmean)', false)
    .option('--dvh-loss-weight <w>', 'weight of the DVH loss', numOpt('--dvh-loss-weight', 0), 0.5)
    .option('--dvh-d95-weight <w>', 'D95 term weight', numOpt('--dvh-d95-weight', 0), DVH_LOSS_DEFAULTS.d95Weight)
    .option('--dvh-vx-weight <w>', 'V70 term weight', numOpt('--dvh-vx-weight', 0), DVH_LOSS_DEFAULTS.vxWeight)
    .option(
      '--dvh-dmean-weight <w>',
      'Dmean term weight',
      numOpt('--dvh-dmean-weight', 0),
      DVH_LOSS_DEFAULTS.dmeanWeight,
    )
    .option(
      '--dvh-temperature <t>',
      'soft-D95 temperature in normalised dose (reference 0.1 was mis-scaled)',
      numOpt('--dvh-temperature', 1e-6),
      DVH_LOSS_DEFAULTS.d95Temperature,
    )
    .option(
      '--dvh-vx-temperature <t>',
      'soft-Vx sigmoid temperature in normalised dose',
      numOpt('--dvh-vx-temperature', 1e-6),
      DVH_LOSS_DEFAULTS.vxTemperature,
    )
    .option('--use-structure-weighted', 'structure-weighted MSE', false)
    .option(
      '--structure-weighted-weight <w>',
      'weight of the structure-weighted loss',
      numOpt('--structure-weighted-weight', 0),
      1.0,
    )
    .option(
      '--structure-ptv-weight <w>',
      'voxel weight inside targets',
      numOpt('--structure-ptv-weight', 0),
      STRUCTURE_WEIGHTED_DEFAULTS.ptvWeight,
    )
    .option(
      '--structure-oar-boundary-weight <w>',
      'voxel weight in OAR surface bands',
      numOpt('--structure-oar-boundary-weight', 0),
      STRUCTURE_WEIGHTED_DEFAULTS.oarBoundaryWeight,
    )
    .option(
      '--structure-background-weight <w>',
      'voxel weight elsewhere',
      numOpt('--structure-background-weight', 0),
      STRUCTURE_WEIGHTED_DEFAULTS.backgroundWeight,
    )
    .option(
      '--structure-boundary-width-mm <mm>',
      'half-width of the OAR band',
      numOpt('--structure-boundary-width-mm', 0),
      STRUCTURE_WEIGHTED_DEFAULTS.boundaryWidthMm,
    )
    .option('--use-asymmetric-ptv', 'asymmetric PTV loss (underdose penalised more)', false)
    .option('--asymmetric-ptv-weight <w>', 'weight of the asymmetric loss', numOpt('--asymmetric-ptv-weight', 0), 1.0)
    .option(
      '--asymmetric-underdose-weight <w>',
      'weight of underdosed PTV voxels',
      numOpt('--asymmetric-underdose-weight', 0),
      ASYMMETRIC_PTV_DEFAULTS.underdoseWeight,
    )
    .option(
      '--asymmetric-overdose-weight <w>',
      'weight of overdosed PTV voxels',
      numOpt('--asymmetric-overdose-weight', 0),
      ASYMMETRIC_PTV_DEFAULTS.overdoseWeight,
    )
    .option('--use-uncertainty-weighting', 'Kendall 2018 learned loss weights (manual weights ignored)', false)
    .option('--calibration-json <file>', 'initial log-sigmas from `vmat calibrate`')
    .option('--resume', 'continue runs/<exp-name> from checkpoints/last (exactly; also after SIGTERM/Ctrl-C)', false)
    .option('--init-from <dir>', 'start from the weights of this checkpoint folder (fine-tuning)')
    .option(
      '--max-minutes <m>',
      'training-time budget in minutes over all sessions of the run; stops resumably (validates first)',
      numOpt('--max-minutes', 0),
    )
    .option('--json', 'print the training summary as JSON', false)
    .option('--quiet', 'no progress output', false)
    .action(async (f: TrainFlags, cmd: Command) => {
      if (!f.dataDir) throw new UsageError('train: --data-dir is required');
      // checked here so a bad patch fails at once, not after the data is read (the U-Net halves it levels-1 times)
      const multiple = 2 ** (f.levels - 1);
      if (f.patchSize % multiple !== 0)
        throw new UsageError(
          `--patch-size: expected a multiple of 2^(levels-1) = ${multiple} for --levels ${f.levels}, found ${f.patchSize}`,
        );
      const command = effectiveCommand(cmd, f as unknown as Record<string, unknown>);
      const loss = lossConfig({
        useGradientLoss: f.useGradientLoss,
        gradientLossWeight: f.gradientLossWeight,
        useDvhLoss: f.useDvhLoss,
        dvhLossWeight: f.dvhLossWeight,
        dvh: {
          ...DVH_LOSS_DEFAULTS,
          d95Weight: f.dvhD95Weight,
          vxWeight: f.dvhVxWeight,
          dmeanWeight: f.dvhDmeanWeight,
          d95Temperature: f.dvhTemperature,
          vxTemperature: f.dvhVxTemperature,
        },
        useStructureWeighted: f.useStructureWeighted,
        structureWeightedWeight: f.structureWeightedWeight,
        structure: {
          ptvWeight: f.structurePtvWeight,
          oarBoundaryWeight: f.structureOarBoundaryWeight,
          backgroundWeight: f.structureBackgroundWeight,
          boundaryWidthMm: f.structureBoundaryWidthMm,
        },
        useAsymmetricPtv: f.useAsymmetricPtv,
        asymmetricPtvWeight: f.asymmetricPtvWeight,
        asymmetric: { underdoseWeight: f.asymmetricUnderdoseWeight, overdoseWeight: f.asymmetricOverdoseWeight },
        useUncertaintyWeighting: f.useUncertaintyWeighting,
      });
      const { train } = await import('../../prostate/train_task');
      const result = await train(
        trainOptions({
          dataDir: f.dataDir,
          expName: f.expName,
          runsDir: f.runsDir,
          valSplit: f.valSplit,
          testSplit: f.testSplit,
          epochs: f.epochs,
          batchSize: f.batchSize,
          patchSize: f.patchSize,
          patchesPerVolume: f.patchesPerVolume,
          lr: f.lr,
          weightDecay: f.weightDecay,
          baseChannels: f.baseChannels,
          levels: f.levels,
          architecture: f.architecture,
          seed: f.seed,
          splitSeed: f.splitSeed,
          valEvery: f.valEvery,
          patience: f.patience,
          monitor: f.monitor,
          augmentation: f.augmentation,
          valOverlap: f.valOverlap ?? null,
          valGamma: f.valGamma,
          valGammaSubsample: f.valGammaSubsample,
          loss,
          calibrationJson: f.calibrationJson ?? null,
          resume: f.resume,
          initFrom: f.initFrom ?? null,
          maxMinutes: f.maxMinutes ?? null,
          handleSignals: true,
          command,
          quiet: f.quiet,
        }),
      );
      const summary = {
        run_dir: result.runDir,
        stopped_by: result.stoppedBy,
        epochs: result.history.length,
        best_checkpoint: result.bestCheckpoint,
        last_checkpoint: result.lastCheckpoint,
        final: result.history[result.history.length - 1] ?? null,
      };
      if (f.json) printJson(summary);
      else
        process.stdout.write(
          `run folder: ${result.runDir}\nbest checkpoint: ${result.bestCheckpoint ?? 'none'}\nstopped by: ${result.stoppedBy}\n`,
        );
    });
}
