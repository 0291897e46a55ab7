/**
 * `vmat preprocess`: clinical DICOM-RT case folders → reference npz files (spec 2), the
 * reference's flags in kebab-case plus `--json`, `--jobs`, `--allow-missing-dose` and the
 * documented corrections of the reference's defects (`--fill-holes`, `--pixel-spacing-order`,
 * `--reorient`; defaults reproduce the reference).
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors';
import { printJson } from '../json';
import { choiceOpt, intOpt, numOpt } from '../options';

interface PreprocessFlags {
  inputDir?: string;
  outputDir?: string;
  mappingFile?: string;
  layout: 'v2.3' | 'v2.4';
  skipPlots?: boolean;
  strictValidation?: boolean;
  sdf: boolean;
  beams: boolean;
  sdfClipMm: number;
  inplaneSize: number;
  zMarginMm: number;
  json?: boolean;
  jobs?: number;
  allowMissingDose?: boolean;
  fillHoles: 'or' | 'even-odd';
  pixelSpacingOrder: 'reference' | 'correct';
  reorient?: boolean;
}

/** Registers `vmat preprocess`: DICOM-RT case folders to reference npz files (v2.4 or v2.3), in parallel; exit 1 if any case failed. */
export function register(program: Command): void {
  program
    .command('preprocess')
    .description(
      'DICOM-RT case folders (CT series, RTSTRUCT, RTPLAN, RTDOSE) → reference npz (v2.4 default, or v2.3), as the reference preprocess_dicom_rt script; exit 1 if any case failed',
    )
    .option('--input-dir <dir>', 'folder whose immediate sub-folders are the cases (processed in sorted order)')
    .option('--output-dir <dir>', 'where <case>.npz, debug_<case>.png and batch_summary.json go')
    .option(
      '--mapping-file <file>',
      "ROI-name mapping in the oar_mapping.json format; its number of entries is the number of mask channels (default: the reference's mapping shipped with vmat, lib/dicom/oar_mapping.json)",
    )
    .option(
      '--layout <layout>',
      "v2.4 (9 channels, absent SDF 0.0, DVH validation) or v2.3 (absent SDF +1.0, no dvh_validation; cases without PTV56 are kept, as with the reference v2.3 --relax_filter that made its data). The channel count is the mapping's entry count",
      choiceOpt('--layout', ['v2.3', 'v2.4'] as const),
      'v2.4',
    )
    .option('--skip-plots', 'no debug_<case>.png panels')
    .option('--strict-validation', 'a case failing the critical validation checks gets no npz (it is listed as failed)')
    .option('--no-sdf', 'no masks_sdf member (metadata sdf_clip_mm None)')
    .option('--no-beams', 'no beam geometry / MLC arrays (metadata beam_geometry None)')
    .option('--sdf-clip-mm <mm>', 'SDF clip distance', numOpt('--sdf-clip-mm', 1e-6), 50)
    .option('--inplane-size <voxels>', 'in-plane crop size (Y and X)', intOpt('--inplane-size', 1), 300)
    .option('--z-margin-mm <mm>', 'axial margin beyond the structures', numOpt('--z-margin-mm', 0), 30)
    .option('--json', 'print a JSON summary on stdout (batch summary + per-case results)')
    .option('--jobs <n>', 'cases processed in parallel (default: cores, at most 4)', intOpt('--jobs', 1))
    .option(
      '--allow-missing-dose',
      'a case without RTDOSE is written without dose: no `dose` member, metadata dose_available False and dose-derived fields None (for prediction on a new patient)',
    )
    .option(
      '--fill-holes <mode>',
      "'or': every contour filled and OR-ed, inner contours do not cut holes (the reference); 'even-odd': contours of one ROI XOR-ed per slice, so an inner contour is a hole",
      choiceOpt('--fill-holes', ['or', 'even-odd'] as const),
      'or',
    )
    .option(
      '--pixel-spacing-order <order>',
      "'reference': PixelSpacing[0] (the row spacing) is used for x, as the reference does (wrong for non-square pixels); 'correct': PixelSpacing[1] for x, [0] for y (contours, dose geometry, voxel_spacing_mm, SDFs)",
      choiceOpt('--pixel-spacing-order', ['reference', 'correct'] as const),
      'reference',
    )
    .option(
      '--reorient',
      'flip CT and RTDOSE with a non-HFS axis-aligned ImageOrientationPatient (HFP, FFS, FFP...) to identity; by default it is ignored (identity assumed) as the reference does, with a warning',
    )
    .addHelpText(
      'after',
      `
Cases fail (no npz, listed in batch_summary.json with the file and tag) on: a selected file that is
not DICOM or is truncated, two CT series, a missing or duplicated slice, an oblique orientation,
an RTSTRUCT or RTDOSE in another frame of reference, contours entirely outside the CT, an RTDOSE
without DoseGridScaling, compressed pixel data, no RTSTRUCT/RTDOSE, and no PTV70 (the reference's gate).`,
    )
    .action(async (f: PreprocessFlags) => {
      if (!f.inputDir) throw new UsageError('--input-dir is required');
      if (!f.outputDir) throw new UsageError('--output-dir is required');
      // loaded here, not at registration: the CLI starts without dcmjs/zod/jszip (test/cli/startup)
      const { preprocessBatch } = await import('../../dicom/batch');
      const report = await preprocessBatch(f.inputDir, f.outputDir, {
        layout: f.layout,
        mappingFile: f.mappingFile,
        skipPlots: !!f.skipPlots,
        strictValidation: !!f.strictValidation,
        computeSdf: f.sdf,
        extractBeams: f.beams,
        sdfClipMm: f.sdfClipMm,
        inplaneSize: f.inplaneSize,
        zMarginMm: f.zMarginMm,
        jobs: f.jobs,
        allowMissingDose: !!f.allowMissingDose,
        fill: f.fillHoles,
        spacingOrder: f.pixelSpacingOrder,
        reorient: !!f.reorient,
        quiet: !!f.json,
      });
      if (f.json) {
        printJson({
          ...report.summary,
          summary_file: report.summaryFile,
          cases: report.results.map((r) => ({
            case_id: r.caseId,
            npz: r.npz,
            case_type: r.caseType,
            rx_gy: r.rxGy,
            shape: r.shape,
            dose_available: r.doseAvailable,
            all_critical_passed: r.allCriticalPassed,
            warnings: r.warnings,
          })),
          warnings: report.warnings,
        });
      } else {
        for (const r of report.results) {
          process.stdout.write(
            `ok      ${r.caseId}: ${r.caseType}, Rx ${r.rxGy} Gy, ${r.shape.join('x')}${r.doseAvailable ? '' : ', no dose'}${r.allCriticalPassed ? '' : ', validation FAILED'} -> ${r.npz}\n`,
          );
          for (const w of r.warnings) process.stdout.write(`  warning: ${w}\n`);
        }
        for (const x of report.failures) process.stdout.write(`FAILED  ${x.caseId}: ${x.reason}\n`);
        for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
        process.stdout.write(
          `${report.results.length} processed, ${report.failures.length} failed; summary: ${report.summaryFile}\n`,
        );
      }
      if (report.failures.length) process.exitCode = 1;
    });
}
