/**
 * Every training hyper-parameter with the reference defaults (spec 4.1/4.2), recorded in full in
 * training_config.json (the reference omitted seed, batch, epochs, patch size, augmentation, data dir).
 */
import type { Architecture } from '../models/config';
import type { Case } from '../data/case';
import { lossConfig, type LossConfig } from '../losses';

export type MonitorMetric = 'val_mae_gy' | 'val_mae_gy_ptv70';

export interface EpochRow {
  epoch: number;
  lr: number;
  seconds: number;
  train_loss: number;
  /** train_<component> means, sigma_<name> for uncertainty weighting */
  [key: string]: number | null;
}

export interface StepInfo {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
}

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
  /** stop after the epoch during which this many minutes have passed (checkpoint kept; resumable) */
  maxMinutes: number | null;
  /** testing hook: stop as if killed right after saving this epoch's checkpoint */
  stopAfterEpoch: number | null;
  /** byte budget of the prepared-case cache */
  cacheBytes: number;
  quiet: boolean;
  onEpoch?: (row: EpochRow, history: EpochRow[]) => void;
  onStep?: (info: StepInfo) => void;
}

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
    valGamma: false,
    valGammaSubsample: 4,
    calibrationJson: null,
    resume: false,
    maxMinutes: null,
    stopAfterEpoch: null,
    cacheBytes: 6 * 2 ** 30,
    quiet: false,
    ...partial,
    loss: lossConfig(partial.loss ?? {}),
  };
}
