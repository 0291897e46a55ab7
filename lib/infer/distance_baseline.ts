/**
 * A non-learned reference predictor: the mean normalised dose of the training set as a function
 * of the signed distance to the target union (negative inside the PTVs), in mm. Fitting bins every
 * training voxel by its distance; prediction maps each voxel's distance through the table with
 * linear interpolation between bin centres. A learned model has to beat this to have learned
 * anything beyond "dose falls off with distance from the PTV".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../core/atomic';
import { caseIdOfPath, listCasePaths, loadCase } from '../data/load';
import type { Case, Shape3 } from '../data/case';
import { DataError } from '../core/errors';
import { signedDistanceField } from '../transforms/sdf';
import { targetDoseGy } from '../data/profiles';
import { inputRecipeFor, prepareCase, type PreparedCase } from '../inputs/case_inputs';
import type { InputRecipe } from '../inputs/recipe';
import type { DosePredictor } from './predictor';

export interface DistanceBaselineModel {
  kind: 'distance-baseline';
  binMm: number;
  minMm: number;
  maxMm: number;
  /** mean normalised dose per bin (null where no training voxel fell) */
  table: Array<number | null>;
  counts: number[];
  /** mean dose of voxels in cases without any target */
  noTargetMean: number;
  fittedOn: string[];
}

/** signed distance (mm) to the union of target masks, clipped to ±maxAbsMm; null if no target */
export function targetDistanceMm(pc: PreparedCase, maxAbsMm: number): Float32Array | null {
  const masks = [...pc.source.masks.entries()].filter(([k]) => targetDoseGy(k) !== null).map(([, m]) => m);
  if (!masks.length) return null;
  const n = pc.shape[0] * pc.shape[1] * pc.shape[2];
  const union = new Uint8Array(n);
  for (const m of masks) for (let i = 0; i < n; i++) if (m[i]) union[i] = 1;
  const sdf = signedDistanceField(union, pc.shape as Shape3, pc.spacingMm as Shape3, maxAbsMm);
  for (let i = 0; i < n; i++) sdf[i] *= maxAbsMm;
  return sdf;
}

/**
 * Fits the distance baseline: mean normalised dose (dose / Rx) per bin of signed distance to the
 * target union (mm; bins of `binMm` over [minMm, maxMm)), on prepared training cases with doses.
 */
export function fitDistanceBaseline(
  cases: PreparedCase[],
  o: { binMm?: number; minMm?: number; maxMm?: number } = {},
): DistanceBaselineModel {
  const binMm = o.binMm ?? 2;
  const minMm = o.minMm ?? -60;
  const maxMm = o.maxMm ?? 200;
  const nb = Math.ceil((maxMm - minMm) / binMm);
  const sums = new Float64Array(nb);
  const counts = new Array<number>(nb).fill(0);
  let ntSum = 0;
  let ntN = 0;
  const clipAbs = Math.max(Math.abs(minMm), Math.abs(maxMm));
  for (const pc of cases) {
    if (!pc.dose)
      throw new DataError(
        pc.id,
        'dose',
        'a reference dose (every training case of the distance baseline needs one)',
        'none',
      );
    const d = targetDistanceMm(pc, clipAbs);
    if (!d) {
      for (let i = 0; i < pc.dose.length; i++) ntSum += pc.dose[i];
      ntN += pc.dose.length;
      continue;
    }
    for (let i = 0; i < d.length; i++) {
      const b = Math.min(nb - 1, Math.max(0, Math.floor((d[i] - minMm) / binMm)));
      sums[b] += pc.dose[i];
      counts[b]++;
    }
  }
  const table = Array.from(sums, (s, b) => (counts[b] ? s / counts[b] : null));
  return {
    kind: 'distance-baseline',
    binMm,
    minMm,
    maxMm,
    table,
    counts,
    noTargetMean: ntN ? ntSum / ntN : 0,
    fittedOn: cases.map((c) => c.id),
  };
}

/** table with empty bins filled from the nearest filled bin */
function filledTable(m: DistanceBaselineModel): number[] {
  const t = m.table.slice();
  const firstIdx = t.findIndex((v) => v !== null);
  if (firstIdx < 0) return t.map(() => m.noTargetMean);
  let last = t[firstIdx] as number;
  const out = t.map((v) => {
    if (v !== null) last = v;
    return last;
  });
  for (let i = 0; i < firstIdx; i++) out[i] = t[firstIdx] as number;
  return out;
}

