/**
 * The locked split (spec 12.2): one manifest of train/val/test case ids chosen once and reused by
 * every seed and condition. Order of precedence:
 *   1. DATA_DIR/split.json (written by `vmat synth` or by hand);
 *   2. the run folder's split.json (a resumed run);
 *   3. a new stratified split (by plan type) from the split seed — independent of the training
 *      seed, so every seed of an experiment gets the same split — saved into the run folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import { readSplit, makeStratifiedSplit, tertileLabels, type SplitManifest } from './split';

export interface LockedSplit {
  train: string[];
  val: string[];
  test: string[];
  /** where the split came from */
  source: string;
  manifest: SplitManifest;
}

/** what stratification needs to know about a case */
export interface SplitCaseInfo {
  id: string;
  planType: string;
  /** PTV70 (or highest target) volume in cc, null without a target */
  targetVolumeCc: number | null;
  institution: string | null;
}

/**
 * Stratified manifest (lib/data/split.ts): plan type, then institution when any case has one,
 * then target-volume tertile (spec 12.2 / #38).
 */
export function makeSplitFor(infos: SplitCaseInfo[], o: { val: number; test: number; seed: number }): SplitManifest {
  const withInst = infos.some((i) => i.institution);
  const vols = infos.map((i) => i.targetVolumeCc ?? 0);
  const tert = tertileLabels(vols);
  const keys = ['plan_type', ...(withInst ? ['institution'] : []), 'target_volume_tertile'];
  const items = infos.map((i, k) => ({
    id: i.id,
    strata: [i.planType, ...(withInst ? [i.institution ?? 'unknown'] : []), tert[k]],
  }));
  return makeStratifiedSplit(items, {
    val: o.val,
    test: o.test,
    seed: o.seed,
    strataKeys: keys,
    createdBy: 'vmat-lab train (makeStratifiedSplit)',
  });
}

/**
 * The run's locked split: `<dataDir>/split.json` when present, else the run folder's split.json
 * (resume), else a new stratified split of `infos()`; ids unknown to the data folder are DataErrors.
 */
export async function resolveSplit(
  dataDir: string | null,
  runDir: string,
  allIds: string[],
  infos: () => Promise<SplitCaseInfo[]>,
  o: { val: number; test: number; seed: number },
): Promise<LockedSplit> {
  let file: string | null = null;
  if (dataDir && fs.existsSync(path.join(dataDir, 'split.json'))) file = path.join(dataDir, 'split.json');
  else if (fs.existsSync(path.join(runDir, 'split.json'))) file = path.join(runDir, 'split.json');
  if (file) {
    const m = readSplit(file);
    const known = new Set(allIds);
    for (const k of ['train', 'val', 'test'] as const) {
      const missing = m[k].filter((id) => !known.has(id));
      if (missing.length)
        throw new DataError(
          file,
          k,
          'ids of cases in the data folder',
          `unknown ids ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
        );
    }
    return { train: m.train, val: m.val, test: m.test, source: path.resolve(file), manifest: m };
  }
  const m = makeSplitFor(await infos(), o);
  return {
    train: m.train,
    val: m.val,
    test: m.test,
    source: `made by makeStratifiedSplit (seed ${o.seed}, strata ${m.strata_keys.join(' > ')})`,
    manifest: m,
  };
}
