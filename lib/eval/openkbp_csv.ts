/**
 * Float64 reading/writing of OpenKBP sparse dose CSVs (`,data` header, `<flat index>,<value>` rows)
 * for scoring. The data layer's readers return float32 volumes, which is right for training but
 * shifts |ref - pred| by ~1e-7 relative — too much for the official scores to 1e-9 — so the scorer
 * reads dose values as float64 here, as the official pandas loader does.
 */
import * as fs from 'node:fs';
import { DataError } from '../core/errors';
import { writeFileAtomic } from '../core/atomic';

/** dense float64 dose (0 where no row) from a sparse dose CSV */
export async function readDoseCsv64(file: string, nVoxels: number): Promise<Float64Array> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new DataError(file, null, 'a readable OpenKBP dose CSV', (e as NodeJS.ErrnoException).code ?? String(e));
  }
  const lines = text.split('\n');
  if (lines[0].replace(/\r$/, '') !== ',data')
    throw new DataError(file, null, "header ',data'", JSON.stringify(lines[0].slice(0, 40)));
  const out = new Float64Array(nVoxels);
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li].replace(/\r$/, '');
    if (!line) continue;
    const comma = line.indexOf(',');
    const idx = comma > 0 ? Number(line.slice(0, comma)) : NaN;
    const v = comma > 0 ? Number(line.slice(comma + 1)) : NaN;
    if (!Number.isInteger(idx) || idx < 0 || idx >= nVoxels)
      throw new DataError(
        file,
        `line ${li + 1}`,
        `'<index>,<value>' with index in [0, ${nVoxels})`,
        JSON.stringify(line.slice(0, 40)),
      );
    if (comma === line.length - 1 || !Number.isFinite(v))
      throw new DataError(
        file,
        `line ${li + 1}`,
        'a finite dose value',
        JSON.stringify(line.slice(comma + 1, comma + 41)),
      );
    out[idx] = v;
  }
  return out;
}

/** writes the official prediction format: rows only for values > 0, full double precision */
export async function writeDoseCsv64(file: string, dose: ArrayLike<number>): Promise<void> {
  const parts: string[] = [',data'];
  for (let i = 0; i < dose.length; i++) if (dose[i] > 0) parts.push(`${i},${String(dose[i])}`);
  await writeFileAtomic(file, parts.join('\n') + '\n');
}
