/**
 * The reference trainer (spec 4) as a task of the training engine, corrected: locked split, true L/R
 * flip, per-case Rx, deterministic full-volume validation with clinical metrics. It trains on any
 * CT + structure data the data layer reads (reference npz v2.3/v2.4, OpenKBP) — "prostate" names its
 * origin, the reference study.
 *   items     each training case `patchesPerVolume` times per epoch, shuffled
 *   step      `batchSize` patches (dose-biased centres, spec 4.4), augmented (spec 4.5 corrected)
 *   loss      the configured clinical losses (lib/losses), optionally uncertainty-weighted
 *   lr        cosine per epoch to eta_min (spec 4.2)
 *   validate  sliding window over each validation case (lib/prostate/validation.ts)
 * `train(o)` runs it; the run folder is described in lib/train/engine.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { tf, initEngine } from '../engine';
import { createModel } from '../models';
import { totalLoss, activeComponents, UncertaintyWeighting, type LossBatch } from '../losses';
import { listCasePaths, loadCase, caseIdOfPath } from '../data/load';
import { voxelCc, type Case } from '../data/case';
import { targetDoseGy } from '../data/profiles';
import { writeSplit } from '../data/split';
import { resolveSplit, type LockedSplit, type SplitCaseInfo } from '../data/split_lock';
import { writeJsonAtomic } from '../core/atomic';
import { DataError, UsageError } from '../core/errors';
import { CaseStore } from '../inputs/case_store';
import { inputRecipeFor, lrChannelPairs, type PreparedCase } from '../inputs/case_inputs';
import { samplePatchCentre, extractPatch, writeChannelsLast } from '../inputs/patches';
import { augmentPatch } from '../inputs/augment';
import type { InputRecipe } from '../inputs/recipe';
import { networkNet } from '../infer/volume_net';
import { engineOptions, runTraining, type TrainResult } from '../train/engine';
import { cosineLr } from '../train/adamw';
import type { TrainingTask } from '../train/task';
import { validate } from './validation';
import type { TrainOptions } from './options';

export type { TrainResult };

function fingerprint(files: string[]): string {
  const h = crypto.createHash('sha256');
  for (const f of files) {
    const st = fs.statSync(f);
    h.update(`${path.basename(f)}:${st.isDirectory() ? 'dir' : st.size}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/** cases of the data set by id: file paths from dataDir or the in-memory cases */
async function caseSources(o: TrainOptions): Promise<{ sources: Map<string, string | Case>; files: string[] }> {
  const sources = new Map<string, string | Case>();
  if (o.cases) {
    for (const c of o.cases) sources.set(c.id, c);
    return { sources, files: [] };
  }
  if (!o.dataDir) throw new UsageError('train: give --data-dir (or cases in code)');
  if (!fs.existsSync(o.dataDir)) throw new DataError(o.dataDir, null, 'a folder of case files', 'no such folder');
  const files = await listCasePaths(o.dataDir);
  if (!files.length) throw new DataError(o.dataDir, null, 'case files (*.npz or OpenKBP pt_* folders)', 'none');
  for (const f of files) sources.set(caseIdOfPath(f), f);
  return { sources, files };
}

function splitInfoOf(id: string, c: Case): SplitCaseInfo {
  const targets = [...c.masks.keys()]
    .filter((k) => targetDoseGy(k) !== null)
    .sort((a, b) => (targetDoseGy(b) ?? 0) - (targetDoseGy(a) ?? 0));
  let vol: number | null = null;
  if (targets.length) {
    const m = c.masks.get(targets[0])!;
    let n = 0;
    for (let i = 0; i < m.length; i++) n += m[i] ? 1 : 0;
    vol = n * voxelCc(c);
  }
  const inst = (c.metadata as Record<string, unknown>).institution;
  return {
    id,
    planType: c.planType ?? 'unknown',
    targetVolumeCc: vol,
    institution: typeof inst === 'string' ? inst : null,
  };
}

const COMPONENT_COLUMNS: Record<string, string> = {
  base: 'train_mse',
  gradient: 'train_grad',
  dvh: 'train_dvh',
  structure: 'train_struct',
  asymmetric: 'train_asym',
};

/** The validation columns of a prostate run's metrics.csv (doses in Gy, gamma and underdose in %, time in s). */
export const PROSTATE_VALIDATION_COLUMNS = [
  'val_loss',
  'val_mae_gy',
  'val_mae_gy_ptv70',
  'val_d95_gap_gy',
  'val_pred_d95_gy',
  'val_target_d95_gy',
  'val_underdose_pct',
  'val_gamma',
  'val_gamma_ptv',
  'val_seconds',
] as const;

const fmt = (v: number | null | undefined, d = 3) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d);

