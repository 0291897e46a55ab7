import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NdArray } from '../../lib/data/ndarray';
import { isNdArray, readNpz } from '../../lib/data/npz';
import { buildTsWrittenFiles } from '../fixtures/data/ts_written_cases';
import { FIX, canon } from './helpers';

/** what numpy.load(allow_pickle=True) read from these files (verify_ts_written.py) */
const pyDigest = JSON.parse(fs.readFileSync(path.join(FIX, 'ts_written_digest.json'), 'utf8')) as Record<string, any>;
const refExpected = JSON.parse(fs.readFileSync(path.join(FIX, 'ref_expected.json'), 'utf8')) as Record<string, any>;

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function arrayDigest(a: NdArray): { dtype: string; shape: number[]; sha256: string } {
  return { dtype: a.dtype, shape: a.shape, sha256: sha(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)) };
}

test('TS-written npz files: numpy read exactly what vmat-lab reads back (every key, typed metadata)', async () => {
  const files = await buildTsWrittenFiles();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-rt-'));
  assert.deepEqual(files.map(([n]) => n).sort(), Object.keys(pyDigest).filter((k) => k !== 'numpy').sort());
  for (const [name, bytes] of files) {
    const py = pyDigest[name];
    // STORE files do not depend on the zlib build, so their bytes must match what numpy read
    if (name.includes('_stored')) assert.equal(sha(bytes), py.file_sha256, `${name} bytes`);
    const f = path.join(tmp, name);
    fs.writeFileSync(f, bytes);
    const m = await readNpz(f);
    assert.deepEqual([...m.keys()].sort(), Object.keys(py.keys).sort(), name);
    for (const [k, v] of m) {
      if (isNdArray(v)) assert.deepEqual(arrayDigest(v), py.keys[k], `${name} ${k}`);
      else assert.deepEqual(canon(v.value), py.keys[k].metadata, `${name} ${k}`);
    }
  }
  // a numpy-written case read and re-written by vmat-lab gives numpy the identical typed dict
  assert.deepEqual(pyDigest['ts_ref_v23.npz'].keys.metadata.metadata, refExpected['ref_v23.npz'].metadata);
  assert.deepEqual(pyDigest['ts_ref_v24.npz'].keys.metadata.metadata, refExpected['ref_v24.npz'].metadata);
  // and the arrays numpy read from the re-written file equal the original's (except ct/dose, float rounding)
  for (const k of ['masks', 'masks_sdf', 'constraints', 'beam0_mlc_a', 'beam0_mlc_b']) {
    assert.deepEqual(pyDigest['ts_ref_v24.npz'].keys[k], refExpected['ref_v24.npz'].arrays[k], k);
  }
  // same inputs → same bytes, also for DEFLATE output
  const again = await buildTsWrittenFiles();
  again.forEach(([n, b], i) => assert.equal(sha(b), sha(files[i][1]), n));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('listCasePaths follows symlinks and skips <case>_pred.npz predictions', async () => {
  const { listCasePaths } = await import('../../lib/data/load');
  const [fsm, osm, pm] = [fs, os, path];
  const dir = fsm.mkdtempSync(pm.join(osm.tmpdir(), 'vmat-list-'));
  fsm.writeFileSync(pm.join(dir, 'b.npz'), '');
  fsm.writeFileSync(pm.join(dir, 'b_pred.npz'), '');
  const real = fsm.mkdtempSync(pm.join(osm.tmpdir(), 'vmat-pt-'));
  fsm.symlinkSync(real, pm.join(dir, 'pt_7'));
  fsm.symlinkSync(pm.join(dir, 'b.npz'), pm.join(dir, 'a.npz'));
  const got = (await listCasePaths(dir)).map((p) => pm.basename(p));
  assert.deepEqual(got, ['a.npz', 'b.npz', 'pt_7']);
});
