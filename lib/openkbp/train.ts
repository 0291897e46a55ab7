/**
 * OpenKBP training at 64³ on a CPU (docs/openkbp.md). The trainer's machinery (createModel,
 * AdamW, the shared optimisationStep of lib/train/step.ts, Rng, checkpoints, resumeFrom/initWeightsFrom of lib/train/resume.ts) with
 * OpenKBP's sampling and validation: each step is one whole
 * down-sampled patient (64³ fits the net in one piece, so no patch sampling), the loss is an L1
 * masked to the possible-dose mask (weight = mask fraction of each 2×2×2 block; the first-place
 * loss, and the quantity the dose score measures), validation is the official OpenKBP dose/DVH
 * score of the up-sampled, masked predictions on the validation folder, and the best checkpoint
 * is the one with the lowest validation dose score.
 *
 * Run folder <runsDir>/<expName>/: training_config.json, metrics.csv (one row per validation),
 * checkpoints/last (weights, AdamW moments, RNG, position inside the epoch — saved every few
 * minutes, so a killed run loses little), checkpoints/best, training_summary.json.
 * `resume: true` continues exactly where checkpoints/last stopped; the time budget (maxMinutes)
 * counts training time over all sessions of the run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, initEngine, engineInfo } from '../engine';
import { createModel, type DoseModel } from '../models';
import { saveCheckpoint } from '../models/checkpoint';
import { AdamW, cosineLr } from '../train/adamw';
import { resumeFrom, initWeightsFrom } from '../train/resume';
import { optimisationStep } from '../train/step';
import { Rng, type RngState } from '../core/rng';
import { caseIdOfPath } from '../inputs/case_store';
import { listCasePaths, loadCase } from '../data/load';
import { writeJsonAtomic, writeFileAtomic } from '../core/atomic';
import { envSnapshot } from '../core/environment';
import { createProgress } from '../core/progress';
import { DataError, UsageError } from '../core/errors';
import {
  combineOpenKbpScores,
  scoreOpenKbpPatient,
  type OpenKbpPatientScore,
  type OpenKbpReference,
} from '../eval/openkbp_score';
import type { Shape3 } from '../data/case';
import {
  OPENKBP_IN_CHANNELS,
  OPENKBP_LR_CHANNEL_PAIRS,
  OPENKBP_PAD_VALUES,
  OPENKBP_TRAIN_SHAPE,
  openKbpRecipe,
  prepareOpenKbp64,
  type OpenKbpSample,
} from '../inputs/openkbp64';
import { predictOpenKbpGy } from './predict';
import { scoringReference } from './floor';
import { flipAxis1, interleave, shiftVolume } from '../transforms/volume_ops';

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
  /** stop once this much training time (all sessions) has passed; resumable */
  maxMinutes: number | null;
  resume: boolean;
  /**
   * start from the weights of this checkpoint folder (fine-tuning: a new run with a fresh AdamW
   * and its own warm-up + cosine schedule); null = He initialisation
   */
  initFrom: string | null;
  /** save checkpoints/last at least this often inside an epoch */
  checkpointEveryMinutes: number;
  quiet: boolean;
  onStep?: (info: { epoch: number; step: number; stepsPerEpoch: number; lossGy: number }) => void;
  onValidation?: (row: OpenKbpMetricsRow) => void;
}

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

export interface OpenKbpMetricsRow {
  epoch: number;
  /** steps done when the row was written */
  global_step: number;
  lr: number;
  elapsed_minutes: number;
  /** mean masked L1 (Gy, at 64³) over the steps of this epoch so far */
  train_l1_gy: number;
  val_dose_score: number;
  val_dvh_score: number;
  val_seconds: number;
}

interface RunState {
  epoch: number;
  stepInEpoch: number;
  order: string[];
  globalStep: number;
  rng: RngState;
  lossSum: number;
  lossN: number;
  best: { dose_score: number; dvh_score: number; epoch: number; global_step: number } | null;
  history: OpenKbpMetricsRow[];
  elapsedSeconds: number;
  finished: boolean;
}

