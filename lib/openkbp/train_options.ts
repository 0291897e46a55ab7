/** The settings of the OpenKBP 64³ task (`vmat openkbp train`) with their defaults — plain data. */
import type { StepInfo, EpochRow } from '../train/engine';

export interface OpenKbpTrainOptions {
  dataDir: string;
  valDir: string;
  runsDir: string;
  expName: string;
  epochs: number;
  lr: number;
  weightDecay: number;
  etaMin: number;
  gradClip: number;
  /** linear learning-rate warm-up over the first steps */
  warmupSteps: number;
  baseChannels: number;
  levels: number;
  seed: number;
  /** validate every this many epochs (and at the end / at the time limit) */
  valEvery: number;
  /** score only the first N validation patients (fast checks); null = all */
  valLimit: number | null;
  /** train on the first N training patients only (tests); null = all */
  trainLimit: number | null;
  augment: boolean;
  /** max translation (voxels at 64³) of the shift augmentation */
  shiftMax: number;
  /** training-time budget over all sessions of the run (minutes); resumable */
  maxMinutes: number | null;
  resume: boolean;
  /**
   * start from the weights of this checkpoint folder (fine-tuning: a new run with a fresh AdamW
   * and its own warm-up + cosine schedule); null = He initialisation
   */
  initFrom: string | null;
  /** save checkpoints/last at least this often inside an epoch */
  checkpointEveryMinutes: number;
  /** testing hook: stop as if signalled after this many steps */
  stopAfterSteps?: number | null;
  handleSignals?: boolean;
  command?: string[] | null;
  quiet: boolean;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (row: EpochRow, history: EpochRow[]) => void;
}

/** Complete 64³-task options: the defaults of `vmat openkbp train` overridden by `p`. */
export function openKbpTrainOptions(
  p: Partial<OpenKbpTrainOptions> & Pick<OpenKbpTrainOptions, 'dataDir' | 'valDir' | 'expName'>,
): OpenKbpTrainOptions {
  return {
    runsDir: 'runs',
    epochs: 12,
    lr: 1e-3,
    weightDecay: 1e-4,
    etaMin: 1e-6,
    gradClip: 1.0,
    warmupSteps: 50,
    baseChannels: 16,
    levels: 4,
    seed: 42,
    valEvery: 1,
    valLimit: null,
    trainLimit: null,
    augment: true,
    shiftMax: 6,
    maxMinutes: null,
    resume: false,
    initFrom: null,
    checkpointEveryMinutes: 5,
    quiet: false,
    ...p,
  };
}
