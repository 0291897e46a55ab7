/**
 * OpenKBP training at 64³ on a CPU (docs/openkbp.md) as a task of the training engine: each step is
 * one whole down-sampled patient (64³ fits the net in one piece, so no patch sampling), the loss is
 * an L1 masked to the possible-dose mask (weight = mask fraction of each 2×2×2 block; the first-place
 * loss, and the quantity the dose score measures), the learning rate warms up linearly then follows
 * a cosine per step, validation is the official OpenKBP dose/DVH score of the validation patients
 * predicted by the resampled predictor (lib/infer/resampled.ts — the same code as `openkbp predict`),
 * and the best checkpoint is the one with the lowest validation dose score.
 * `trainOpenKbp(o)` runs it; the run folder is described in lib/train/engine.ts.
 */
import * as path from 'node:path';
import { tf, initEngine } from '../engine';
import { createModel } from '../models';
import { listCasePaths, loadCase, caseIdOfPath } from '../data/load';
import type { Shape3 } from '../core/shape';
import type { Rng } from '../core/rng';
import { createProgress } from '../core/progress';
import { DataError } from '../core/errors';
import { writeJsonAtomic } from '../core/atomic';
import {
  combineOpenKbpScores,
  scoreOpenKbpPatient,
  type OpenKbpPatientScore,
  type OpenKbpReference,
} from '../eval/openkbp_score';
import {
  OPENKBP_RX_GY,
  OPENKBP_IN_CHANNELS,
  OPENKBP_LR_CHANNEL_PAIRS,
  OPENKBP_PAD_VALUES,
  OPENKBP_TRAIN_SHAPE,
  openKbpRecipe,
  prepareOpenKbp64,
  type OpenKbpSample,
} from '../inputs/openkbp64';
import { flipAxis1, interleave, shiftVolume } from '../transforms/volume_ops';
import { networkNet, type VolumeNet } from '../infer/volume_net';
import { predictSampleGy } from '../infer/resampled';
import { engineOptions, runTraining, type TrainResult } from '../train/engine';
import { warmupCosineLr } from '../train/schedule';
import type { TrainingTask } from '../train/task';
import type { OpenKbpTrainOptions } from './train_options';

export { openKbpTrainOptions, type OpenKbpTrainOptions } from './train_options';
import { scoringReference } from './floor';

interface Prepared {
  sample: OpenKbpSample;
  ref: OpenKbpReference | null;
}

async function loadSamples(
  dir: string,
  limit: number | null,
  label: string,
  quiet: boolean,
  keepReference: boolean,
): Promise<Prepared[]> {
  let files = await listCasePaths(dir);
  if (!files.length) throw new DataError(dir, null, 'OpenKBP patients (npz files or pt_N/ folders)', 'none');
  if (limit !== null) files = files.slice(0, limit);
  const progress = createProgress({ label, total: files.length, quiet });
  const out: Prepared[] = [];
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

/** official dose/DVH scores of a 64³ network on prepared validation patients (resampled predictor) */
export function validateOpenKbp(
  net: VolumeNet,
  val: Prepared[],
  o: { onPatient?: (done: number, total: number, id: string) => void; stopRequested?: () => boolean } = {},
): { dose_score: number; dvh_score: number; per_patient: Record<string, OpenKbpPatientScore> } {
  const per: Record<string, OpenKbpPatientScore> = {};
  for (const v of val) {
    if (o.stopRequested?.())
      throw new Error(
        'validation stopped on request (control flow: the training engine catches it and saves a resumable checkpoint)',
      );
    per[v.sample.id] = scoreOpenKbpPatient(v.ref as OpenKbpReference, predictSampleGy(net, v.sample));
    o.onPatient?.(Object.keys(per).length, val.length, v.sample.id);
  }
  const r = combineOpenKbpScores(per);
  return { dose_score: r.dose_score, dvh_score: r.dvh_score, per_patient: per };
}

const fmt = (v: number | null | undefined, d = 4) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d);

