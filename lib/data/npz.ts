/**
 * `.npz` archives (a ZIP of `<key>.npy` members, as numpy's savez/savez_compressed write them)
 * through jszip. jszip reads the ZIP64 extra fields numpy always writes (spec 1.1) and checks
 * CRCs; object members (`|O`, e.g. `metadata`) go to the allow-listed unpickler.
 */
import * as fs from 'node:fs';
import JSZip from 'jszip';
import { DataError } from '../core/errors';
import { writeFileAtomic } from '../core/atomic';
import type { NdArray } from './ndarray';
import { encodeNpy, isObjectNpy, parseNpy, readNpyHeader } from './npy';
import { objectNpyBytes, unpickle } from './pickle';
import { deflatedForJszipAsync, inflateMember } from './zip_native';

/** a pickled (object) npz member: decoded value plus the raw pickle bytes */
export interface PickledObject {
  kind: 'pickle';
  /** decoded per pyobj.ts; numpy's 0-d object array is unwrapped to its element */
  value: unknown;
  /** the pickle stream as stored (after the .npy header) */
  pickle: Uint8Array;
}

export type NpzEntry = NdArray | PickledObject;

/** True for an npz entry that holds a pickled object (an object-dtype member such as `metadata`). */
export function isPickled(e: NpzEntry | undefined): e is PickledObject {
  return !!e && (e as PickledObject).kind === 'pickle';
}

/** True for a numeric array entry (`data`, `shape`, `dtype`). */
export function isNdArray(e: unknown): e is NdArray {
  return !!e && typeof e === 'object' && 'data' in e && 'shape' in e && 'dtype' in e;
}

/** the raw zip, its member keys (name without `.npy`) and a member reader */
export interface OpenNpz {
  file: string;
  keys: string[];
  /** raw .npy bytes of a member */
  raw(key: string): Promise<Uint8Array>;
  /** decoded member */
  get(key: string): Promise<NpzEntry>;
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.promises.readFile(file));
  } catch (e) {
    throw new DataError(file, null, 'a readable file', (e as NodeJS.ErrnoException).code ?? String(e));
  }
}

/** Opens an npz lazily: parses the ZIP directory, decompresses members on demand. */
export async function openNpz(file: string): Promise<OpenNpz> {
  const bytes = await readBytes(file);
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new DataError(file, null, 'a zip archive (npz, starting with "PK")', bytes.length < 4 ? `${bytes.length} bytes` : 'not a zip file');
  }
  let zip: JSZip;
  try {
    // CRC is checked per member in inflateMember (jszip's checkCRC32 would inflate everything up front)
    zip = await JSZip.loadAsync(bytes, { checkCRC32: false, createFolders: false });
  } catch (e) {
    throw new DataError(file, null, 'a complete zip archive (npz)', `unreadable zip (${(e as Error).message}); truncated or corrupt file?`);
  }
  const members = new Map<string, JSZip.JSZipObject>();
  for (const name of Object.keys(zip.files).sort()) {
    const f = zip.files[name];
    if (f.dir) continue;
    members.set(name.endsWith('.npy') ? name.slice(0, -4) : name, f);
  }
  const raw = async (key: string): Promise<Uint8Array> => {
    const f = members.get(key);
    if (!f) throw new DataError(file, key, `key '${key}'`, `missing key (available: ${[...members.keys()].join(', ') || 'none'})`);
    try {
      return inflateMember(f) ?? (await f.async('uint8array'));
    } catch (e) {
      throw new DataError(file, key, 'a decompressible zip member', `${(e as Error).message}`);
    }
  };
  const get = async (key: string): Promise<NpzEntry> => {
    const b = await raw(key);
    const ctx = { file, key };
    if (isObjectNpy(b, ctx)) {
      const h = readNpyHeader(b, ctx);
      const pickle = b.slice(h.dataOffset);
      return { kind: 'pickle', value: unpickle(pickle, ctx), pickle };
    }
    // the member bytes are ours alone, so the array may view them without a copy
    return parseNpy(b, ctx, { adopt: true });
  };
  return { file, keys: [...members.keys()], raw, get };
}

/**
 * Reads an npz into a key → array/pickle map (keys in sorted order). With `opts.keys`, only
 * those members are decoded and a missing one is a DataError listing the available keys.
 */
export async function readNpz(file: string, opts: { keys?: string[] } = {}): Promise<Map<string, NpzEntry>> {
  const z = await openNpz(file);
  const keys = opts.keys ?? z.keys;
  const out = new Map<string, NpzEntry>();
  for (const k of keys) out.set(k, await z.get(k));
  return out;
}

/** value accepted by writeNpz: an array, or pre-pickled bytes of a 0-d object array */
export type NpzWriteEntry = NdArray | { pickle: Uint8Array };

/** fixed member timestamp so equal content gives equal bytes (DOS epoch, as Python's ZipInfo default) */
const FIXED_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

/** members deflated at once on the thread pool (bounds the extra memory of uncompressed copies) */
const PARALLEL_DEFLATE = 4;

/**
 * Builds npz bytes in memory (deterministic; members in the given order). Members are deflated
 * in parallel on libuv's thread pool, up to PARALLEL_DEFLATE at a time.
 */
export async function encodeNpz(entries: Array<[string, NpzWriteEntry]>, opts: { compress?: boolean } = {}): Promise<Uint8Array> {
  const zip = new JSZip();
  const compress = opts.compress ?? true;
  const members: Array<Promise<unknown | null> | null> = new Array(entries.length).fill(null);
  const bytesOf = (i: number): Uint8Array => {
    const v = entries[i][1];
    return 'pickle' in v ? objectNpyBytes(v.pickle) : encodeNpy(v);
  };
  const raw: Array<Uint8Array | null> = new Array(entries.length).fill(null);
  let next = 0;
  const start = (): void => {
    if (next >= entries.length) return;
    const i = next++;
    raw[i] = bytesOf(i);
    if (compress) members[i] = deflatedForJszipAsync(raw[i]!);
  };
  for (let k = 0; k < Math.min(PARALLEL_DEFLATE, entries.length); k++) start();
  for (let i = 0; i < entries.length; i++) {
    const data = compress ? await members[i] : null;
    zip.file(`${entries[i][0]}.npy`, (data ?? raw[i]) as Uint8Array, { binary: true, date: FIXED_DATE, createFolders: false });
    if (data) raw[i] = null; // the compressed copy is all jszip keeps
    start();
  }
  return zip.generateAsync({
    type: 'uint8array',
    compression: compress ? 'DEFLATE' : 'STORE',
    compressionOptions: compress ? { level: 6 } : undefined,
    platform: 'DOS',
  });
}

/**
 * Writes an npz atomically (`savez_compressed`-style DEFLATE by default; `compress: false`
 * for `savez`). Readable by `numpy.load(f, allow_pickle=True)`; same entries → same bytes.
 */
export async function writeNpz(file: string, entries: Array<[string, NpzWriteEntry]>, opts: { compress?: boolean } = {}): Promise<void> {
  await writeFileAtomic(file, await encodeNpz(entries, opts));
}
