/**
 * Ships an OpenKBP run as models/openkbp-<name>/: copies the best checkpoint (weights + config),
 * predicts the validation patients with `openkbp predict` code, scores them with the official
 * metrics (`openkbp score` code), computes bootstrap 95% CIs and the resolution floor, and writes
 * validation_scores.json and MODEL_CARD.md from those measured numbers.
 *
 *   npx tsx scripts/openkbp/ship_model.ts --run runs/openkbp-64-b16 --name 64-b16 \
 *       --val-dir ../shared/data/openkbp/npz/validation [--refiner-run runs/<refiner exp>] [--member <checkpoint>]... [--preliminary] [--tta] [--phase-tta] [--floor-json F] [--predictions DIR]
 * With --refiner-run, the run's 128³ refiner (checkpoints/refiner) ships as models/openkbp-<name>/refiner/.
 * Each --member (another run's checkpoints/best) ships as members/m<k>/: the folder becomes an
 * ensemble whose 64³ outputs are averaged; the members' training time counts toward the wall time.
 * --tta / --phase-tta record the test-time augmentation the folder is scored with (and `openkbp
 * predict` then uses by default). --predictions DIR keeps the scored pt_N.csv files there.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../../lib/engine';
import { withAtomicDir, writeJsonAtomic, writeFileAtomic } from '../../lib/core/atomic';
import { predictOpenKbpDir } from '../../lib/openkbp/predict_dir';
import { writeFloorPredictions } from '../../lib/openkbp/floor';
import { scoreOpenKbpDirs } from '../../lib/eval/openkbp_score_dirs';
import { openKbpScoreCis, dvhErrorBreakdown, LEADERBOARD } from '../../lib/openkbp/report';

/** a coarse model path as the card names it: the run of a run checkpoint, else the folder itself */
const coarseName = (p: string) =>
  /checkpoints[\\/]best\/?$/.test(p) ? path.basename(path.dirname(path.dirname(p))) : p;

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`ship_model: --${name} is required`);
  return fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
/** every value of a repeatable option */
const args = (name: string) =>
  process.argv.flatMap((a, i) => (a === `--${name}` && process.argv[i + 1] ? [process.argv[i + 1]] : []));
