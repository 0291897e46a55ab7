/** CLI array inputs: `path.npy` or `path.npz:key`. */
import * as fs from 'node:fs';
import { DataError } from '../core/errors';
import type { NdArray } from './ndarray';
import { parseNpy } from './npy';
import { isNdArray, openNpz } from './npz';

/**
 * Loads `file.npy`, or member `key` of `file.npz` written as `file.npz:key`. A missing key is a
 * DataError listing the available keys; a bare `.npz` without `:key` is accepted only when it
 * holds exactly one array.
 */
export async function loadArrayArg(spec: string): Promise<NdArray> {
  const m = /^(.*\.npz):([^:/\\]+)$/.exec(spec);
  if (m) {
    const [, file, key] = m;
    const z = await openNpz(file);
    if (!z.keys.includes(key)) throw new DataError(file, key, `key '${key}'`, `missing key (available: ${z.keys.join(', ') || 'none'})`);
    const e = await z.get(key);
    if (!isNdArray(e)) throw new DataError(file, key, 'a numeric array', 'a pickled object');
    return e;
  }
  if (spec.endsWith('.npz')) {
    const z = await openNpz(spec);
    if (z.keys.length !== 1) throw new DataError(spec, null, "'file.npz:key' naming one member", `${z.keys.length} members (${z.keys.join(', ')})`);
    const e = await z.get(z.keys[0]);
    if (!isNdArray(e)) throw new DataError(spec, z.keys[0], 'a numeric array', 'a pickled object');
    return e;
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.promises.readFile(spec));
  } catch (e) {
    throw new DataError(spec, null, 'a readable .npy file or file.npz:key', (e as NodeJS.ErrnoException).code ?? String(e));
  }
  return parseNpy(bytes, { file: spec });
}