/** builds the OpenKBP 64³ task: loads and prepares the patients, makes the model */
export async function openKbpTask(o: OpenKbpTrainOptions, runDir: string): Promise<TrainingTask> {
  const train = await loadSamples(o.dataDir, o.trainLimit, 'load train', o.quiet, false);
  const val = await loadSamples(o.valDir, o.valLimit, 'load validation', o.quiet, true);
  await initEngine({ quiet: true });
  const byId = new Map(train.map((t) => [t.sample.id, t.sample]));
  const trainIds = [...byId.keys()];
  const recipe = openKbpRecipe();
  const model = createModel(
    { inChannels: OPENKBP_IN_CHANNELS, baseChannels: o.baseChannels, levels: o.levels },
    { seed: o.seed },
  );
  const net = networkNet(model, {}, false);
  const S = OPENKBP_TRAIN_SHAPE;
  const n = S[0] * S[1] * S[2];
  const xBuf = new Float32Array(n * OPENKBP_IN_CHANNELS);
  return {
    name: 'openkbp-64',
    model,
    batchSize: 1,
    monitor: 'val_dose_score',
    columns: ['train_loss', 'train_l1_gy', 'val_dose_score', 'val_dvh_score', 'val_seconds'],
    paramGroups: (wd) => [{ params: model.params, weightDecay: wd }],
    epochItems: (_epoch, rng) => rng.shuffle([...trainIds]),
    async stepLoss([id], rng) {
      const s = byId.get(id);
      if (!s) throw new DataError(o.dataDir, id, 'the training patient of the resumed run', 'not in --data-dir');
      const a = o.augment
        ? augmentSample(s, rng, o.shiftMax)
        : { channels: s.channels, target: s.target as Float32Array, weight: s.weight };
      interleave(a.channels, xBuf);
      const x = tf.tensor(xBuf, [1, ...S, OPENKBP_IN_CHANNELS]) as tf.Tensor5D;
      const y = tf.tensor(a.target, [1, ...S, 1]) as tf.Tensor5D;
      const w = tf.tensor(a.weight, [1, ...S, 1]) as tf.Tensor5D;
      const c = tf.tensor(s.constraints, [1, 13]) as tf.Tensor2D;
      const wsum = Math.max(
        1e-6,
        a.weight.reduce((acc, v) => acc + v, 0),
      );
      let l1 = 0;
      return {
        samples: 1,
        loss: () => {
          const l = tf.div(tf.sum(tf.mul(w, tf.abs(tf.sub(model.apply(x, c), y)))), wsum) as tf.Scalar;
          l1 = l.dataSync()[0];
          return l;
        },
        components: () => ({ l1_gy: l1 * OPENKBP_RX_GY }),
        dispose: () => tf.dispose([x, y, w, c]),
      };
    },
    learningRate: ({ globalStep, stepsPerEpoch, epochs }) =>
      warmupCosineLr(globalStep, o, epochs * Math.max(stepsPerEpoch, trainIds.length)),
    async validate(ctx) {
      const t0 = Date.now();
      const v = validateOpenKbp(net, val, {
        onPatient: (d, t, id) => ctx.onProgress?.(d, t, id),
        stopRequested: ctx.stopRequested,
      });
      await writeJsonAtomic(path.join(runDir, 'validation', `epoch-${String(ctx.epoch).padStart(3, '0')}.json`), {
        epoch: ctx.epoch,
        dose_score: v.dose_score,
        dvh_score: v.dvh_score,
        per_patient: Object.fromEntries(
          Object.entries(v.per_patient).map(([pid, p]) => [
            pid,
            { dose_error: p.dose_error, dvh_errors: p.dvh_errors },
          ]),
        ),
      });
      return { val_dose_score: v.dose_score, val_dvh_score: v.dvh_score, val_seconds: (Date.now() - t0) / 1000 };
    },
    summaryLine: (r) =>
      `train L1 ${fmt(r.train_l1_gy, 3)} Gy` +
      (typeof r.val_dose_score === 'number'
        ? `, val dose score ${fmt(r.val_dose_score)}, DVH score ${fmt(r.val_dvh_score)} (${fmt(r.val_seconds, 0)} s)`
        : ''),
    records: () => ({
      hparams: {
        in_channels: OPENKBP_IN_CHANNELS,
        base_channels: o.baseChannels,
        levels: o.levels,
        learning_rate: o.lr,
        weight_decay: o.weightDecay,
        eta_min: o.etaMin,
        gradient_clip_norm: o.gradClip,
        warmup_steps: o.warmupSteps,
        augment: o.augment,
        shift_max: o.shiftMax,
        loss: 'L1 weighted by possible-dose-mask fraction (64³)',
        schedule: 'linear warm-up, then cosine per step over epochs × n_train',
      },
      data: {
        train_dir: path.resolve(o.dataDir),
        val_dir: path.resolve(o.valDir),
        n_train: trainIds.length,
        n_val: val.length,
        train_ids: trainIds,
        val_ids: val.map((v) => v.sample.id),
      },
      extra: { openkbp: recipe },
    }),
    predictorSpec: () => ({ kind: 'resampled', net: { kind: 'network', checkpoint: '.' }, input: recipe }),
    checkpointInfo: () => ({ input: null, meta: { openkbp: recipe, n_val: val.length } }),
    dispose: () => model.dispose(),
  };
}

/** trains the OpenKBP 64³ task (`vmat openkbp train`); see lib/train/engine.ts for the run folder */
export async function trainOpenKbp(o: OpenKbpTrainOptions): Promise<TrainResult> {
  return runTraining(engineOptions(o, { script: 'vmat-lab openkbp train', patience: null }), ({ runDir }) =>
    openKbpTask(o, runDir),
  );
}
