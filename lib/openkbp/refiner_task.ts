/**
 * Training of the 128³ refinement stage (lib/inputs/refiner128.ts, lib/infer/cascade.ts) as a task
 * of the training engine: one epoch of `steps` steps; each step is one 64³ patch of the 128³ grid of
 * a random training patient, centred on a random target voxel (half the steps) or a random
 * possible-dose-mask voxel, L/R flipped with probability 0.5; L1 masked to the possible-dose mask;
 * warm-up + per-step cosine learning rate. The coarse input is the coarse model's 64³ stage (a model
 * folder; a cascade's coarse stage without its block phases) or, without one, the ground truth taken
 * down to 64³ and back (the floor's dose). Validation (after the steps) scores the validation
 * patients before (coarse) and after refinement with the official metrics.
 * `trainRefiner(o)` runs it; the run folder is described in lib/train/engine.ts.
 */
import * as path from 'node:path';
import { tf, initEngine } from '../engine';
import { createModel } from '../models';
import { listCasePaths, loadCase } from '../data/load';
import type { Case } from '../data/case';
import { createProgress } from '../core/progress';
import { DataError, UsageError } from '../core/errors';
import { writeJsonAtomic } from '../core/atomic';
import { combineOpenKbpScores, scoreOpenKbpPatient, type OpenKbpPatientScore } from '../eval/openkbp_score';
import { OPENKBP_RX_GY, OPENKBP_SHAPE } from '../inputs/openkbp64';
import {
  REFINER_CHANNELS,
  REFINER_IN_CHANNELS,
  refinerCase,
  writeRefinerBox,
  type RefinerCase,
  type RefinerRecipe,
} from '../inputs/refiner128';
import { networkNet, type VolumeNet } from '../infer/volume_net';
import { refineGy, refinerForward } from '../infer/cascade';
import { applyOverrides, buildPredictor, readManifest, type NetSpec, type PredictorSpec } from '../infer/bundle';
import type { DosePredictor } from '../infer/predictor';
import { engineOptions, runTraining, type TrainResult } from '../train/engine';
import { warmupCosineLr } from '../train/schedule';
import type { TrainingTask } from '../train/task';
import type { RefinerTrainOptions } from './refiner_options';

export { refinerTrainOptions, type RefinerTrainOptions } from './refiner_options';
import { downUpDose, scoringReference } from './floor';

/** the coarse stage of a model folder's predictor: a cascade's coarse part, without block phases */
export function coarseStageSpec(p: PredictorSpec): PredictorSpec {
  const coarse = p.kind === 'cascade' ? p.coarse : p;
  return applyOverrides(coarse, { phaseTta: false });
}

/** the spec with every checkpoint path made absolute (so it can be written into another folder) */
function absoluteSpec(dir: string, p: PredictorSpec): PredictorSpec {
  const net = (n: NetSpec): NetSpec =>
    n.kind === 'network'
      ? { ...n, checkpoint: path.resolve(dir, n.checkpoint) }
      : n.kind === 'mirrored'
        ? { kind: 'mirrored', net: net(n.net) }
        : { kind: 'ensemble', members: n.members.map(net) };
  switch (p.kind) {
    case 'phase_shifted':
      return { kind: 'phase_shifted', inner: absoluteSpec(dir, p.inner) };
    case 'cascade':
      return { ...p, coarse: absoluteSpec(dir, p.coarse), refiner: net(p.refiner) };
    case 'distance_baseline':
      return { ...p, table: path.resolve(dir, p.table) };
    default:
      return { ...p, net: net(p.net) };
  }
}

