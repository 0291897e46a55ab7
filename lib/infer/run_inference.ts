/**
 * Prediction over a folder of cases with any DosePredictor (spec 6.1/6.3) — the one machinery behind
 * `vmat infer` and `vmat openkbp predict`:
 *   <case>_pred.npz   reference layout: dose normalised by the case's own Rx (float32), the input
 *                     metadata dict (skipped with `npz: false`)
 *   <pt_N>.csv        the official OpenKBP sparse CSV in Gy, masked by the possible-dose mask (by
 *                     default for OpenKBP cases only)
 *   evaluation_results.json   with `computeMetrics` (spec 7.8 layout), over the cases that have a
 *                     reference dose
 * Cases are read one at a time, so memory stays at one case plus the networks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { caseIdOfPath, listCasePaths, loadCase } from '../data/load';
import { writePredictionNpz } from '../data/reference_npz';
import { writeOpenKbpDoseCsv } from '../data/openkbp';
import { writeJsonAtomic } from '../core/atomic';
import { DataError, UsageError } from '../core/errors';
import { evaluatePredictions } from '../eval/evaluation_json';
import type { DosePredictor } from './predictor';

/** File name of the evaluation JSON written next to the predictions. */
export const EVALUATION_FILE = 'evaluation_results.json';

export interface InferOptions {
  inputDir: string;
  outputDir: string;
  /** restrict to these case ids (file stems), e.g. from test_cases.json */
  caseIds?: string[] | null;
  /** write <case>_pred.npz (default true) */
  npz?: boolean;
  /** write OpenKBP pt_N.csv files (default: for OpenKBP cases) */
  openkbpCsv?: boolean;
  /** refuse a case that is not an OpenKBP patient (`vmat openkbp predict`) */
  requireOpenKbp?: boolean;
  /** score the predictions against the cases' doses into evaluation_results.json */
  computeMetrics?: boolean;
  /** gamma subsampling of the evaluation (1 = full resolution) */
  gammaSubsample?: number;
  /** what made the predictions (recorded in each <case>_pred.npz metadata as `prediction`) */
  provenance?: { model: string; checkpoint?: string };
  /** after each case: its id, 1-based index, total, seconds */
  onCase?: (id: string, index: number, total: number, seconds: number) => void;
  /** progress inside a case (e.g. sliding-window patches) */
  onPatchProgress?: (done: number, total: number) => void;
}

export interface InferResult {
  predictions: Array<{ id: string; file: string | null; csv: string | null; seconds: number; has_dose: boolean }>;
  evaluationFile: string | null;
  /** cases without a reference dose (predicted, not scored) */
  withoutDose: string[];
}

/** ids listed in a test_cases.json ({test_cases: [...]}) or a split.json ({test: [...]}) */
export function readCaseList(file: string): string[] {
  if (!fs.existsSync(file)) throw new DataError(file, null, 'a test_cases.json or split.json file', 'no such file');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const ids = (j.test_cases ?? j.test) as unknown;
  if (!Array.isArray(ids) || !ids.every((v) => typeof v === 'string'))
    throw new DataError(file, 'test_cases', 'an array of case ids', JSON.stringify(ids)?.slice(0, 80) ?? 'nothing');
  return ids as string[];
}

/** the case files of a folder, restricted to `caseIds` when given (every listed id must exist) */
export async function selectCaseFiles(inputDir: string, caseIds?: string[] | null): Promise<Map<string, string>> {
  const files = await listCasePaths(inputDir);
  const byId = new Map(files.map((f) => [caseIdOfPath(f), f]));
  if (!caseIds) return byId;
  const missing = caseIds.filter((id) => !byId.has(id));
  if (missing.length)
    throw new DataError(
      inputDir,
      null,
      `case files for ${caseIds.length} listed cases`,
      `no file for ${missing.slice(0, 5).join(', ')}`,
    );
  return new Map(caseIds.map((id) => [id, byId.get(id)!]));
}

/** predicts every selected case of `inputDir` with `predictor` and writes the outputs (see the file comment) */
export async function runInference(predictor: DosePredictor, o: InferOptions): Promise<InferResult> {
  const selected = await selectCaseFiles(o.inputDir, o.caseIds);
  if (!selected.size) throw new UsageError(`infer: no cases in ${o.inputDir}`);
  fs.mkdirSync(o.outputDir, { recursive: true });
  const out: InferResult['predictions'] = [];
  const withoutDose: string[] = [];
  let k = 0;
  for (const [id, src] of selected) {
    const t0 = Date.now();
    const c = await loadCase(src);
    if (o.requireOpenKbp && c.source !== 'openkbp-csv' && c.source !== 'openkbp-npz')
      throw new DataError(src, null, 'an OpenKBP patient (CSV folder or openkbp npz)', c.source);
    const gy = predictor.predictGy(c, { onProgress: o.onPatchProgress });
    let file: string | null = null;
    if (o.npz !== false) {
      const norm = new Float32Array(gy.length);
      for (let i = 0; i < gy.length; i++) norm[i] = gy[i] / c.rxGy;
      file = path.join(o.outputDir, `${id}_pred.npz`);
      // the input metadata dict (reference layout) plus what made the prediction (export-rtdose names it)
      const prediction = {
        model: o.provenance?.model ?? predictor.describe(),
        checkpoint: o.provenance?.checkpoint ?? null,
        predictor: predictor.describe(),
        created: new Date().toISOString(),
      };
      await writePredictionNpz(file, norm, c.shape, { ...c.metadata, prediction });
    }
    let csv: string | null = null;
    const isKbp = c.source === 'openkbp-csv' || c.source === 'openkbp-npz';
    if (o.openkbpCsv ?? isKbp) {
      csv = path.join(o.outputDir, `${id}.csv`);
      await writeOpenKbpDoseCsv(csv, gy, c.possibleDoseMask);
    }
    if (!c.dose) withoutDose.push(id);
    const seconds = (Date.now() - t0) / 1000;
    out.push({ id, file, csv, seconds, has_dose: !!c.dose });
    o.onCase?.(id, ++k, selected.size, seconds);
  }
  let evaluationFile: string | null = null;
  if (o.computeMetrics) {
    if (o.npz === false) throw new UsageError('infer: --compute-metrics needs the <case>_pred.npz files');
    if (withoutDose.length === out.length) {
      process.stderr.write(`infer: no case has a reference dose; nothing to evaluate\n`);
    } else {
      evaluationFile = path.join(o.outputDir, EVALUATION_FILE);
      const result = await evaluatePredictions({
        predDir: o.outputDir,
        dataDir: o.inputDir,
        caseIds: out.filter((p) => p.has_dose).map((p) => p.id),
        gammaSubsample: o.gammaSubsample ?? 1,
        modelType: predictor.modelType,
        architecture: predictor.architecture,
        quiet: true,
      });
      await writeJsonAtomic(evaluationFile, result);
    }
  }
  return { predictions: out, evaluationFile, withoutDose };
}
