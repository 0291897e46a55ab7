/**
 * The training loop (spec 4), corrected: locked split, true L/R flip, per-case Rx, full-volume
 * deterministic validation, complete run records and exact resume.
 *
 * Run folder runs/<exp_name>/:
 *   training_config.json   every hyper-parameter, data fingerprint, split, seed, environment
 *   split.json             the split used (copied from the data folder or made once)
 *   test_cases.json        {test_cases, test_files, seed} as the reference
 *   metrics.csv            one row per epoch
 *   checkpoints/best-epoch=NNN-<monitor>=X.XXX/, checkpoints/last/
 *   training_summary.json  at the end (also after early stop / time limit)
 * Resume: `resume: true` reloads checkpoints/last (weights, AdamW moments and step, log-sigmas,
 * RNG state, history, early-stopping counters) and continues at the next epoch; with the same
 * options the result equals an uninterrupted run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { tf, initEngine, engineInfo } from '../engine';
import { createModel, type DoseModel } from '../models';
import { saveCheckpoint } from '../models/checkpoint';
import type { InputRecipe } from '../inputs/recipe';
import { totalLoss, activeComponents, UncertaintyWeighting, type LossBatch } from '../losses';
import { listCasePaths, loadCase } from '../data/load';
import type { Case } from '../data/case';
import { writeJsonAtomic, writeFileAtomic } from '../core/atomic';
import { envSnapshot } from '../core/environment';
import { createProgress } from '../core/progress';
import { UsageError, DataError } from '../core/errors';
import { AdamW, cosineLr } from './adamw';
import { resumeFrom } from './resume';
import { optimisationStep } from './step';
import { Rng, type RngState } from '../core/rng';
import { CaseStore, caseIdOfPath } from '../inputs/case_store';
import { inputRecipeFor, lrChannelPairs, type PreparedCase } from '../inputs/case_inputs';
import { samplePatchCentre, extractPatch, writeChannelsLast } from '../inputs/patches';
import { augmentPatch } from '../inputs/augment';
import { resolveSplit, type LockedSplit, type SplitCaseInfo } from './split_lock';
import { writeSplit } from '../data/split';
import { voxelCc } from '../data/case';
import { targetDoseGy } from '../data/profiles';
import { validate } from './validation';
import type { TrainOptions, EpochRow } from './options';

export interface TrainResult {
  runDir: string;
  bestCheckpoint: string | null;
  lastCheckpoint: string;
  history: EpochRow[];
  stoppedBy: 'max_epochs' | 'early_stopping' | 'time_limit' | 'stop_after_epoch';
  split: LockedSplit;
  model: DoseModel;
}

interface RunState {
  epoch: number;
  globalStep: number;
  rng: RngState;
  bestValue: number | null;
  bestEpoch: number | null;
  bestCheckpoint: string | null;
  checksWithoutImprovement: number;
  history: EpochRow[];
  elapsedSeconds: number;
}

const PKG_VERSION = (() => {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
})();

function fingerprint(files: string[]): string {
  const h = crypto.createHash('sha256');
  for (const f of files) {
    const st = fs.statSync(f);
    h.update(`${path.basename(f)}:${st.isDirectory() ? 'dir' : st.size}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

function csvColumns(o: TrainOptions, uw: UncertaintyWeighting | null): string[] {
  const comp = activeComponents(o.loss).map(
    (c) =>
      ({
        base: 'train_mse',
        gradient: 'train_grad',
        dvh: 'train_dvh',
        structure: 'train_struct',
        asymmetric: 'train_asym',
      })[c],
  );
  const sig = uw ? uw.names.map((n) => `sigma_${n}`) : [];
  return [
    'epoch',
    'lr',
    'seconds',
    'train_loss',
    ...comp,
    'train_neg',
    ...sig,
    'val_mae_gy',
    'val_mae_gy_ptv70',
    'val_d95_gap_gy',
    ...(o.valGamma ? ['val_gamma'] : []),
  ];
}

function csvText(cols: string[], rows: EpochRow[]): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => fmt(r[c])).join(','))].join('\n') + '\n';
}

/** cases of the data set by id: file paths from dataDir or the in-memory cases */
async function caseSources(o: TrainOptions): Promise<{ sources: Map<string, string | Case>; files: string[] }> {
  const sources = new Map<string, string | Case>();
  if (o.cases) {
    for (const c of o.cases) sources.set(c.id, c);
    return { sources, files: [] };
  }
  if (!o.dataDir) throw new UsageError('train: give --data-dir (or cases in code)');
  const files = await listCasePaths(o.dataDir);
  if (!files.length) throw new DataError(o.dataDir, null, 'case files (*.npz or OpenKBP pt_* folders)', 'none');
  for (const f of files) sources.set(caseIdOfPath(f), f);
  return { sources, files };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const t0 = Date.now();
  const engine = await initEngine({ quiet: o.quiet });
  const runDir = path.resolve(o.runsDir, o.expName);
  const ckDir = path.join(runDir, 'checkpoints');
  const lastDir = path.join(ckDir, 'last');
  if (!o.resume && fs.existsSync(lastDir)) {
    throw new UsageError(
      `run folder ${runDir} already has checkpoints; use --resume to continue it or choose another --exp-name`,
    );
  }
  if (o.resume && !fs.existsSync(lastDir)) throw new UsageError(`--resume: no checkpoint at ${lastDir}`);
  fs.mkdirSync(runDir, { recursive: true });

  const { sources, files } = await caseSources(o);
  const allIds = [...sources.keys()];
  // the first case decides the input recipe (CaseStore/prepareCase reject cases whose channels differ)
  const firstCase = o.cases ? o.cases[0] : await loadCase(sources.get(allIds[0]) as string);
  const split = await resolveSplit(
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

  // model, loss weighting, optimizer
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
    if (!fs.existsSync(o.calibrationJson))
      throw new DataError(o.calibrationJson, null, 'a calibration JSON (vmat calibrate)', 'no such file');
    const cj = JSON.parse(fs.readFileSync(o.calibrationJson, 'utf8')) as {
      recommended_initial_log_sigma?: Record<string, number>;
    };
    if (!cj.recommended_initial_log_sigma)
      throw new DataError(o.calibrationJson, 'recommended_initial_log_sigma', 'an object of log-sigmas', 'missing');
    calibration = cj.recommended_initial_log_sigma;
  }
  const uw = o.loss.useUncertaintyWeighting ? new UncertaintyWeighting(activeComponents(o.loss), calibration) : null;
  const optimizer = new AdamW([
    { params: model.params, weightDecay: o.weightDecay },
    ...(uw ? [{ params: uw.logSigmas, weightDecay: 0 }] : []),
  ]);
  const trainable = new Map<string, tf.Variable>([...model.params, ...(uw ? uw.logSigmas : [])]);

  let state: RunState;
  if (o.resume) {
    state = resumeFrom(lastDir, model.params, optimizer, (extra) => uw?.assign(extra)) as unknown as RunState;
  } else {
    state = {
      epoch: -1,
      globalStep: 0,
      rng: Rng.fromSeed(`train:${o.seed}`).state(),
      bestValue: null,
      bestEpoch: null,
      bestCheckpoint: null,
      checksWithoutImprovement: 0,
      history: [],
      elapsedSeconds: 0,
    };
  }
  const rng = Rng.fromState(state.rng);

  // run record
  const config = {
    script: 'vmat-lab train',
    version: PKG_VERSION,
    architecture: o.architecture,
    model: model.className,
    timestamp: new Date().toISOString(),
    model_params: model.numParameters() + (uw ? uw.names.length : 0),
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
    training: {
      epochs: o.epochs,
      batch_size: o.batchSize,
      patch_size: o.patchSize,
      patches_per_volume: o.patchesPerVolume,
      seed: o.seed,
      split_seed: o.splitSeed,
      val_every: o.valEvery,
      patience: o.patience,
      monitor: o.monitor,
      augmentation: o.augmentation,
      val_overlap: o.valOverlap ?? Math.floor(o.patchSize / 2),
      val_gamma: o.valGamma,
      val_gamma_subsample: o.valGammaSubsample,
      max_minutes: o.maxMinutes,
    },
    data: {
      data_dir: o.dataDir ? path.resolve(o.dataDir) : null,
      n_cases: allIds.length,
      profile: recipe.profile,
      input: recipe,
      data_fingerprint: files.length ? fingerprint(files) : null,
      script_version: (firstCase.metadata as Record<string, unknown>).script_version ?? null,
    },
    split: { source: split.source, train: split.train, val: split.val, test: split.test },
    environment: envSnapshot(engineInfo() ?? engine),
  };
  const cfgFile = path.join(runDir, 'training_config.json');
  if (o.resume && fs.existsSync(cfgFile)) {
    const prev = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    const resumes = (prev.resumes as unknown[] | undefined) ?? [];
    await writeJsonAtomic(cfgFile, {
      ...prev,
      resumes: [...resumes, { timestamp: config.timestamp, from_epoch: state.epoch, environment: config.environment }],
    });
  } else await writeJsonAtomic(cfgFile, config);

  const valCases: PreparedCase[] = [];
  for (const id of split.val) valCases.push(await store.get(id));
  const cols = csvColumns(o, uw);
  const history = state.history;
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  say(
    `train ${o.expName}: ${model.className} ${model.numParameters().toLocaleString('en-US')} params, ${split.train.length}/${split.val.length}/${split.test.length} cases, patch ${o.patchSize}, batch ${o.batchSize}, ${o.epochs} epochs${o.resume ? `, resuming after epoch ${state.epoch}` : ''}`,
  );

  let stoppedBy: TrainResult['stoppedBy'] = 'max_epochs';
  const startEpoch = state.epoch + 1;
  for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
    const te = Date.now();
    const lr = cosineLr(epoch, o.lr, o.epochs, o.etaMin);
    const order: string[] = [];
    for (const id of split.train) for (let k = 0; k < o.patchesPerVolume; k++) order.push(id);
    rng.shuffle(order);
    const steps = Math.ceil(order.length / o.batchSize);
    const sums: Record<string, number> = {};
    let nSamples = 0;
    const progress = createProgress({
      label: `epoch ${epoch + 1}/${o.epochs}`,
      total: steps,
      quiet: o.quiet || !!o.onStep,
    });
    for (let s = 0; s < steps; s++) {
      const ids = order.slice(s * o.batchSize, (s + 1) * o.batchSize);
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
      let lossValue: number;
      try {
        lossValue = optimisationStep({
          trainable,
          optimizer,
          lr,
          gradClip: o.gradClip,
          where: `train: epoch ${epoch} step ${s}`,
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
        });
      } finally {
        tf.dispose([x, y, c, sdf]);
      }
      sums.train_loss = (sums.train_loss ?? 0) + lossValue * B;
      for (const [k, v] of Object.entries(comps)) sums[`train_${k}`] = (sums[`train_${k}`] ?? 0) + v * B;
      nSamples += B;
      state.globalStep++;
      progress.tick(1, `loss ${lossValue.toFixed(4)}`);
      o.onStep?.({ epoch, step: s + 1, stepsPerEpoch: steps, loss: lossValue });
    }
    progress.stop();
    const row: EpochRow = { epoch, lr, seconds: 0, train_loss: sums.train_loss / nSamples };
    for (const [k, v] of Object.entries(sums)) if (k !== 'train_loss') row[k] = v / nSamples;
    if (uw) for (const [k, v] of Object.entries(uw.sigmas())) row[`sigma_${k}`] = v;

    // validation on full volumes
    // a run about to stop for the time limit validates now, so it always ends with a best checkpoint
    const timeUp = o.maxMinutes !== null && (Date.now() - t0) / 60000 >= o.maxMinutes && epoch < o.epochs - 1;
    const doVal = (epoch + 1) % o.valEvery === 0 || epoch === o.epochs - 1 || timeUp;
    let improved = false;
    if (doVal) {
      const v = await validate(model, valCases, {
        patchSize: o.patchSize,
        overlap: o.valOverlap ?? Math.floor(o.patchSize / 2),
        gamma: o.valGamma,
        gammaSubsample: o.valGammaSubsample,
      });
      row.val_mae_gy = v.val_mae_gy;
      row.val_mae_gy_ptv70 = v.val_mae_gy_ptv70;
      row.val_d95_gap_gy = v.val_d95_gap_gy;
      if (o.valGamma) row.val_gamma = v.val_gamma;
      const monitored = row[o.monitor];
      if (
        monitored !== null &&
        monitored !== undefined &&
        Number.isFinite(monitored) &&
        (state.bestValue === null || monitored < state.bestValue)
      ) {
        improved = true;
        state.bestValue = monitored;
        state.bestEpoch = epoch;
        state.checksWithoutImprovement = 0;
      } else state.checksWithoutImprovement++;
    } else {
      row.val_mae_gy = null;
      row.val_mae_gy_ptv70 = null;
      row.val_d95_gap_gy = null;
    }
    row.seconds = (Date.now() - te) / 1000;
    history.push(row);
    state.epoch = epoch;
    state.elapsedSeconds += row.seconds;

    if (improved) {
      const name = `best-epoch=${String(epoch).padStart(3, '0')}-${o.monitor}=${(state.bestValue as number).toFixed(3)}`;
      const dir = path.join(ckDir, name);
      await saveCheckpoint(dir, {
        model,
        input: recipe,
        extraParams: uw?.logSigmas,
        meta: { exp_name: o.expName, epoch, patch_size: o.patchSize, [o.monitor]: state.bestValue },
      });
      if (state.bestCheckpoint && state.bestCheckpoint !== name)
        fs.rmSync(path.join(ckDir, state.bestCheckpoint), { recursive: true, force: true });
      state.bestCheckpoint = name;
    }
    state.rng = rng.state();
    const opt = optimizer.getState();
    await saveCheckpoint(lastDir, {
      model,
      input: recipe,
      extraParams: uw?.logSigmas,
      optimizer: opt,
      state: state as unknown as Record<string, unknown>,
      meta: { exp_name: o.expName, epoch, patch_size: o.patchSize },
    });
    await writeFileAtomic(path.join(runDir, 'metrics.csv'), csvText(cols, history));
    say(
      `epoch ${epoch}: loss ${row.train_loss.toFixed(5)}` +
        (doVal
          ? `, val MAE ${(row.val_mae_gy as number).toFixed(3)} Gy, PTV MAE ${fmt(row.val_mae_gy_ptv70)} Gy, D95 gap ${fmt(row.val_d95_gap_gy)} Gy`
          : '') +
        `, lr ${lr.toExponential(2)}, ${row.seconds.toFixed(1)} s${improved ? ' *' : ''}`,
    );
    o.onEpoch?.(row, history);

    if (doVal && state.checksWithoutImprovement >= o.patience) {
      stoppedBy = 'early_stopping';
      break;
    }
    if (o.stopAfterEpoch !== null && epoch >= o.stopAfterEpoch) {
      stoppedBy = 'stop_after_epoch';
      break;
    }
    if (timeUp) {
      stoppedBy = 'time_limit';
      break;
    }
  }
  optimizer.dispose();
  uw?.dispose();

  const last = history[history.length - 1];
  const valRows = history.filter((r) => r.val_mae_gy !== null && r.val_mae_gy !== undefined);
  const summary = {
    total_time_sec: state.elapsedSeconds,
    total_time_hours: state.elapsedSeconds / 3600,
    stopped_by: stoppedBy,
    epochs_completed: state.epoch + 1,
    final_metrics: last
      ? {
          epoch: last.epoch,
          train_loss: last.train_loss,
          val_mae_gy: last.val_mae_gy,
          val_mae_gy_ptv70: last.val_mae_gy_ptv70,
          val_d95_gap_gy: last.val_d95_gap_gy,
          val_gamma: last.val_gamma ?? null,
        }
      : null,
    monitor: o.monitor,
    best_epoch: state.bestEpoch,
    best_value: state.bestValue,
    best_val_mae_gy: valRows.length ? Math.min(...valRows.map((r) => r.val_mae_gy as number)) : null,
    best_checkpoint: state.bestCheckpoint ? path.join(ckDir, state.bestCheckpoint) : null,
    last_checkpoint: lastDir,
  };
  if (stoppedBy !== 'stop_after_epoch') await writeJsonAtomic(path.join(runDir, 'training_summary.json'), summary);
  return { runDir, bestCheckpoint: summary.best_checkpoint, lastCheckpoint: lastDir, history, stoppedBy, split, model };
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

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3);
}
