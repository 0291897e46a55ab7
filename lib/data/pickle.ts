/**
 * A small allow-listed unpickler and a pickler for the `metadata` entry of reference npz files
 * (spec 1.1): a 0-d numpy object array holding a dict, pickled by numpy (protocol 3/4 in numpy
 * 2.x, `numpy._core.multiarray`; numpy 1.x files name `numpy.core.multiarray`; protocol 2
 * encodes bytes through `_codecs.encode`). The reader accepts both name forms.
 *
 * The pickler writes the numpy 1.x names (`numpy.core.multiarray._reconstruct`) by default:
 * numpy 1.x has no `numpy._core` module (numpy < 1.26 fails with "No module named
 * 'numpy._core'"), while numpy 2.x keeps `numpy/core/multiarray.py` as a shim that binds
 * `_reconstruct` and `scalar` eagerly, "to support old pickle files", without a warning. So files
 * written by vmat-lab load in numpy 1.x and 2.x alike (test/data/numpy_interop.test.ts).
 *
 * Hand-written: no npm package decodes pickles without either executing arbitrary globals or
 * lacking numpy's reconstruct protocol. This VM never calls anything: every GLOBAL is looked up
 * in ALLOWED_GLOBALS and anything else is a DataError "unknown pickle global X". Values are
 * represented as described in pyobj.ts.
 */
import { DataError } from '../core/errors';
import { decodeRawArray, npyHeaderBytes, type NpyContext } from './npy';
import type { NdArray } from './ndarray';
import { NpScalar, PyFloat, PY_FLOATS, PY_INT_KEYS, PY_TUPLE, floatKeysOf, hasIntKeys, isPyTuple } from './pyobj';

// ---------------------------------------------------------------------------------------------
// internal Python-like values used while the VM runs (converted to JS by `finalize`)

class Tup {
  constructor(readonly items: unknown[]) {}
}
class Dict {
  readonly entries = new Map<unknown, unknown>();
  /** insertion-ordered keys as they were pickled (ints as number, str as string) */
}
class List {
  constructor(readonly items: unknown[] = []) {}
}
class Fl {
  constructor(readonly v: number) {}
}
class Mark {}

/** a numpy dtype instance: type code (e.g. 'f8', 'O8', 'b1') and byte order from BUILD state */
class NpDtype {
  byteorder = '|';
  constructor(readonly code: string) {}
  descr(): string {
    const c = this.code.replace(/^[<>|=]/, '');
    const kind = c[0];
    const size = c.slice(1);
    // dtype('b1')/('u1') are single-byte; numpy's pickled byteorder for them is '|'
    const bo = size === '1' ? '|' : this.byteorder === '>' ? '>' : '<';
    return `${bo}${kind}${size}`;
  }
}

/** result of `_reconstruct(ndarray, (0,), b'b')` filled in by BUILD */
class NpArray {
  shape: number[] = [];
  dtype: NpDtype | null = null;
  fortran = false;
  raw: Uint8Array | null = null;
  objects: unknown[] | null = null;
}

type Callable = (args: unknown[]) => unknown;
class Global {
  constructor(
    readonly name: string,
    readonly call: Callable | null,
  ) {}
}

