/**
 * The training engine: one loop for every task (MONAI's workflow with handlers, in small). It owns
 *   the run folder   <runsDir>/<expName>/: training_config.json (every setting, the command that
 *                    reproduces the run, data, environment; resumes appended), metrics.csv (one row
 *                    per epoch), training_summary.json (when the run ends), checkpoints/
 *   checkpoints      checkpoints/last/ (weights, AdamW moments, run state: saved at the end of every
 *                    epoch, every `checkpointEveryMinutes` inside one, and on a stop request) and
 *                    checkpoints/best-epoch=NNN-<monitor>=X.XXX/ (lowest monitored validation value);
 *                    each is a model bundle (manifest.json) that `vmat infer` loads
 *   resume           `resume: true` continues from checkpoints/last exactly, inside an epoch too: the
 *                    same options give the same weights and metrics as an uninterrupted run
 *   time budget      `maxMinutes` of training time summed over all sessions of the run; when it runs
 *                    out the run validates at once (so it always has a best checkpoint), saves, and
 *                    stops resumably
 *   signals          SIGTERM / SIGUSR1 / SIGINT: stop after the current step, save, exit code 75
 *   progress         a bar per epoch and per validation (lib/core/progress.ts), one line per epoch
 *   callbacks        onStep, onEpoch (typed EpochRow: the metrics.csv row) for notebooks
 * A task (lib/train/task.ts) says how to sample, the loss, the learning rate and how to validate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, engineInfo } from '../engine';
import { saveCheckpoint, loadCheckpoint, restoreParams } from '../models/checkpoint';
import { recoverAtomicDir, writeJsonAtomic, writeFileAtomic } from '../core/atomic';
import { envSnapshot } from '../core/environment';
import { createProgress } from '../core/progress';
import { DataError, UsageError } from '../core/errors';
import { Rng } from '../core/rng';
import { VMAT_VERSION } from '../core/project';
import { BUNDLE_FORMAT, BUNDLE_VERSION, MANIFEST_FILE, type BundleManifest } from '../infer/bundle';
import { AdamW } from './adamw';
import { initWeightsFrom } from './resume';
import { optimisationStep } from './step';
import { newRunState, parseRunState, serialiseRunState, type EpochRow, type RunState } from './run_state';
import { NO_STOP, TrainingInterrupted, watchStopSignals, type StopFlag } from './signals';
import type { TrainingTask, ValidationRow } from './task';

export type { EpochRow } from './run_state';

export interface StepInfo {
  /** epoch index, 0-based */
  epoch: number;
  /** step within the epoch, 1-based */
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  /** the step's optimised loss */
  loss: number;
}

export interface EngineOptions {
  runsDir: string;
  expName: string;
  /** epochs (the cosine schedules span them) */
  epochs: number;
  seed: number;
  /** AdamW decoupled weight decay of the model weights */
  weightDecay: number;
  /** max global gradient L2 norm (<= 0: no clipping) */
  gradClip: number;
  /** validate every N epochs (and after the last epoch, and at the time limit) */
  valEvery: number;
  /** validations in a row without improvement before stopping; null = never stop early */
  patience: number | null;
  /** training-time budget over all sessions of the run, minutes; null = none */
  maxMinutes: number | null;
  resume: boolean;
  /** start a new run from this checkpoint's weights (fine-tuning); null = fresh initialisation */
  initFrom: string | null;
  /** save checkpoints/last at least this often inside an epoch (minutes) */
  checkpointEveryMinutes: number;
  /** testing hook: stop as if killed right after saving this epoch's checkpoint */
  stopAfterEpoch?: number | null;
  /** testing hook: stop as if signalled after this many optimisation steps */
  stopAfterSteps?: number | null;
  /** react to SIGTERM / SIGUSR1 / SIGINT (the CLI) */
  handleSignals?: boolean;
  /** the command line that made the run (recorded; the CLI passes its argv) */
  command?: string[] | null;
  /** the script named in training_config.json, e.g. 'vmat-lab train' */
  script: string;
  quiet: boolean;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (row: EpochRow, history: EpochRow[]) => void;
  /** progress of a validation (cases done / total) */
  onValidationProgress?: (done: number, total: number, info: string) => void;
}

