/**
 * `vmat infer`: full-volume predictions for a folder of cases with any model folder — a training
 * checkpoint, a shipped bundle (models/*), a legacy folder — or the non-learned distance baseline
 * fitted on a run's training cases, written as <case>_pred.npz (reference layout) and, for OpenKBP
 * cases, pt_N.csv; `--compute-metrics` adds evaluation_results.json.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { intOpt } from '../options';
import { printJson } from '../json';
import { UsageError } from '../../core/errors';

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
  tta?: boolean;
  openkbpCsv?: boolean;
  json: boolean;
  quiet: boolean;
}

/** Registers `vmat infer`: predicts every case of a folder with a model bundle/checkpoint or the distance baseline. */
export function register(program: Command): void {
  program
    .command('infer')
    .description(
      'predict full-volume doses by sliding window (or the distance baseline); write <case>_pred.npz, pt_N.csv and optional metrics',
    )
    .option(
      '--checkpoint <dir>',
      'model folder: a run checkpoint (runs/<exp>/checkpoints/best-…) or a model bundle (models/<name>)',
    )
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
    .option('--compute-metrics', 'also write evaluation_results.json (cases with a reference dose)', false)
    .option('--gamma-subsample <n>', 'gamma subsampling for --compute-metrics', intOpt('--gamma-subsample', 1), 2)
    .option('--tta', "average with the left-right mirrored prediction (default: the model folder's setting)")
    .option('--no-tta', 'no left-right test-time augmentation')
    .option('--openkbp-csv', 'write pt_N.csv files for every case (default: OpenKBP cases only)')
    .option('--no-openkbp-csv', 'never write pt_N.csv files')
    .option('--json', 'print a JSON summary', false)
    .option('--quiet', 'no progress output', false)
    .action(async (f: InferFlags) => {
      if (!f.inputDir) throw new UsageError('infer: --input-dir is required');
      if (!f.outputDir) throw new UsageError('infer: --output-dir is required');
      if (!!f.checkpoint === !!f.distanceBaseline)
        throw new UsageError('infer: give exactly one of --checkpoint or --distance-baseline');
      const { initEngine } = await import('../../engine');
      const { runInference, readCaseList } = await import('../../infer/run_inference');
      const { loadBundle } = await import('../../infer/bundle');
      const { distanceBaselineFromRun } = await import('../../infer/distance_baseline');
      const { listCasePaths } = await import('../../data/load');
      const { createProgress } = await import('../../core/progress');
      await initEngine({ quiet: f.quiet });
      fs.mkdirSync(f.outputDir, { recursive: true });
      const bundle = f.checkpoint
        ? loadBundle(f.checkpoint, {
            patchSize: f.patchSize,
            overlap: f.overlap,
            batchSize: f.batchSize,
            tta: f.tta,
          })
        : null;
      const predictor =
        bundle?.predictor ??
        (await distanceBaselineFromRun(f.distanceBaseline!, f.trainDir ?? f.inputDir, f.outputDir, f.quiet));
      const provenance = bundle
        ? { model: bundle.manifest.name, checkpoint: path.resolve(bundle.dir) }
        : { model: 'distance baseline', checkpoint: path.resolve(f.distanceBaseline!) };
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
        provenance,
        gammaSubsample: f.gammaSubsample,
        onCase: (id, _k, _n, s) => progress?.tick(1, `${id} ${s.toFixed(1)} s`),
      });
      progress?.stop();
      predictor.dispose();
      if (r.withoutDose.length && f.computeMetrics && !f.quiet)
        process.stderr.write(
          `infer: ${r.withoutDose.length} case(s) have no reference dose and are not scored: ${r.withoutDose.join(', ')}\n`,
        );
      const summary = {
        output_dir: path.resolve(f.outputDir),
        model_type: predictor.modelType,
        predictor: predictor.describe(),
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