export interface OpenKbpTrainResult {
  runDir: string;
  bestDir: string | null;
  lastDir: string;
  stoppedBy: 'epochs' | 'time_limit';
  history: OpenKbpMetricsRow[];
  elapsedSeconds: number;
}

async function loadSamples(
  dir: string,
  limit: number | null,
  label: string,
  quiet: boolean,
  keepReference: boolean,
): Promise<Array<{ sample: OpenKbpSample; ref: OpenKbpReference | null }>> {
  let files = await listCasePaths(dir);
  if (!files.length) throw new DataError(dir, null, 'OpenKBP patients (npz files or pt_N/ folders)', 'none');
  if (limit !== null) files = files.slice(0, limit);
  const progress = createProgress({ label, total: files.length, quiet });
  const out: Array<{ sample: OpenKbpSample; ref: OpenKbpReference | null }> = [];
  for (const f of files) {
    const c = await loadCase(f);
    if (!c.dose) throw new DataError(f, 'dose', 'a dose (training/validation patients need one)', 'none');
    out.push({ sample: prepareOpenKbp64(c), ref: keepReference ? scoringReference(c) : null });
    progress.tick(1, caseIdOfPath(f));
  }
  progress.stop();
  return out;
}

/** a randomly flipped / shifted copy of a sample's channels, target and weight */
function augmentSample(
  s: OpenKbpSample,
  rng: Rng,
  shiftMax: number,
): { channels: Float32Array[]; target: Float32Array; weight: Float32Array } {
  const shape = OPENKBP_TRAIN_SHAPE;
  let channels = s.channels;
  let target = s.target as Float32Array;
  let weight = s.weight;
  if (rng.next() < 0.5) {
    channels = channels.map((ch) => flipAxis1(ch, shape));
    for (const [a, b] of OPENKBP_LR_CHANNEL_PAIRS) [channels[a], channels[b]] = [channels[b], channels[a]];
    target = flipAxis1(target, shape);
    weight = flipAxis1(weight, shape);
  }
  if (shiftMax > 0 && rng.next() < 0.8) {
    const sh = [
      rng.int(-shiftMax, shiftMax + 1),
      rng.int(-shiftMax, shiftMax + 1),
      rng.int(-shiftMax, shiftMax + 1),
    ] as Shape3;
    channels = channels.map((ch, k) => shiftVolume(ch, shape, sh, OPENKBP_PAD_VALUES[k]));
    target = shiftVolume(target, shape, sh, 0);
    weight = shiftVolume(weight, shape, sh, 0);
  }
  return { channels, target, weight };
}

/** official dose/DVH scores of the model on prepared validation patients */
export function validateOpenKbp(
  model: DoseModel,
  val: Array<{ sample: OpenKbpSample; ref: OpenKbpReference | null }>,
  o: { tta?: boolean } = {},
): { dose_score: number; dvh_score: number; per_patient: Record<string, OpenKbpPatientScore> } {
  const per: Record<string, OpenKbpPatientScore> = {};
  for (const v of val)
    per[v.sample.id] = scoreOpenKbpPatient(v.ref as OpenKbpReference, predictOpenKbpGy(model, v.sample, o));
  const r = combineOpenKbpScores(per);
  return { dose_score: r.dose_score, dvh_score: r.dvh_score, per_patient: per };
}

/** cosine over all steps after a linear warm-up */
export function openKbpLr(
  step: number,
  o: Pick<OpenKbpTrainOptions, 'lr' | 'etaMin' | 'warmupSteps'>,
  totalSteps: number,
): number {
  const warm = o.warmupSteps > 0 ? Math.min(1, (step + 1) / o.warmupSteps) : 1;
  return warm * cosineLr(step, o.lr, totalSteps, o.etaMin);
}

const CSV_COLS: Array<keyof OpenKbpMetricsRow> = [
  'epoch',
  'global_step',
  'lr',
  'elapsed_minutes',
  'train_l1_gy',
  'val_dose_score',
  'val_dvh_score',
  'val_seconds',
];