const f4 = (x: number) => x.toFixed(4);
const f2 = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  const runDir = path.resolve(arg('run'));
  const name = arg('name');
  const valDir = path.resolve(arg('val-dir'));
  const preliminary = flag('preliminary');
  const tta = flag('tta');
  const phaseTta = flag('phase-tta');
  const modelDir = path.resolve('models', `openkbp-${name}`);
  const bestDir = path.join(runDir, 'checkpoints', 'best');
  if (!fs.existsSync(bestDir)) throw new Error(`no best checkpoint at ${bestDir}`);
  await initEngine({ quiet: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(runDir, 'training_config.json'), 'utf8'));
  const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'training_summary.json'), 'utf8'));
  const bestCfg = JSON.parse(fs.readFileSync(path.join(bestDir, 'config.json'), 'utf8'));

  const refinerRun = process.argv.includes('--refiner-run') ? path.resolve(arg('refiner-run')) : null;
  const refinerCfg = refinerRun
    ? JSON.parse(fs.readFileSync(path.join(refinerRun, 'training_config.json'), 'utf8'))
    : null;
  const refinerVal = refinerRun ? JSON.parse(fs.readFileSync(path.join(refinerRun, 'validation.json'), 'utf8')) : null;
  // the model folder as it will ship, staged first so it is scored exactly as users will run it
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-ship-model-'));
  for (const f of ['weights.json', 'weights.bin']) fs.copyFileSync(path.join(bestDir, f), path.join(stage, f));
  // the shipped folder records how it was scored, so `openkbp predict` reproduces it by default
  fs.writeFileSync(
    path.join(stage, 'config.json'),
    JSON.stringify(
      { ...bestCfg, meta: { ...(bestCfg.meta ?? {}), predict_tta: tta, predict_phase_tta: phaseTta } },
      null,
      1,
    ) + '\n',
  );
  const members = args('member').map((m) => path.resolve(m));
  /** a member checkpoint's run folder (members are runs' checkpoints/best) */
  const memberRun = (m: string) => path.dirname(path.dirname(m));
  members.forEach((m, k) => {
    const dst = path.join(stage, 'members', `m${k + 1}`);
    fs.mkdirSync(dst, { recursive: true });
    for (const f of ['config.json', 'weights.json', 'weights.bin']) fs.copyFileSync(path.join(m, f), path.join(dst, f));
  });
  if (refinerRun) {
    fs.mkdirSync(path.join(stage, 'refiner'));
    for (const f of ['config.json', 'weights.json', 'weights.bin'])
      fs.copyFileSync(path.join(refinerRun, 'checkpoints', 'refiner', f), path.join(stage, 'refiner', f));
  }

  // official scores of the staged folder through the same code as `openkbp predict` + `openkbp score`
  const keepPredictions = process.argv.includes('--predictions') ? path.resolve(arg('predictions')) : null;
  const predDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-ship-'));
  const t0 = Date.now();
  await predictOpenKbpDir({ model: stage, inputDir: valDir, outDir: predDir });
  const predictSeconds = (Date.now() - t0) / 1000;
  const score = await scoreOpenKbpDirs(valDir, predDir);
  if (keepPredictions)
    await withAtomicDir(keepPredictions, async (tmp) => fs.cpSync(predDir, tmp, { recursive: true }));
  fs.rmSync(predDir, { recursive: true, force: true });
  const ci = openKbpScoreCis(score);
  const breakdown = dvhErrorBreakdown(score);
  let floor: { dose_score: number; dvh_score: number; n_patients: number };
  const floorJson = process.argv.includes('--floor-json') ? arg('floor-json') : null;
  if (floorJson) floor = JSON.parse(fs.readFileSync(floorJson, 'utf8'));
  else {
    const fd = fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-floor-'));
    await writeFloorPredictions(valDir, fd);
    floor = await scoreOpenKbpDirs(valDir, fd);
    fs.rmSync(fd, { recursive: true, force: true });
  }
  const worst = Object.entries(score.per_patient)
    .sort((a, b) => b[1].dose_error - a[1].dose_error)
    .slice(0, 5);
  const env = cfg.environment;
  const h = cfg.hparams;
  // a fine-tuned run (--init-from) counts its parent run's training time and steps too
  type Stage = { run: string; hours: number; steps: number; epochs: number; lr: number };
  // a shipped model folder as the starting point carries its own stage list (validation_scores.json)
  const shippedRecord = (dir: string) =>
    fs.existsSync(path.join(dir, 'validation_scores.json'))
      ? JSON.parse(fs.readFileSync(path.join(dir, 'validation_scores.json'), 'utf8'))
      : null;
  /** the stages before a checkpoint's run: its --init-from chain, oldest first */
  const stagesBefore = (initFrom: string | null): Stage[] => {
    const out: Stage[] = [];
    for (let from = initFrom; from;) {
      const shipped = shippedRecord(from);
      if (shipped) {
        out.unshift(...(shipped.training.stages as Stage[]));
        break;
      }
      const pRun = path.dirname(path.dirname(from));
      const pSum = JSON.parse(fs.readFileSync(path.join(pRun, 'training_summary.json'), 'utf8'));
      const pCfg = JSON.parse(fs.readFileSync(path.join(pRun, 'training_config.json'), 'utf8'));
      const ck = JSON.parse(fs.readFileSync(path.join(from, 'config.json'), 'utf8'));
      const steps = (ck.meta?.global_step as number | undefined) ?? (pSum.global_step as number);
      out.unshift({
        run: path.basename(pRun),
        hours: pSum.total_time_hours as number,
        steps,
        epochs: pCfg.hparams.epochs as number,
        lr: pCfg.hparams.lr as number,
      });
      from = pCfg.hparams.init_from ?? null;
    }
    return out;
  };
  const parents = stagesBefore(h.init_from as string | null);
  // ensemble members: their own stages, those not already in the main model's chain (a member may be an ancestor stage)
  const memberStages: Stage[] = [];
  for (const m of members) {
    const mRun = memberRun(m);
    const mSum = JSON.parse(fs.readFileSync(path.join(mRun, 'training_summary.json'), 'utf8'));
    const mCfg = JSON.parse(fs.readFileSync(path.join(mRun, 'training_config.json'), 'utf8'));
    const own: Stage = {
      run: path.basename(mRun),
      hours: mSum.total_time_hours as number,
      steps: mSum.global_step as number,
      epochs: mCfg.hparams.epochs as number,
      lr: mCfg.hparams.lr as number,
    };
    const known = new Set([...parents, ...memberStages].map((p) => p.run).concat(path.basename(runDir)));
    for (const st of [...stagesBefore(mCfg.hparams.init_from ?? null), own])
      if (!known.has(st.run)) memberStages.push(st);
  }
  // a fine-tuned refiner (--init-from) counts its parent refiner runs' time and steps too
  const refinerStages: Array<{ run: string; hours: number; steps: number; coarse: string }> = [];
  for (let run = refinerRun; run;) {
    const c = JSON.parse(fs.readFileSync(path.join(run, 'training_config.json'), 'utf8'));
    const v = JSON.parse(fs.readFileSync(path.join(run, 'validation.json'), 'utf8'));
    refinerStages.unshift({
      run: path.basename(run),
      hours: (v.training_seconds as number) / 3600,
      steps: c.hparams.steps as number,
      coarse: c.refiner.coarseSource as string,
    });
    const from = c.hparams.init_from as string | null;
    const shipped = from ? shippedRecord(path.dirname(from)) : null;
    if (shipped?.refiner?.stages) {
      refinerStages.unshift(...(shipped.refiner.stages as typeof refinerStages));
      break;
    }
    run = from ? path.dirname(path.dirname(from)) : null;
  }
  const refinerHours = refinerStages.reduce((a, r) => a + r.hours, 0);
  const hours =
    (summary.total_time_hours as number) +
    [...parents, ...memberStages].reduce((a, p) => a + p.hours, 0) +
    refinerHours;
  const totalSteps = (summary.global_step as number) + [...parents, ...memberStages].reduce((a, p) => a + p.steps, 0);
  const epochsDone = totalSteps / (cfg.data.n_train as number);
  const machine = {
    cpu: env.cpu,
    cores: env.cores,
    memory_gb: env.memoryGb,
    platform: env.platform,
    backend: `${env.engine.backend}/${env.engine.opsPath}`,
    threads: env.engine.threads,
  };
  const scores = {
    model: `openkbp-${name}`,
    preliminary,
    validation: {
      n_patients: score.n_patients,
      n_dvh_cells: score.n_dvh_cells,
      dose_score: score.dose_score,
      dvh_score: score.dvh_score,
      ci95: ci,
      tta,
      phase_tta: phaseTta,
    },
    resolution_floor: { dose_score: floor.dose_score, dvh_score: floor.dvh_score, n_patients: floor.n_patients },
    dvh_error_by_metric: breakdown.byMetric,
    dvh_error_by_structure: breakdown.byStructure,
    per_patient: Object.fromEntries(
      Object.entries(score.per_patient).map(([id, p]) => [id, { dose_error: p.dose_error, dvh_errors: p.dvh_errors }]),
    ),
    members: members.map((m, k) => ({ folder: `members/m${k + 1}`, run: path.basename(memberRun(m)) })),
    member_stages: memberStages,
    refiner: refinerRun
      ? {
          run: path.basename(refinerRun),
          stages: refinerStages,
          hparams: refinerCfg.hparams,
          params: refinerCfg.model_params,
          n_train: refinerCfg.data.n_train,
          coarse_source: refinerCfg.refiner.coarseSource,
          training_hours: refinerHours,
          validation_before_after: { coarse: refinerVal.coarse, refined: refinerVal.refined },
        }
      : null,
    training: {
      run: path.basename(runDir),
      stages: [
        ...parents,
        {
          run: path.basename(runDir),
          hours: summary.total_time_hours,
          steps: summary.global_step,
          epochs: h.epochs,
          lr: h.lr,
        },
      ],
      hparams: h,
      global_step: totalSteps,
      epochs_equivalent: epochsDone,
      planned_epochs: h.epochs,
      wall_time_hours: hours,
      stopped_by: summary.stopped_by,
      best: summary.best,
    },
    machine,
    leaderboard: LEADERBOARD,
    predict_seconds_33: predictSeconds,
  };
  const card = `# OpenKBP model \`openkbp-${name}\`${preliminary ? ' — PRELIMINARY (short pipeline-proof run, not the benchmark model)' : ''}

${
  preliminary
    ? `> **Preliminary.** This checkpoint comes from a ${f2(hours * 60)}-minute run (${epochsDone.toFixed(2)} of ${h.epochs} planned epochs) made to prove the
