/**
 * What a training task gives the engine (lib/train/engine.ts). The engine owns the run folder,
 * run state, resume, time budget, checkpoints, metrics rows, progress, signals and callbacks; a task
 * only says how to make one epoch's work items, the loss of one step, the learning rate, and how to
 * validate. Three tasks exist: the reference prostate trainer on patches (lib/prostate/train_task.ts),
 * OpenKBP 64³ whole volumes and the OpenKBP 128³ refiner (lib/openkbp/*_task.ts).
 */
import type { tf } from '../engine';
import type { DoseModel } from '../models';
import type { Rng } from '../core/rng';
import type { InputRecipe } from '../inputs/recipe';
import type { PredictorSpec } from '../infer/bundle';

/** one optimisation step's loss, built by the task from the step's items */
export interface StepLoss {
  /** the scalar loss, built inside the gradient tape */
  loss: () => tf.Scalar;
  /** named component values of the last `loss()` call (logged as train_<name> epoch means) */
  components?: () => Record<string, number>;
  /** samples in the step (epoch means weight the step by this) */
  samples: number;
  /** frees the step's input tensors */
  dispose: () => void;
}

/** validation metrics (keys `val_*`); null = not available this time */
export type ValidationRow = Record<string, number | null>;

export interface ValidateContext {
  /** epoch index (0-based) being validated */
  epoch: number;
  /** true once the run was asked to stop (signal): a long validation may return early by throwing */
  stopRequested: () => boolean;
  onProgress?: (done: number, total: number, info: string) => void;
}

export interface TrainingTask {
  /** 'prostate' | 'openkbp-64' | 'openkbp-refine-128' */
  readonly name: string;
  /** the network being trained */
  readonly model: DoseModel;
  /** further trainable tensors saved with checkpoints (e.g. Kendall log-sigmas) */
  readonly extraParams?: Map<string, tf.Variable>;
  /** AdamW parameter groups: model weights and extras with their weight decay */
  paramGroups(weightDecay: number): Array<{ params: Map<string, tf.Variable>; weightDecay: number }>;
  /** samples per optimisation step */
  readonly batchSize: number;
  /** the work items of one epoch, in order (drawn from `rng`); the engine takes `batchSize` per step */
  epochItems(epoch: number, rng: Rng): string[];
  /** the loss of one step over `items` (random augmentation draws from `rng`) */
  stepLoss(items: string[], rng: Rng, at: { epoch: number; step: number }): Promise<StepLoss>;
  /** learning rate at this point of the schedule */
  learningRate(at: { epoch: number; globalStep: number; stepsPerEpoch: number; epochs: number }): number;
  /** metrics on the validation data with the current weights */
  validate(ctx: ValidateContext): Promise<ValidationRow>;
  /** validation key whose decrease marks a better model (e.g. 'val_mae_gy', 'val_dose_score') */
  readonly monitor: string;
  /** metrics.csv columns after the engine's own (epoch, global_step, lr, seconds, elapsed_minutes) */
  readonly columns: string[];
  /** the text of one epoch's line on the console (after "epoch N/E: ") */
  summaryLine(row: Record<string, number | null>): string;
  /** what goes into training_config.json besides the engine's own keys */
  records(): {
    hparams: Record<string, unknown>;
    /** task-specific training settings, merged into training_config.json `training` */
    training?: Record<string, unknown>;
    data: Record<string, unknown>;
    extra?: Record<string, unknown>;
  };
  /**
   * how the checkpoints of this task predict (their manifest.json; checkpoint paths relative to the
   * folder); null = a checkpoint that cannot predict alone (a refiner trained on the ground truth)
   */
  predictorSpec(): PredictorSpec | null;
  /** legacy checkpoint config.json fields (input recipe, meta) kept for readers of the old layout */
  checkpointInfo(): { input: InputRecipe | null; meta: Record<string, unknown> };
  /** receives a resumed checkpoint's extra tensors (before they are freed) */
  restoreExtra?(extra: Map<string, tf.Tensor>): void;
  /** frees everything the task holds, the model included (the engine calls it when the run ends) */
  dispose(): void;
}
