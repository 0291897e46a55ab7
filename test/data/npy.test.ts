import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import npyjs from 'npyjs';
import { DataError } from '../../lib/core/errors';
import { encodeNpy, parseNpy } from '../../lib/data/npy';
import { FIX } from './helpers';

interface Expected {
  descr: string;
  fortran_order: boolean;
  shape: number[];
  values: Array<number | string | boolean>;
}
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'npy', 'expected.json'), 'utf8')) as Record<string, Expected>;

test('parseNpy reads every numpy-written dtype, byte order, C/Fortran order and format version', () => {
  assert.ok(Object.keys(expected).length >= 30);
  for (const [name, exp] of Object.entries(expected)) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'npy', name)));
    const a = parseNpy(bytes, { file: name });
    assert.deepEqual(a.shape, exp.shape, name);
    // returned dtype is the native little-endian form
    const code = exp.descr.slice(1);
    assert.equal(a.dtype.slice(1), code, name);
    assert.ok(a.dtype[0] !== '>', name);
    const got = Array.from(a.data as ArrayLike<number | bigint>, (x) =>
      typeof x === 'bigint' ? x.toString() : code === 'b1' ? x !== 0 : x,
    );
    const want = exp.values.map((v) => (code === 'f4' && typeof v === 'number' ? Math.fround(v) : v));
    assert.deepEqual(got, want, name);
  }
});

test('parseNpy agrees with npyjs on little-endian C-order files', () => {
  for (const name of Object.keys(expected).filter((n) => n.includes('_le_C') && !n.startsWith('b1'))) {
    const bytes = fs.readFileSync(path.join(FIX, 'npy', name));
    const ours = parseNpy(new Uint8Array(bytes));
    const theirs = npyjs.prototype.parse.call(new npyjs(), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    assert.deepEqual(Array.from(ours.data as ArrayLike<unknown>), Array.from(theirs.data as unknown as ArrayLike<unknown>), name);
  }
});

test('encodeNpy writes what np.save writes (byte-identical header and data for C-order LE)', () => {
  for (const name of Object.keys(expected).filter((n) => /_le_C\.npy$/.test(n) && !n.startsWith('b1'))) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'npy', name)));
    assert.deepEqual(Buffer.from(encodeNpy(parseNpy(bytes))), Buffer.from(bytes), name);
  }
  // Fortran and big-endian inputs re-encode as their C-order little-endian equivalent
  const f = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'npy', 'i4_be_F.npy'))));
  const c = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'npy', 'i4_le_C.npy'))));
  assert.deepEqual(Buffer.from(encodeNpy(f)), Buffer.from(encodeNpy(c)));
});

test('parseNpy rejects truncated data, bad magic and unsupported dtypes with the file named', () => {
  const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'npy', 'f8_le_C.npy')));
  assert.throws(() => parseNpy(bytes.subarray(0, bytes.length - 8), { file: 'x.npy', key: 'k' }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /x\.npy \[k\]: expected 480 data bytes .* found 472 bytes \(truncated\)/);
    return true;
  });
  assert.throws(() => parseNpy(new TextEncoder().encode('hello world, not npy'), { file: 'y.npy' }), /y\.npy: expected npy magic/);
  const c8 = new Uint8Array(bytes);
  const at = Buffer.from(c8).indexOf("'<f8'");
  c8[at + 2] = 'c'.charCodeAt(0);
  assert.throws(() => parseNpy(c8, { file: 'z.npy' }), /z\.npy: expected dtype one of .* found descr '<c8'/);
});
