/**
 * Predictions for a folder of OpenKBP patients (patient folders pt_N/ with CSVs, or openkbp npz
 * files) in the official format: one `pt_N.csv` per patient (`,data` header, `<flat index>,<Gy>`
 * rows for values > 0 only, masked by the possible-dose mask, written atomically).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCasePaths, loadCase } from '../data/load';
import { writeOpenKbpDoseCsv } from '../data/openkbp';
import { DataError } from '../core/errors';
import { createProgress } from '../core/progress';
import { caseIdOfPath } from '../inputs/case_store';
import { disposeOpenKbpModel, loadOpenKbpModel, predictOpenKbpGy, type OpenKbpModel } from './predict';
import { prepareOpenKbp64 } from '../inputs/openkbp64';

export interface PredictDirOptions {
  /** a model folder or an already loaded model */
  model: string | OpenKbpModel;
  inputDir: string;
  outDir: string;
  /** L/R test-time augmentation; undefined = what the model folder recommends (config.json meta.predict_tta) */
  tta?: boolean;
  /** block-phase TTA of the 64³ stage (8 grid placements); undefined = the model folder's meta.predict_phase_tta */
  phases?: boolean;
  /** only these patient ids */
  ids?: string[];
  quiet?: boolean;
  onProgress?: (done: number, total: number, info: string) => void;
}

export interface PredictDirResult {
  tta: boolean;
  phases: boolean;
  files: Array<{ id: string; csv: string; seconds: number }>;
  seconds: number;
}

export async function predictOpenKbpDir(o: PredictDirOptions): Promise<PredictDirResult> {
  const t0 = Date.now();
  let paths = await listCasePaths(o.inputDir);
  if (o.ids) {
    const want = new Set(o.ids);
    paths = paths.filter((p) => want.has(caseIdOfPath(p)));
  }
  if (!paths.length)
    throw new DataError(o.inputDir, null, 'OpenKBP patient folders (pt_N/ with CSVs) or openkbp npz files', 'none');
  const m = typeof o.model === 'string' ? loadOpenKbpModel(o.model) : o.model;
  const tta = o.tta ?? m.meta.predict_tta === true;
  const phases = o.phases ?? m.meta.predict_phase_tta === true;
  fs.mkdirSync(o.outDir, { recursive: true });
  const progress = createProgress({
    label: 'openkbp predict',
    total: paths.length,
    onUpdate: o.onProgress,
    quiet: o.quiet,
  });
  const files: PredictDirResult['files'] = [];
  try {
    for (const p of paths) {
      const tc = Date.now();
      const c = await loadCase(p);
      if (c.source !== 'openkbp-csv' && c.source !== 'openkbp-npz')
        throw new DataError(p, null, 'an OpenKBP patient (CSV folder or openkbp npz)', c.source);
      const s = prepareOpenKbp64(c);
      const gy = predictOpenKbpGy(m, s, { tta, phases, case: c });
      const csv = path.join(o.outDir, `${c.id}.csv`);
      await writeOpenKbpDoseCsv(csv, gy, s.possibleDoseMask);
      const seconds = (Date.now() - tc) / 1000;
      files.push({ id: c.id, csv, seconds });
      progress.tick(1, `${c.id} ${seconds.toFixed(1)} s`);
    }
  } finally {
    progress.stop();
    if (typeof o.model === 'string') disposeOpenKbpModel(m);
  }
  return { tta, phases, files, seconds: (Date.now() - t0) / 1000 };
}
