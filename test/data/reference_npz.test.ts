import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NdArray } from '../../lib/data/ndarray';
import { isNdArray, readNpz } from '../../lib/data/npz';
import { readPredictionNpz, readReferenceNpz, writePredictionNpz, writeReferenceNpz } from '../../lib/data/reference_npz';
import { FIX, canon } from './helpers';

const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'ref_expected.json'), 'utf8')) as Record<string, any>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-ref-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function digest(a: NdArray): { dtype: string; shape: number[]; sha256: string } {
  const b = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  return { dtype: a.dtype, shape: a.shape, sha256: createHash('sha256').update(b).digest('hex') };
}

test('readNpz reads numpy savez_compressed files (ZIP64 local headers) bit-exactly', async () => {
  for (const name of ['ref_v23.npz', 'ref_v24.npz', 'ref_v23_np1.npz']) {
    const m = await readNpz(path.join(FIX, name));
    for (const [k, d] of Object.entries(expected[name].arrays)) {
      const a = m.get(k);
      assert.ok(isNdArray(a), `${name} ${k}`);
      assert.deepEqual(digest(a), d, `${name} ${k}`);
    }
    const md = m.get('metadata');
    assert.ok(md && !isNdArray(md));
    assert.deepEqual(canon(md.value), expected[name].metadata, `${name} metadata`);
  }
});

test('readReferenceNpz: layout, per-case Rx and spacing, HU, Gy, masks, SDFs, extras', async () => {
  for (const [name, src] of [['ref_v23.npz', 'vmat-npz-v2.3'], ['ref_v24.npz', 'vmat-npz-v2.4'], ['ref_v23_np1.npz', 'vmat-npz-v2.3']] as const) {
    const e = expected[name];
    const c = await readReferenceNpz(path.join(FIX, name));
    assert.equal(c.source, src, name);
    assert.equal(c.rxGy, e.rx, name);
    assert.deepEqual(c.spacingMm, e.spacing, name);
    assert.deepEqual(c.shape, e.shape, name);
    assert.deepEqual(c.structureNames, e.names, name);
    assert.equal(c.sdf?.size, e.names.length);
    assert.equal(c.sdfClipMm, 50);
    assert.equal(c.constraints?.length, 13);
    assert.ok(c.extras?.has('beam0_mlc_a') && c.extras.has('beam0_mlc_b'));
    assert.equal(c.warnings, undefined);
    if (name !== 'ref_v23_np1.npz') {
      const counts = Object.fromEntries([...c.masks].map(([k, m]) => [k, m.reduce((a, b) => a + b, 0)]));
      assert.deepEqual(counts, e.structures, name);
      let mx = 0;
      for (const v of c.dose!) mx = Math.max(mx, v);
      assert.ok(Math.abs(mx - e.dose_max_gy) < 1e-4, `${name} dose max ${mx} vs ${e.dose_max_gy}`);
      assert.ok(Math.abs(c.ct[1] - e.ct_hu_first) < 1e-3, `${name} HU`);
    }
    // CT clipped below -1000 HU reads back as -1000
    assert.equal(c.ct[0 * 20 * 16 + 0 * 16 + 1], -1000);
  }
  const v24 = await readReferenceNpz(path.join(FIX, 'ref_v24.npz'));
  assert.equal(v24.rxGy, 72); // read from metadata, not assumed 70
  assert.equal(v24.planType, 'nodal_only');
  assert.deepEqual(v24.prescriptions, [{ structure: 'PTV70', doseGy: 70 }, { structure: 'PTV50.4', doseGy: 50.4 }]);
  const v23 = await readReferenceNpz(path.join(FIX, 'ref_v23.npz'));
  assert.equal(v23.planType, 'sib_2level');
});

