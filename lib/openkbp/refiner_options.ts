/** The settings of the OpenKBP 128³ refiner task (`vmat openkbp refine-train`) with their defaults — plain data. */
import type { StepInfo } from '../train/engine';

export interface RefinerTrainOptions {
  dataDir: string;
  valDir: string;
  runsDir: string;
  expName: string;
  /** the model folder whose 64³ predictions are refined (cascade training); null = the ground truth down and up */
  coarseModel: string | null;
  /** L/R TTA on the coarse predictions: on, off, or as the coarse model's manifest says (undefined) */
  coarseTta?: boolean;
  steps: number;
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  etaMin: number;
  gradClip: number;
  /** cubic patch edge at 128³ */
  patch: number;
  baseChannels: number;
  levels: number;
  seed: number;
  trainLimit: number | null;
  valLimit: number | null;
  resume: boolean;
  /** start from this refiner checkpoint's weights (fine-tuning, e.g. on a newer coarse model's predictions) */
  initFrom: string | null;
  /** training-time budget over all sessions (minutes); resumable */
  maxMinutes: number | null;
  checkpointEveryMinutes: number;
  stopAfterSteps?: number | null;
  handleSignals?: boolean;
  command?: string[] | null;
  quiet: boolean;
  onStep?: (info: StepInfo) => void;
}

/** Complete refiner-task options: the defaults of `vmat openkbp refine-train` overridden by `p`. */
export function refinerTrainOptions(
  p: Partial<RefinerTrainOptions> & Pick<RefinerTrainOptions, 'dataDir' | 'valDir' | 'expName'>,
): RefinerTrainOptions {
  return {
    runsDir: 'runs',
    coarseModel: null,
    steps: 1500,
    lr: 1e-3,
    weightDecay: 1e-4,
    warmupSteps: 50,
    etaMin: 1e-6,
    gradClip: 1,
    patch: 64,
    baseChannels: 8,
    levels: 2,
    seed: 42,
    trainLimit: 100,
    valLimit: null,
    resume: false,
    initFrom: null,
    maxMinutes: null,
    checkpointEveryMinutes: 5,
    quiet: false,
    ...p,
  };
}
