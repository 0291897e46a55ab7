/**
 * Training of the 128³ refinement stage (lib/openkbp/refine.ts) on the trainer's machinery
 * (createModel, AdamW, the shared optimisationStep, Rng, checkpoints): each step is one 64³ patch
 * of the 128³ grid of a random training patient, centred on a random target voxel (half the
 * steps) or a random possible-dose-mask voxel, L/R flipped with probability 0.5; L1 masked to the
 * possible-dose mask; warm-up + per-step cosine learning rate. checkpoints/last (weights, AdamW
 * moments, step, RNG) is saved every few minutes, so a killed run resumes (`resume: true`).
 * At the end: checkpoints/refiner and validation.json with the official scores of the validation
 * patients before (coarse) and after refinement.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, initEngine, engineInfo } from '../engine';
import { createModel, type DoseModel } from '../models';
import { saveCheckpoint } from '../models/checkpoint';
import { AdamW } from '../train/adamw';
import { resumeFrom, initWeightsFrom } from '../train/resume';
import { optimisationStep } from '../train/step';
import { Rng, type RngState } from '../core/rng';
import { listCasePaths, loadCase } from '../data/load';
import type { Case } from '../data/case';
import { writeJsonAtomic } from '../core/atomic';
import { envSnapshot } from '../core/environment';
import { createProgress } from '../core/progress';
import { DataError, UsageError } from '../core/errors';
import { combineOpenKbpScores, scoreOpenKbpPatient, type OpenKbpPatientScore } from '../eval/openkbp_score';
import { OPENKBP_FULL_SHAPE, prepareOpenKbp64 } from '../inputs/openkbp64';
import { disposeOpenKbpModel, loadOpenKbpModel, predictOpenKbpGy, type OpenKbpModel } from './predict';
import { downUpDose, scoringReference } from './floor';
import {
  REFINER_CHANNELS,
  REFINER_IN_CHANNELS,
  refinerCase,
  writeRefinerBox,
  type RefinerCase,
  type RefinerRecipe,
} from '../inputs/refiner128';
import { refineGy, refinerForward } from '../infer/refiner';
import { openKbpLr } from './train';

export interface RefinerTrainOptions {
  dataDir: string;
  valDir: string;
  /** run folder (created) */
  runDir: string;
  /** the 64³ model whose predictions are refined (cascade training); null = the ground truth down and up */
  coarseModel: string | null;
  steps: number;
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  etaMin: number;
  gradClip: number;
  patch: number;
  baseChannels: number;
  levels: number;
  seed: number;
  trainLimit: number | null;
  valLimit: number | null;
  resume: boolean;
  /** start from this refiner checkpoint's weights (fine-tuning, e.g. on a newer coarse model's predictions) */
  initFrom: string | null;
  /** stop (resumably, without validating) once this much training time has passed; null = no limit */
  maxMinutes: number | null;
  checkpointEveryMinutes: number;
  quiet: boolean;
}