test('writeReferenceNpz → readReferenceNpz round trip keeps every array and the typed metadata; bytes are deterministic', async () => {
  for (const name of ['ref_v23.npz', 'ref_v24.npz']) {
    const c = await readReferenceNpz(path.join(FIX, name));
    const out = path.join(tmp, name);
    await writeReferenceNpz(out, c);
    const again = await readReferenceNpz(out);
    const orig = await readNpz(path.join(FIX, name));
    const written = await readNpz(out);
    assert.deepEqual([...written.keys()].sort(), [...orig.keys()].sort());
    for (const k of ['dose', 'masks', 'masks_sdf', 'constraints', 'beam0_mlc_a', 'beam0_mlc_b']) {
      const a = orig.get(k) as NdArray;
      const b = written.get(k) as NdArray;
      assert.equal(b.dtype, a.dtype, k);
      assert.deepEqual(b.shape, a.shape, k);
      if (k === 'dose') {
        // dose → Gy → /Rx in float32 can move the last bit
        for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs((a.data[i] as number) - (b.data[i] as number)) <= 1e-6, `dose ${i}`);
      } else assert.deepEqual(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), k);
    }
    const ctA = orig.get('ct') as NdArray;
    const ctB = written.get('ct') as NdArray;
    for (let i = 0; i < ctA.data.length; i++) assert.ok(Math.abs((ctA.data[i] as number) - (ctB.data[i] as number)) <= 1e-6, `ct ${i}`);
    assert.deepEqual(canon((written.get('metadata') as { value: unknown }).value), expected[name].metadata, `${name} metadata`);
    assert.equal(again.source, c.source);
    assert.deepEqual([...again.masks.keys()], [...c.masks.keys()]);
    const out2 = path.join(tmp, `again_${name}`);
    await writeReferenceNpz(out2, c);
    assert.deepEqual(fs.readFileSync(out2), fs.readFileSync(out), 'same Case → same bytes');
  }
});

test('writeReferenceNpz computes SDFs and constraints when the case has none, per layout', async () => {
  const c = await readReferenceNpz(path.join(FIX, 'ref_v23.npz'));
  const orig = await readNpz(path.join(FIX, 'ref_v23.npz'));
  const bare = { ...c, sdf: undefined, constraints: undefined };
  const out = path.join(tmp, 'computed_v23.npz');
  await writeReferenceNpz(out, bare);
  const w = await readNpz(out);
  const a = orig.get('masks_sdf') as NdArray;
  const b = w.get('masks_sdf') as NdArray;
  let maxd = 0;
  for (let i = 0; i < a.data.length; i++) maxd = Math.max(maxd, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  assert.ok(maxd < 1e-6, `SDF vs scipy max diff ${maxd}`);
  assert.deepEqual(Array.from((w.get('constraints') as NdArray).data as Float32Array), Array.from((orig.get('constraints') as NdArray).data as Float32Array));
  // the same case written as v2.4: 9 channels, absent PTV50.4 SDF = 0.0, constraint[2] = 0
  const out4 = path.join(tmp, 'as_v24.npz');
  await writeReferenceNpz(out4, bare, { layout: 'v2.4' });
  const c4 = await readReferenceNpz(out4);
  assert.equal(c4.source, 'vmat-npz-v2.4');
  assert.equal(c4.structureNames.length, 9);
  assert.ok(c4.sdf!.get('PTV50.4')!.every((x) => x === 0));
  assert.ok(c4.sdf!.get('Bowel')!.every((x) => x === 0));
  assert.equal(c4.metadata.script_version, '2.4.0');
});

test('prediction npz: dose + pickled metadata, and the DDPM pred_dose key', async () => {
  const c = await readReferenceNpz(path.join(FIX, 'ref_v24.npz'));
  const dose = new Float32Array(c.dose!.length).map((_, i) => (i % 7) / 5);
  const out = path.join(tmp, 'case_pred.npz');
  await writePredictionNpz(out, dose, c.shape, c.metadata);
  const p = await readPredictionNpz(out);
  assert.deepEqual(p.shape, c.shape);
  assert.deepEqual(Array.from(p.dose), Array.from(dose));
  assert.deepEqual(canon(p.metadata), expected['ref_v24.npz'].metadata);
  const { writeNpz } = await import('../../lib/data/npz');
  const ddpm = path.join(tmp, 'ddpm_pred.npz');
  await writeNpz(ddpm, [['pred_dose', { data: dose, shape: [...c.shape], dtype: '<f4' }]]);
  assert.deepEqual(Array.from((await readPredictionNpz(ddpm)).dose), Array.from(dose));
});
