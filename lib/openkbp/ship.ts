/**
 * Ships an OpenKBP recipe's stages as one model bundle (models/openkbp-<name>/):
 *   manifest.json          the predictor: resampled 64³ stage (the `main` stage, averaged with the
 *                          `members` as an ensemble), L/R TTA and block phases as the recipe says, the
 *                          `refiner` stage as a cascade
 *   networks/<stage>/      each network's checkpoint (config + weights)
 *   validation_scores.json the official scores of the validation patients predicted from the staged
 *                          folder with the same code as `vmat openkbp predict` (bootstrap 95% CIs,
 *                          resolution floor, DVH error breakdown, per patient), the training record
 *                          (every stage's training time, steps, learning rate), the machine
 *   MODEL_CARD.md          the card, every number from the above
 * The folder is staged, scored, then moved into place atomically.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withAtomicDir } from '../core/atomic';
import { DataError } from '../core/errors';
import { scoreOpenKbpDirs } from '../eval/openkbp_score_dirs';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  MANIFEST_FILE,
  loadBundle,
  readManifest,
  type BundleManifest,
  type NetSpec,
  type PredictorSpec,
} from '../infer/bundle';
import { runInference } from '../infer/run_inference';
import { openKbpRecipe } from '../inputs/openkbp64';
import type { RefinerRecipe } from '../inputs/refiner128';
import { writeFloorPredictions } from './floor';
import { openKbpScoreCis, dvhErrorBreakdown, LEADERBOARD } from './report';
import { planRecipe, stageBestCheckpoint, type Recipe, type RecipeContext } from './recipe';

export interface ShipOptions {
  /** output folder (default models/openkbp-<recipe name without a leading "openkbp-">) */
  outDir?: string;
  /** scored floor instead of computing it (JSON {dose_score, dvh_score, n_patients}) */
  floorJson?: string;
  /** keep the scored pt_N.csv predictions here */
  predictionsDir?: string;
  quiet?: boolean;
}

export interface StageRecord {
  stage: string;
  task: string;
  run_dir: string;
  hours: number;
  steps: number;
  epochs: number | null;
  learning_rate: number | null;
  stopped_by: string;
  best: unknown;
  init_from: string | null;
  coarse: string | null;
}

