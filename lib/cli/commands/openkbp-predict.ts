/**
 * `vmat openkbp predict`: official-format pt_N.csv predictions of any model folder (the shipped
 * models/openkbp-*, an OpenKBP or generic training checkpoint) for OpenKBP patient folders or openkbp
 * npz files — `vmat infer`'s machinery (lib/infer/run_inference.ts) writing only the CSVs.
 */
import type { Command } from 'commander';
import * as path from 'node:path';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';
import type { Progress } from '../../core/progress';

interface PredictFlags {
  model: string;
  inputDir: string;
  out: string;
  tta?: boolean;
  phaseTta?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function augmentationNote(tta: boolean, phases: boolean): string {
  const parts = [tta ? 'L/R' : '', phases ? '8 block phases' : ''].filter(Boolean);
  return parts.length ? ` (test-time augmentation: ${parts.join(' + ')})` : '';
}

/** Registers `vmat openkbp predict`: official sparse pt_N.csv doses (Gy) from a model bundle for a folder of OpenKBP patients. */
export function register(program: Command): void {
  openkbpGroup(program)
    .command('predict')
    .description(
      'predict OpenKBP doses with a trained 64³ model; writes official pt_N.csv files (values > 0, masked by the possible-dose mask)',
    )
    .requiredOption(
      '--model <dir>',
      'model folder (models/openkbp-<name>/ or a run checkpoint runs/<exp>/checkpoints/best-…)',
    )
    .requiredOption('--input-dir <dir>', 'OpenKBP patient folders (pt_N/ with CSVs) or openkbp npz files')
    .requiredOption('--out <dir>', 'output folder for pt_N.csv')
    .option('--tta', "average with the left-right mirrored prediction (default: the model folder's manifest)")
    .option('--no-tta', 'no left-right test-time augmentation')
    .option(
      '--phase-tta',
      "average the 64³ stage over the 8 placements of its 2×2×2 block grid (8× its cost; default: the model folder's manifest)",
    )
    .option('--no-phase-tta', 'no block-phase test-time augmentation')
    .option('--json', 'print one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (o: PredictFlags) => {
      const { initEngine } = await import('../../engine');
      const { loadBundle, predictorFeatures } = await import('../../infer/bundle');
      const { runInference } = await import('../../infer/run_inference');
      const { createProgress } = await import('../../core/progress');
      await initEngine({ quiet: true });
      const t0 = Date.now();
      const b = loadBundle(o.model, { tta: o.tta, phaseTta: o.phaseTta });
      const features = predictorFeatures(b.spec);
      const quiet = !!o.quiet || (!!o.json && !process.stderr.isTTY);
      let progress: Progress | null = null;
      try {
        const r = await runInference(b.predictor, {
          inputDir: o.inputDir,
          outputDir: o.out,
          npz: false,
          openkbpCsv: true,
          requireOpenKbp: true,
          onCase: (id, k, n, s) => {
            progress ??= createProgress({ label: 'openkbp predict', total: n, quiet });
            progress.tick(1, `${id} ${s.toFixed(1)} s`);
            if (k === n) progress.stop();
          },
        });
        const files = r.predictions.map((p) => ({ id: p.id, csv: p.csv as string, seconds: p.seconds }));
        const seconds = (Date.now() - t0) / 1000;
        if (o.json)
          printJson({
            out_dir: path.resolve(o.out),
            n_patients: files.length,
            tta: features.tta,
            phase_tta: features.phaseTta,
            predictor: b.predictor.describe(),
            seconds,
            files,
          });
        else
          console.log(
            `${files.length} predictions written to ${path.resolve(o.out)} in ${seconds.toFixed(1)} s${augmentationNote(features.tta, features.phaseTta)}`,
          );
      } finally {
        b.predictor.dispose();
      }
    });
}