export function refinerTrainOptions(
  p: Partial<RefinerTrainOptions> & Pick<RefinerTrainOptions, 'dataDir' | 'valDir' | 'runDir'>,
): RefinerTrainOptions {
  return {
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

interface RefinerState {
  step: number;
  rng: RngState;
  lossSum: number;
  lossN: number;
  elapsedSeconds: number;
}

/** the coarse 128³ dose (Gy) the refiner sees for a case: the coarse model's, else the floor's */
function coarseOf(c: Case, coarse: OpenKbpModel | null): Float32Array {
  // a shipped model folder may carry its own refiner: the coarse input is its 64³ stage alone
  if (coarse)
    return predictOpenKbpGy(coarse, prepareOpenKbp64(c), { tta: coarse.meta.predict_tta === true, refine: false });
  if (!c.dose || !c.possibleDoseMask)
    throw new DataError(c.id, 'dose', 'a reference dose (the coarse input without --coarse-model)', 'none');
  return downUpDose(c.dose, c.possibleDoseMask);
}

async function loadRefinerCases(
  dir: string,
  limit: number | null,
  coarse: OpenKbpModel | null,
  label: string,
  quiet: boolean,
): Promise<Array<{ rc: RefinerCase; c: Case }>> {
  let files = await listCasePaths(dir);
  if (!files.length) throw new DataError(dir, null, 'OpenKBP patient folders (pt_N/) or openkbp npz files', 'none');
  if (limit !== null) files = files.slice(0, limit);
  const progress = createProgress({ label, total: files.length, quiet });
  const out: Array<{ rc: RefinerCase; c: Case }> = [];
  for (const f of files) {
    const c = await loadCase(f);
    if (!c.dose) throw new DataError(f, 'dose', 'a reference dose (training/validation patient)', 'none');
    out.push({ rc: refinerCase(c, coarseOf(c, coarse)), c });
    progress.tick(1, c.id);
  }
  progress.stop();
  return out;
}

/** indices of the target voxels (PTV union) of a case, for patch sampling */
function targetVoxels(rc: RefinerCase): Int32Array {
  const ptvs = rc.structures.slice(-3).filter((m): m is Uint8Array => m !== null);
  const idx: number[] = [];
  for (let i = 0; i < rc.pdm.length; i++) if (ptvs.some((m) => m[i])) idx.push(i);
  return Int32Array.from(idx);
}

export interface RefinerValidation {
  n_patients: number;
  coarse: { dose_score: number; dvh_score: number };
  refined: { dose_score: number; dvh_score: number };
  per_patient: Record<string, { coarse_dose_error: number; refined_dose_error: number }>;
}

/** official scores of the validation patients before and after refinement */
export function validateRefiner(model: DoseModel, val: Array<{ rc: RefinerCase; c: Case }>): RefinerValidation {
  const before: Record<string, OpenKbpPatientScore> = {};
  const after: Record<string, OpenKbpPatientScore> = {};
  for (const { rc, c } of val) {
    const ref = scoringReference(c);
    const coarseGy = Float32Array.from(rc.coarse, (v, i) => (rc.pdm[i] ? v * 70 : 0));
    before[c.id] = scoreOpenKbpPatient(ref, coarseGy);
    after[c.id] = scoreOpenKbpPatient(ref, refineGy(model, rc));
  }
  const b = combineOpenKbpScores(before);
  const a = combineOpenKbpScores(after);
  return {
    n_patients: b.n_patients,
    coarse: { dose_score: b.dose_score, dvh_score: b.dvh_score },
    refined: { dose_score: a.dose_score, dvh_score: a.dvh_score },
    per_patient: Object.fromEntries(
      Object.keys(before).map((id) => [
        id,
        { coarse_dose_error: before[id].dose_error, refined_dose_error: after[id].dose_error },
      ]),
    ),
  };
}

export interface RefinerTrainResult {
  stoppedBy: 'steps' | 'time_limit';
  /** checkpoints/refiner (null when stopped by the time limit) */
  refinerDir: string | null;
  lastDir: string;
  validation: RefinerValidation | null;
  elapsedSeconds: number;
}

export async function trainRefiner(o: RefinerTrainOptions): Promise<RefinerTrainResult> {
  const engine = await initEngine({ quiet: true });
  const S = OPENKBP_FULL_SHAPE;
  const P = o.patch;
  if (P > S[0] || P % 2 ** (o.levels - 1))
    throw new UsageError(`refiner patch ${P} must be ≤ 128 and divisible by ${2 ** (o.levels - 1)}`);
  const lastDir = path.join(o.runDir, 'checkpoints', 'last');
  const refinerDir = path.join(o.runDir, 'checkpoints', 'refiner');
  if (!o.resume && fs.existsSync(lastDir))
    throw new UsageError(`run folder ${o.runDir} already has checkpoints; use --resume or another folder`);
  if (o.resume && !fs.existsSync(lastDir)) throw new UsageError(`--resume: no checkpoint at ${lastDir}`);
  fs.mkdirSync(o.runDir, { recursive: true });
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  const coarse = o.coarseModel ? loadOpenKbpModel(o.coarseModel) : null;
  const recipe: RefinerRecipe = {
    profile: 'openkbp-refine-128',
    channels: [...REFINER_CHANNELS],
    patch: P,
    coarseSource: o.coarseModel ? `model ${path.resolve(o.coarseModel)}` : 'ground truth down to 64³ and up',
    doseScaleGy: 70,
  };
  const train = await loadRefinerCases(o.dataDir, o.trainLimit, coarse, 'refiner: load train', o.quiet);
  const val = await loadRefinerCases(o.valDir, o.valLimit, coarse, 'refiner: load validation', o.quiet);
  if (coarse) disposeOpenKbpModel(coarse);
  const targets = train.map((t) => targetVoxels(t.rc));

  const model = createModel(
    { inChannels: REFINER_IN_CHANNELS, baseChannels: o.baseChannels, levels: o.levels },
    { seed: o.seed },
  );
  // zero output convolution: the untrained refiner is the identity on the coarse dose
  for (const k of ['out_conv.weight', 'out_conv.bias']) {
    const v = model.params.get(k);
    if (!v) throw new Error(`refiner: model has no ${k}`);
    v.assign(tf.zerosLike(v));
  }
  const optimizer = new AdamW([{ params: model.params, weightDecay: o.weightDecay }]);
  let state: RefinerState;
  if (o.resume) state = resumeFrom(lastDir, model.params, optimizer) as unknown as RefinerState;
  else {
    if (o.initFrom)
      initWeightsFrom(o.initFrom, model.params, {
        inChannels: REFINER_IN_CHANNELS,
        baseChannels: o.baseChannels,
        levels: o.levels,
      });
    state = { step: 0, rng: Rng.fromSeed(`openkbp-refine:${o.seed}`).state(), lossSum: 0, lossN: 0, elapsedSeconds: 0 };
  }
  const rng = Rng.fromState(state.rng);
  await writeJsonAtomic(path.join(o.runDir, 'training_config.json'), {
    script: 'vmat-lab openkbp refine-train',
    timestamp: new Date().toISOString(),
    model: model.className,
    model_params: model.numParameters(),
    hparams: {
      steps: o.steps,
      lr: o.lr,
      weight_decay: o.weightDecay,
      warmup_steps: o.warmupSteps,
      eta_min: o.etaMin,
      grad_clip: o.gradClip,
      patch: P,
      base_channels: o.baseChannels,
      levels: o.levels,
      seed: o.seed,
      init_from: o.initFrom ? path.resolve(o.initFrom) : null,
      loss: 'L1 masked to the possible-dose mask (128³ patches)',
      sampling: 'patch centred on a target voxel (p 0.5) or a possible-dose-mask voxel; L/R flip p 0.5',
    },
    data: {
      train_dir: path.resolve(o.dataDir),
      val_dir: path.resolve(o.valDir),
      n_train: train.length,
      n_val: val.length,
      train_ids: train.map((t) => t.c.id),
    },
    refiner: recipe,
    environment: envSnapshot(engineInfo() ?? engine),
    resumed_at_step: o.resume ? state.step : null,
  });
  say(
    `refiner: ${model.className} ${model.numParameters().toLocaleString('en-US')} params, ${train.length} train / ${val.length} val patients, ${P}³ patches at 128³, ${o.steps} steps`,
  );

  const sessionStart = Date.now();
  const elapsed = () => state.elapsedSeconds + (Date.now() - sessionStart) / 1000;
  const saveLast = async () => {
    state.rng = rng.state();
    await saveCheckpoint(lastDir, {
      model,
      input: null,
      optimizer: optimizer.getState(),
      state: { ...state, elapsedSeconds: elapsed() } as unknown as Record<string, unknown>,
      meta: { openkbp_refiner: recipe, step: state.step },
    });
  };
  const n = P * P * P;
  const x = new Float32Array(n * REFINER_IN_CHANNELS);
  const y = new Float32Array(n);
  const w = new Float32Array(n);
  const [, B, C] = S;
  const progress = createProgress({ label: 'refiner', total: o.steps, quiet: o.quiet });
  progress.tick(state.step);
  let lastSave = Date.now();
  while (state.step < o.steps) {
    const k = rng.int(0, train.length);
    const rc = train[k].rc;
    let centre: number;
    if (targets[k].length && rng.next() < 0.5) centre = targets[k][rng.int(0, targets[k].length)];
    else {
      do centre = rng.int(0, rc.pdm.length);
      while (!rc.pdm[centre]);
    }
    const cz = centre % C;
    const cb = Math.floor(centre / C) % B;
    const ca = Math.floor(centre / (B * C));
    const clamp = (v: number) => Math.min(Math.max(v - P / 2, 0), S[0] - P);
    const flip = rng.next() < 0.5;
    // the flipped box is read mirrored, so its origin on axis 1 mirrors too
    const o1 = clamp(cb);
    writeRefinerBox(rc, [clamp(ca), flip ? B - P - o1 : o1, clamp(cz)], [P, P, P], flip, x, y, w);
    let wsum = 0;
    for (let i = 0; i < n; i++) wsum += w[i];
    if (wsum < 1) continue;
    const xt = tf.tensor(x, [1, P, P, P, REFINER_IN_CHANNELS]) as tf.Tensor5D;
    const yt = tf.tensor(y, [1, P, P, P, 1]) as tf.Tensor5D;
    const wt = tf.tensor(w, [1, P, P, P, 1]) as tf.Tensor5D;
    let loss: number;
    try {
      loss = optimisationStep({
        trainable: model.params,
        optimizer,
        lr: openKbpLr(state.step, o, o.steps),
        gradClip: o.gradClip,
        where: `refiner: step ${state.step}`,
        loss: () => tf.div(tf.sum(tf.mul(wt, tf.abs(tf.sub(refinerForward(model, xt), yt)))), wsum) as tf.Scalar,
      });
    } finally {
      tf.dispose([xt, yt, wt]);
    }
    state.lossSum += loss;
    state.lossN++;
    state.step++;
    progress.tick(1, `L1 ${(loss * 70).toFixed(2)} Gy`);
    if (o.maxMinutes !== null && elapsed() / 60 >= o.maxMinutes && state.step < o.steps) {
      progress.stop();
      await saveLast();
      say(`refiner: time limit (${o.maxMinutes} min) at step ${state.step}/${o.steps}; continue with --resume`);
      model.dispose();
      optimizer.dispose();
      return { stoppedBy: 'time_limit', refinerDir: null, lastDir, validation: null, elapsedSeconds: elapsed() };
    }
    if ((Date.now() - lastSave) / 60000 >= o.checkpointEveryMinutes && state.step < o.steps) {
      await saveLast();
      lastSave = Date.now();
    }
  }
  progress.stop();
  await saveLast();
  await saveCheckpoint(refinerDir, {
    model,
    input: null,
    meta: {
      openkbp_refiner: recipe,
      steps: state.step,
      train_l1_gy_mean: state.lossN ? (state.lossSum / state.lossN) * 70 : null,
    },
  });
  const tv = Date.now();
  const validation = validateRefiner(model, val);
  await writeJsonAtomic(path.join(o.runDir, 'validation.json'), {
    ...validation,
    seconds: (Date.now() - tv) / 1000,
    training_seconds: elapsed(),
  });
  say(
    `refiner validation (${validation.n_patients} patients): coarse dose ${validation.coarse.dose_score.toFixed(4)} / DVH ${validation.coarse.dvh_score.toFixed(4)} → refined dose ${validation.refined.dose_score.toFixed(4)} / DVH ${validation.refined.dvh_score.toFixed(4)}`,
  );
  model.dispose();
  optimizer.dispose();
  return { stoppedBy: 'steps', refinerDir, lastDir, validation, elapsedSeconds: elapsed() };
}