/** the run settings every task's options carry under the same names (see engineOptions) */
const SHARED_KEYS = [
  'runsDir',
  'expName',
  'epochs',
  'seed',
  'weightDecay',
  'gradClip',
  'valEvery',
  'maxMinutes',
  'resume',
  'initFrom',
  'checkpointEveryMinutes',
  'stopAfterEpoch',
  'stopAfterSteps',
  'handleSignals',
  'command',
  'quiet',
  'onStep',
  'onEpoch',
  'onValidationProgress',
] as const;

type SharedKey = (typeof SHARED_KEYS)[number];

/**
 * EngineOptions from a task's options: the shared settings taken by name (one vocabulary across
 * tasks), the rest given by the task (`script`, `patience`, and any value it fixes, e.g. the
 * refiner's single epoch).
 */
export function engineOptions(
  o: Partial<Pick<EngineOptions, SharedKey>>,
  task: Pick<EngineOptions, 'script' | 'patience'> & Partial<EngineOptions>,
): EngineOptions {
  const shared: Partial<EngineOptions> = {};
  for (const k of SHARED_KEYS) if (o[k] !== undefined) (shared as Record<string, unknown>)[k] = o[k];
  return { ...(shared as EngineOptions), ...task };
}

export type StoppedBy = 'max_epochs' | 'early_stopping' | 'time_limit' | 'stop_after_epoch';

export interface TrainResult {
  runDir: string;
  /** best checkpoint folder (null before the first validation) */
  bestCheckpoint: string | null;
  lastCheckpoint: string;
  history: EpochRow[];
  stoppedBy: StoppedBy;
  /** every epoch done */
  finished: boolean;
  elapsedSeconds: number;
}

/** what a task builder gets: where the run lives and whether it resumes */
export interface TaskContext {
  runDir: string;
  resume: boolean;
}

const ENGINE_COLUMNS = ['epoch', 'global_step', 'lr', 'seconds', 'elapsed_minutes'];

function csvText(cols: string[], rows: EpochRow[]): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => fmt(r[c])).join(','))].join('\n') + '\n';
}

