/** `vmat synth`: generate the synthetic prostate cohort (reference npz files + locked split). */
import type { Command } from 'commander';
import * as path from 'node:path';
import type { Shape3 } from '../../data/case';
import { DEFAULT_SHAPE, DEFAULT_SPACING_MM } from '../../synth/synth_case';
import { UsageError } from '../../core/errors';
import { printJson } from '../json';

function parseTriple(flag: string, v: string, integer: boolean): Shape3 {
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== 3 || nums.some((x) => !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x)))) {
    throw new UsageError(`${flag}: expected three positive ${integer ? 'integers' : 'numbers'} "a,b,c", found "${v}"`);
  }
  return nums as Shape3;
}

function parseIntArg(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, found "${v}"`);
  return n;
}

function parseFraction(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n >= 1)
    throw new UsageError(`${flag}: expected a fraction in [0, 1), found "${v}"`);
  return n;
}

interface SynthOpts {
  out: string;
  cases: string;
  seed: string;
  layout: string;
  shape?: string;
  spacingMm?: string;
  threads?: string;
  valFraction: string;
  testFraction: string;
  format: string;
  mappingFile?: string;
  json?: boolean;
}

/** Registers `vmat synth`: writes the seeded synthetic prostate cohort (npz or DICOM-RT) with its locked split. */
export function register(program: Command): void {
  program
    .command('synth')
    .description(
      'generate the synthetic prostate cohort: N cases in the reference npz layout (CT, VMAT-like planned dose, masks, SDFs, metadata) ' +
        'plus a locked split manifest (split.json, stratified by plan type and PTV70-volume tertile) and batch_summary.json; deterministic',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--cases <n>', 'number of cases', '24')
    .option('--seed <s>', 'cohort seed (same arguments -> byte-identical files)', '42')
    .option('--layout <v>', 'reference layout: v2.3 (8 structures) or v2.4 (9, adds PTV50.4 and nodal plans)', 'v2.3')
    .option('--shape <y,x,z>', `grid in voxels (default ${DEFAULT_SHAPE.join(',')})`)
    .option('--spacing-mm <a,b,c>', `voxel size in mm, (Y, X, Z) (default ${DEFAULT_SPACING_MM.join(',')})`)
    .option('--threads <n>', 'worker threads (default: all cores)')
    .option('--val-fraction <f>', 'validation share of the split', '0.15')
    .option('--test-fraction <f>', 'test share of the split', '0.15')
    .option(
      '--format <f>',
      'npz: reference npz files + split.json + batch_summary.json; dicom: one DICOM-RT folder per case ' +
        '(CT.*, RS.*, RP.*, RD.* files: CT series, RTSTRUCT with clinical ROI names, RTPLAN with the arc, RTDOSE on a coarser grid) ' +
        '+ split.json + synthetic_cohort.json, an input for `vmat preprocess`',
      'npz',
    )
    .option(
      '--mapping-file <f>',
      'ROI-name mapping (oar_mapping.json format) whose variations name the RTSTRUCT ROIs (--format dicom; default: the shipped copy of the reference mapping)',
    )
    .option('--json', 'print the result (files, split, DVH summary) as JSON')
    .action(async (o: SynthOpts) => {
      const { generateCohort } = await import('../../synth/cohort');
      const { formatSummary, summariseCohort } = await import('../../synth/summary');
      const { createProgress } = await import('../../core/progress');
      const { DEFAULT_MAPPING_FILE, loadOarMapping } = await import('../../dicom/roi_mapping');
      const layout = o.layout;
      if (layout !== 'v2.3' && layout !== 'v2.4')
        throw new UsageError(`--layout: expected v2.3 or v2.4, found "${layout}"`);
      const cases = parseIntArg('--cases', o.cases, 1);
      const seed = parseIntArg('--seed', o.seed, 0);
      const shape = o.shape ? parseTriple('--shape', o.shape, true) : undefined;
      if (shape && shape.some((v) => v < 16))
        throw new UsageError(`--shape: each dimension must be >= 16 voxels, found "${o.shape}"`);
      const spacingMm = o.spacingMm ? parseTriple('--spacing-mm', o.spacingMm, false) : undefined;
      const threads = o.threads ? parseIntArg('--threads', o.threads, 1) : undefined;
      const format = o.format;
      if (format !== 'npz' && format !== 'dicom')
        throw new UsageError(`--format: expected npz or dicom, found "${format}"`);
      const mapping = format === 'dicom' ? loadOarMapping(o.mappingFile ?? DEFAULT_MAPPING_FILE) : undefined;
      const out = path.resolve(o.out);
      const progress = createProgress({ label: 'synth', total: cases });
      const t0 = Date.now();
      let result;
      try {
        result = await generateCohort({
          out,
          cases,
          seed,
          layout,
          shape,
          spacingMm,
          threads,
          valFraction: parseFraction('--val-fraction', o.valFraction),
          testFraction: parseFraction('--test-fraction', o.testFraction),
          format,
          mapping,
          onProgress: (_d, _t, info) => progress.tick(1, info),
        });
      } finally {
        progress.stop();
      }
      const seconds = (Date.now() - t0) / 1000;
      const summary = summariseCohort(result.cases);
      if (o.json) {
        printJson({
          out,
          seconds,
          files: result.files,
          split: result.split,
          summary,
          cases: result.cases.map(({ file: _f, ...c }) => c),
        });
        return;
      }
      process.stdout.write(
        `wrote ${result.files.length} cases${format === 'dicom' ? ' as DICOM-RT folders + split.json + synthetic_cohort.json' : ' + split.json + batch_summary.json'} to ${out} in ${seconds.toFixed(1)} s\n` +
          `split: ${result.split.train.length} train / ${result.split.val.length} val / ${result.split.test.length} test (stratified by ${result.split.strata_keys.join(' + ')})\n` +
          formatSummary(summary) +
          '\n',
      );
    });
}
