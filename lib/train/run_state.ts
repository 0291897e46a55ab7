/**
 * The training engine's run state: everything besides weights and AdamW moments that a resumed run
 * needs to continue exactly where it stopped — inside an epoch too. Saved as checkpoints/last/
 * state.json and validated on read (a hand-edited or foreign state is a DataError naming the key).
 * State files of the three trainers that existed before the engine are converted by
 * `runStateFromLegacy` (prostate: end-of-epoch state; OpenKBP 64³: mid-epoch; refiner: steps).
 */
import { z } from 'zod';
import { DataError } from '../core/errors';
import type { RngState } from '../core/rng';

/** one metrics.csv row: the engine's columns plus the task's (train_*, val_*); null = not measured */
export interface EpochRow {
  /** epoch index, 0-based (as Lightning's metrics.csv) */
  epoch: number;
  /** optimisation steps done when the row was written */
  global_step: number;
  /** learning rate of the epoch's last step */
  lr: number;
  /** wall seconds of the epoch (training + validation) */
  seconds: number;
  /** training time of the run so far (all sessions), minutes */
  elapsed_minutes: number;
  /** mean optimised loss over the epoch's steps */
  train_loss: number;
  [column: string]: number | null;
}

export interface BestRecord {
  value: number;
  epoch: number;
  global_step: number;
  /** checkpoint folder name under checkpoints/ */
  checkpoint: string;
}

export interface RunState {
  /** epoch in progress (0-based); equals `epochs` when training finished */
  epoch: number;
  /** steps of `order` already done in this epoch */
  stepInEpoch: number;
  /** the work items of the epoch in progress */
  order: string[];
  globalStep: number;
  /** learning rate of the last step */
  lastLr: number;
  rng: RngState;
  /** sums over the epoch so far: train_loss and train_<component>, weighted by samples */
  sums: Record<string, number>;
  samples: number;
  /** wall seconds spent in the epoch so far (all sessions) */
  epochSeconds: number;
  /** the epoch in progress finished its steps; its validation has not run yet */
  pendingValidation: boolean;
  best: BestRecord | null;
  /** validations in a row without improvement */
  checksWithoutImprovement: number;
  history: EpochRow[];
  /** training time over all sessions, seconds */
  elapsedSeconds: number;
  finished: boolean;
}

const rngSchema = z.object({ c: z.number(), s0: z.number(), s1: z.number(), s2: z.number() });
const rowSchema = z.record(z.string(), z.number().nullable());
const stateSchema = z.object({
  format: z.literal('vmat-run-state-1'),
  epoch: z.number().int().nonnegative(),
  stepInEpoch: z.number().int().nonnegative(),
  order: z.array(z.string()),
  globalStep: z.number().int().nonnegative(),
  lastLr: z.number(),
  rng: rngSchema,
  sums: z.record(z.string(), z.number()),
  samples: z.number().nonnegative(),
  epochSeconds: z.number().nonnegative(),
  pendingValidation: z.boolean(),
  best: z.object({ value: z.number(), epoch: z.number(), global_step: z.number(), checkpoint: z.string() }).nullable(),
  checksWithoutImprovement: z.number().int().nonnegative(),
  history: z.array(rowSchema),
  elapsedSeconds: z.number().nonnegative(),
  finished: z.boolean(),
});

/** a fresh state for a new run */
export function newRunState(rng: RngState): RunState {
  return {
    epoch: 0,
    stepInEpoch: 0,
    order: [],
    globalStep: 0,
    lastLr: 0,
    rng,
    sums: {},
    samples: 0,
    epochSeconds: 0,
    pendingValidation: false,
    best: null,
    checksWithoutImprovement: 0,
    history: [],
    elapsedSeconds: 0,
    finished: false,
  };
}

/** the JSON saved in checkpoints/last/state.json */
export function serialiseRunState(s: RunState): Record<string, unknown> {
  return { format: 'vmat-run-state-1', ...s };
}

