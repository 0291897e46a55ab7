/**
 * Inference over a folder of cases (spec 6.1/6.3): one `<case>_pred.npz` per case in the reference
 * layout (dose normalised by the case's Rx, clamped [0, 1.5]; the input metadata dict), plus, for
 * OpenKBP cases, the official sparse `<pt_N>.csv` in Gy masked by the possible-dose mask.
 * With `computeMetrics` the evaluation JSON (baseline_evaluation_results.json) is written too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCasePaths } from '../data/load';
import { writePredictionNpz } from '../data/reference_npz';
import { writeOpenKbpDoseCsv } from '../data/openkbp';
import { writeJsonAtomic } from '../core/atomic';
import { DataError, UsageError } from '../core/errors';
import { evaluatePredictions } from '../eval/evaluation_json';
import type { InputRecipe } from '../inputs/recipe';
import { CaseStore, caseIdOfPath } from '../inputs/case_store';
import type { PreparedCase } from '../inputs/case_inputs';

export interface Predictor {
  /** e.g. 'baseline_unet' or 'distance_baseline' (evaluation JSON model_type) */
  modelType: string;
  architecture: string;
  recipe: InputRecipe;
  predict(pc: PreparedCase, onProgress?: (done: number, total: number) => void): Float32Array;
}

export interface InferOptions {
  inputDir: string;
  outputDir: string;
  /** restrict to these case ids (file stems), e.g. test_cases.json */
  caseIds?: string[] | null;
  /** write OpenKBP pt_N.csv files (default: for OpenKBP cases) */
  openkbpCsv?: boolean;
  computeMetrics?: boolean;
  gammaSubsample?: number;
  onCase?: (id: string, index: number, total: number, seconds: number) => void;
  onPatchProgress?: (done: number, total: number) => void;
}

export interface InferResult {
  predictions: Array<{ id: string; file: string; csv: string | null; seconds: number }>;
  evaluationFile: string | null;
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

export async function runInference(predictor: Predictor, o: InferOptions): Promise<InferResult> {
  const files = await listCasePaths(o.inputDir);
  const byId = new Map(files.map((f) => [caseIdOfPath(f), f]));
  let ids = [...byId.keys()];
  if (o.caseIds) {
    const missing = o.caseIds.filter((id) => !byId.has(id));
    if (missing.length)
      throw new DataError(
        o.inputDir,
        null,
        `case files for ${o.caseIds.length} listed cases`,
        `no file for ${missing.slice(0, 5).join(', ')}`,
      );
    ids = o.caseIds;
  }
  if (!ids.length) throw new UsageError(`infer: no cases in ${o.inputDir}`);
  fs.mkdirSync(o.outputDir, { recursive: true });
  const store = new CaseStore(new Map(ids.map((id) => [id, byId.get(id)!])), predictor.recipe, 0);
  const out: InferResult['predictions'] = [];
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    const t0 = Date.now();
    const pc = await store.get(id);
    const dose = predictor.predict(pc, o.onPatchProgress);
    const file = path.join(o.outputDir, `${id}_pred.npz`);
    await writePredictionNpz(file, dose, pc.shape, pc.source.metadata);
    let csv: string | null = null;
    const isKbp = pc.source.source === 'openkbp-csv' || pc.source.source === 'openkbp-npz';
    if (o.openkbpCsv ?? isKbp) {
      const gy = new Float32Array(dose.length);
      for (let i = 0; i < gy.length; i++) gy[i] = dose[i] * pc.rxGy;
      csv = path.join(o.outputDir, `${id}.csv`);
      await writeOpenKbpDoseCsv(csv, gy, pc.source.possibleDoseMask);
    }
    const seconds = (Date.now() - t0) / 1000;
    out.push({ id, file, csv, seconds });
    o.onCase?.(id, k + 1, ids.length, seconds);
  }
  let evaluationFile: string | null = null;
  if (o.computeMetrics) {
    evaluationFile = path.join(o.outputDir, 'baseline_evaluation_results.json');
    const result = await evaluateFolder(o.outputDir, o.inputDir, o.gammaSubsample ?? 1, predictor);
    await writeJsonAtomic(evaluationFile, result);
  }
  return { predictions: out, evaluationFile };
}

/** the evaluation module's JSON for the prediction folder (cases paired by file stem) */
async function evaluateFolder(
  predDir: string,
  dataDir: string,
  gammaSubsample: number,
  predictor: Predictor,
): Promise<unknown> {
  return evaluatePredictions({
    predDir,
    dataDir,
    gammaSubsample,
    modelType: predictor.modelType,
    architecture: predictor.architecture,
    quiet: true,
  });
}
