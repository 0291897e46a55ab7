import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Shape3 } from '../../lib/data/case';
import type { NdArray } from '../../lib/data/ndarray';
import { readNpz } from '../../lib/data/npz';
import { distanceTransformEdt } from '../../lib/transforms/edt';
import { signedDistanceField } from '../../lib/transforms/sdf';
import { FIX } from '../data/helpers';

const specs = JSON.parse(fs.readFileSync(path.join(FIX, 'sdf_expected.json'), 'utf8')) as Record<
  string,
  { shape: Shape3; spacing: Shape3 }
>;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('EDT and SDF match scipy.ndimage.distance_transform_edt with anisotropic sampling', async () => {
  const z = await readNpz(path.join(FIX, 'sdf_cases.npz'));
  const get = (k: string): NdArray => z.get(k) as NdArray;
  for (const [i, { shape, spacing }] of Object.entries(specs)) {
    const mask = get(`mask${i}`).data as Uint8Array;
    assert.ok(mask.some((x) => x) && mask.some((x) => !x));
    const edtIn = distanceTransformEdt(mask, shape, spacing);
    assert.ok(maxAbsDiff(edtIn, get(`edt_in${i}`).data as Float64Array) < 1e-9, `edt_in ${i}`);
    const inv = mask.map((x) => (x ? 0 : 1));
    assert.ok(
      maxAbsDiff(distanceTransformEdt(inv, shape, spacing), get(`edt_out${i}`).data as Float64Array) < 1e-9,
      `edt_out ${i}`,
    );
    for (const clip of [50, 5]) {
      const sdf = signedDistanceField(mask, shape, spacing, clip);
      const want = get(`sdf${i}_clip${clip}`).data as Float32Array;
      assert.ok(maxAbsDiff(sdf, want) <= 1e-7, `sdf ${i} clip ${clip}`);
      // sign reproduces the mask exactly (spec 1.4)
      for (let k = 0; k < mask.length; k++) assert.equal(sdf[k] < 0, mask[k] === 1);
    }
  }
});

test('SDF of empty and full masks is the clipped limit', () => {
  const shape: Shape3 = [4, 3, 2];
  assert.ok(signedDistanceField(new Uint8Array(24), shape, [1, 1, 1]).every((x) => x === 1));
  assert.ok(signedDistanceField(new Uint8Array(24).fill(1), shape, [1, 1, 1]).every((x) => x === -1));
});
