/** `vmat qa-review`: QA review of DICOM-RT case folders before preprocessing (lib/dicom/qa). */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors';
import { printJson } from '../json';

interface Opts {
  inputDir: string;
  out: string;
  mappingFile?: string;
  casesPerPage: string;
  pdf: boolean;
  json?: boolean;
}

/** Registers `vmat qa-review`: per-case QA manifest and PDF contact sheet of DICOM-RT folders before preprocessing. */
export function register(program: Command): void {
  program
    .command('qa-review')
    .description(
      'review DICOM-RT case folders before preprocessing: qa_manifest.json (per case matched / unmatched / missing structures, Rx and its source, ' +
        'dose grid, warnings) and qa_contact_sheet.pdf (CT slice through the PTV70 centroid, dose colourwash, contours, ROI table; several cases per page)',
    )
    .requiredOption(
      '--input-dir <dir>',
      'folder with one sub-folder per case (CT*, RS*, RP*, RD* files), as for `vmat preprocess`',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--mapping-file <f>', 'ROI-name mapping (default: the shipped copy of the reference mapping)')
    .option('--cases-per-page <n>', 'cases per contact-sheet page', '4')
    .option('--no-pdf', 'write only the manifest (no Chromium needed)')
    .option('--json', 'print the manifest as JSON')
    .action(async (o: Opts) => {
      const { DEFAULT_MAPPING_FILE, loadOarMapping } = await import('../../dicom/roi_mapping');
      const { runQaReview } = await import('../../dicom/qa/review');
      const { closeExporter } = await import('../../plot/export');
      const perPage = Number(o.casesPerPage);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 12)
        throw new UsageError(`--cases-per-page: expected an integer 1..12, found "${o.casesPerPage}"`);
      const mapping = loadOarMapping(o.mappingFile ?? DEFAULT_MAPPING_FILE);
      try {
        const r = await runQaReview({
          inputDir: o.inputDir,
          outDir: o.out,
          mapping,
          casesPerPage: perPage,
          pdf: o.pdf,
          quiet: !!o.json,
        });
        if (o.json) {
          printJson(r.manifest);
          return;
        }
        const s = r.manifest.summary;
        const lines = [
          `reviewed ${s.cases} cases: ${s.ok} ok, ${s.errors} with errors, ${s.with_warnings} with warnings`,
          ...r.manifest.cases.map(
            (c) =>
              `${c.status === 'ok' ? 'ok    ' : 'ERROR '} ${c.case_id}: ${c.error ?? `Rx ${c.prescription?.primary_dose} Gy (${c.prescription?.source}); missing [${c.missing.join(', ')}]; unmatched [${c.unmatched.join(', ')}]`}`,
          ),
          `manifest: ${r.manifestFile}`,
          ...(r.pdfFile ? [`contact sheet: ${r.pdfFile}`] : []),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        await closeExporter();
      }
    });
}
