/**
 * Which files of a case folder are read, exactly as the reference selects them (spec 2.2):
 * - CT: the folder searched recursively for names starting `CT` or `ct`, minus names containing
 *   `Zone.Identifier` (Windows download artefacts) and base names containing RTSTRUCT, RTDOSE or
 *   RTPLAN (case-insensitive);
 * - RTPLAN / RTSTRUCT / RTDOSE: the folder itself only (not recursive), names starting
 *   `RP`/`RTPLAN`/`rtplan`, `RS`/`RTSTRUCT`/`rtstruct`, `RD`/`RTDOSE`/`rtdose`, minus
 *   `Zone.Identifier` names; the first one is used.
 * The reference takes "the first" in `os.listdir` order, which is arbitrary; vmat sorts by name so
 * the choice is reproducible, and reports the others in `warnings`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../core/errors';

/** File-name prefixes of CT slices in a case folder. */
export const CT_PREFIXES = ['CT', 'ct'] as const;
/** File-name prefixes of the RTPLAN. */
export const RTPLAN_PREFIXES = ['RP', 'RTPLAN', 'rtplan'] as const;
/** File-name prefixes of the RTSTRUCT. */
export const RTSTRUCT_PREFIXES = ['RS', 'RTSTRUCT', 'rtstruct'] as const;
/** File-name prefixes of the RTDOSE. */
export const RTDOSE_PREFIXES = ['RD', 'RTDOSE', 'rtdose'] as const;

/** The files of one case. Paths are absolute or relative as `caseDir` was given. */
export interface CaseFiles {
  caseDir: string;
  /** every selected CT file (sorted by path; slices are ordered later by ImagePositionPatient) */
  ct: string[];
  /** the RTPLAN used, or null */
  rtplan: string | null;
  rtstruct: string | null;
  rtdose: string | null;
  /** e.g. "2 RTDOSE files (RD.a.dcm, RD.b.dcm): using RD.a.dcm" */
  warnings: string[];
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => name.startsWith(p));
}

/** files directly in `dir` whose names start with one of `prefixes` (sorted by name) */
export function findTopLevel(dir: string, prefixes: readonly string[]): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => !n.includes('Zone.Identifier') && startsWithAny(n, prefixes))
    .sort()
    .map((n) => path.join(dir, n))
    .filter(isFile);
}

/** CT files found recursively under `dir` (sorted by path) */
export function findCtFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.includes('Zone.Identifier') && startsWithAny(e.name, CT_PREFIXES) && (e.isFile() || isFile(p)))
        out.push(p);
    }
  };
  walk(dir);
  return out
    .filter((p) => !['RTSTRUCT', 'RTDOSE', 'RTPLAN'].some((kw) => path.basename(p).toUpperCase().includes(kw)))
    .sort();
}

function firstOf(kind: string, files: string[], warnings: string[]): string | null {
  if (files.length > 1)
    warnings.push(
      `${files.length} ${kind} files (${files.map((f) => path.basename(f)).join(', ')}): using ${path.basename(files[0])}`,
    );
  return files[0] ?? null;
}

/** Selects a case folder's files (spec 2.2); a missing or unreadable folder is a DataError. */
export function selectCaseFiles(caseDir: string): CaseFiles {
  if (!fs.existsSync(caseDir) || !fs.statSync(caseDir).isDirectory())
    throw new DataError(caseDir, null, 'a case folder', 'no such folder');
  const warnings: string[] = [];
  return {
    caseDir,
    ct: findCtFiles(caseDir),
    rtplan: firstOf('RTPLAN', findTopLevel(caseDir, RTPLAN_PREFIXES), warnings),
    rtstruct: firstOf('RTSTRUCT', findTopLevel(caseDir, RTSTRUCT_PREFIXES), warnings),
    rtdose: firstOf('RTDOSE', findTopLevel(caseDir, RTDOSE_PREFIXES), warnings),
    warnings,
  };
}