/** builds the prostate task: reads the data, locks the split, makes the model (engine started after the data checks) */
export async function prostateTask(o: TrainOptions, runDir: string): Promise<TrainingTask> {
  const { sources, files } = await caseSources(o);
  const allIds = [...sources.keys()];
  // the first case decides the input recipe (CaseStore/prepareCase reject cases whose channels differ)
  const firstCase = o.cases ? o.cases[0] : await loadCase(sources.get(allIds[0]) as string);
  if (o.loss.useUncertaintyWeighting && o.calibrationJson && !fs.existsSync(o.calibrationJson))
    throw new DataError(o.calibrationJson, null, 'a calibration JSON (vmat calibrate)', 'no such file');
  await initEngine({ quiet: o.quiet });
  const split: LockedSplit = await resolveSplit(
    o.cases ? null : o.dataDir,
    runDir,
    allIds,
    async () => {
      const out: SplitCaseInfo[] = [];
      for (const id of allIds) {
        const src = sources.get(id)!;
        out.push(splitInfoOf(id, typeof src === 'string' ? await loadCase(src) : src));
      }
      return out;
    },
    { val: o.valSplit, test: o.testSplit, seed: o.splitSeed },
  );
  if (!split.train.length) throw new DataError(split.source, 'train', 'at least one training case', 'none');
  if (!split.val.length) throw new DataError(split.source, 'val', 'at least one validation case', 'none');
  fs.mkdirSync(runDir, { recursive: true });
  await writeSplit(path.join(runDir, 'split.json'), split.manifest);
  const fileOf = (id: string) => (typeof sources.get(id) === 'string' ? path.resolve(sources.get(id) as string) : id);
  await writeJsonAtomic(path.join(runDir, 'test_cases.json'), {
    test_cases: split.test,
    test_files: split.test.map(fileOf),
    seed: o.seed,
    split_source: split.source,
  });

  const recipe: InputRecipe = inputRecipeFor([firstCase]);
  const store = new CaseStore(sources, recipe, o.cacheBytes);
  const lrPairs = lrChannelPairs(recipe.structures);
  const model = createModel(
    {
      architecture: o.architecture,
      inChannels: 1 + recipe.structures.length,
      baseChannels: o.baseChannels,
      levels: o.levels,
    },
    { seed: o.seed },
  );
  let calibration: Record<string, number> = {};
  if (o.loss.useUncertaintyWeighting && o.calibrationJson) {
    const cj = JSON.parse(fs.readFileSync(o.calibrationJson, 'utf8')) as {
      recommended_initial_log_sigma?: Record<string, number>;
    };
    if (!cj.recommended_initial_log_sigma)
      throw new DataError(o.calibrationJson, 'recommended_initial_log_sigma', 'an object of log-sigmas', 'missing');
    calibration = cj.recommended_initial_log_sigma;
  }
  const uw = o.loss.useUncertaintyWeighting ? new UncertaintyWeighting(activeComponents(o.loss), calibration) : null;
  const valCases: PreparedCase[] = [];
  for (const id of split.val) valCases.push(await store.get(id));
  const net = networkNet(model, {}, false);
  const overlap = o.valOverlap ?? Math.floor(o.patchSize / 2);
  const components = activeComponents(o.loss).map((c) => COMPONENT_COLUMNS[c]);

  return {
    name: 'prostate',
    model,
    extraParams: uw?.logSigmas,
    batchSize: o.batchSize,
    monitor: o.monitor,
    columns: [
      'train_loss',
      ...components,
      'train_neg',
      ...(uw ? uw.names.map((n) => `sigma_${n}`) : []),
      ...PROSTATE_VALIDATION_COLUMNS,
    ],
    paramGroups: (wd) => [
      { params: model.params, weightDecay: wd },
      ...(uw ? [{ params: uw.logSigmas, weightDecay: 0 }] : []),
    ],
    epochItems(_epoch, rng) {
      const order: string[] = [];
      for (const id of split.train) for (let k = 0; k < o.patchesPerVolume; k++) order.push(id);
      return rng.shuffle(order);
    },
    async stepLoss(ids, rng) {
      const B = ids.length;
      const P = o.patchSize;
      const nc = 1 + recipe.structures.length;
      const n = P * P * P;
      const xBuf = new Float32Array(B * n * nc);
      const yBuf = new Float32Array(B * n);
      const cBuf = new Float32Array(B * 13);
      const present: boolean[][] = [];
      const rxGy: number[] = [];
      for (let b = 0; b < B; b++) {
        const pc = await store.get(ids[b]);
        const patch = extractPatch(pc, samplePatchCentre(pc, P, rng), P);
        if (o.augmentation) augmentPatch(patch, rng, lrPairs);
        writeChannelsLast(patch.channels, xBuf, b * n * nc);
        yBuf.set(patch.dose!, b * n);
        cBuf.set(pc.constraints, b * 13);
        present.push(patch.present);
        rxGy.push(pc.rxGy);
      }
      const x = tf.tensor(xBuf, [B, P, P, P, nc]) as tf.Tensor5D;
      const y = tf.tensor(yBuf, [B, P, P, P, 1]) as tf.Tensor5D;
      const c = tf.tensor(cBuf, [B, 13]) as tf.Tensor2D;
      const sdf = tf.slice(x, [0, 0, 0, 0, 1], [B, P, P, P, nc - 1]) as tf.Tensor5D;
      let comps: Record<string, number> = {};
      return {
        samples: B,
        loss: () => {
          const pred = model.apply(x, c);
          const batch: LossBatch = {
            pred,
            target: y,
            sdf,
            structures: recipe.structures,
            present,
            rxGy,
            sdfClipMm: recipe.sdfClipMm,
          };
          const out = totalLoss(batch, o.loss, uw ?? undefined);
          comps = out.components;
          return out.total;
        },
        components: () => comps,
        dispose: () => tf.dispose([x, y, c, sdf]),
      };
    },
    learningRate: ({ epoch, epochs }) => cosineLr(epoch, o.lr, epochs, o.etaMin),
    async validate(ctx) {
      const t0 = Date.now();
      const v = await validate(net, valCases, {
        patchSize: o.patchSize,
        overlap,
        gamma: o.valGamma,
        gammaSubsample: o.valGammaSubsample,
        stopRequested: ctx.stopRequested,
        onCase: (done, total, id) => ctx.onProgress?.(done, total, id),
      });
      const row: Record<string, number | null> = {
        val_loss: v.val_loss,
        val_mae_gy: v.val_mae_gy,
        val_mae_gy_ptv70: v.val_mae_gy_ptv70,
        val_d95_gap_gy: v.val_d95_gap_gy,
        val_pred_d95_gy: v.val_pred_d95_gy,
        val_target_d95_gy: v.val_target_d95_gy,
        val_underdose_pct: v.val_underdose_pct,
        val_gamma: v.val_gamma,
        val_gamma_ptv: v.val_gamma_ptv,
        val_seconds: (Date.now() - t0) / 1000,
      };
      if (uw) for (const [k, s] of Object.entries(uw.sigmas())) row[`sigma_${k}`] = s;
      return row;
    },
    summaryLine: (r) =>
      `loss ${fmt(r.train_loss, 5)}` +
      (r.val_mae_gy !== null && r.val_mae_gy !== undefined
        ? `, val loss ${fmt(r.val_loss, 5)}, val MAE ${fmt(r.val_mae_gy)} Gy, PTV MAE ${fmt(r.val_mae_gy_ptv70)} Gy, D95 gap ${fmt(r.val_d95_gap_gy)} Gy` +
          (r.val_gamma !== null && r.val_gamma !== undefined ? `, γ ${fmt(r.val_gamma, 1)} %` : '')
        : ''),
    records: () => ({
      hparams: {
        in_channels: model.config.inChannels,
        out_channels: 1,
        base_channels: o.baseChannels,
        levels: o.levels,
        constraint_dim: 13,
        learning_rate: o.lr,
        weight_decay: o.weightDecay,
        eta_min: o.etaMin,
        gradient_clip_norm: o.gradClip,
        rx_dose_gy: 'per case (metadata normalization_dose_gy)',
        architecture: o.architecture,
        ...o.loss,
        calibration_json: o.calibrationJson,
      },
      data: {
        data_dir: o.dataDir ? path.resolve(o.dataDir) : null,
        n_cases: allIds.length,
        profile: recipe.profile,
        input: recipe,
        data_fingerprint: files.length ? fingerprint(files) : null,
        script_version: (firstCase.metadata as Record<string, unknown>).script_version ?? null,
      },
      training: {
        patch_size: o.patchSize,
        patches_per_volume: o.patchesPerVolume,
        split_seed: o.splitSeed,
        val_split: o.valSplit,
        test_split: o.testSplit,
        augmentation: o.augmentation,
        val_overlap: overlap,
        val_gamma: o.valGamma,
        val_gamma_subsample: o.valGammaSubsample,
        cache_bytes: o.cacheBytes,
      },
      extra: { split: { source: split.source, train: split.train, val: split.val, test: split.test } },
    }),
    predictorSpec: () => ({
      kind: 'sliding_window',
      net: { kind: 'network', checkpoint: '.' },
      input: recipe,
      patch_size: o.patchSize,
      overlap: Math.floor(o.patchSize / 2),
    }),
    checkpointInfo: () => ({ input: recipe, meta: { patch_size: o.patchSize } }),
    restoreExtra: (extra) => uw?.assign(extra),
    dispose: () => {
      uw?.dispose();
      model.dispose();
    },
  };
}

/** trains the prostate task (`vmat train`); see lib/train/engine.ts for the run folder */
export async function train(o: TrainOptions): Promise<TrainResult> {
  return runTraining(engineOptions(o, { script: 'vmat-lab train', patience: o.patience }), ({ runDir }) =>
    prostateTask(o, runDir),
  );
}