/** shell-quoted command text */
export function commandText(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function bestName(epoch: number, monitor: string, value: number): string {
  return `best-epoch=${String(epoch).padStart(3, '0')}-${monitor}=${value.toFixed(3)}`;
}

/**
 * Trains the task `build` makes. The run folder is checked first (an existing run needs `resume`),
 * then the task is built (it reads its data and starts the engine backend), and only then is the
 * run folder created, so bad input leaves nothing behind.
 */
export async function runTraining(
  o: EngineOptions,
  build: (ctx: TaskContext) => Promise<TrainingTask>,
): Promise<TrainResult> {
  const runDir = path.resolve(o.runsDir, o.expName);
  const ckDir = path.join(runDir, 'checkpoints');
  const lastDir = path.join(ckDir, 'last');
  // a run killed while checkpoints/last was being replaced still has its previous version
  recoverAtomicDir(lastDir);
  if (!o.resume && fs.existsSync(lastDir))
    throw new UsageError(
      `run folder ${runDir} already has checkpoints; use --resume to continue it or choose another --exp-name`,
    );
  if (o.resume && !fs.existsSync(lastDir)) throw new UsageError(`--resume: no checkpoint at ${lastDir}`);
  if (o.initFrom && !fs.existsSync(o.initFrom))
    throw new UsageError(`--init-from: no checkpoint folder at ${path.resolve(o.initFrom)}`);
  const task = await build({ runDir, resume: o.resume });
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  let optimizer: AdamW | null = null;
  let stop: StopFlag = NO_STOP;
  try {
    fs.mkdirSync(runDir, { recursive: true });
    const model = task.model;
    if (!o.resume && o.initFrom) initWeightsFrom(o.initFrom, model.params, model.config);
    optimizer = new AdamW(task.paramGroups(o.weightDecay));
    const trainable = new Map<string, tf.Variable>([...model.params, ...(task.extraParams ?? [])]);
    let state: RunState;
    if (o.resume) state = resumeState(lastDir, task, optimizer);
    else state = newRunState(Rng.fromSeed(`train:${o.seed}`).state());
    const rng = Rng.fromState(state.rng);
    await writeRunConfig(runDir, o, task, state);
    const columns = [...ENGINE_COLUMNS, ...task.columns];
    say(
      `${o.script.replace('vmat-lab ', '')} ${o.expName}: ${model.className} ${model.numParameters().toLocaleString('en-US')} params, ${o.epochs} epochs` +
        (o.resume ? `, resuming at epoch ${Math.min(state.epoch + 1, o.epochs)} step ${state.stepInEpoch}` : ''),
    );

    const sessionStart = Date.now();
    let sessionCounted = 0;
    /** adds this session's time since the last call to the state */
    const tick = () => {
      const now = (Date.now() - sessionStart) / 1000;
      state.elapsedSeconds += now - sessionCounted;
      state.epochSeconds += now - sessionCounted;
      sessionCounted = now;
    };
    const saveLast = async () => {
      tick();
      state.rng = rng.state();
      await saveCheckpoint(lastDir, {
        model,
        ...task.checkpointInfo(),
        extraParams: task.extraParams,
        optimizer: optimizer!.getState(),
        state: serialiseRunState(state),
        meta: { ...task.checkpointInfo().meta, exp_name: o.expName, epoch: state.epoch, global_step: state.globalStep },
        extraJson: manifestOf(o, task, runDir, 'last', state),
      });
    };
    const timeUp = () => {
      tick();
      return o.maxMinutes !== null && state.elapsedSeconds / 60 >= o.maxMinutes;
    };
    stop = o.handleSignals
      ? watchStopSignals((sig) =>
          say(`${sig}: stopping after this step and saving checkpoints/last (resume with --resume)`),
        )
      : NO_STOP;
    /** the error to throw once the checkpoint for a stop request is saved */
    const interruptedSaved = async (where: string): Promise<TrainingInterrupted> => {
      await saveLast();
      return new TrainingInterrupted(
        `training ${o.expName} stopped by ${stop.requested ?? 'request'} ${where}; checkpoint saved in ${lastDir} — continue with --resume`,
      );
    };

    let stoppedBy: StoppedBy = 'max_epochs';
    let lastSave = Date.now();
    while (state.epoch < o.epochs && !state.finished) {
      const epoch = state.epoch;
      let partial = false;
      if (!state.pendingValidation) {
        if (state.stepInEpoch === 0) {
          state.order = task.epochItems(epoch, rng);
          state.sums = {};
          state.samples = 0;
          state.epochSeconds = 0;
        } else if (!state.order.length) state.order = task.epochItems(epoch, rng);
        const steps = Math.ceil(state.order.length / task.batchSize);
        const progress = createProgress({
          label: `epoch ${epoch + 1}/${o.epochs}`,
          total: steps,
          quiet: o.quiet || !!o.onStep,
        });
        progress.tick(state.stepInEpoch);
        while (state.stepInEpoch < steps) {
          const s = state.stepInEpoch;
          const items = state.order.slice(s * task.batchSize, (s + 1) * task.batchSize);
          const lr = task.learningRate({ epoch, globalStep: state.globalStep, stepsPerEpoch: steps, epochs: o.epochs });
          const sl = await task.stepLoss(items, rng, { epoch, step: s });
          let loss: number;
          let comps: Record<string, number> = {};
          try {
            loss = optimisationStep({
              trainable,
              optimizer,
              lr,
              gradClip: o.gradClip,
              where: `${o.expName}: epoch ${epoch + 1} step ${s + 1}`,
              loss: sl.loss,
            });
            comps = sl.components?.() ?? {};
          } finally {
            sl.dispose();
          }
          state.sums.train_loss = (state.sums.train_loss ?? 0) + loss * sl.samples;
          for (const [k, v] of Object.entries(comps))
            state.sums[`train_${k}`] = (state.sums[`train_${k}`] ?? 0) + v * sl.samples;
          state.samples += sl.samples;
          state.stepInEpoch++;
          state.globalStep++;
          state.lastLr = lr;
          progress.tick(1, `loss ${loss.toFixed(4)}`);
          o.onStep?.({ epoch, step: s + 1, stepsPerEpoch: steps, globalStep: state.globalStep, loss });
          if (stop.requested || (o.stopAfterSteps && state.globalStep >= o.stopAfterSteps)) {
            progress.stop();
            throw await interruptedSaved(`at epoch ${epoch + 1} step ${s + 1}/${steps}`);
          }
          if (timeUp() && state.stepInEpoch < steps) {
            stoppedBy = 'time_limit';
            partial = true;
            break;
          }
          if ((Date.now() - lastSave) / 60000 >= o.checkpointEveryMinutes && state.stepInEpoch < steps) {
            await saveLast();
            lastSave = Date.now();
          }
        }
        progress.stop();
        if (!partial) {
          state.pendingValidation = true;
          await saveLast();
          lastSave = Date.now();
          if (timeUp() && epoch < o.epochs - 1) stoppedBy = 'time_limit';
        }
      }

      // the epoch's row, and its validation when due
      const doVal = (epoch + 1) % o.valEvery === 0 || epoch === o.epochs - 1 || stoppedBy === 'time_limit';
      const row: EpochRow = {
        epoch,
        global_step: state.globalStep,
        lr: state.lastLr,
        seconds: 0,
        elapsed_minutes: 0,
        train_loss: state.samples ? (state.sums.train_loss ?? 0) / state.samples : NaN,
      };
      for (const [k, v] of Object.entries(state.sums)) if (k !== 'train_loss') row[k] = v / Math.max(1, state.samples);
      for (const c of task.columns) if (!(c in row)) row[c] = null;
      let improved = false;
      if (doVal) {
        let v: ValidationRow;
        let vp: ReturnType<typeof createProgress> | null = null;
        try {
          v = await task.validate({
            epoch,
            stopRequested: () => stop.requested !== null,
            onProgress: (_done, total, info) => {
              vp ??= createProgress({
                label: `validate epoch ${epoch + 1}`,
                total,
                onUpdate: o.onValidationProgress,
                quiet: o.quiet,
              });
              vp.tick(1, info);
            },
          });
        } catch (e) {
          // a task may abort a long validation once a stop was requested (the state says it is pending)
          if (stop.requested) throw await interruptedSaved(`while validating epoch ${epoch + 1}`);
          throw e;
        } finally {
          (vp as ReturnType<typeof createProgress> | null)?.stop();
        }
        if (stop.requested) throw await interruptedSaved(`while validating epoch ${epoch + 1}`);
        Object.assign(row, v);
        const monitored = row[task.monitor];
        if (typeof monitored === 'number' && Number.isFinite(monitored)) {
          if (!state.best || monitored < state.best.value) {
            improved = true;
            const name = bestName(epoch, task.monitor, monitored);
            const previous = state.best?.checkpoint;
            state.best = { value: monitored, epoch, global_step: state.globalStep, checkpoint: name };
            state.checksWithoutImprovement = 0;
            await saveCheckpoint(path.join(ckDir, name), {
              model,
              ...task.checkpointInfo(),
              extraParams: task.extraParams,
              meta: {
                ...task.checkpointInfo().meta,
                exp_name: o.expName,
                epoch,
                global_step: state.globalStep,
                [task.monitor]: monitored,
              },
              extraJson: manifestOf(o, task, runDir, name, state),
            });
            if (previous && previous !== name) fs.rmSync(path.join(ckDir, previous), { recursive: true, force: true });
          } else state.checksWithoutImprovement++;
        }
      }
      tick();
      row.seconds = state.epochSeconds;
      row.elapsed_minutes = state.elapsedSeconds / 60;
      state.history.push(row);
      if (!partial) {
        state.epoch++;
        state.stepInEpoch = 0;
        state.order = [];
        state.pendingValidation = false;
        state.sums = {};
        state.samples = 0;
        state.epochSeconds = 0;
        if (state.epoch >= o.epochs) state.finished = true;
      }
      const early = doVal && o.patience !== null && state.checksWithoutImprovement >= o.patience;
      if (early) {
        stoppedBy = 'early_stopping';
        state.finished = true;
      }
      await saveLast();
      lastSave = Date.now();
      await writeFileAtomic(path.join(runDir, 'metrics.csv'), csvText(columns, state.history));
      say(
        `epoch ${epoch + 1}/${o.epochs}${partial ? ` (stopped at step ${state.stepInEpoch})` : ''}: ${task.summaryLine(row)}, lr ${row.lr.toExponential(2)}, ${row.seconds.toFixed(1)} s${improved ? ' *' : ''}`,
      );
      o.onEpoch?.(row, state.history);
      if (early) {
        say(`early stopping: ${o.patience} validations without improvement of ${task.monitor}`);
        break;
      }
      if (o.stopAfterEpoch !== null && o.stopAfterEpoch !== undefined && epoch >= o.stopAfterEpoch) {
        stoppedBy = 'stop_after_epoch';
        break;
      }
      if (stoppedBy === 'time_limit') {
        say(
          `time limit: ${o.maxMinutes} min of training reached at epoch ${Math.min(state.epoch + 1, o.epochs)}${partial ? ` step ${state.stepInEpoch}` : ''}; the run is resumable — continue with --resume and a larger --max-minutes`,
        );
        break;
      }
    }
    tick();
    const bestCheckpoint = state.best ? path.join(ckDir, state.best.checkpoint) : null;
    if (stoppedBy !== 'stop_after_epoch')
      await writeJsonAtomic(path.join(runDir, 'training_summary.json'), summaryOf(o, task, state, stoppedBy, runDir));
    return {
      runDir,
      bestCheckpoint,
      lastCheckpoint: lastDir,
      history: state.history,
      stoppedBy,
      finished: state.finished,
      elapsedSeconds: state.elapsedSeconds,
    };
  } finally {
    stop.release();
    optimizer?.dispose();
    task.dispose();
  }
}

/** restores weights, AdamW moments, task extras and the run state from checkpoints/last */
function resumeState(lastDir: string, task: TrainingTask, optimizer: AdamW): RunState {
  const ck = loadCheckpoint(lastDir);
  try {
    restoreParams(task.model.params, ck.model.params, lastDir);
    task.restoreExtra?.(ck.extraParams);
  } finally {
    ck.model.dispose();
    for (const v of ck.extraParams.values()) v.dispose();
  }
  if (!ck.optimizer || !ck.state)
    throw new DataError(lastDir, 'optimizer/state', 'a training checkpoint', 'an inference-only checkpoint');
  optimizer.setState(ck.optimizer);
  return parseRunState(ck.state, path.join(lastDir, 'state.json'));
}

/** manifest.json of every checkpoint of the run (the task's predictor over this folder), when it can predict */
function manifestOf(
  o: EngineOptions,
  task: TrainingTask,
  runDir: string,
  which: string,
  s: RunState,
): Record<string, BundleManifest> {
  const predictor = task.predictorSpec();
  if (!predictor) return {};
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    name: `${o.expName}/${which}`,
    created: new Date().toISOString(),
    predictor,
    provenance: { run_dir: runDir, task: task.name, epoch: s.epoch, global_step: s.globalStep },
  };
  return { [MANIFEST_FILE]: manifest };
}