> pipeline end to end. It does **not** meet the acceptance thresholds (validation dose score ≤ 3.0 Gy, DVH score ≤ 2.0 Gy).
> The full run is \`bash scripts/openkbp/train.sh\` (see docs/openkbp.md).

`
    : ''
}## Data
- Training: ${cfg.data.n_train} OpenKBP train patients (openkbp npz, \`npz/train\`); validation (model selection and the scores below): ${cfg.data.n_val} patients (\`npz/validation\`). The test split (pt_241–340) was never used.
- OpenKBP (Babier et al., Med Phys 48:5549, 2021; TCIA): head-and-neck CT, 10 structures, 9-field IMRT doses.

## Model and resolution
- ${bestCfg.className}, ${bestCfg.numParameters.toLocaleString('en-US')} parameters, base ${h.base_channels} channels, ${h.levels} levels, 14 input channels (CT, 10 structure occupancies, Rx channel PTV70·1+PTV63·0.9+PTV56·0.8, possible-dose mask, PTV-union SDF).
- Trained and predicted at **64³** (2×2×2 mask-aware mean of the 128³ grid); predictions are up-sampled to 128³ by mask-normalised trilinear interpolation and zeroed outside the possible-dose mask.
- Loss: L1 masked to the possible-dose mask; AdamW, weight decay ${h.weight_decay}, ${h.warmup_steps}-step warm-up then cosine (per stage, below); flips (L/R with parotid swap) and shifts.${refinerRun ? '\n' : ''}${refinerRun ? `- **128³ refinement stage** (\`refiner/\`, \`vmat openkbp refine-train\`): ${refinerCfg.model} with ${refinerCfg.model_params.toLocaleString('en-US')} parameters (base ${refinerCfg.hparams.base_channels}, ${refinerCfg.hparams.levels} levels) on 13 full-resolution channels (the up-sampled 64³ prediction, CT, the 10 structures, possible-dose mask); it adds a residual to the up-sampled prediction. Trained on ${refinerCfg.hparams.patch}³ patches of the 128³ grid of ${refinerCfg.data.n_train} training patients with L1 masked to the possible-dose mask; coarse input (cascade training): ${refinerStages.map((r, i) => `${i + 1}. \`${r.run}\` ${r.steps} steps on ${r.coarse.startsWith('model ') ? `predictions of \`${coarseName(r.coarse.slice(6))}\`` : 'ground truth down and up'}, ${f2(r.hours)} h`).join('; ')}.` : ''}

