/**
 * `vmat openkbp floor`: the resolution floor of the 64³ scheme — the ground truth taken down to
 * 64³ (mask-aware mean) and back up (mask-normalised trilinear), written as pt_N.csv and scored
 * with the official metrics (openkbp.md 5.4).
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';

/** Registers `vmat openkbp floor`: writes and scores the 64³-resampled ground truth, the best score a 64³ model can reach. */
export function register(program: Command): void {
  openkbpGroup(program)
    .command('floor')
    .description(
      'score the down(64³)-then-up(128³)-sampled ground truth itself: the best score a perfect 64³ model can reach',
    )
    .requiredOption('--ref-dir <dir>', 'reference patients: OpenKBP patient folders (pt_N/) or openkbp npz files')
    .option('--out <dir>', 'keep the floor predictions (pt_N.csv) here (default: a temporary folder, removed)')
    .option('--json', 'print one JSON object')
    .action(async (o: { refDir: string; out?: string; json?: boolean }) => {
      const { writeFloorPredictions } = await import('../../openkbp/floor');
      const { scoreOpenKbpDirs } = await import('../../eval/openkbp_score_dirs');
      const out = o.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'openkbp-floor-'));
      const quiet = !!o.json && !process.stderr.isTTY;
      try {
        await writeFloorPredictions(o.refDir, out, { quiet });
        const r = await scoreOpenKbpDirs(o.refDir, out, { quiet });
        const perPatient = Object.fromEntries(
          Object.entries(r.per_patient).map(([id, p]) => [id, { dose_error: p.dose_error, dvh_errors: p.dvh_errors }]),
        );
        const res = {
          scheme: 'mask-aware 2x2x2 mean -> mask-normalised trilinear x mask',
          dose_score: r.dose_score,
          dvh_score: r.dvh_score,
          n_patients: r.n_patients,
          n_dvh_cells: r.n_dvh_cells,
          per_patient: perPatient,
        };
        if (o.json) printJson(res);
        else
          console.log(
            `resolution floor (64³): dose score ${r.dose_score.toFixed(4)} Gy, DVH score ${r.dvh_score.toFixed(4)} Gy (${r.n_patients} patients, ${r.n_dvh_cells} DVH cells)`,
          );
      } finally {
        if (!o.out) fs.rmSync(out, { recursive: true, force: true });
      }
    });
}