/** normalised dose prediction for one case */
export function predictDistanceBaseline(m: DistanceBaselineModel, pc: PreparedCase): Float32Array {
  const n = pc.shape[0] * pc.shape[1] * pc.shape[2];
  const out = new Float32Array(n);
  const d = targetDistanceMm(pc, Math.max(Math.abs(m.minMm), Math.abs(m.maxMm)));
  if (!d) return out.fill(m.noTargetMean);
  const t = filledTable(m);
  const nb = t.length;
  for (let i = 0; i < n; i++) {
    // position in bin-centre units
    const u = (d[i] - m.minMm) / m.binMm - 0.5;
    if (u <= 0) out[i] = t[0];
    else if (u >= nb - 1) out[i] = t[nb - 1];
    else {
      const k = Math.floor(u);
      const f = u - k;
      out[i] = (1 - f) * t[k] + f * t[k + 1];
    }
  }
  return out;
}

/** the fitted table as a DosePredictor (Gy = table value × the case's Rx) */
export function distanceBaselinePredictor(m: DistanceBaselineModel, recipe: InputRecipe): DosePredictor {
  return {
    modelType: 'distance_baseline',
    architecture: 'distance_to_ptv_table',
    predictGy(c: Case) {
      const pc = prepareCase(c, recipe);
      const norm = predictDistanceBaseline(m, pc);
      const gy = new Float32Array(norm.length);
      for (let i = 0; i < gy.length; i++) gy[i] = norm[i] * pc.rxGy;
      return gy;
    },
    describe: () => `distance_baseline(${m.fittedOn.length} training cases)`,
    dispose: () => {},
  };
}

/** reads a distance_baseline.json written by `vmat infer --distance-baseline` */
export function readDistanceBaseline(file: string): DistanceBaselineModel {
  if (!fs.existsSync(file)) throw new DataError(file, null, 'a distance_baseline.json', 'no such file');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as DistanceBaselineModel;
  if (m.kind !== 'distance-baseline') throw new DataError(file, 'kind', "'distance-baseline'", String(m.kind));
  return m;
}

/**
 * The distance baseline of a run: read from a distance_baseline.json, or fitted on the training ids
 * of a run folder's split.json (cases read from `trainDir`) and saved into `outputDir`.
 */
export async function distanceBaselineFromRun(
  spec: string,
  trainDir: string,
  outputDir: string,
  quiet: boolean,
): Promise<DosePredictor> {
  if (spec.endsWith('.json') && fs.existsSync(spec) && !fs.statSync(spec).isDirectory()) {
    const m = readDistanceBaseline(spec);
    const files = await listCasePaths(trainDir);
    if (!files.length)
      throw new DataError(trainDir, null, 'at least one case (it sets the input recipe)', 'no case files');
    return distanceBaselinePredictor(m, inputRecipeFor([await loadCase(files[0])]));
  }
  const splitFile = path.join(spec, 'split.json');
  if (!fs.existsSync(splitFile))
    throw new DataError(
      spec,
      'split.json',
      'a run folder with split.json (or a distance_baseline.json)',
      'no split.json',
    );
  const split = JSON.parse(fs.readFileSync(splitFile, 'utf8')) as { train: string[] };
  if (!Array.isArray(split.train) || !split.train.length)
    throw new DataError(splitFile, 'train', 'a non-empty list of training case ids', JSON.stringify(split.train));
  const byId = new Map((await listCasePaths(trainDir)).map((f) => [caseIdOfPath(f), f]));
  const cases = [];
  for (const id of split.train) {
    const f = byId.get(id);
    if (!f) throw new DataError(trainDir, id, 'the training case listed in split.json', 'no file');
    cases.push(await loadCase(f));
  }
  const recipe = inputRecipeFor(cases);
  const model = fitDistanceBaseline(cases.map((c) => prepareCase(c, recipe)));
  await writeJsonAtomic(path.join(outputDir, 'distance_baseline.json'), model);
  if (!quiet) process.stderr.write(`distance baseline fitted on ${cases.length} training cases of ${spec}\n`);
  return distanceBaselinePredictor(model, recipe);
}
