/**
 * `vmat openkbp`: the OpenKBP command group. This file creates the group and adds `openkbp score`;
 * other files add their subcommands through `openkbpGroup(program)` (e.g. `openkbp predict`), which
 * returns the existing group whichever file registers first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { DataError } from '../../core/errors';
import { printJson } from '../json';

/** The `vmat openkbp` command group, created on first use so each subcommand file can add itself. */
export function openkbpGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'openkbp');
  if (existing) return existing;
  return program.command('openkbp').description('OpenKBP challenge data: official dose/DVH scores and predictions');
}

/** what a shipped model folder says about its training (models/openkbp-<name>/validation_scores.json) */
function modelTraining(dir: string): Record<string, unknown> {
  const f = path.join(dir, 'validation_scores.json');
  if (!fs.existsSync(f))
    throw new DataError(
      dir,
      'validation_scores.json',
      'a shipped OpenKBP model folder (vmat openkbp ship)',
      'no such file',
    );
  const j = JSON.parse(fs.readFileSync(f, 'utf8')) as {
    model?: string;
    training?: Record<string, unknown>;
    machine?: Record<string, unknown>;
  };
  if (!j.training) throw new DataError(f, 'training', 'the training record', 'missing');
  return { model: j.model ?? path.basename(dir), ...j.training, machine: j.machine ?? null };
}

/** Registers `vmat openkbp score`: the official OpenKBP dose and DVH scores (Gy) of a folder of pt_N.csv predictions. */
export function register(program: Command): void {
  openkbpGroup(program)
    .command('score')
    .description(
      'official OpenKBP dose score and DVH score of a folder of pt_N.csv predictions against reference patients',
    )
    .requiredOption(
      '--ref-dir <dir>',
      'reference patients: OpenKBP patient folders (pt_N/ with CSVs) or openkbp npz files',
    )
    .requiredOption('--pred-dir <dir>', 'predictions in the official format: pt_N.csv (sparse ",data" CSV, values > 0)')
    .option('--floor', "also score the 64³ scheme's resolution floor (ground truth down and up) on the same patients")
    .option(
      '--model <dir>',
      'the shipped model that made the predictions: print its training wall time and machine beside the scores',
    )
    .option('--json', 'print one JSON object')
    .action(async (o: { refDir: string; predDir: string; floor?: boolean; model?: string; json?: boolean }) => {
      const { scoreOpenKbpDirs } = await import('../../eval/openkbp_score_dirs');
      const { resolutionFloorOfDir } = await import('../../openkbp/floor');
      const { LEADERBOARD } = await import('../../openkbp/report');
      const quiet = !!o.json && !process.stderr.isTTY;
      const training = o.model ? modelTraining(o.model) : null;
      const r = await scoreOpenKbpDirs(o.refDir, o.predDir, { quiet });
      const floor = o.floor ? await resolutionFloorOfDir(o.refDir, { ids: Object.keys(r.per_patient), quiet }) : null;
      const perPatient = Object.fromEntries(
        Object.entries(r.per_patient).map(([id, p]) => [
          id,
          {
            dose_error: p.dose_error,
            dvh_errors: p.dvh_errors,
            reference_dvh: p.reference_dvh,
            prediction_dvh: p.prediction_dvh,
          },
        ]),
      );
      const out = {
        dose_score: r.dose_score,
        dvh_score: r.dvh_score,
        n_patients: r.n_patients,
        n_dvh_cells: r.n_dvh_cells,
        resolution_floor: floor
          ? {
              dose_score: floor.dose_score,
              dvh_score: floor.dvh_score,
              n_patients: floor.n_patients,
              scheme: '64³ mask-aware mean down, mask-normalised trilinear up',
            }
          : null,
        model_training: training,
        leaderboard: LEADERBOARD,
        per_patient: perPatient,
      };
      if (o.json) {
        printJson(out);
        return;
      }
      console.log(
        `OpenKBP: dose score ${r.dose_score.toFixed(6)} Gy, DVH score ${r.dvh_score.toFixed(6)} Gy (${r.n_patients} patients, ${r.n_dvh_cells} DVH cells)`,
      );
      if (floor)
        console.log(
          `  resolution floor of the 64³ scheme, same patients: dose score ${floor.dose_score.toFixed(4)} Gy, DVH score ${floor.dvh_score.toFixed(4)} Gy`,
        );
      if (training) {
        const t = training as {
          model: string;
          wall_time_hours?: number;
          global_step?: number;
          epochs_equivalent?: number;
          machine?: { cpu?: string; cores?: number; backend?: string } | null;
        };
        const m = t.machine;
        console.log(
          `  model ${t.model}: training wall time ${t.wall_time_hours !== undefined ? `${t.wall_time_hours.toFixed(2)} h` : 'n/a'}, ${t.global_step ?? '?'} steps (${t.epochs_equivalent !== undefined ? t.epochs_equivalent.toFixed(1) : '?'} epochs)${m ? ` on ${m.cpu}, ${m.cores} cores, backend ${m.backend}` : ''}`,
        );
      }
      console.log(
        `  leaderboard (OpenKBP test set, 100 patients): winner ${LEADERBOARD.winner.dose_score} / ${LEADERBOARD.winner.dvh_score} Gy (dose / DVH), median of 28 teams ≈ ${LEADERBOARD.median_dose_score_28_teams} Gy (dose)`,
      );
    });
}
