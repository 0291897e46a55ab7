/**
 * `vmat infer`: full-volume predictions for a folder of cases with a trained checkpoint (or the
 * non-learned distance baseline fitted on a run's training cases), written as <case>_pred.npz
 * (reference layout) and, for OpenKBP cases, pt_N.csv; `--compute-metrics` adds the evaluation JSON.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initEngine } from '../../engine';
import { runInference, readCaseList, type Predictor } from '../../infer/run_inference';
import { checkpointPredictor, distanceBaselinePredictor, readDistanceBaseline } from '../../infer/predictors';
import { fitDistanceBaseline } from '../../infer/distance_baseline';
import { listCasePaths, loadCase } from '../../data/load';
import { caseIdOfPath } from '../../inputs/case_store';
import { inputRecipeFor, prepareCase } from '../../inputs/case_inputs';
import { intOpt } from '../options';
import { createProgress } from '../../core/progress';
import { printJson } from '../json';
import { UsageError, DataError } from '../../core/errors';
import { writeJsonAtomic } from '../../core/atomic';

interface InferFlags {
  checkpoint?: string;
  distanceBaseline?: string;
  trainDir?: string;
  inputDir?: string;
  outputDir?: string;
  patchSize?: number;
  overlap?: number;
  batchSize: number;
  casesFrom?: string;
  computeMetrics: boolean;
  gammaSubsample: number;
  tta: boolean;
  openkbpCsv?: boolean;
  json: boolean;
  quiet: boolean;
}

/** the distance baseline fitted on the training ids of a run folder's split.json (or read from a JSON) */
async function distancePredictor(
  spec: string,
  trainDir: string,
  outputDir: string,
  quiet: boolean,
): Promise<Predictor> {
  if (spec.endsWith('.json') && fs.existsSync(spec) && !fs.statSync(spec).isDirectory()) {
    const m = readDistanceBaseline(spec);
    const files = await listCasePaths(trainDir);
    return distanceBaselinePredictor(m, inputRecipeFor([await loadCase(files[0])]));
  }
  const splitFile = path.join(spec, 'split.json');
  if (!fs.existsSync(splitFile))
    throw new DataError(
      spec,
      'split.json',
      'a run folder with split.json (or a distance_baseline.json)',
      'no split.json',
    );
  const split = JSON.parse(fs.readFileSync(splitFile, 'utf8')) as { train: string[] };
  const byId = new Map((await listCasePaths(trainDir)).map((f) => [caseIdOfPath(f), f]));
  const cases = [];
  for (const id of split.train) {
    const f = byId.get(id);
    if (!f) throw new DataError(trainDir, id, 'the training case listed in split.json', 'no file');
    cases.push(await loadCase(f));
  }
  const recipe = inputRecipeFor(cases);
  const model = fitDistanceBaseline(cases.map((c) => prepareCase(c, recipe)));
  await writeJsonAtomic(path.join(outputDir, 'distance_baseline.json'), model);
  if (!quiet) process.stderr.write(`distance baseline fitted on ${cases.length} training cases of ${spec}\n`);
  return distanceBaselinePredictor(model, recipe);
}

export function register(program: Command): void {
  program
    .command('infer')
    .description(
      'predict full-volume doses by sliding window (or the distance baseline); write <case>_pred.npz, pt_N.csv and optional metrics',
    )
    .option('--checkpoint <dir>', 'checkpoint folder (runs/<exp>/checkpoints/best-…)')
    .option(
      '--distance-baseline <run-dir|json>',
      "instead of a model: the mean-dose-by-distance-to-PTV baseline fitted on the run's training cases",
    )
    .option('--train-dir <dir>', 'where the training cases of --distance-baseline are (default --input-dir)')
    .option('--input-dir <dir>', 'folder of cases to predict')
    .option('--output-dir <dir>', 'where predictions are written')
    .option('--patch-size <n>', 'sliding-window patch (default: the training patch size)', intOpt('--patch-size', 2))
    .option('--overlap <n>', 'sliding-window overlap (default patch/2 = 64 at 128)', intOpt('--overlap', 0))
    .option('--batch-size <n>', 'patches per forward pass', intOpt('--batch-size', 1), 1)
    .option('--cases-from <file>', 'only the cases in this test_cases.json (or split.json test list)')
    .option('--compute-metrics', 'also write baseline_evaluation_results.json', false)
    .option('--gamma-subsample <n>', 'gamma subsampling for --compute-metrics', intOpt('--gamma-subsample', 1), 2)
    .option('--tta', 'average with the left-right flipped prediction', false)
    .option('--openkbp-csv', 'write pt_N.csv files for every case (default: OpenKBP cases only)')
    .option('--no-openkbp-csv', 'never write pt_N.csv files')
    .option('--json', 'print a JSON summary', false)
    .option('--quiet', 'no progress output', false)
    .action(async (f: InferFlags) => {
      if (!f.inputDir) throw new UsageError('infer: --input-dir is required');
      if (!f.outputDir) throw new UsageError('infer: --output-dir is required');
      if (!!f.checkpoint === !!f.distanceBaseline)
        throw new UsageError('infer: give exactly one of --checkpoint or --distance-baseline');
      await initEngine({ quiet: f.quiet });
      fs.mkdirSync(f.outputDir, { recursive: true });
      const predictor = f.checkpoint
        ? checkpointPredictor(f.checkpoint, {
            patchSize: f.patchSize,
            overlap: f.overlap,
            batchSize: f.batchSize,
            tta: f.tta,
          })
        : await distancePredictor(f.distanceBaseline!, f.trainDir ?? f.inputDir, f.outputDir, f.quiet);
      const caseIds = f.casesFrom ? readCaseList(f.casesFrom) : null;
      const progress = f.quiet
        ? null
        : createProgress({ label: 'infer', total: caseIds?.length ?? (await listCasePaths(f.inputDir)).length });
      const t0 = Date.now();
      const r = await runInference(predictor, {
        inputDir: f.inputDir,
        outputDir: f.outputDir,
        caseIds,
        openkbpCsv: f.openkbpCsv,
        computeMetrics: f.computeMetrics,
        gammaSubsample: f.gammaSubsample,
        onCase: (id, _k, _n, s) => progress?.tick(1, `${id} ${s.toFixed(1)} s`),
      });
      progress?.stop();
      const summary = {
        output_dir: path.resolve(f.outputDir),
        model_type: predictor.modelType,
        n_cases: r.predictions.length,
        seconds: (Date.now() - t0) / 1000,
        predictions: r.predictions,
        evaluation_file: r.evaluationFile,
      };
      if (f.json) printJson(summary);
      else
        process.stdout.write(
          `${r.predictions.length} predictions in ${summary.output_dir}${r.evaluationFile ? `\nmetrics: ${r.evaluationFile}` : ''}\n`,
        );
    });
}