async function loadRefinerCases(
  dir: string,
  limit: number | null,
  coarse: DosePredictor | null,
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
    if (!c.dose || !c.possibleDoseMask)
      throw new DataError(f, 'dose', 'a reference dose (training/validation patient)', 'none');
    const coarseGy = coarse ? coarse.predictGy(c) : downUpDose(c.dose, c.possibleDoseMask);
    out.push({ rc: refinerCase(c, coarseGy), c });
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
export function validateRefiner(
  refiner: VolumeNet,
  val: Array<{ rc: RefinerCase; c: Case }>,
  o: { onPatient?: (done: number, total: number, id: string) => void; stopRequested?: () => boolean } = {},
): RefinerValidation {
  const before: Record<string, OpenKbpPatientScore> = {};
  const after: Record<string, OpenKbpPatientScore> = {};
  for (const { rc, c } of val) {
    if (o.stopRequested?.())
      throw new Error(
        'validation stopped on request (control flow: the training engine catches it and saves a resumable checkpoint)',
      );
    const ref = scoringReference(c);
    const coarseGy = Float32Array.from(rc.coarse, (v, i) => (rc.pdm[i] ? v * OPENKBP_RX_GY : 0));
    before[c.id] = scoreOpenKbpPatient(ref, coarseGy);
    after[c.id] = scoreOpenKbpPatient(ref, refineGy(refiner, rc));
    o.onPatient?.(Object.keys(after).length, val.length, c.id);
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

const fmt = (v: number | null | undefined, d = 4) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d);

/** builds the refiner task: the coarse inputs of every patient, the zero-initialised residual network */
export async function refinerTask(o: RefinerTrainOptions, runDir: string): Promise<TrainingTask> {
  const S = OPENKBP_SHAPE;
  const P = o.patch;
  if (P > S[0] || P % 2 ** (o.levels - 1))
    throw new UsageError(`--patch ${P} must be ≤ 128 and divisible by ${2 ** (o.levels - 1)}`);
  const coarseSpec = o.coarseModel
    ? applyOverrides(coarseStageSpec(readManifest(o.coarseModel).predictor), { tta: o.coarseTta })
    : null;
  await initEngine({ quiet: true });
  const coarse = coarseSpec && o.coarseModel ? buildPredictor(o.coarseModel, coarseSpec) : null;
  const recipe: RefinerRecipe = {
    profile: 'openkbp-refine-128',
    channels: [...REFINER_CHANNELS],
    patch: P,
    coarseSource: o.coarseModel ? `model ${path.resolve(o.coarseModel)}` : 'ground truth down to 64³ and up',
    doseScaleGy: OPENKBP_RX_GY,
  };
  let train: Array<{ rc: RefinerCase; c: Case }>;
  let val: Array<{ rc: RefinerCase; c: Case }>;
  try {
    train = await loadRefinerCases(o.dataDir, o.trainLimit, coarse, 'refiner: load train', o.quiet);
    val = await loadRefinerCases(o.valDir, o.valLimit, coarse, 'refiner: load validation', o.quiet);
  } finally {
    coarse?.dispose();
  }
  const targets = train.map((t) => targetVoxels(t.rc));
  const model = createModel(
    { inChannels: REFINER_IN_CHANNELS, baseChannels: o.baseChannels, levels: o.levels },
    { seed: o.seed },
  );
  // zero output convolution: the untrained refiner is the identity on the coarse dose
  for (const k of ['out_conv.weight', 'out_conv.bias']) {
    const v = model.params.get(k);
    if (!v)
      throw new Error(`refiner: createModel built no parameter '${k}' (every U-Net config has an output convolution)`);
    v.assign(tf.zerosLike(v));
  }
  const net = networkNet(model, { residualChannel: 0 }, false);
  const n = P * P * P;
  const x = new Float32Array(n * REFINER_IN_CHANNELS);
  const y = new Float32Array(n);
  const w = new Float32Array(n);
  const [, B, C] = S;
  return {
    name: 'openkbp-refine-128',
    model,
    batchSize: 1,
    monitor: 'val_dose_score',
    columns: [
      'train_loss',
      'train_l1_gy',
      'val_coarse_dose_score',
      'val_coarse_dvh_score',
      'val_dose_score',
      'val_dvh_score',
      'val_seconds',
    ],
    paramGroups: (wd) => [{ params: model.params, weightDecay: wd }],
    epochItems: () => Array.from({ length: o.steps }, () => 'patch'),
    async stepLoss(_items, rng) {
      // a box without possible-dose-mask voxels is redrawn (it would have no loss)
      let wsum = 0;
      do {
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
        wsum = 0;
        for (let i = 0; i < n; i++) wsum += w[i];
      } while (wsum < 1);
      const xt = tf.tensor(x, [1, P, P, P, REFINER_IN_CHANNELS]) as tf.Tensor5D;
      const yt = tf.tensor(y, [1, P, P, P, 1]) as tf.Tensor5D;
      const wt = tf.tensor(w, [1, P, P, P, 1]) as tf.Tensor5D;
      let l1 = 0;
      return {
        samples: 1,
        loss: () => {
          const l = tf.div(tf.sum(tf.mul(wt, tf.abs(tf.sub(refinerForward(model, xt), yt)))), wsum) as tf.Scalar;
          l1 = l.dataSync()[0];
          return l;
        },
        components: () => ({ l1_gy: l1 * OPENKBP_RX_GY }),
        dispose: () => tf.dispose([xt, yt, wt]),
      };
    },
    learningRate: ({ globalStep }) => warmupCosineLr(globalStep, o, o.steps),
    async validate(ctx) {
      const t0 = Date.now();
      const v = validateRefiner(net, val, {
        onPatient: (d, t, id) => ctx.onProgress?.(d, t, id),
        stopRequested: ctx.stopRequested,
      });
      await writeJsonAtomic(path.join(runDir, 'validation.json'), { ...v, seconds: (Date.now() - t0) / 1000 });
      return {
        val_coarse_dose_score: v.coarse.dose_score,
        val_coarse_dvh_score: v.coarse.dvh_score,
        val_dose_score: v.refined.dose_score,
        val_dvh_score: v.refined.dvh_score,
        val_seconds: (Date.now() - t0) / 1000,
      };
    },
    summaryLine: (r) =>
      `train L1 ${fmt(r.train_l1_gy, 3)} Gy` +
      (typeof r.val_dose_score === 'number'
        ? `, validation dose score ${fmt(r.val_coarse_dose_score)} → ${fmt(r.val_dose_score)}, DVH ${fmt(r.val_coarse_dvh_score)} → ${fmt(r.val_dvh_score)}`
        : ''),
    records: () => ({
      hparams: {
        in_channels: REFINER_IN_CHANNELS,
        base_channels: o.baseChannels,
        levels: o.levels,
        learning_rate: o.lr,
        weight_decay: o.weightDecay,
        eta_min: o.etaMin,
        gradient_clip_norm: o.gradClip,
        warmup_steps: o.warmupSteps,
        steps: o.steps,
        patch: P,
        loss: 'L1 masked to the possible-dose mask (128³ patches)',
        sampling: 'patch centred on a target voxel (p 0.5) or a possible-dose-mask voxel; L/R flip p 0.5',
      },
      data: {
        train_dir: path.resolve(o.dataDir),
        val_dir: path.resolve(o.valDir),
        n_train: train.length,
        n_val: val.length,
        train_ids: train.map((t) => t.c.id),
        coarse_model: o.coarseModel ? path.resolve(o.coarseModel) : null,
      },
      extra: { refiner: recipe },
    }),
    predictorSpec: () => {
      if (!coarseSpec || !o.coarseModel) return null;
      return {
        kind: 'cascade',
        coarse: absoluteSpec(o.coarseModel, coarseSpec),
        refiner: { kind: 'network', checkpoint: '.', residual_channel: 0 },
        input: recipe,
      };
    },
    checkpointInfo: () => ({ input: null, meta: { openkbp_refiner: recipe } }),
    dispose: () => model.dispose(),
  };
}

/** trains the 128³ refiner (`vmat openkbp refine-train`); see lib/train/engine.ts for the run folder */
export async function trainRefiner(o: RefinerTrainOptions): Promise<TrainResult> {
  return runTraining(
    engineOptions(o, { script: 'vmat-lab openkbp refine-train', patience: null, epochs: 1, valEvery: 1 }),
    ({ runDir }) => refinerTask(o, runDir),
  );
}
