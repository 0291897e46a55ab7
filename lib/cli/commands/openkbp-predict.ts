/**
 * `vmat openkbp predict`: official-format pt_N.csv predictions of a trained OpenKBP model
 * (models/openkbp-*, or a run's checkpoint folder) for OpenKBP patient folders or openkbp npz files.
 */
import type { Command } from 'commander';
import * as path from 'node:path';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';
import { initEngine } from '../../engine';
import { predictOpenKbpDir } from '../../openkbp/predict_dir';

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

export function register(program: Command): void {
  openkbpGroup(program)
    .command('predict')
    .description(
      'predict OpenKBP doses with a trained 64³ model; writes official pt_N.csv files (values > 0, masked by the possible-dose mask)',
    )
    .requiredOption('--model <dir>', 'model folder (models/openkbp-<name>/ or runs/<exp>/checkpoints/best)')
    .requiredOption('--input-dir <dir>', 'OpenKBP patient folders (pt_N/ with CSVs) or openkbp npz files')
    .requiredOption('--out <dir>', 'output folder for pt_N.csv')
    .option(
      '--tta',
      "average with the left-right flipped prediction (default: the model's recommendation, meta.predict_tta)",
    )
    .option('--no-tta', 'no left-right test-time augmentation')
    .option(
      '--phase-tta',
      "average the 64³ stage over the 8 placements of its 2×2×2 block grid (8× its cost; default: the model's meta.predict_phase_tta)",
    )
    .option('--no-phase-tta', 'no block-phase test-time augmentation')
    .option('--json', 'print one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (o: PredictFlags) => {
      await initEngine({ quiet: true });
      const r = await predictOpenKbpDir({
        model: o.model,
        inputDir: o.inputDir,
        outDir: o.out,
        tta: o.tta,
        phases: o.phaseTta,
        quiet: !!o.quiet || (!!o.json && !process.stderr.isTTY),
      });
      if (o.json)
        printJson({
          out_dir: path.resolve(o.out),
          n_patients: r.files.length,
          tta: r.tta,
          phase_tta: r.phases,
          seconds: r.seconds,
          files: r.files,
        });
      else
        console.log(
          `${r.files.length} predictions written to ${path.resolve(o.out)} in ${r.seconds.toFixed(1)} s${augmentationNote(r.tta, r.phases)}`,
        );
    });
}
