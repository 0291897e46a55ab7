/**
 * Every setting of the prostate training task (`vmat train`) with the reference defaults (spec
 * 4.1/4.2), recorded in full in training_config.json (the reference omitted seed, batch, epochs,
 * patch size, augmentation, data dir).
 */
import type { Architecture } from '../models/config';
import type { Case } from '../data/case';
import { lossConfig, type LossConfig } from '../losses/config';
import type { EpochRow, StepInfo } from '../train/engine';

export type { EpochRow, StepInfo };

export type MonitorMetric = 'val_mae_gy' | 'val_mae_gy_ptv70' | 'val_loss';

export interface TrainOptions {
  /** folder of case files (reference npz, OpenKBP); or give `cases` */
  dataDir: string | null;
  /** in-memory cases (notebooks/tests) instead of dataDir; ids = case.id */
  cases?: Case[];
  expName: string;
  runsDir: string;
  epochs: number;
  batchSize: number;
  patchSize: number;
  patchesPerVolume: number;
  lr: number;
  weightDecay: number;
  etaMin: number;
  gradClip: number;
  architecture: Architecture;
  baseChannels: number;
  levels: number;
  seed: number;
  /** seed of a newly made split (independent of `seed`, so all seeds share the split) */
  splitSeed: number;
  valSplit: number;
  testSplit: number;
  valEvery: number;
  /** validation checks without improvement before stopping */
  patience: number;
  monitor: MonitorMetric;
  augmentation: boolean;
  /** sliding-window overlap used for validation (default patch/2) */
  valOverlap: number | null;
  valGamma: boolean;
  valGammaSubsample: number;
  loss: LossConfig;
  calibrationJson: string | null;
  resume: boolean;
  /** training-time budget over all sessions of the run (minutes); the run stops resumably */
  maxMinutes: number | null;
  /** start from this checkpoint's weights (fine-tuning); null = fresh initialisation */
  initFrom: string | null;
  /** save checkpoints/last at least this often inside an epoch (minutes) */
  checkpointEveryMinutes: number;
  /** testing hook: stop as if killed right after saving this epoch's checkpoint */
  stopAfterEpoch: number | null;
  /** testing hook: stop as if signalled after this many optimisation steps */
  stopAfterSteps?: number | null;
  /** stop resumably on SIGTERM / SIGUSR1 / SIGINT (the CLI) */
  handleSignals?: boolean;
  /** the command line recorded in training_config.json (the CLI's effective flags) */
  command?: string[] | null;
  /** byte budget of the prepared-case cache */
  cacheBytes: number;
  quiet: boolean;
  onEpoch?: (row: EpochRow, history: EpochRow[]) => void;
  onStep?: (info: StepInfo) => void;
  onValidationProgress?: (done: number, total: number, info: string) => void;
}

/** Complete prostate-task options: the defaults of `vmat train` (reference hyper-parameters) overridden by `partial`. */
export function trainOptions(partial: Partial<TrainOptions> & { expName: string }): TrainOptions {
  return {
    dataDir: null,
    runsDir: 'runs',
    epochs: 200,
    batchSize: 2,
    patchSize: 128,
    patchesPerVolume: 4,
    lr: 1e-4,
    weightDecay: 1e-2,
    etaMin: 1e-6,
    gradClip: 1.0,
    architecture: 'baseline',
    baseChannels: 48,
    levels: 5,
    seed: 42,
    splitSeed: 42,
    valSplit: 0.1,
    testSplit: 0.1,
    valEvery: 1,
    patience: 50,
    monitor: 'val_mae_gy',
    augmentation: true,
    valOverlap: null,
    valGamma: true,
    valGammaSubsample: 4,
    calibrationJson: null,
    resume: false,
    maxMinutes: null,
    initFrom: null,
    checkpointEveryMinutes: 5,
    stopAfterEpoch: null,
    cacheBytes: 6 * 2 ** 30,
    quiet: false,
    ...partial,
    loss: lossConfig(partial.loss ?? {}),
  };
}
