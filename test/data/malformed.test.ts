import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../../lib/core/errors';
import { loadArrayArg } from '../../lib/data/array_arg';
import { loadCase } from '../../lib/data/load';
import { readOpenKbpCsvFolder, readOpenKbpNpz } from '../../lib/data/openkbp';
import { readReferenceNpz } from '../../lib/data/reference_npz';
import { verifyCaseFile } from '../../lib/data/verify';
import { FIX, OPENKBP } from './helpers';

const M = path.join(FIX, 'malformed');

/** each corpus file: the key the error must name (null = whole file) and expected/found fragments */
const CORPUS: Array<[string, string | null, RegExp]> = [
  ['truncated.npz', null, /expected a complete zip archive \(npz\), found unreadable zip .*truncated/],
  ['not_a_zip.npz', null, /expected a zip archive .*found not a zip file/],
  ['corrupt_member.npz', 'dose', /expected a decompressible zip member, found /],
  ['missing_key.npz', 'masks', /expected key 'masks'.*found missing key \(available: constraints, ct, dose, metadata\)/],
  ['wrong_dtype.npz', 'ct', /expected dtype <f4, found dtype <f8/],
  ['wrong_shape.npz', 'ct', /expected 3-D array, found shape \(8, 6\)/],
  ['mask_dose_mismatch.npz', 'masks', /expected shape \(\*, 8, 6, 4\), found shape \(8, 8, 5, 4\)/],
  ['nan_dose.npz', 'dose', /expected finite dose values, found NaN at flat index \d+/],
  ['negative_dose.npz', 'dose', /expected dose >= 0, found -0\.25 at flat index \d+/],
  ['evil_pickle.npz', 'metadata', /expected allow-listed pickle global .*found unknown pickle global os\.system/],
];

test('every malformed input is a DataError naming file, key, expected and found', async () => {
  for (const [name, key, re] of CORPUS) {
    const file = path.join(M, name);
    await assert.rejects(loadCase(file), (e: unknown) => {
      assert.ok(e instanceof DataError, `${name}: ${String(e)}`);
      assert.equal(e.file, file, name);
      assert.equal(e.key, key, name);
      assert.ok(e.message.startsWith(`${file}${key ? ` [${key}]` : ''}: expected `), `${name}: ${e.message}`);
      assert.match(e.message, re, name);
      return true;
    });
  }
  // the well-formed sibling loads
  const ok = await readReferenceNpz(path.join(M, 'good_small.npz'));
  assert.equal(ok.source, 'vmat-npz-v2.3');
});

test('verifyCaseFile collects the same failures without throwing; the good file passes', async () => {
  for (const [name, key, re] of CORPUS) {
    const r = await verifyCaseFile(path.join(M, name));
    assert.equal(r.ok, false, name);
    assert.ok(r.errors.some((e) => re.test(e) && (key === null || e.includes(`[${key}]`))), `${name}: ${r.errors.join(' | ')}`);
  }
  const good = await verifyCaseFile(path.join(M, 'good_small.npz'));
  assert.equal(good.ok, true, good.errors.join(' | '));
  assert.equal(good.source, 'vmat-npz-v2.3');
  assert.ok(good.warnings.some((w) => w.includes('[masks_sdf]')));
});

test('array arguments: file.npz:key, missing key lists available keys, .npy files', async () => {
  const a = await loadArrayArg(`${path.join(FIX, 'ref_v23.npz')}:constraints`);
  assert.deepEqual(a.shape, [13]);
  await assert.rejects(loadArrayArg(`${path.join(FIX, 'ref_v23.npz')}:nope`), /\[nope\]: expected key 'nope', found missing key \(available: beam0_mlc_a, beam0_mlc_b, constraints, ct, dose, masks, masks_sdf, metadata\)/);
  await assert.rejects(loadArrayArg(`${path.join(FIX, 'ref_v23.npz')}:metadata`), /expected a numeric array, found a pickled object/);
  const n = await loadArrayArg(path.join(FIX, 'npy', 'i2_be_F.npy'));
  assert.equal(n.dtype, '<i2');
  await assert.rejects(loadArrayArg('/nonexistent/x.npy'), /\/nonexistent\/x\.npy: expected a readable \.npy file or file\.npz:key, found ENOENT/);
});

test('malformed OpenKBP inputs: bad CSV rows, wrong npz dtype, missing keys', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-okbp-bad-'));
  const src = path.join(OPENKBP, 'csv', 'train-pats', 'pt_143');
  const dir = path.join(tmp, 'pt_143');
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  fs.chmodSync(path.join(dir, 'dose.csv'), 0o644);
  fs.appendFileSync(path.join(dir, 'dose.csv'), '12,-3.5\n');
  await assert.rejects(readOpenKbpCsvFolder(dir), /dose\.csv \[data\]: expected dose >= 0, found -3\.5 at flat index 12/);
  fs.chmodSync(path.join(dir, 'PTV70.csv'), 0o644);
  fs.appendFileSync(path.join(dir, 'PTV70.csv'), '99999999,\n');
  fs.rmSync(path.join(dir, 'dose.csv'));
  await assert.rejects(readOpenKbpCsvFolder(dir), /PTV70\.csv \[line \d+\]: expected integer index in \[0, 2097152\), found "99999999"/);
  const { writeNpz } = await import('../../lib/data/npz');
  const bad = path.join(tmp, 'pt_x.npz');
  await writeNpz(bad, [['ct', { data: new Float32Array(8), shape: [2, 2, 2], dtype: '<f4' }], ['possible_dose_mask', { data: new Uint8Array(8), shape: [2, 2, 2], dtype: '|u1' }]]);
  await assert.rejects(readOpenKbpNpz(bad), /pt_x\.npz \[ct\]: expected dtype <i2, found dtype <f4/);
  fs.rmSync(tmp, { recursive: true, force: true });
});