async function writeRunConfig(runDir: string, o: EngineOptions, task: TrainingTask, state: RunState): Promise<void> {
  const r = task.records();
  const env = envSnapshot(engineInfo());
  const file = path.join(runDir, 'training_config.json');
  const training = {
    epochs: o.epochs,
    batch_size: task.batchSize,
    seed: o.seed,
    weight_decay: o.weightDecay,
    gradient_clip_norm: o.gradClip,
    val_every: o.valEvery,
    patience: o.patience,
    monitor: task.monitor,
    max_minutes: o.maxMinutes,
    init_from: o.initFrom ? path.resolve(o.initFrom) : null,
    checkpoint_every_minutes: o.checkpointEveryMinutes,
    ...(r.training ?? {}),
  };
  const command = o.command ? { argv: o.command, text: commandText(o.command) } : null;
  if (o.resume && fs.existsSync(file)) {
    const prev = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    const prevH = (prev.hparams ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(r.hparams)) {
      if (k in prevH && JSON.stringify(prevH[k]) !== JSON.stringify(v))
        throw new UsageError(
          `--resume: ${k} is ${JSON.stringify(v)} but the run was started with ${JSON.stringify(prevH[k])}`,
        );
    }
    const prevT = (prev.training ?? {}) as Record<string, unknown>;
    for (const k of ['epochs', 'seed', 'batch_size'] as const)
      if (k in prevT && prevT[k] !== training[k])
        throw new UsageError(`--resume: ${k} is ${training[k]} but the run was started with ${String(prevT[k])}`);
    const resumes = (prev.resumes as unknown[] | undefined) ?? [];
    await writeJsonAtomic(file, {
      ...prev,
      resumes: [
        ...resumes,
        {
          timestamp: new Date().toISOString(),
          at_epoch: state.epoch,
          at_step: state.globalStep,
          max_minutes: o.maxMinutes,
          command,
          environment: env,
        },
      ],
    });
    return;
  }
  await writeJsonAtomic(file, {
    script: o.script,
    task: task.name,
    version: VMAT_VERSION,
    architecture: task.model.config.architecture,
    model: task.model.className,
    timestamp: new Date().toISOString(),
    model_params: task.model.numParameters() + [...(task.extraParams?.values() ?? [])].reduce((s, v) => s + v.size, 0),
    command,
    hparams: r.hparams,
    training,
    data: r.data,
    ...(r.extra ?? {}),
    environment: env,
  });
}

function summaryOf(
  o: EngineOptions,
  task: TrainingTask,
  s: RunState,
  stoppedBy: StoppedBy,
  runDir: string,
): Record<string, unknown> {
  const last = s.history[s.history.length - 1];
  const valRows = s.history.filter((r) => typeof r.val_mae_gy === 'number');
  return {
    task: task.name,
    stopped_by: stoppedBy,
    finished: s.finished,
    total_time_sec: s.elapsedSeconds,
    total_time_hours: s.elapsedSeconds / 3600,
    epochs_completed: s.epoch,
    global_step: s.globalStep,
    final_metrics: last ?? null,
    monitor: task.monitor,
    best_epoch: s.best?.epoch ?? null,
    best_value: s.best?.value ?? null,
    best: s.best,
    best_val_mae_gy: valRows.length ? Math.min(...valRows.map((r) => r.val_mae_gy as number)) : null,
    best_checkpoint: s.best ? path.join(runDir, 'checkpoints', s.best.checkpoint) : null,
    last_checkpoint: path.join(runDir, 'checkpoints', 'last'),
    history: s.history,
    exp_name: o.expName,
  };
}
