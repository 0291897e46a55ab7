import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../../lib/core/errors';
import type { NdArray } from '../../lib/data/ndarray';
import { pickleMetadata, unpickle } from '../../lib/data/pickle';
import { pyFloat, pyTuple, withIntKeys } from '../../lib/data/pyobj';
import { FIX, canon } from './helpers';

const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'pickles', 'expected.json'), 'utf8')) as Record<string, unknown>;

test('unpickle decodes numpy metadata pickles (protocols 2/3/4, numpy 1.x and 2.x names) type-exactly', () => {
  const names = Object.keys(expected).filter((n) => n.startsWith('metadata_'));
  assert.equal(names.length, 5);
  for (const name of names) {
    const v = unpickle(new Uint8Array(fs.readFileSync(path.join(FIX, 'pickles', name))), { file: name });
    assert.deepEqual(canon(v), expected[name], name);
  }
});

test('numpy scalars become JS values; int dict keys are kept as marked string keys', () => {
  const md = unpickle(new Uint8Array(fs.readFileSync(path.join(FIX, 'pickles', 'metadata_p4.pkl')))) as Record<string, any>;
  assert.equal(md.case_type.ptv70_exists, true);
  assert.equal(md.case_type.ptv50_exists, false);
  assert.equal(md.truncation_info.PTV70.total_voxels, 123);
  assert.equal(md.truncation_info.PTV70.boundary_voxels.y_max, 2n ** 63n + 5n);
  assert.equal(md.validation.ct_min, 0.25);
  assert.equal(md.structure_channels['0'], 'PTV70');
  assert.equal(md.structure_channels['8'], 'PTV50.4');
  assert.deepEqual([...md.voxel_spacing_mm], [1.171875, 1.171875, 3]);
  assert.equal(md.big_int, 2n ** 70n);
});

test('numeric ndarrays inside pickles decode in C order, native byte order', () => {
  const v = unpickle(new Uint8Array(fs.readFileSync(path.join(FIX, 'pickles', 'ndarrays_p4.pkl')))) as Record<string, NdArray>;
  const exp = expected['ndarrays_p4.pkl'] as Record<string, number[]>;
  assert.deepEqual(Array.from(v.arr.data as Int32Array), exp.arr);
  assert.deepEqual(v.arr.shape, [2, 3]);
  assert.deepEqual(Array.from(v.f.data as Float64Array), exp.f);
});

test('pickleMetadata output decodes back to the same typed value (TS round trip)', () => {
  for (const name of ['metadata_p2.pkl', 'metadata_np1_p3.pkl', 'metadata_p4.pkl']) {
    const v = unpickle(new Uint8Array(fs.readFileSync(path.join(FIX, 'pickles', name))));
    for (const numpyNames of ['numpy1', 'numpy2'] as const) {
      const again = unpickle(pickleMetadata(v, { numpyNames }));
      assert.deepEqual(canon(again), expected[name], name);
    }
  }
  const built = { a: pyFloat(70), b: 70, t: pyTuple([1, pyFloat(2), 'x']), m: withIntKeys({ '0': 'PTV70', '1': 'PTV56' }), n: null, neg: -5, big: -(2n ** 70n) };
  assert.deepEqual(canon(unpickle(pickleMetadata(built))), canon(built));
});

test('unknown globals are refused before anything runs; truncated pickles are DataErrors', () => {
  const evil = Buffer.concat([Buffer.from('\x80\x02cos\nsystem\nX\x0b\x00\x00\x00echo pwned\x85R.', 'latin1')]);
  assert.throws(() => unpickle(new Uint8Array(evil), { file: 'f.npz', key: 'metadata' }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /^f\.npz \[metadata\]: expected allow-listed pickle global .* found unknown pickle global os\.system$/);
    return true;
  });
  // protocol 4 STACK_GLOBAL form (builtins.eval)
  const sg = Buffer.from('\x80\x04\x8c\x08builtins\x8c\x04eval\x93.', 'latin1');
  assert.throws(() => unpickle(new Uint8Array(sg)), /unknown pickle global builtins\.eval/);
  const ok = new Uint8Array(fs.readFileSync(path.join(FIX, 'pickles', 'metadata_p4.pkl')));
  for (const n of [1, 200, ok.length - 1]) {
    assert.throws(() => unpickle(ok.subarray(0, n), { file: 't' }), /t: expected \d+ more pickle bytes at offset \d+, found end of data \(truncated pickle\)$/);
  }
});
