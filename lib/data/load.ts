/**
 * One entry point for every case file vmat-lab reads: reference npz (v2.3/v2.4), OpenKBP npz
 * and OpenKBP patient folders. Source detection looks at the content, not the name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';
import type { Case, CaseSource } from './case';
import { openNpz } from './npz';
import { readOpenKbpCsvFolder, readOpenKbpNpz } from './openkbp';
import { readReferenceNpz } from './reference_npz';

async function statOrFail(p: string): Promise<fs.Stats> {
  try {
    return await fs.promises.stat(p);
  } catch (e) {
    throw new DataError(p, null, 'an existing file or folder', (e as NodeJS.ErrnoException).code ?? String(e));
  }
}

/** which reader a path needs: 'openkbp-csv' (folder with ct.csv), 'openkbp-npz' (structure_masks/possible_dose_mask keys) or 'vmat-npz' (ct/dose/masks/metadata keys) */
export async function detectKind(p: string): Promise<'openkbp-csv' | 'openkbp-npz' | 'vmat-npz'> {
  const st = await statOrFail(p);
  if (st.isDirectory()) {
    if (fs.existsSync(path.join(p, 'ct.csv'))) return 'openkbp-csv';
    throw new DataError(p, null, 'an OpenKBP patient folder (with ct.csv) or an .npz file', 'a folder without ct.csv');
  }
  const z = await openNpz(p);
  // decided on the keys that only one layout has, so a file missing a required key still goes
  // to its reader, which names the missing key
  if (z.keys.includes('structure_masks') || z.keys.includes('possible_dose_mask') || z.keys.includes('structures_present')) return 'openkbp-npz';
  if (['ct', 'dose', 'masks', 'masks_sdf', 'metadata'].some((k) => z.keys.includes(k))) return 'vmat-npz';
  throw new DataError(p, null, "keys of a reference npz (ct, dose, masks, …) or an openkbp npz (ct, structure_masks, possible_dose_mask, …)", `keys ${z.keys.join(', ') || '(none)'}`);
}

/**
 * The CaseSource of a path. For reference npz the v2.3/v2.4 decision needs the masks and SDFs
 * (spec 1.4/1.6), so the file is read.
 */
export async function detectSource(p: string): Promise<CaseSource> {
  const kind = await detectKind(p);
  if (kind !== 'vmat-npz') return kind;
  return (await readReferenceNpz(p)).source;
}

/** Loads any supported case (reference npz, openkbp npz, OpenKBP CSV folder). */
export async function loadCase(p: string): Promise<Case> {
  const kind = await detectKind(p);
  if (kind === 'openkbp-csv') return readOpenKbpCsvFolder(p);
  if (kind === 'openkbp-npz') return readOpenKbpNpz(p);
  return readReferenceNpz(p);
}

/** compares by Unicode code point (Python's sorted() order), not UTF-16 units */
export function codePointCompare(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  for (let i = 0; i < Math.min(A.length, B.length); i++) {
    const x = A[i].codePointAt(0)!;
    const y = B[i].codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return A.length - B.length;
}

/**
 * Case paths in a folder, sorted in code-point order of the full path (as the reference's
 * `sorted(glob('*.npz'))`): `*.npz` files and OpenKBP patient folders (`pt_*` or any folder
 * holding ct.csv). Hidden files (e.g. atomic-write temporaries) are skipped.
 */
export async function listCasePaths(dir: string): Promise<string[]> {
  const st = await statOrFail(dir);
  if (!st.isDirectory()) throw new DataError(dir, null, 'a folder', 'a file');
  const out: string[] = [];
  for (const name of await fs.promises.readdir(dir)) {
    if (name.startsWith('.')) continue;
    const p = path.join(dir, name);
    // stat (not the dirent) so symlinked case files and patient folders count too
    const s = await fs.promises.stat(p).catch(() => null);
    if (!s) continue;
    // predictions written next to the cases are not cases
    if (s.isFile() && name.endsWith('.npz') && !name.endsWith('_pred.npz')) out.push(p);
    else if (s.isDirectory() && (name.startsWith('pt_') || fs.existsSync(path.join(p, 'ct.csv')))) out.push(p);
  }
  return out.sort(codePointCompare);
}

/** the case id of a case file or folder: its name without .npz (pt_N for OpenKBP folders) */
export function caseIdOfPath(p: string): string {
  return path.basename(p).replace(/\.npz$/, '');
}
