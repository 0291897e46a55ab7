/**
 * `vmat openkbp`: the OpenKBP command group. This file creates the group and adds `openkbp score`;
 * other files add their subcommands through `openkbpGroup(program)` (e.g. `openkbp predict`), which
 * returns the existing group whichever file registers first.
 */
import type { Command } from 'commander';
import { scoreOpenKbpDirs } from '../../eval/openkbp_score_dirs';
import { printJson } from '../json';

export function openkbpGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'openkbp');
  if (existing) return existing;
  return program.command('openkbp').description('OpenKBP challenge data: official dose/DVH scores and predictions');
}

export function register(program: Command): void {
  openkbpGroup(program)
    .command('score')
    .description('official OpenKBP dose score and DVH score of a folder of pt_N.csv predictions against reference patients')
    .requiredOption('--ref-dir <dir>', 'reference patients: OpenKBP patient folders (pt_N/ with CSVs) or openkbp npz files')
    .requiredOption('--pred-dir <dir>', 'predictions in the official format: pt_N.csv (sparse ",data" CSV, values > 0)')
    .option('--json', 'print one JSON object')
    .action(async (o: { refDir: string; predDir: string; json?: boolean }) => {
      const r = await scoreOpenKbpDirs(o.refDir, o.predDir, { quiet: !!o.json && !process.stderr.isTTY });
      const perPatient = Object.fromEntries(Object.entries(r.per_patient).map(([id, p]) => [id, { dose_error: p.dose_error, dvh_errors: p.dvh_errors, reference_dvh: p.reference_dvh, prediction_dvh: p.prediction_dvh }]));
      const out = { dose_score: r.dose_score, dvh_score: r.dvh_score, n_patients: r.n_patients, n_dvh_cells: r.n_dvh_cells, per_patient: perPatient };
      if (o.json) printJson(out);
      else console.log(`OpenKBP: dose score ${r.dose_score.toFixed(6)} Gy, DVH score ${r.dvh_score.toFixed(6)} Gy (${r.n_patients} patients, ${r.n_dvh_cells} DVH cells)`);
    });
}
