/**
 * Atomic file output: write to a temporary file in the same folder, then rename over the target,
 * so a crash never leaves a half-written file behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function tmpName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

/** Writes `data` to `target` through a temporary file in the same folder and a rename: readers never see a half-written file. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, target);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/** Synchronous writeFileAtomic (temporary file + rename). */
export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** JSON with 2-space indent; non-finite numbers become null (JSON has no NaN). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

/** Writes `value` as indented JSON (non-finite numbers as null) atomically. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, toJson(value));
}

/** the name a replaced directory is kept under until its successor is in place */
function previousName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.previous`);
}

/**
 * Replaces a whole directory (checkpoint folders): the caller fills a temporary folder, then the
 * old `target` is renamed to `.<name>.previous`, the new one renamed into place, and the previous one
 * removed. A POSIX rename cannot swap two non-empty directories in one step, so a crash between the
 * two renames leaves the previous folder beside a missing target; `recoverAtomicDir` (called before
 * reading) puts it back. A crash at any other point leaves the old or the new folder in place.
 */
export async function withAtomicDir(target: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  recoverAtomicDir(target);
  const tmp = tmpName(target);
  await fs.promises.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    const previous = previousName(target);
    const exists = fs.existsSync(target);
    if (exists) {
      await fs.promises.rm(previous, { recursive: true, force: true });
      await fs.promises.rename(target, previous);
    }
    await fs.promises.rename(tmp, target);
    if (exists) await fs.promises.rm(previous, { recursive: true, force: true });
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * After a crash inside withAtomicDir's two renames: when `target` is missing but its previous
 * version exists, that version is moved back. Returns whether `target` exists afterwards.
 */
export function recoverAtomicDir(target: string): boolean {
  if (fs.existsSync(target)) return true;
  const previous = previousName(target);
  if (!fs.existsSync(previous)) return false;
  fs.renameSync(previous, target);
  return true;
}
