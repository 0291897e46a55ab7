/**
 * Scores a folder of OpenKBP predictions (`pt_N.csv`, official sparse format) against a folder of
 * reference patients (OpenKBP CSV patient folders or openkbp npz files), with the official
 * definitions of openkbp_score.ts. Reference doses are taken in float64: from dose.csv directly,
 * or from an openkbp npz's float32 dose rounded back to whole mGy (OpenKBP doses are whole mGy,
 * openkbp.md 1.5, so this restores the CSV values exactly).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { createProgress } from '../core/progress';
import { listCasePaths, loadCase } from '../data/load';
import {
  combineOpenKbpScores,
  scoreOpenKbpPatient,
  type OpenKbpPatientScore,
  type OpenKbpScore,
} from './openkbp_score';
import { readOpenKbpDoseCsv } from '../data/openkbp';

export interface ScoreDirsOptions {
  onProgress?: (done: number, total: number, info: string) => void;
  quiet?: boolean;
}

/** Official OpenKBP dose and DVH scores (Gy) of the pt_N.csv files in `predDir` against the patients of `refDir`. */
export async function scoreOpenKbpDirs(
  refDir: string,
  predDir: string,
  opts: ScoreDirsOptions = {},
): Promise<OpenKbpScore> {
  const refs = await listCasePaths(refDir);
  if (!refs.length) throw new DataError(refDir, null, 'OpenKBP patient folders (pt_N/) or openkbp npz files', 'none');
  if (!fs.existsSync(predDir) || !fs.statSync(predDir).isDirectory())
    throw new DataError(predDir, null, 'a folder of pt_N.csv predictions', 'no such folder');
  const idOf = (p: string) => path.basename(p).replace(/\.npz$/, '');
  const missing = refs.map(idOf).filter((id) => !fs.existsSync(path.join(predDir, `${id}.csv`)));
  if (missing.length)
    throw new DataError(
      predDir,
      null,
      `a prediction <id>.csv for every reference patient`,
      `missing ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`,
    );
  const progress = createProgress({
    label: 'openkbp score',
    total: refs.length,
    onUpdate: opts.onProgress,
    quiet: opts.quiet,
  });
  const per: Record<string, OpenKbpPatientScore> = {};
  for (const p of refs) {
    const id = idOf(p);
    const ref = await loadCase(p);
    if (!ref.dose) throw new DataError(p, 'dose', 'a reference dose', 'none');
    const refDose = fs.statSync(p).isDirectory()
      ? await readOpenKbpDoseCsv(path.join(p, 'dose.csv'), ref.shape, 'float64')
      : Float64Array.from(ref.dose, (v) => Math.round(v * 1000) / 1000);
    const pred = await readOpenKbpDoseCsv(path.join(predDir, `${id}.csv`), ref.shape, 'float64');
    per[id] = scoreOpenKbpPatient({ ...ref, dose: refDose }, pred);
    progress.tick(1, id);
  }
  progress.stop();
  return combineOpenKbpScores(per);
}