/** a Python int (or bool) as a JS number; null for anything else */
function pyInt(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** numpy scalar(dtype, bytes) → JS value (float scalars stay wrapped as Fl until finalize) */
function decodeScalar(dt: NpDtype, raw: Uint8Array): unknown {
  const descr = dt.descr();
  const kind = descr[1];
  // thrown inside a REDUCE call: the unpickler re-throws it as a DataError naming the file and key
  if (kind === 'O') throw new Error('an object-dtype scalar');
  const arr = decodeRawArray(raw, descr, [], false);
  const x = arr.data[0];
  if (kind === 'b') return x !== 0;
  if (kind === 'f') return new Fl(Number(x));
  if (typeof x === 'bigint') return Number.isSafeInteger(Number(x)) ? Number(x) : x;
  return x;
}

/** `_reconstruct(ndarray, (0,), b'b')` makes an empty array that the following BUILD fills */
const RECONSTRUCT: Callable = () => new NpArray();
const NDARRAY_CLASS = new Global('numpy.ndarray', null);

const DTYPE: Callable = (args) => new NpDtype(String(args[0]));
// Callables run inside REDUCE: their plain Errors become DataErrors (file, key, "valid arguments to
// <global>", found = the message) in the unpickler's callGlobal, so the messages say what was found.
const SCALAR: Callable = (args) => {
  const dt = args[0];
  if (!(dt instanceof NpDtype)) throw new Error('no dtype argument');
  const raw = args[1];
  if (raw === undefined && dt.code.replace(/^[<>|=]/, '').startsWith('O')) throw new Error('an object-dtype scalar');
  if (!(raw instanceof Uint8Array)) throw new Error('no bytes argument');
  return decodeScalar(dt, raw);
};
/** protocol 2 writes bytes as _codecs.encode(str, 'latin1') */
const CODECS_ENCODE: Callable = (args) => {
  const s = String(args[0]);
  const enc = String(args[1] ?? 'utf-8').toLowerCase();
  if (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'iso-8859-1') throw new Error(`encoding '${enc}' (numpy pickles bytes as latin1)`);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

/** the only globals a pickle may reference (spec 1.1) */
export const ALLOWED_GLOBALS: Readonly<Record<string, Callable | null>> = {
  'numpy.dtype': DTYPE,
  'numpy.ndarray': null,
  'numpy.core.multiarray._reconstruct': RECONSTRUCT,
  'numpy._core.multiarray._reconstruct': RECONSTRUCT,
  'numpy.core.multiarray.scalar': SCALAR,
  'numpy._core.multiarray.scalar': SCALAR,
  '_codecs.encode': CODECS_ENCODE,
};

function lookupGlobal(module: string, name: string, err: (e: string, f: string) => never): Global {
  const full = `${module}.${name}`;
  if (!Object.prototype.hasOwnProperty.call(ALLOWED_GLOBALS, full)) {
    err(`allow-listed pickle global (${Object.keys(ALLOWED_GLOBALS).join(', ')})`, `unknown pickle global ${full}`);
  }
  if (full === 'numpy.ndarray') return NDARRAY_CLASS;
  return new Global(full, ALLOWED_GLOBALS[full]);
}

// ---------------------------------------------------------------------------------------------

/** Options for `unpickle`. */
export type UnpickleOptions = NpyContext;

/**
 * Decodes a pickle (protocols 0-4 opcodes that numpy emits; see the switch) into JS values per
 * pyobj.ts. A 0-d object ndarray is unwrapped to its element (so numpy's metadata entry
 * decodes straight to the dict); numeric ndarrays become NdArray; other object arrays become
 * plain arrays (flat, C order). Never executes anything.
 */
export function unpickle(bytes: Uint8Array, ctx: UnpickleOptions = { file: '<buffer>' }): unknown {
  const err: (expected: string, found: string) => never = (expected, found) => {
    throw new DataError(ctx.file, ctx.key ?? null, expected, found);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const need = (n: number): void => {
    if (pos + n > bytes.length) err(`${n} more pickle bytes at offset ${pos}`, `end of data (truncated pickle)`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = Number(dv.getBigUint64(pos, true));
    pos += 8;
    return v;
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const b = new Uint8Array(n); // explicit copy (a Node Buffer's slice() would be a view)
    b.set(bytes.subarray(pos, pos + n));
    pos += n;
    return b;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) err('newline-terminated pickle argument', 'end of data');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array): string => new TextDecoder('utf-8').decode(b);
  const pop = (): unknown => {
    if (!stack.length) err('non-empty pickle stack', 'empty stack');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const items = stack;
    if (!metastack.length) err('MARK before this opcode', 'no MARK');
    stack = metastack.pop()!;
    return items;
  };
  const top = (): unknown => {
    if (!stack.length) err('non-empty pickle stack', 'empty stack');
    return stack[stack.length - 1];
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof Dict)) err('dict under SETITEM(S)', describe(d));
    for (let i = 0; i + 1 < kv.length; i += 2) d.entries.set(kv[i], kv[i + 1]);
  };
  const append = (l: unknown, items: unknown[]): void => {
    if (!(l instanceof List)) err('list under APPEND(S)', describe(l));
    l.items.push(...items);
  };
  const callGlobal = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof Global) || !fn.call) err('callable allow-listed global under REDUCE', describe(fn));
    if (!(args instanceof Tup)) err('argument tuple under REDUCE', describe(args));
    try {
      return fn.call(args.items);
    } catch (e) {
      if (e instanceof DataError) throw e;
      return err(`valid arguments to ${fn.name}`, (e as Error).message);
    }
  };
  const build = (obj: unknown, state: unknown): void => {
    if (obj instanceof NpDtype) {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
      if (state instanceof Tup && typeof state.items[1] === 'string') obj.byteorder = state.items[1];
      return;
    }
    if (obj instanceof NpArray) {
      // (version, shape, dtype, is_fortran, rawdata | list)
      if (!(state instanceof Tup) || state.items.length < 5) err('ndarray state tuple of 5', describe(state));
      const [, shape, dt, fortran, data] = state.items;
      if (!(shape instanceof Tup)) err('ndarray shape tuple', describe(shape));
      obj.shape = shape.items.map((v) => pyInt(v) ?? err('integer ndarray shape entries', describe(v)));
      if (!(dt instanceof NpDtype)) err('ndarray dtype', describe(dt));
      obj.dtype = dt;
      obj.fortran = fortran === true || fortran === 1;
      if (data instanceof Uint8Array) obj.raw = data;
      else if (data instanceof List) obj.objects = data.items;
      else err('ndarray data (bytes or list)', describe(data));
      return;
    }
    err('numpy object under BUILD', describe(obj));
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return finalize(pop(), ctx);
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longFromBytes(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longFromBytes(take(u32())));
        break;
      case 0x49: {
        // INT (text): also encodes True/False in protocol 0 as I01/I00
        const s = line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else stack.push(longFromText(s));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(longFromText(line().replace(/L$/, '')));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(new Fl(dv.getFloat64(pos, false)));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(new Fl(Number(line())));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(take(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text)
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()));
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x54: // BINSTRING (py2 str: bytes, decoded latin-1 as numpy's encoding='latin1' loads do)
        stack.push(new TextDecoder('latin1').decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(new TextDecoder('latin1').decode(take(u8())));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new Tup([]));
        break;
      case 0x74: // TUPLE
        {
          // popMark() swaps `stack`, so evaluate it before pushing
          const items = popMark();
          stack.push(new Tup(items));
        }
        break;
      case 0x85: // TUPLE1
        stack.push(new Tup([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new Tup([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new Tup([a, b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push(new List());
        break;
      case 0x6c: // LIST
        {
          const items = popMark();
          stack.push(new List(items));
        }
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Dict());
        break;
      case 0x64: {
        // DICT
        const d = new Dict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new List());
        break;
      case 0x90: {
        // ADDITEMS (sets decode as lists)
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        {
          const items = popMark();
          stack.push(new List(items));
        }
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(lookupGlobal(module, name, err));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof name !== 'string' || typeof module !== 'string') err('two strings under STACK_GLOBAL', `${describe(module)}, ${describe(name)}`);
        stack.push(lookupGlobal(module, name, err));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(callGlobal(fn, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const idx = op === 0x67 ? Number(line()) : op === 0x68 ? u8() : u32();
        if (!memo.has(idx)) err(`memo entry ${idx}`, 'missing memo entry');
        stack.push(memo.get(idx));
        break;
      }
      default:
        err('supported pickle opcode', `opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') at offset ${pos - 1}`);
    }
  }
}

function longFromText(s: string): number | bigint {
  const b = BigInt(s.trim());
  return Number.isSafeInteger(Number(b)) ? Number(b) : b;
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Tup) return `tuple of ${v.items.length}`;
  if (v instanceof List) return 'list';
  if (v instanceof Dict) return 'dict';
  if (v instanceof Global) return `global ${v.name}`;
  if (v instanceof NpDtype) return `dtype ${v.code}`;
  if (v instanceof NpArray) return 'ndarray';
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (v instanceof Mark) return 'MARK';
  return typeof v;
}

/** converts VM values to the JS representation documented in pyobj.ts */
function finalize(root: unknown, ctx: NpyContext): unknown {
  const seen = new Map<unknown, unknown>();
  const conv = (v: unknown): unknown => {
    if (v instanceof Fl) return v.v;
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (seen.has(v)) return seen.get(v);
    if (v instanceof Tup || v instanceof List) {
      const out: unknown[] = [];
      seen.set(v, out);
      const rec = out as unknown as Record<symbol, unknown>;
      const floats: string[] = [];
      v.items.forEach((x, i) => {
        if (x instanceof Fl && Number.isInteger(x.v)) floats.push(String(i));
        out.push(conv(x));
      });
      if (v instanceof Tup) rec[PY_TUPLE] = true;
      if (floats.length) rec[PY_FLOATS] = floats;
      return out;
    }
    if (v instanceof Dict) {
      const out: Record<string | symbol, unknown> = {};
      seen.set(v, out);
      const floats: string[] = [];
      let intKeys = false;
      for (const [k, x] of v.entries) {
        let key: string;
        if (typeof k === 'string') key = k;
        else if (typeof k === 'number' || typeof k === 'bigint') {
          key = String(k);
          intKeys = true;
        } else if (k instanceof Fl) key = String(k.v);
        else if (typeof k === 'boolean') key = k ? 'True' : 'False';
        else if (k === null) key = 'None';
        else if (k instanceof Tup) key = JSON.stringify(conv(k));
        else key = String(k);
        if (x instanceof Fl && Number.isInteger(x.v)) floats.push(key);
        out[key] = conv(x);
      }
      if (intKeys) out[PY_INT_KEYS] = true;
      if (floats.length) out[PY_FLOATS] = floats;
      return out;
    }
    if (v instanceof NpArray) {
      if (!v.dtype) throw new DataError(ctx.file, ctx.key ?? null, 'ndarray with BUILD state', 'ndarray without state');
      if (v.objects) {
        if (v.shape.length === 0) return conv(v.objects[0]);
        return v.objects.map(conv);
      }
      const arr: NdArray = decodeRawArray(v.raw ?? new Uint8Array(0), v.dtype.descr(), v.shape, v.fortran, ctx);
      seen.set(v, arr);
      return arr;
    }
    if (v instanceof NpDtype) return v.descr();
    if (v instanceof Global) return `<global ${v.name}>`;
    return v;
  };
  return conv(root);
}

// ---------------------------------------------------------------------------------------------
// pickler

/** Options for `pickleMetadata`. */
export interface PickleOptions {
  /**
   * module of the reconstruct global: 'numpy1' (default) = `numpy.core.multiarray`, which numpy
   * 1.x and 2.x both load; 'numpy2' = `numpy._core.multiarray` as numpy 2.x itself writes it
   * (numpy 1.x before 1.26 cannot load that)
   */
  numpyNames?: 'numpy1' | 'numpy2';
}

class Writer {
  private chunks: number[] = [];
  /** module of numpy's `scalar`/`_reconstruct` globals ('numpy._core.multiarray' or 'numpy.core.multiarray') */
  numpyModule = 'numpy._core.multiarray';
  byte(b: number): void {
    this.chunks.push(b & 0xff);
  }
  bytes(b: Uint8Array | number[]): void {
    for (const x of b) this.chunks.push(x);
  }
  u32(v: number): void {
    this.byte(v);
    this.byte(v >>> 8);
    this.byte(v >>> 16);
    this.byte(v >>> 24);
  }
  result(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
  get length(): number {
    return this.chunks.length;
  }
}

const enc = new TextEncoder();

function writeStr(w: Writer, s: string): void {
  const b = enc.encode(s);
  if (b.length < 256) {
    w.byte(0x8c); // SHORT_BINUNICODE
    w.byte(b.length);
  } else {
    w.byte(0x58); // BINUNICODE
    w.u32(b.length);
  }
  w.bytes(b);
}

function writeInt(w: Writer, v: number | bigint): void {
  if (typeof v === 'number' && v >= 0 && v < 256) {
    w.byte(0x4b);
    w.byte(v);
  } else if (typeof v === 'number' && v >= 0 && v < 65536) {
    w.byte(0x4d);
    w.byte(v);
    w.byte(v >> 8);
  } else if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
    w.byte(0x4a);
    w.u32(v >>> 0);
  } else {
    // LONG1: little-endian two's complement, minimal length (as Python's encode_long)
    let x = BigInt(v);
    const out: number[] = [];
    if (x === 0n) out.push(0);
    const neg = x < 0n;
    while (true) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
      if ((!neg && x === 0n && (out[out.length - 1] & 0x80) === 0) || (neg && x === -1n && (out[out.length - 1] & 0x80) !== 0)) break;
    }
    w.byte(0x8a);
    w.byte(out.length);
    w.bytes(out);
  }
}

function writeFloat(w: Writer, v: number): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, false);
  w.byte(0x47);
  w.bytes(b);
}

function writeGlobal(w: Writer, module: string, name: string): void {
  writeStr(w, module);
  writeStr(w, name);
  w.byte(0x93); // STACK_GLOBAL
}

/** a numpy scalar as numpy pickles it: scalar(dtype(code, False, True) + BUILD state, raw bytes) */
function writeNpScalar(w: Writer, v: NpScalar, path: string): void {
  const raw = new Uint8Array(v.dtype === 'b1' ? 1 : v.dtype === 'f4' ? 4 : 8);
  const dv = new DataView(raw.buffer);
  if (v.dtype === 'b1') raw[0] = v.value ? 1 : 0;
  else if (v.dtype === 'f8') dv.setFloat64(0, Number(v.value), true);
  else if (v.dtype === 'f4') dv.setFloat32(0, Number(v.value), true);
  else {
    const b = BigInt(v.value as number | bigint);
    if (v.dtype === 'u8' && b < 0n) throw new Error(`pickleMetadata: negative np.uint64 at ${path} (NpScalar u8 values are >= 0)`);
    if (v.dtype === 'u8') dv.setBigUint64(0, b, true);
    else dv.setBigInt64(0, b, true);
  }
  writeGlobal(w, w.numpyModule, 'scalar');
  writeGlobal(w, 'numpy', 'dtype');
  writeStr(w, v.dtype);
  w.byte(0x89); // False
  w.byte(0x88); // True
  w.byte(0x87); // TUPLE3
  w.byte(0x52); // REDUCE
  // dtype state (3, byteorder, None, None, None, -1, -1, 0)
  w.byte(0x28);
  writeInt(w, 3);
  writeStr(w, v.dtype === 'b1' ? '|' : '<');
  w.byte(0x4e);
  w.byte(0x4e);
  w.byte(0x4e);
  writeInt(w, -1);
  writeInt(w, -1);
  writeInt(w, 0);
  w.byte(0x74);
  w.byte(0x62); // BUILD
  w.byte(0x43); // SHORT_BINBYTES
  w.byte(raw.length);
  w.bytes(raw);
  w.byte(0x86); // TUPLE2
  w.byte(0x52); // REDUCE
}

function writeValue(w: Writer, v: unknown, asFloat: boolean, path: string, depth: number): void {
  if (depth > 100) throw new Error(`pickleMetadata: nesting deeper than 100 at ${path} (metadata dicts are shallow; a cycle?)`);
  if (v === null || v === undefined) return w.byte(0x4e);
  if (v instanceof NpScalar) return writeNpScalar(w, v, path);
  if (v === true) return w.byte(0x88);
  if (v === false) return w.byte(0x89);
  if (v instanceof PyFloat) return writeFloat(w, v.value);
  if (typeof v === 'number') {
    if (!asFloat && Number.isSafeInteger(v) && !Object.is(v, -0)) return writeInt(w, v);
    return writeFloat(w, v);
  }
  if (typeof v === 'bigint') return writeInt(w, v);
  if (typeof v === 'string') return writeStr(w, v);
  if (v instanceof Uint8Array) {
    w.byte(0x42); // BINBYTES
    w.u32(v.length);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    const floats = floatKeysOf(v);
    if (isPyTuple(v)) {
      if (v.length === 0) return w.byte(0x29);
      if (v.length > 3) w.byte(0x28);
      v.forEach((x, i) => writeValue(w, x, floats.has(String(i)), `${path}[${i}]`, depth + 1));
      return w.byte(v.length === 1 ? 0x85 : v.length === 2 ? 0x86 : v.length === 3 ? 0x87 : 0x74);
    }
    w.byte(0x5d); // EMPTY_LIST
    if (v.length) {
      w.byte(0x28);
      v.forEach((x, i) => writeValue(w, x, floats.has(String(i)), `${path}[${i}]`, depth + 1));
      w.byte(0x65); // APPENDS
    }
    return;
  }
  if (v instanceof Map) {
    w.byte(0x7d);
    if (v.size) {
      w.byte(0x28);
      for (const [k, x] of v) {
        writeValue(w, k, false, `${path}.<key>`, depth + 1);
        writeValue(w, x, false, `${path}.${String(k)}`, depth + 1);
      }
      w.byte(0x75);
    }
    return;
  }
  if (typeof v === 'object') {
    if ('data' in v && 'shape' in v && 'dtype' in v) throw new Error(`pickleMetadata: ndarray values are not supported (at ${path}); arrays go in their own npz member`);
    const intKeys = hasIntKeys(v);
    const floats = floatKeysOf(v);
    const entries = Object.entries(v);
    w.byte(0x7d); // EMPTY_DICT
    if (entries.length) {
      w.byte(0x28);
      for (const [k, x] of entries) {
        if (intKeys && /^-?\d+$/.test(k)) writeInt(w, BigInt(k) <= BigInt(Number.MAX_SAFE_INTEGER) && BigInt(k) >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(k) : BigInt(k));
        else writeStr(w, k);
        writeValue(w, x, floats.has(k), `${path}.${k}`, depth + 1);
      }
      w.byte(0x75); // SETITEMS
    }
    return;
  }
  throw new Error(`pickleMetadata: cannot pickle a ${typeof v} at ${path} (metadata holds the Python-like values of pyobj.ts)`);
}

/**
 * Pickles `obj` (a dict, per pyobj.ts conventions) as numpy pickles a 0-d object array holding
 * it (global names per `opts.numpyNames`, default the numpy 1.x names both majors read): protocol 4, `_reconstruct(ndarray, (0,), b'b')` + BUILD `(1, (), dtype('O8'), False, [obj])`,
 * so `np.load(f, allow_pickle=True)['metadata'].item()` returns the dict. Deterministic bytes;
 * no memo (valid for any unpickler).
 */
export function pickleMetadata(obj: unknown, opts: PickleOptions = {}): Uint8Array {
  const mod = (opts.numpyNames ?? 'numpy1') === 'numpy1' ? 'numpy.core.multiarray' : 'numpy._core.multiarray';
  const w = new Writer();
  w.numpyModule = mod;
  writeGlobal(w, mod, '_reconstruct');
  writeGlobal(w, 'numpy', 'ndarray');
  writeInt(w, 0);
  w.byte(0x85); // (0,)
  w.byte(0x43); // SHORT_BINBYTES b'b'
  w.byte(1);
  w.byte(0x62);
  w.byte(0x87); // TUPLE3
  w.byte(0x52); // REDUCE
  // state: (1, (), dtype('O8', False, True) + BUILD(3, '|', None, None, None, -1, -1, 63), False, [obj])
  w.byte(0x28);
  writeInt(w, 1);
  w.byte(0x29);
  writeGlobal(w, 'numpy', 'dtype');
  writeStr(w, 'O8');
  w.byte(0x89);
  w.byte(0x88);
  w.byte(0x87);
  w.byte(0x52);
  w.byte(0x28);
  writeInt(w, 3);
  writeStr(w, '|');
  w.byte(0x4e);
  w.byte(0x4e);
  w.byte(0x4e);
  writeInt(w, -1);
  writeInt(w, -1);
  writeInt(w, 63);
  w.byte(0x74);
  w.byte(0x62); // BUILD dtype
  w.byte(0x89); // is_fortran False
  w.byte(0x5d); // EMPTY_LIST
  writeValue(w, obj, false, 'metadata', 0);
  w.byte(0x61); // APPEND
  w.byte(0x74); // TUPLE (state)
  w.byte(0x62); // BUILD
  w.byte(0x2e); // STOP
  const body = w.result();
  // PROTO 4 + one FRAME over the whole body (framing is optional for readers but numpy's
  // protocol-4 pickles have it)
  const out = new Uint8Array(2 + 9 + body.length);
  out[0] = 0x80;
  out[1] = 4;
  out[2] = 0x95;
  new DataView(out.buffer).setBigUint64(3, BigInt(body.length), true);
  out.set(body, 11);
  return out;
}

/** the .npy bytes numpy stores for an object array: v1.0 header with descr '|O', shape (), then the pickle */
export function objectNpyBytes(pickle: Uint8Array): Uint8Array {
  const header = npyHeaderBytes('|O', []);
  const out = new Uint8Array(header.length + pickle.length);
  out.set(header, 0);
  out.set(pickle, header.length);
  return out;
}