function readJson<T>(file: string): T {
  if (!fs.existsSync(file)) throw new DataError(file, null, 'a JSON file of a finished stage', 'no such file');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** the training record of every stage of the recipe (all must be done) */
export function stageRecords(r: Recipe, ctx: RecipeContext): StageRecord[] {
  return planRecipe(r, ctx).map((p) => {
    if (p.state !== 'done')
      throw new DataError(p.runDir, 'training_summary.json', `stage ${p.stage.name} finished`, p.state);
    const sum = readJson<{
      total_time_hours: number;
      global_step: number;
      stopped_by: string;
      best: unknown;
    }>(path.join(p.runDir, 'training_summary.json'));
    const cfg = readJson<{ hparams: Record<string, unknown>; training: Record<string, unknown> }>(
      path.join(p.runDir, 'training_config.json'),
    );
    return {
      stage: p.stage.name,
      task: p.stage.task,
      run_dir: p.runDir,
      hours: sum.total_time_hours,
      steps: sum.global_step,
      epochs: (cfg.training.epochs as number | undefined) ?? null,
      learning_rate: (cfg.hparams.learning_rate as number | undefined) ?? null,
      stopped_by: sum.stopped_by,
      best: sum.best,
      init_from: p.stage.init_from ?? null,
      coarse: p.stage.coarse?.stage ?? null,
    };
  });
}

/** the bundle's predictor for the recipe's ship section (checkpoints under networks/<stage>/) */
export function shippedPredictor(r: Recipe, refinerInput: RefinerRecipe | null): PredictorSpec {
  const wrap = (n: NetSpec): NetSpec => (r.ship.tta ? { kind: 'mirrored', net: n } : n);
  const nets = [r.ship.main, ...r.ship.members].map((s) => wrap({ kind: 'network', checkpoint: `networks/${s}` }));
  let p: PredictorSpec = {
    kind: 'resampled',
    net: nets.length > 1 ? { kind: 'ensemble', members: nets } : nets[0],
    input: openKbpRecipe(),
  };
  if (r.ship.phase_tta) p = { kind: 'phase_shifted', inner: p };
  if (r.ship.refiner && refinerInput)
    p = {
      kind: 'cascade',
      coarse: p,
      refiner: wrap({ kind: 'network', checkpoint: `networks/${r.ship.refiner}`, residual_channel: 0 }),
      input: refinerInput,
    };
  return p;
}

const f4 = (x: number) => x.toFixed(4);
const f2 = (x: number) => x.toFixed(2);

/** ships the recipe; returns the bundle folder and the scores */
export async function shipRecipe(
  r: Recipe,
  ctx: RecipeContext,
  o: ShipOptions = {},
): Promise<{ modelDir: string; scores: Record<string, unknown>; card: string }> {
  const name = r.name.startsWith('openkbp-') ? r.name : `openkbp-${r.name}`;
  const modelDir = path.resolve(o.outDir ?? path.join('models', name));
  const records = stageRecords(r, ctx);
  const byStage = new Map(records.map((s) => [s.stage, s]));
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-ship-model-'));
  try {
    const used = [r.ship.main, ...r.ship.members, ...(r.ship.refiner ? [r.ship.refiner] : [])];
    for (const s of used) {
      const best = stageBestCheckpoint(byStage.get(s)!.run_dir);
      if (!best)
        throw new DataError(byStage.get(s)!.run_dir, 'best_checkpoint', `a best checkpoint of stage ${s}`, 'none');
      const dst = path.join(stage, 'networks', s);
      fs.mkdirSync(dst, { recursive: true });
      for (const f of ['config.json', 'weights.json', 'weights.bin'])
        fs.copyFileSync(path.join(best, f), path.join(dst, f));
    }
    let refinerInput: RefinerRecipe | null = null;
    if (r.ship.refiner) {
      const rcfg = readJson<{ meta?: { openkbp_refiner?: RefinerRecipe } }>(
        path.join(stage, 'networks', r.ship.refiner, 'config.json'),
      );
      if (!rcfg.meta?.openkbp_refiner)
        throw new DataError(r.ship.refiner, 'config.json meta.openkbp_refiner', 'a refiner checkpoint', 'none');
      refinerInput = rcfg.meta.openkbp_refiner;
    }
    const predictor = shippedPredictor(r, refinerInput);
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      name,
      created: new Date().toISOString(),
      predictor,
      description: r.description,
      provenance: { recipe: r.name, stages: records.map((s) => ({ stage: s.stage, run_dir: s.run_dir })) },
    };
    fs.writeFileSync(path.join(stage, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
    readManifest(stage); // validates what was written

    // official scores of the staged folder through the same code as `openkbp predict` + `openkbp score`
    const predDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-ship-'));
    const t0 = Date.now();
    const b = loadBundle(stage);
    try {
      await runInference(b.predictor, {
        inputDir: ctx.valDir,
        outputDir: predDir,
        npz: false,
        openkbpCsv: true,
        requireOpenKbp: true,
      });
    } finally {
      b.predictor.dispose();
    }
    const predictSeconds = (Date.now() - t0) / 1000;
    const score = await scoreOpenKbpDirs(ctx.valDir, predDir, { quiet: o.quiet });
    if (o.predictionsDir)
      await withAtomicDir(path.resolve(o.predictionsDir), async (tmp) => fs.cpSync(predDir, tmp, { recursive: true }));
    fs.rmSync(predDir, { recursive: true, force: true });
    let floor: { dose_score: number; dvh_score: number; n_patients: number };
    if (o.floorJson) floor = readJson(o.floorJson);
    else {
      const fd = fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-floor-'));
      await writeFloorPredictions(ctx.valDir, fd);
      floor = await scoreOpenKbpDirs(ctx.valDir, fd, { quiet: o.quiet });
      fs.rmSync(fd, { recursive: true, force: true });
    }
    const ci = openKbpScoreCis(score);
    const breakdown = dvhErrorBreakdown(score);
    const mainRun = byStage.get(r.ship.main)!.run_dir;
    const cfg = readJson<{
      environment: Record<string, unknown> & { engine: Record<string, unknown> & { versions: Record<string, string> } };
      data: { n_train: number; n_val: number };
      hparams: Record<string, unknown>;
      model: string;
      model_params: number;
    }>(path.join(mainRun, 'training_config.json'));
    const env = cfg.environment;
    const hours = records.reduce((a, s) => a + s.hours, 0);
    const steps64 = records.filter((s) => s.task === 'openkbp-64').reduce((a, s) => a + s.steps, 0);
    const machine = {
      cpu: env.cpu,
      cores: env.cores,
      memory_gb: env.memoryGb,
      platform: env.platform,
      backend: `${env.engine.backend}/${env.engine.opsPath}`,
      threads: env.engine.threads,
    };
    const worst = Object.entries(score.per_patient)
      .sort((a, c) => c[1].dose_error - a[1].dose_error)
      .slice(0, 5);
    const scores = {
      model: name,
      preliminary: false,
      validation: {
        n_patients: score.n_patients,
        n_dvh_cells: score.n_dvh_cells,
        dose_score: score.dose_score,
        dvh_score: score.dvh_score,
        ci95: ci,
        tta: r.ship.tta,
        phase_tta: r.ship.phase_tta,
      },
      resolution_floor: { dose_score: floor.dose_score, dvh_score: floor.dvh_score, n_patients: floor.n_patients },
      dvh_error_by_metric: breakdown.byMetric,
      dvh_error_by_structure: breakdown.byStructure,
      per_patient: Object.fromEntries(
        Object.entries(score.per_patient).map(([id, p]) => [
          id,
          { dose_error: p.dose_error, dvh_errors: p.dvh_errors },
        ]),
      ),
      predictor: predictor,
      training: {
        recipe: r.name,
        stages: records,
        global_step: steps64,
        epochs_equivalent: steps64 / cfg.data.n_train,
        wall_time_hours: hours,
      },
      machine,
      leaderboard: LEADERBOARD,
      predict_seconds: predictSeconds,
    };
    const card = `# OpenKBP model \`${name}\`

${r.description ?? ''}

## Data
- Training: ${cfg.data.n_train} OpenKBP train patients; validation (model selection and the scores below): ${cfg.data.n_val} patients. The test split (pt_241–340) was never used.
- OpenKBP (Babier et al., Med Phys 48:5549, 2021; TCIA): head-and-neck CT, 10 structures, 9-field IMRT doses.

## Model
- Predictor (manifest.json): \`${b.predictor.describe()}\`.
- Main network: ${cfg.model}, ${cfg.model_params.toLocaleString('en-US')} parameters, base ${cfg.hparams.base_channels} channels, ${cfg.hparams.levels} levels, 14 input channels at **64³** (2×2×2 mask-aware mean of the 128³ grid); up-sampled to 128³ by mask-normalised trilinear interpolation, zero outside the possible-dose mask.${r.ship.members.length ? `\n- Ensemble: the 64³ outputs of ${[r.ship.main, ...r.ship.members].map((s) => `\`${s}\``).join(' and ')} are averaged before up-sampling.` : ''}${r.ship.refiner ? `\n- 128³ refinement stage \`${r.ship.refiner}\`: adds a residual to the up-sampled prediction from the full-resolution CT, structures and mask.` : ''}
- Test-time augmentation: ${[r.ship.tta ? 'L/R mirror' : '', r.ship.phase_tta ? '8 block-grid phases of the 64³ stage' : ''].filter(Boolean).join(' + ') || 'none'}.

## Training (recipe \`${r.name}\`: \`vmat openkbp train --recipe <file>\` rebuilds it)
${records.map((s, i) => `${i + 1}. \`${s.stage}\` (${s.task}${s.init_from ? `, from \`${s.init_from}\`` : ''}${s.coarse ? `, on \`${s.coarse}\`'s predictions` : ''}): ${s.steps} steps, peak lr ${s.learning_rate}, ${f2(s.hours)} h, stopped by ${s.stopped_by}`).join('\n')}
- Wall time (training, all stages and sessions): **${f2(hours)} h**.
- Machine: ${env.cpu}, ${env.cores} cores, ${env.memoryGb} GB RAM, ${env.platform}; engine \`${env.engine.backend}\` / \`${env.engine.opsPath}\` (oneDNN ${env.engine.versions.onednn ?? 'n/a'}), ${env.engine.threads} thread(s).

## Validation scores (official OpenKBP metrics, ${score.n_patients} patients, \`vmat openkbp predict\` + \`vmat openkbp score\`)
| | dose score (Gy) | DVH score (Gy) |
|---|---|---|
| this model | **${f4(score.dose_score)}** (95% CI ${f4(ci.dose.low)}–${f4(ci.dose.high)}) | **${f4(score.dvh_score)}** (95% CI ${f4(ci.dvh.low)}–${f4(ci.dvh.high)}) |
| resolution floor of the 64³ scheme (ground truth down and up) | ${f4(floor.dose_score)} | ${f4(floor.dvh_score)} |
| leaderboard winner (test set, 128³) | ${LEADERBOARD.winner.dose_score} | ${LEADERBOARD.winner.dvh_score} |
| leaderboard median of 28 teams (test set) | ≈ ${LEADERBOARD.median_dose_score_28_teams} | – |

CIs: percentile bootstrap over patients (9,999 resamples, seed 42); the DVH score is pooled over all ${score.n_dvh_cells} cells.
Leaderboard numbers are on the 100 test patients, ours on validation patients: context, not a ranking.

Mean DVH error by metric: ${Object.entries(breakdown.byMetric)
      .map(([k, v]) => `${k} ${f2(v.mean)} Gy (n ${v.n})`)
      .join('; ')}.

Worst patients by dose error: ${worst.map(([id, p]) => `${id} ${f2(p.dose_error)} Gy`).join(', ')}.

## Use
\`\`\`bash
npx vmat openkbp predict --model ${path.relative(process.cwd(), modelDir) || modelDir} --input-dir <OpenKBP pt_N folders or npz> --out <dir>
npx vmat openkbp score --ref-dir <same patients with dose> --pred-dir <dir>
\`\`\`
`;
    await withAtomicDir(modelDir, async (tmp) => {
      fs.cpSync(stage, tmp, { recursive: true });
      fs.writeFileSync(path.join(tmp, 'validation_scores.json'), JSON.stringify(scores, null, 1) + '\n');
      fs.writeFileSync(path.join(tmp, 'MODEL_CARD.md'), card);
    });
    return { modelDir, scores, card };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
