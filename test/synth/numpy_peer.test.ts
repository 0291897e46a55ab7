/**
 * numpy reads our synthetic files the way vmat-lab does. test/fixtures/synth/make_numpy_peer.py
 * generated a small cohort with `vmat synth` and recorded what numpy.load(allow_pickle=True)
 * sees (keys, dtypes, shapes, metadata, array statistics); here the same command runs again and
 * readReferenceNpz must see the same. (A change to the generator or writer needs the fixture
 * regenerated: `python3 test/fixtures/synth/make_numpy_peer.py`.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openNpz } from '../../lib/data/npz';
import { readReferenceNpz } from '../../lib/data/reference_npz';
import { doseAtVolume } from '../../lib/eval/dvh';

interface PeerCase {
  file: string;
  keys: string[];
  dtypes: Record<string, string>;
  shapes: Record<string, number[]>;
  metadata: Record<string, unknown>;
  ct_sum: number;
  ct_min: number;
  ct_max: number;
  dose_gy_max: number;
  dose_gy_sum: number;
  mask_voxels: number[];
  sdf_min: number[];
  sdf_max: number[];
  constraints: number[];
  ptv70_d95_gy: number;
  mlc_a_sum: number;
}

const peer = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'synth', 'numpy_peer.json'), 'utf8'),
) as { args: string[]; cases: PeerCase[] };
const close = (a: number, b: number, rel = 1e-6) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

test('vmat synth output matches what numpy read from the same command', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-synth-peer-'));
  try {
    const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');
    const r = spawnSync(process.execPath, [bin, 'synth', '--out', dir, ...peer.args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote 2 cases/);
    for (const p of peer.cases) {
      const file = path.join(dir, p.file);
      const z = await openNpz(file);
      assert.deepEqual([...z.keys].sort(), p.keys);
      for (const k of p.keys) {
        const e = await z.get(k);
        if ('dtype' in e) {
          assert.equal(e.dtype, p.dtypes[k], k);
          assert.deepEqual(e.shape, p.shapes[k], k);
        } else assert.equal(p.dtypes[k], '|O', k);
      }
      const c = await readReferenceNpz(file);
      for (const [k, v] of Object.entries(p.metadata))
        assert.deepEqual(JSON.parse(JSON.stringify(c.metadata[k])), v, `metadata.${k}`);
      const ct = (await z.get('ct')) as { data: Float32Array };
      let s = 0;
      let mn = Infinity;
      let mx = -Infinity;
      for (const v of ct.data) {
        s += v;
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      assert.ok(close(s, p.ct_sum, 1e-9), `ct sum ${s} vs numpy ${p.ct_sum}`);
      assert.equal(mn, p.ct_min);
      assert.equal(mx, p.ct_max);
      let ds = 0;
      let dm = 0;
      for (const v of c.dose!) {
        ds += v;
        dm = Math.max(dm, v);
      }
      assert.ok(close(dm, p.dose_gy_max), `dose max ${dm} vs ${p.dose_gy_max}`);
      assert.ok(close(ds, p.dose_gy_sum, 1e-6), `dose sum ${ds} vs ${p.dose_gy_sum}`);
      c.structureNames.forEach((nm, ch) => {
        const m = c.masks.get(nm);
        let k = 0;
        if (m) for (const v of m) k += v;
        assert.equal(k, p.mask_voxels[ch], nm);
        const sdf = c.sdf!.get(nm)!;
        assert.equal(Math.min(...sdf), p.sdf_min[ch], `${nm} sdf min`);
        assert.equal(Math.max(...sdf), p.sdf_max[ch], `${nm} sdf max`);
      });
      assert.deepEqual([...c.constraints!], p.constraints);
      assert.ok(
        close(doseAtVolume(c.dose!, c.masks.get('PTV70')!, 95), p.ptv70_d95_gy),
        'PTV70 D95 (nearest-rank lower, as np.percentile method=lower)',
      );
      const mlc = c.extras!.get('beam0_mlc_a')!.data as Float32Array;
      assert.ok(
        close(
          mlc.reduce((a, b) => a + b, 0),
          p.mlc_a_sum,
          1e-6,
        ),
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
