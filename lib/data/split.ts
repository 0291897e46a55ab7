/**
 * The LOCKED train/val/test split manifest. One manifest is chosen once per dataset and reused
 * by every seed and condition of training, fixing the reference's per-seed permutation split
 * that put test cases of one seed into the training set of another (spec 4.3, 12.2).
 *
 * Stratified: the val and test quotas are shared out in proportion to stratum size
 * (largest-remainder rounding), hierarchically: over the values of the first stratum key (plan
 * type), then within each over the next (institution, PTV70-volume tertile, ...). Every stratum
 * with two or more cases keeps at least one in training. Within a leaf stratum the cases are
 * drawn by a seeded shuffle of the sorted ids. Same items + options → same manifest, whatever
 * the input order.
 */
import * as fs from 'node:fs';
import { DataError } from '../core/errors';
import { writeJsonAtomic } from '../core/atomic';
import { Rng } from '../core/rng';

export interface SplitManifest {
  version: 1;
  seed: number;
  created_by: string;
  /** names of the stratification variables, in the order of each item's `strata` */
  strata_keys: string[];
  train: string[];
  val: string[];
  test: string[];
}

export interface SplitItem {
  id: string;
  /** stratum values in the order of `strataKeys`, e.g. ['sib_2level', 'T2'] */
  strata: string[];
}

export interface SplitOptions {
  /** fraction of cases (< 1) or number of cases (>= 1) for validation */
  val: number;
  /** fraction of cases (< 1) or number of cases (>= 1) for test */
  test: number;
  seed: number;
  strataKeys?: string[];
  createdBy?: string;
}

/** Default `created_by` of a split manifest. */
export const SPLIT_CREATED_BY = 'vmat-lab makeStratifiedSplit v1';

/** count for a fraction or count option: like the reference, max(1, int(n * frac)) when frac > 0 */
function quota(n: number, v: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return Math.min(n, Math.floor(v));
  return Math.min(n, Math.max(1, Math.floor(n * v)));
}

/**
 * Hamilton (largest remainder) apportionment of `total` over strata of the given sizes, with
 * per-stratum caps; ties go to the larger stratum, then to the earlier key.
 */