/** reads a saved state (this engine's, or a pre-engine trainer's) — `file` names it in errors */
export function parseRunState(value: unknown, file: string): RunState {
  const v = value as Record<string, unknown> | null;
  if (v && typeof v === 'object' && v.format === undefined) return runStateFromLegacy(v, file);
  const r = stateSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DataError(file, i.path.join('.') || 'state', 'a vmat-lab run state', i.message);
  }
  const { format: _format, ...s } = r.data;
  return { ...s, best: s.best ?? null, history: s.history as EpochRow[] };
}

const num = (v: unknown, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/**
 * Converts the state.json of the trainers before the engine:
 *   prostate  {epoch (last finished, -1 = none), globalStep, rng, bestValue, bestEpoch, bestCheckpoint,
 *              checksWithoutImprovement, history, elapsedSeconds}  (saved at the end of an epoch)
 *   OpenKBP   {epoch, stepInEpoch, order, globalStep, rng, lossSum, lossN, best{dose_score,...},
 *              history, elapsedSeconds, finished}
 *   refiner   {step, rng, lossSum, lossN, elapsedSeconds}   (one epoch of `steps` steps)
 */
export function runStateFromLegacy(v: Record<string, unknown>, file: string): RunState {
  const rng = rngSchema.safeParse(v.rng);
  if (!rng.success) throw new DataError(file, 'rng', 'the saved random-number state {c, s0, s1, s2}', 'missing');
  const base = newRunState(rng.data);
  base.elapsedSeconds = num(v.elapsedSeconds);
  if ('bestCheckpoint' in v || 'checksWithoutImprovement' in v) {
    // prostate trainer: state after epoch `epoch`
    base.epoch = num(v.epoch, -1) + 1;
    base.globalStep = num(v.globalStep);
    base.checksWithoutImprovement = num(v.checksWithoutImprovement);
    base.history = ((v.history as EpochRow[] | undefined) ?? []).map((r) => ({ ...r }));
    if (typeof v.bestCheckpoint === 'string' && typeof v.bestValue === 'number')
      base.best = {
        value: v.bestValue,
        epoch: num(v.bestEpoch),
        global_step: 0,
        checkpoint: v.bestCheckpoint,
      };
    return base;
  }
  if ('stepInEpoch' in v) {
    // OpenKBP 64³ trainer
    base.epoch = num(v.epoch);
    base.stepInEpoch = num(v.stepInEpoch);
    base.order = Array.isArray(v.order) ? (v.order as string[]) : [];
    base.globalStep = num(v.globalStep);
    base.sums = { train_loss: num(v.lossSum) };
    base.samples = num(v.lossN);
    base.finished = v.finished === true;
    const b = v.best as { dose_score?: number; epoch?: number; global_step?: number } | null | undefined;
    if (b && typeof b.dose_score === 'number')
      base.best = { value: b.dose_score, epoch: num(b.epoch), global_step: num(b.global_step), checkpoint: 'best' };
    base.history = ((v.history as Array<Record<string, number>> | undefined) ?? []).map((r) => ({
      epoch: num(r.epoch),
      global_step: num(r.global_step),
      lr: num(r.lr),
      seconds: num(r.val_seconds),
      elapsed_minutes: num(r.elapsed_minutes),
      train_loss: num(r.train_l1_gy) / 70,
      train_l1_gy: num(r.train_l1_gy),
      val_dose_score: num(r.val_dose_score),
      val_dvh_score: num(r.val_dvh_score),
      val_seconds: num(r.val_seconds),
    }));
    return base;
  }
  if ('step' in v) {
    // refiner trainer: one epoch whose order is regenerated on resume
    base.stepInEpoch = num(v.step);
    base.globalStep = num(v.step);
    base.sums = { train_loss: num(v.lossSum) };
    base.samples = num(v.lossN);
    return base;
  }
  throw new DataError(file, 'state', 'a vmat-lab run state', `keys ${Object.keys(v).slice(0, 6).join(', ')}`);
}
