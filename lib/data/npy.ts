/**
 * NumPy `.npy` reader and writer (format spec: numpy/lib/format.py, versions 1.0, 2.0, 3.0).
 *
 * Hand-written rather than npyjs: npyjs 1.2 (installed, used in tests as a cross-check) rejects
 * big-endian descrs ('>f4' → "Unsupported dtype"), returns Fortran-order data unreordered,
 * decodes '|b1' into a JS boolean[] instead of a typed array, never checks that the payload is
 * as long as the shape requires (a truncated member silently yields a short array) and reads
 * the header with loose regexes. All five matter for files from other machines, so the small
 * parser below does header, byte order, order and length checks itself.
 */
import { DataError } from '../core/errors';
import { numel, type NdArray, type TypedArray } from './ndarray';

/** where a buffer came from, for error messages */
export interface NpyContext {
  file: string;
  key?: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DtypeInfo {
  /** canonical little-endian/native descr returned in NdArray.dtype */
  descr: string;
  size: number;
  make: (buf: ArrayBuffer, n: number) => TypedArray;
}

/** the numeric dtypes vmat-lab reads; keys are the type code without byte-order char */
const DTYPES: Record<string, DtypeInfo> = {
  f4: { descr: '<f4', size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f8: { descr: '<f8', size: 8, make: (b, n) => new Float64Array(b, 0, n) },
  u1: { descr: '|u1', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i1: { descr: '|i1', size: 1, make: (b, n) => new Int8Array(b, 0, n) },
  b1: { descr: '|b1', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i2: { descr: '<i2', size: 2, make: (b, n) => new Int16Array(b, 0, n) },
  u2: { descr: '<u2', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i4: { descr: '<i4', size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  u4: { descr: '<u4', size: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  i8: { descr: '<i8', size: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  u8: { descr: '<u8', size: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
};

/** The descr of an object (pickled) array; parseNpy reports it via NpyObjectPayload. */
export const OBJECT_DESCR = '|O';

/** Header fields of a .npy buffer. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** byte offset of the payload */
  dataOffset: number;
  version: [number, number];
}

function fail(ctx: NpyContext | undefined, expected: string, found: string): never {
  throw new DataError(ctx?.file ?? '<buffer>', ctx?.key ?? null, expected, found);
}

/**
 * Parses the Python-literal header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
 * Only the three keys numpy writes are accepted.
 */
function parseHeaderDict(text: string, ctx?: NpyContext): { descr: string; fortranOrder: boolean; shape: number[] } {
  const t = text.trim();
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(t)?.[1];
  const fo = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(t)?.[1];
  const sh = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(t)?.[1];
  if (!t.startsWith('{') || descr === undefined || fo === undefined || sh === undefined) {
    fail(ctx, "npy header dict with 'descr', 'fortran_order', 'shape'", JSON.stringify(t.slice(0, 120)));
  }
  const parts = sh.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const shape = parts.map((p) => {
    const v = Number(p.replace(/L$/, ''));
    if (!Number.isInteger(v) || v < 0) fail(ctx, 'non-negative integer shape', `shape (${sh})`);
    return v;
  });
  return { descr, fortranOrder: fo === 'True', shape };
}

/** Reads magic, version and header dict (no payload decoding). */
export function readNpyHeader(bytes: Uint8Array, ctx?: NpyContext): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    fail(ctx, 'npy magic \\x93NUMPY', bytes.length < 10 ? `${bytes.length} bytes` : `first bytes ${hex(bytes.subarray(0, 6))}`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(ctx, 'complete npy header', `${bytes.length} bytes`);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    fail(ctx, 'npy format version 1.0, 2.0 or 3.0', `version ${major}.${minor}`);
  }
  if (start + headerLen > bytes.length) fail(ctx, `npy header of ${headerLen} bytes`, `${bytes.length - start} bytes (truncated)`);
  // v3 headers are utf-8, v1/v2 latin-1; the dict itself is ASCII in practice
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const d = parseHeaderDict(text, ctx);
  return { ...d, dataOffset: start + headerLen, version: [major, minor] };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** splits '<f4' into byte order and type code; '=' is native (little-endian on every supported host) */
function splitDescr(descr: string): { order: '<' | '>' | '|'; code: string } {
  const c = descr[0];
  if (c === '<' || c === '>' || c === '|' || c === '=') {
    return { order: c === '=' ? '<' : (c as '<' | '>' | '|'), code: descr.slice(1) };
  }
  return { order: '|', code: descr };
}

/** true when the buffer holds a pickled object array (descr '|O') */
export function isObjectNpy(bytes: Uint8Array, ctx?: NpyContext): boolean {
  return splitDescr(readNpyHeader(bytes, ctx).descr).code === 'O';
}

/** reverses each `size`-byte group in place (big-endian → little-endian) */
function byteSwap(u8: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < u8.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = u8[a];
      u8[a] = u8[b];
      u8[b] = t;
    }
  }
}

/** Fortran (column-major) → C (row-major) element order, element size `size` bytes */
function fortranToC(src: Uint8Array, shape: number[], size: number): Uint8Array {
  const nd = shape.length;
  if (nd < 2) return src;
  const n = numel(shape);
  const dst = new Uint8Array(n * size);
  // strides of the Fortran source, in elements
  const fstr = new Array<number>(nd);
  fstr[0] = 1;
  for (let d = 1; d < nd; d++) fstr[d] = fstr[d - 1] * shape[d - 1];
  const idx = new Array<number>(nd).fill(0);
  let srcOff = 0;
  for (let i = 0; i < n; i++) {
    const so = srcOff * size;
    const dOff = i * size;
    for (let b = 0; b < size; b++) dst[dOff + b] = src[so + b];
    // advance the C-order multi-index (last axis fastest) and the matching Fortran offset
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      srcOff += fstr[d];
      if (idx[d] < shape[d]) break;
      srcOff -= fstr[d] * shape[d];
      idx[d] = 0;
    }
  }
  return dst;
}

/**
 * Decodes a .npy buffer into a C-order, native (little-endian) NdArray.
 * Supported descrs: f4 f8 u1 i1 b1 i2 u2 i4 u4 i8 u8, either byte order, C or Fortran order,
 * format versions 1.0/2.0/3.0. Object arrays ('|O') are rejected here — use npz.ts, which
 * routes them to the pickle reader. The returned data never aliases `bytes` unless
 * `opts.adopt` is set (the caller hands over a buffer nobody else uses, e.g. a freshly inflated
 * zip member) and no conversion is needed — saves a copy of 0.5 GB SDF stacks.
 */
export function parseNpy(bytes: Uint8Array, ctx?: NpyContext, opts: { adopt?: boolean } = {}): NdArray {
  const h = readNpyHeader(bytes, ctx);
  if (splitDescr(h.descr).code === 'O') fail(ctx, 'numeric npy array', "object array (descr '|O'); read it through readNpz");
  return decodeRawArray(bytes.subarray(h.dataOffset), h.descr, h.shape, h.fortranOrder, ctx, opts);
}

/**
 * Decodes raw element bytes (as in a .npy payload or a pickled ndarray's state) into a C-order
 * little-endian NdArray. Extra trailing bytes are ignored; too few is a DataError.
 */
export function decodeRawArray(
  raw: Uint8Array,
  descr: string,
  shape: number[],
  fortranOrder: boolean,
  ctx?: NpyContext,
  opts: { adopt?: boolean } = {},
): NdArray {
  const { order, code } = splitDescr(descr);
  const info = DTYPES[code];
  if (!info) fail(ctx, `dtype one of ${Object.keys(DTYPES).join(' ')}`, `descr '${descr}'`);
  const n = numel(shape);
  const nbytes = n * info.size;
  if (raw.length < nbytes) fail(ctx, `${nbytes} data bytes for shape (${shape.join(', ')}) ${descr}`, `${raw.length} bytes (truncated)`);
  const inPlace = order !== '>' && (!fortranOrder || shape.length < 2);
  if (opts.adopt && inPlace && raw.byteOffset % info.size === 0) {
    const view = info.make(raw.buffer as ArrayBuffer, 0);
    const Ctor = view.constructor as new (b: ArrayBuffer, off: number, len: number) => TypedArray;
    return { data: new Ctor(raw.buffer as ArrayBuffer, raw.byteOffset, n), shape: [...shape], dtype: info.descr };
  }
  // copy into a fresh, aligned buffer (explicitly: a Node Buffer's slice() would be a view)
  let buf = new Uint8Array(nbytes);
  buf.set(raw.subarray(0, nbytes));
  if (order === '>') byteSwap(buf, info.size);
  if (fortranOrder) buf = fortranToC(buf, shape, info.size);
  return { data: info.make(buf.buffer as ArrayBuffer, n), shape: [...shape], dtype: info.descr };
}

function descrOf(arr: NdArray): string {
  const d = arr.dtype;
  const { code } = splitDescr(d);
  const info = DTYPES[code];
  if (!info) throw new Error(`encodeNpy: unsupported dtype ${d} (NdArrays are built with the dtypes of DTYPES)`);
  const expectedCtor = info.make(new ArrayBuffer(8), 0).constructor;
  if (arr.data.constructor !== expectedCtor) {
    throw new Error(`encodeNpy: dtype ${d} does not match data ${arr.data.constructor.name} (ndarray() derives the dtype from the data)`);
  }
  return info.descr;
}

/** dtype string for a typed array (the inverse of parseNpy's mapping; Uint8Array → '|u1') */
export function dtypeOf(data: TypedArray): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof BigInt64Array) return '<i8';
  return '<u8';
}

/** builds the padded v1.0 header (total header length a multiple of 64, as numpy writes it) */
export function npyHeaderBytes(descr: string, shape: readonly number[]): Uint8Array {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + dict.length + 1;
  const pad = (64 - (total % 64)) % 64;
  dict = dict + ' '.repeat(pad) + '\n';
  if (dict.length > 65535) throw new Error(`encodeNpy: header of ${dict.length} bytes is too long for format 1.0 (65535 max; shape has ${shape.length} axes)`);
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** Encodes an NdArray as .npy format 1.0, C order, little-endian (what `np.save` writes). */
export function encodeNpy(arr: NdArray): Uint8Array {
  const descr = descrOf(arr);
  if (arr.data.length !== numel(arr.shape)) {
    throw new Error(`encodeNpy: ${arr.data.length} elements for shape (${arr.shape.join(', ')}), which needs ${numel(arr.shape)}`);
  }
  const header = npyHeaderBytes(descr, arr.shape);
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** convenience constructor with the dtype taken from the typed array */
export function ndarray<T extends TypedArray>(data: T, shape: number[], dtype?: string): NdArray<T> {
  return { data, shape, dtype: dtype ?? dtypeOf(data) };
}