function apportion(total: number, sizes: number[], caps: number[]): number[] {
  const N = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (N ? (total * s) / N : 0));
  const out = exact.map((e, i) => Math.min(caps[i], Math.floor(e)));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = sizes.map((_, i) => i).sort((a, b) => exact[b] - Math.floor(exact[b]) - (exact[a] - Math.floor(exact[a])) || sizes[b] - sizes[a] || a - b);
  while (left > 0) {
    let moved = false;
    for (const i of order) {
      if (left === 0) break;
      if (out[i] < caps[i]) {
        out[i]++;
        left--;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return out;
}

/**
 * The stratified train/val/test split of `items` (ids with one stratum value per strata key);
 * `opts.val`/`opts.test` are fractions (< 1) or counts. Deterministic for a seed, whatever the item order.
 */
export function makeStratifiedSplit(items: SplitItem[], opts: SplitOptions): SplitManifest {
  const ids = new Set<string>();
  const width = items[0]?.strata.length ?? 0;
  for (const it of items) {
    if (ids.has(it.id)) throw new Error(`makeStratifiedSplit: duplicate id ${it.id} (case ids come from distinct file names)`);
    if (it.strata.length !== width) throw new Error(`makeStratifiedSplit: ${it.id} has ${it.strata.length} strata values, expected ${width} (one per strata key, same for every item)`);
    ids.add(it.id);
  }
  const n = items.length;
  // at least one case always stays in training
  const nTest = Math.min(Math.max(0, n - 1), quota(n, opts.test));
  const nVal = Math.min(Math.max(0, n - 1 - nTest), quota(n, opts.val));
  const train: string[] = [];
  const val: string[] = [];
  const test: string[] = [];
  // hierarchical: quotas go first over the values of the first stratum key (e.g. plan type),
  // then within each over the next key, so the primary balance never depends on the others
  const holdCap = (g: SplitItem[]): number => {
    if (g.length === 0) return 0;
    return leafGroups(g, 0).reduce((s, leaf) => s + (leaf.length >= 2 ? leaf.length - 1 : leaf.length), 0);
  };
  const leafGroups = (g: SplitItem[], level: number): SplitItem[][] => (level >= width ? [g] : [...groupBy(g, level).values()].flatMap((sub) => leafGroups(sub, level + 1)));
  const assign = (g: SplitItem[], level: number, path: string[], tq: number, vq: number) => {
    if (level >= width) {
      const members = g.map((it) => it.id).sort();
      Rng.fromSeed(`vmat-split:${opts.seed}:${JSON.stringify(path)}`).shuffle(members);
      test.push(...members.slice(0, tq));
      val.push(...members.slice(tq, tq + vq));
      train.push(...members.slice(tq + vq));
      return;
    }
    const groups = groupBy(g, level);
    const keys = [...groups.keys()].sort();
    const subs = keys.map((k) => groups.get(k)!);
    const caps = subs.map(holdCap);
    const tPer = apportion(tq, subs.map((s) => s.length), caps);
    const vPer = apportion(vq, subs.map((s) => s.length), caps.map((c, i) => c - tPer[i]));
    keys.forEach((k, i) => assign(subs[i], level + 1, [...path, k], tPer[i], vPer[i]));
  };
  assign(items, 0, [], nTest, nVal);
  return {
    version: 1,
    seed: opts.seed,
    created_by: opts.createdBy ?? SPLIT_CREATED_BY,
    strata_keys: opts.strataKeys ?? Array.from({ length: width }, (_, i) => `stratum${i}`),
    train: train.sort(),
    val: val.sort(),
    test: test.sort(),
  };
}

function groupBy(items: SplitItem[], level: number): Map<string, SplitItem[]> {
  const m = new Map<string, SplitItem[]>();
  for (const it of items) {
    const k = it.strata[level];
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(it);
  }
  return m;
}

/** tertile label ('T1' lowest .. 'T3') of each value, by rank (ties broken by position) */
export function tertileLabels(values: number[]): string[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Array<string>(values.length);
  order.forEach(([, i], r) => {
    out[i] = `T${Math.min(3, Math.floor((3 * r) / values.length) + 1)}`;
  });
  return out;
}

/** Validates and writes a split manifest (split.json) atomically. */
export async function writeSplit(file: string, m: SplitManifest): Promise<void> {
  validateSplit(m, file);
  await writeJsonAtomic(file, m);
}

/** reads and checks a manifest: version 1, string id lists, no id in two sets */
export function readSplit(file: string): SplitManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(file, null, 'a readable split manifest (split.json)', (e as Error).message);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, null, 'JSON', `invalid JSON (${(e as Error).message})`);
  }
  return validateSplit(m, file);
}

/** Checks a parsed split.json (version, seed, lists of unique ids, no id in two sets); problems are DataErrors naming `file`. */
export function validateSplit(m: unknown, file = '<split>'): SplitManifest {
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new DataError(file, null, 'a JSON object', Array.isArray(m) ? 'an array' : typeof m);
  const o = m as Record<string, unknown>;
  if (o.version !== 1) throw new DataError(file, 'version', '1', JSON.stringify(o.version));
  if (typeof o.seed !== 'number' || !Number.isInteger(o.seed)) throw new DataError(file, 'seed', 'an integer', JSON.stringify(o.seed));
  if (typeof o.created_by !== 'string') throw new DataError(file, 'created_by', 'a string', JSON.stringify(o.created_by));
  for (const k of ['strata_keys', 'train', 'val', 'test'] as const) {
    const v = o[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new DataError(file, k, 'an array of strings', JSON.stringify(v)?.slice(0, 80) ?? 'undefined');
  }
  const seen = new Map<string, string>();
  for (const k of ['train', 'val', 'test'] as const) {
    for (const id of o[k] as string[]) {
      const prev = seen.get(id);
      if (prev) throw new DataError(file, k, 'each case id in exactly one of train/val/test', `${id} in both ${prev} and ${k}`);
      seen.set(id, k);
    }
  }
  return o as unknown as SplitManifest;
}