export async function trainOpenKbp(o: OpenKbpTrainOptions): Promise<OpenKbpTrainResult> {
  const engine = await initEngine({ quiet: true });
  const runDir = path.resolve(o.runsDir, o.expName);
  const lastDir = path.join(runDir, 'checkpoints', 'last');
  const bestDir = path.join(runDir, 'checkpoints', 'best');
  if (!o.resume && fs.existsSync(lastDir))
    throw new UsageError(
      `run folder ${runDir} already has checkpoints; use --resume to continue it or choose another --exp-name`,
    );
  if (o.resume && !fs.existsSync(lastDir)) throw new UsageError(`--resume: no checkpoint at ${lastDir}`);
  fs.mkdirSync(runDir, { recursive: true });
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  const recipe = openKbpRecipe();

  const train = await loadSamples(o.dataDir, o.trainLimit, 'load train', o.quiet, false);
  const val = await loadSamples(o.valDir, o.valLimit, 'load validation', o.quiet, true);
  const byId = new Map(train.map((t) => [t.sample.id, t.sample]));
  const trainIds = [...byId.keys()];
  const totalSteps = o.epochs * trainIds.length;

  const model = createModel(
    { inChannels: OPENKBP_IN_CHANNELS, baseChannels: o.baseChannels, levels: o.levels },
    { seed: o.seed },
  );
  const optimizer = new AdamW([{ params: model.params, weightDecay: o.weightDecay }]);
  let state: RunState;
  if (o.resume) state = resumeFrom(lastDir, model.params, optimizer) as unknown as RunState;
  else {
    if (o.initFrom)
      initWeightsFrom(o.initFrom, model.params, {
        inChannels: OPENKBP_IN_CHANNELS,
        baseChannels: o.baseChannels,
        levels: o.levels,
      });
    state = {
      epoch: 0,
      stepInEpoch: 0,
      order: [],
      globalStep: 0,
      rng: Rng.fromSeed(`openkbp-train:${o.seed}`).state(),
      lossSum: 0,
      lossN: 0,
      best: null,
      history: [],
      elapsedSeconds: 0,
      finished: false,
    };
  }
  const rng = Rng.fromState(state.rng);
  const hparams = {
    epochs: o.epochs,
    lr: o.lr,
    weight_decay: o.weightDecay,
    eta_min: o.etaMin,
    grad_clip: o.gradClip,
    warmup_steps: o.warmupSteps,
    base_channels: o.baseChannels,
    levels: o.levels,
    seed: o.seed,
    batch_size: 1,
    val_every: o.valEvery,
    augment: o.augment,
    shift_max: o.shiftMax,
    init_from: o.initFrom ? path.resolve(o.initFrom) : null,
    loss: 'L1 weighted by possible-dose-mask fraction (64³)',
    schedule: 'cosine per step over epochs × n_train',
    max_minutes: o.maxMinutes,
  };
  const cfgFile = path.join(runDir, 'training_config.json');
  const config = {
    script: 'vmat-lab openkbp train',
    timestamp: new Date().toISOString(),
    model: model.className,
    model_params: model.numParameters(),
    hparams,
    data: {
      train_dir: path.resolve(o.dataDir),
      val_dir: path.resolve(o.valDir),
      n_train: trainIds.length,
      n_val: val.length,
      train_ids: trainIds,
      val_ids: val.map((v) => v.sample.id),
    },
    openkbp: recipe,
    environment: envSnapshot(engineInfo() ?? engine),
  };
  if (o.resume && fs.existsSync(cfgFile)) {
    const prev = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    const prevH = prev.hparams as Record<string, unknown>;
    for (const k of ['epochs', 'base_channels', 'levels', 'lr', 'seed'] as const) {
      if (prevH[k] !== hparams[k])
        throw new UsageError(
          `--resume: ${k} is ${String(hparams[k])} but the run was started with ${String(prevH[k])}`,
        );
    }
    const resumes = (prev.resumes as unknown[] | undefined) ?? [];
    await writeJsonAtomic(cfgFile, {
      ...prev,
      resumes: [
        ...resumes,
        {
          timestamp: config.timestamp,
          at_step: state.globalStep,
          max_minutes: o.maxMinutes,
          environment: config.environment,
        },
      ],
    });
  } else await writeJsonAtomic(cfgFile, config);
  say(
    `openkbp train ${o.expName}: ${model.className} ${model.numParameters().toLocaleString('en-US')} params, ${trainIds.length} train / ${val.length} val patients, 64³, ${o.epochs} epochs${o.resume ? `, resuming at step ${state.globalStep}` : ''}`,
  );

  const sessionStart = Date.now();
  const elapsed = () => state.elapsedSeconds + (Date.now() - sessionStart) / 1000;
  let savedElapsed = state.elapsedSeconds;
  const saveLast = async () => {
    state.rng = rng.state();
    const total = elapsed();
    await saveCheckpoint(lastDir, {
      model,
      input: null,
      optimizer: optimizer.getState(),
      state: { ...state, elapsedSeconds: total } as unknown as Record<string, unknown>,
      meta: { openkbp: recipe, exp_name: o.expName, epoch: state.epoch, global_step: state.globalStep },
    });
    savedElapsed = total;
  };
  let lastSave = Date.now();
  const runValidation = async (): Promise<void> => {
    const tv = Date.now();
    const v = validateOpenKbp(model, val);
    const row: OpenKbpMetricsRow = {
      epoch: state.epoch,
      global_step: state.globalStep,
      lr: openKbpLr(state.globalStep, o, totalSteps),
      elapsed_minutes: elapsed() / 60,
      train_l1_gy: state.lossN ? (state.lossSum / state.lossN) * recipe.doseScaleGy : NaN,
      val_dose_score: v.dose_score,
      val_dvh_score: v.dvh_score,
      val_seconds: (Date.now() - tv) / 1000,
    };
    state.history.push(row);
    const improved = state.best === null || v.dose_score < state.best.dose_score;
    if (improved) {
      state.best = {
        dose_score: v.dose_score,
        dvh_score: v.dvh_score,
        epoch: state.epoch,
        global_step: state.globalStep,
      };
      await saveCheckpoint(bestDir, {
        model,
        input: null,
        meta: {
          openkbp: recipe,
          exp_name: o.expName,
          epoch: state.epoch,
          global_step: state.globalStep,
          val_dose_score: v.dose_score,
          val_dvh_score: v.dvh_score,
          n_val: val.length,
        },
      });
      await writeJsonAtomic(path.join(runDir, 'best_validation.json'), {
        ...state.best,
        per_patient: Object.fromEntries(
          Object.entries(v.per_patient).map(([id, p]) => [id, { dose_error: p.dose_error, dvh_errors: p.dvh_errors }]),
        ),
      });
    }
    const fmt = (x: number) => (Number.isFinite(x) ? String(x) : '');
    await writeFileAtomic(
      path.join(runDir, 'metrics.csv'),
      [CSV_COLS.join(','), ...state.history.map((r) => CSV_COLS.map((c) => fmt(r[c])).join(','))].join('\n') + '\n',
    );
    say(
      `epoch ${state.epoch} step ${state.globalStep}: train L1 ${row.train_l1_gy.toFixed(3)} Gy, val dose score ${v.dose_score.toFixed(4)}, DVH score ${v.dvh_score.toFixed(4)} (${row.val_seconds.toFixed(0)} s)${improved ? ' *' : ''}`,
    );
    o.onValidation?.(row);
  };

  const S = OPENKBP_TRAIN_SHAPE;
  const n = S[0] * S[1] * S[2];
  const xBuf = new Float32Array(n * OPENKBP_IN_CHANNELS);
  let stoppedBy: OpenKbpTrainResult['stoppedBy'] = 'epochs';
  const timeUp = () => o.maxMinutes !== null && elapsed() / 60 >= o.maxMinutes;
  outer: while (state.epoch < o.epochs && !state.finished) {
    if (state.stepInEpoch === 0) {
      state.order = [...trainIds];
      rng.shuffle(state.order);
      state.lossSum = 0;
      state.lossN = 0;
    }
    const progress = createProgress({
      label: `epoch ${state.epoch + 1}/${o.epochs}`,
      total: state.order.length,
      quiet: o.quiet || !!o.onStep,
    });
    progress.tick(state.stepInEpoch);
    while (state.stepInEpoch < state.order.length) {
      const s = byId.get(state.order[state.stepInEpoch]);
      if (!s)
        throw new DataError(
          o.dataDir,
          state.order[state.stepInEpoch],
          'the training patient of the resumed run',
          'not in --data-dir',
        );
      const a = o.augment
        ? augmentSample(s, rng, o.shiftMax)
        : { channels: s.channels, target: s.target as Float32Array, weight: s.weight };
      const lr = openKbpLr(state.globalStep, o, totalSteps);
      interleave(a.channels, xBuf);
      const x = tf.tensor(xBuf, [1, ...S, OPENKBP_IN_CHANNELS]) as tf.Tensor5D;
      const y = tf.tensor(a.target, [1, ...S, 1]) as tf.Tensor5D;
      const w = tf.tensor(a.weight, [1, ...S, 1]) as tf.Tensor5D;
      const c = tf.tensor(s.constraints, [1, 13]) as tf.Tensor2D;
      const wsum = Math.max(
        1e-6,
        a.weight.reduce((acc, v) => acc + v, 0),
      );
      let loss: number;
      try {
        loss = optimisationStep({
          trainable: model.params,
          optimizer,
          lr,
          gradClip: o.gradClip,
          where: `openkbp train: step ${state.globalStep}`,
          loss: () => tf.div(tf.sum(tf.mul(w, tf.abs(tf.sub(model.apply(x, c), y)))), wsum) as tf.Scalar,
        });
      } finally {
        tf.dispose([x, y, w, c]);
      }
      state.lossSum += loss;
      state.lossN++;
      state.stepInEpoch++;
      state.globalStep++;
      progress.tick(1, `L1 ${(loss * recipe.doseScaleGy).toFixed(2)} Gy`);
      o.onStep?.({
        epoch: state.epoch,
        step: state.stepInEpoch,
        stepsPerEpoch: state.order.length,
        lossGy: loss * recipe.doseScaleGy,
      });
      if (timeUp()) {
        progress.stop();
        stoppedBy = 'time_limit';
        break outer;
      }
      if ((Date.now() - lastSave) / 60000 >= o.checkpointEveryMinutes && state.stepInEpoch < state.order.length) {
        await saveLast();
        lastSave = Date.now();
      }
    }
    progress.stop();
    const lastEpoch = state.epoch === o.epochs - 1;
    if ((state.epoch + 1) % o.valEvery === 0 || lastEpoch) await runValidation();
    state.epoch++;
    state.stepInEpoch = 0;
    if (lastEpoch) state.finished = true;
    await saveLast();
    lastSave = Date.now();
  }
  if (stoppedBy === 'time_limit') {
    // a run stopped by the time limit validates now so it always ends with a best checkpoint
    await runValidation();
    await saveLast();
    say(
      `time limit (${o.maxMinutes} min) reached at epoch ${state.epoch} step ${state.stepInEpoch}/${state.order.length}; continue with --resume (and a larger --max-minutes)`,
    );
  }
  optimizer.dispose();
  model.dispose();
  const total = Math.max(savedElapsed, elapsed());
  const summary = {
    stopped_by: stoppedBy,
    finished: state.finished,
    total_time_sec: total,
    total_time_hours: total / 3600,
    epochs_completed: state.epoch,
    global_step: state.globalStep,
    best: state.best,
    best_checkpoint: state.best ? bestDir : null,
    last_checkpoint: lastDir,
    history: state.history,
  };
  await writeJsonAtomic(path.join(runDir, 'training_summary.json'), summary);
  return {
    runDir,
    bestDir: state.best ? bestDir : null,
    lastDir,
    stoppedBy,
    history: state.history,
    elapsedSeconds: total,
  };
}
