/** `vmat export-rtdose`: a prediction (<case>_pred.npz) as an RTDOSE on the case's CT (lib/dicom/export_rtdose.ts). */
import type { Command } from 'commander';
import * as path from 'node:path';
import { UsageError } from '../../core/errors';
import { printJson } from '../json';

interface Opts {
  pred: string;
  dicomDir: string;
  out: string;
  extent: string;
  modelName?: string;
  caseCheck: boolean;
  json?: boolean;
}

/** Registers `vmat export-rtdose`: writes a predicted dose (normalised × the case's Rx, Gy) as an RTDOSE on the case's CT grid. */
export function register(program: Command): void {
  program
    .command('export-rtdose')
    .description(
      "write a predicted dose as a DICOM RTDOSE on the case's CT grid: Gy = prediction x the case's Rx (metadata), put back from the crop box, " +
        "the CT's frame of reference, study and patient, a reference to the RTPLAN if present, 32-bit pixels x DoseGridScaling, new UIDs",
    )
    .requiredOption(
      '--pred <file>',
      '<case>_pred.npz written by `vmat infer` (dose / Rx on the crop box, metadata of the preprocessed case)',
    )
    .requiredOption('--dicom-dir <dir>', 'the case folder the npz was preprocessed from (CT series, optional RTPLAN)')
    .requiredOption('--out <file>', 'RTDOSE file to write (e.g. RD.predicted.dcm)')
    .option(
      '--extent <e>',
      "dose grid: 'crop' = the crop box (CT voxel centres, compact) or 'ct' = the whole CT grid, zero outside the crop box",
      'crop',
    )
    .option(
      '--model-name <name>',
      "model named in SeriesDescription (default: from the prediction's metadata, else 'unknown model')",
    )
    .option('--no-case-check', "export even if the prediction's case_id differs from the folder name")
    .option('--json', 'print what was written (geometry, UIDs, scaling, warnings) as JSON')
    .action(async (o: Opts) => {
      const { exportPredictedRtDose } = await import('../../dicom/export_rtdose');
      if (o.extent !== 'crop' && o.extent !== 'ct')
        throw new UsageError(`--extent: expected crop or ct, found "${o.extent}"`);
      const r = await exportPredictedRtDose({
        pred: o.pred,
        dicomDir: o.dicomDir,
        out: path.resolve(o.out),
        extent: o.extent,
        modelName: o.modelName,
        checkCaseId: o.caseCheck,
      });
      if (o.json) {
        printJson(r);
        return;
      }
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(
        `wrote ${r.out}: RTDOSE ${r.shape.join(' x ')} (${r.extent === 'crop' ? 'crop box' : 'whole CT'}), max ${r.maxDoseGy.toFixed(2)} Gy ` +
          `(Rx ${r.rxGy} Gy from ${r.rxFrom}), model "${r.model}", ${r.referencedPlanUid ? 'references the RTPLAN' : 'no RTPLAN referenced'}\n`,
      );
    });
}
