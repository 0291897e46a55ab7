/**
 * `vmat calibrate`: initial log-sigmas for uncertainty weighting (spec 5.7,
 * calibrate_loss_normalization.py): writes <data-dir>/loss_normalization_calib.json by default.
 */
import type { Command } from 'commander';
import * as path from 'node:path';
import { intOpt, numOpt } from '../options';
import { printJson } from '../json';
import { UsageError } from '../../core/errors';

interface CalibrateFlags {
  dataDir?: string;
  numSamples: number;
  noiseStd: number;
  cropSize: number;
  seed: number;
  output?: string;
  json: boolean;
  quiet: boolean;
}

/** Registers `vmat calibrate`: measures every loss term on noisy targets and writes the initial log-sigmas for uncertainty weighting. */
export function register(program: Command): void {
  program
    .command('calibrate')
    .description(
      'measure every loss on noisy copies of the targets and write the initial log-sigmas for --use-uncertainty-weighting',
    )
    .option('--data-dir <dir>', 'folder of cases (the first --num-samples in sorted order are used)')
    .option('--num-samples <n>', 'cases used', intOpt('--num-samples', 1), 12)
    .option('--noise-std <gy>', 'Gaussian noise added to the target dose, in Gy', numOpt('--noise-std', 0), 5.0)
    .option('--crop-size <n>', 'crop edge around the PTV70 centroid', intOpt('--crop-size', 4), 128)
    .option('--seed <n>', 'noise seed', intOpt('--seed', 0), 0)
    .option('--output <file>', 'output JSON (default <data-dir>/loss_normalization_calib.json)')
    .option('--json', 'print the calibration JSON', false)
    .option('--quiet', 'no progress output', false)
    .action(async (f: CalibrateFlags) => {
      if (!f.dataDir) throw new UsageError('calibrate: --data-dir is required');
      const { initEngine } = await import('../../engine');
      const { calibrateLossNormalization } = await import('../../losses/calibration');
      const { writeJsonAtomic } = await import('../../core/atomic');
      const { createProgress } = await import('../../core/progress');
      await initEngine({ quiet: f.quiet });
      const progress = f.quiet ? null : createProgress({ label: 'calibrate', total: f.numSamples });
      const r = await calibrateLossNormalization(f.dataDir, {
        numSamples: f.numSamples,
        noiseStdGy: f.noiseStd,
        cropSize: f.cropSize,
        seed: f.seed,
        onProgress: () => progress?.tick(),
      });
      progress?.stop();
      const out = f.output ?? path.join(f.dataDir, 'loss_normalization_calib.json');
      await writeJsonAtomic(out, r);
      if (f.json) printJson(r);
      else {
        process.stdout.write(`calibration written to ${out}\n`);
        for (const [k, v] of Object.entries(r.avg_raw_losses))
          process.stdout.write(
            `  ${k.padEnd(11)} avg ${v.toExponential(3)}  log_sigma ${r.recommended_initial_log_sigma[k].toFixed(4)}\n`,
          );
      }
    });
}