## Training
- Steps: ${totalSteps} (batch 1, ${epochsDone.toFixed(2)} epochs), stopped by: ${summary.stopped_by}; best checkpoint at step ${summary.best?.global_step}${parents.length ? ' of the last stage' : ''}.
${
  parents.length
    ? `- Stages: ${[...parents, { run: path.basename(runDir), hours: summary.total_time_hours as number, steps: summary.global_step as number, epochs: h.epochs as number, lr: h.lr as number }].map((p, i) => `${i + 1}. \`${p.run}\` ${p.steps} steps, peak lr ${p.lr}, cosine over ${p.epochs} epochs, ${f2(p.hours)} h`).join('; ')} — each later stage starts from the previous stage's best weights (\`--init-from\`) with a fresh warm-up and cosine schedule.
`
    : ''
}${
    members.length
      ? `- **Ensemble**: the 64³ outputs of this model and of ${members.map((m, k) => `\`members/m${k + 1}\` (best checkpoint of \`${path.basename(memberRun(m))}\`)`).join(', ')} are averaged before up-sampling${memberStages.length ? `; the members' own stages (${memberStages.map((p) => `\`${p.run}\` ${p.steps} steps, ${f2(p.hours)} h`).join('; ')}) count toward steps and wall time` : " (members are stages of this model's own chain: no extra training time)"}.
`
      : ''
  }
- Wall time (training, all sessions): **${f2(hours)} h**.
- Machine: ${env.cpu}, ${env.cores} cores, ${env.memoryGb} GB RAM, ${env.platform}; engine backend \`${env.engine.backend}\`, ops path \`${env.engine.opsPath}\` (oneDNN ${env.engine.versions.onednn ?? 'n/a'}), ${env.engine.threads} thread(s) in the last stage; Node ${env.node}, tfjs ${env.engine.versions.tfjs}.

## Validation scores (official OpenKBP metrics, ${score.n_patients} patients, \`vmat openkbp predict\` + \`vmat openkbp score\`${tta || phaseTta ? `, test-time augmentation: ${[tta ? 'L/R mirror' : '', phaseTta ? '8 block-grid phases of the 64³ stage' : ''].filter(Boolean).join(' + ')}` : ''})
| | dose score (Gy) | DVH score (Gy) |
|---|---|---|
| this model | **${f4(score.dose_score)}** (95% CI ${f4(ci.dose.low)}–${f4(ci.dose.high)}) | **${f4(score.dvh_score)}** (95% CI ${f4(ci.dvh.low)}–${f4(ci.dvh.high)}) |
| resolution floor of the 64³ scheme (ground truth down and up) | ${f4(floor.dose_score)} | ${f4(floor.dvh_score)} |
| leaderboard winner (test set, 128³) | ${LEADERBOARD.winner.dose_score} | ${LEADERBOARD.winner.dvh_score} |
| leaderboard median of 28 teams (test set) | ≈ ${LEADERBOARD.median_dose_score_28_teams} | – |

Acceptance target of the benchmark issue (dose score ≤ 3.0 Gy and DVH score ≤ 2.0 Gy on these patients): **${score.dose_score <= 3 && score.dvh_score <= 2 ? 'met' : 'not met'}**.

CIs: percentile bootstrap over patients (9,999 resamples, seed 42); the DVH score is pooled over all ${score.n_dvh_cells} cells.
Leaderboard numbers are on the 100 test patients, ours on the 33 validation patients: context, not a ranking.

Mean DVH error by metric: ${Object.entries(breakdown.byMetric)
    .map(([k, v]) => `${k} ${f2(v.mean)} Gy (n ${v.n})`)
    .join('; ')}.

Worst patients by dose error: ${worst.map(([id, p]) => `${id} ${f2(p.dose_error)} Gy`).join(', ')}.

## Use
\`\`\`bash
npx vmat openkbp predict --model models/openkbp-${name} --input-dir <OpenKBP pt_N folders or npz> --out <dir>
npx vmat openkbp score --ref-dir <same patients with dose> --pred-dir <dir>
\`\`\`
`;
  await withAtomicDir(modelDir, async (tmp) => {
    fs.cpSync(stage, tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'validation_scores.json'), JSON.stringify(scores, null, 1) + '\n');
    fs.writeFileSync(path.join(tmp, 'MODEL_CARD.md'), card);
  });
  await writeJsonAtomic(path.join(runDir, 'shipped.json'), {
    model_dir: modelDir,
    dose_score: score.dose_score,
    dvh_score: score.dvh_score,
  });
  await writeFileAtomic(path.join(runDir, 'MODEL_CARD.md'), card);
  fs.rmSync(stage, { recursive: true, force: true });
  process.stdout.write(card);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
