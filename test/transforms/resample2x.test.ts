import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskedMeanPool2x, trilinearResize, maskNormalisedUpsample } from '../../lib/transforms/resample2x';
import type { Shape3 } from '../../lib/data/case';

function ramp(shape: Shape3, f: (i: number, j: number, k: number) => number): Float32Array {
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < shape[0]; i++)
    for (let j = 0; j < shape[1]; j++)
      for (let k = 0; k < shape[2]; k++) out[(i * shape[1] + j) * shape[2] + k] = f(i, j, k);
  return out;
}

test('masked mean pool averages only mask voxels and reports the mask fraction', () => {
  const shape: Shape3 = [2, 2, 2];
  const src = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const mask = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1]);
  const r = maskedMeanPool2x(src, mask, shape);
  assert.deepEqual(r.shape, [1, 1, 1]);
  assert.equal(r.data[0], 4.5);
  assert.equal(r.weight[0], 0.25);
  assert.equal(maskedMeanPool2x(src, null, shape).data[0], 4.5);
});

test('odd sizes pool into partial last blocks', () => {
  const shape: Shape3 = [3, 1, 1];
  const r = maskedMeanPool2x(Float32Array.from([2, 4, 9]), null, shape);
  assert.deepEqual(r.shape, [2, 1, 1]);
  assert.deepEqual(Array.from(r.data), [3, 9]);
});

test('trilinear ×2 resize matches PyTorch align_corners=False on a 1-D ramp', () => {
  // torch.nn.functional.interpolate(torch.tensor([[[0.,1.,2.,3.]]]), scale_factor=2, mode='linear')
  // = [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]
  const r = trilinearResize(Float32Array.from([0, 1, 2, 3]), [1, 1, 4], [1, 1, 8]);
  assert.deepEqual(Array.from(r), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
});

test('a linear field is reproduced exactly in the interior by down-then-up sampling', () => {
  const shape: Shape3 = [8, 8, 8];
  const f = (i: number, j: number, k: number) => 2 * i + 3 * j - k + 10;
  const src = ramp(shape, f);
  const small = maskedMeanPool2x(src, null, shape);
  const up = maskNormalisedUpsample(small.data, small.weight, small.shape, shape, null);
  for (let i = 1; i < 7; i++)
    for (let j = 1; j < 7; j++)
      for (let k = 1; k < 7; k++) assert.ok(Math.abs(up[(i * 8 + j) * 8 + k] - f(i, j, k)) < 1e-4);
});

test('mask-normalised up-sampling ignores zeros outside the mask and zeroes outside it', () => {
  const shape: Shape3 = [4, 4, 4];
  const mask = ramp(shape, (i) => (i < 2 ? 1 : 0));
  const m8 = Uint8Array.from(mask);
  const src = ramp(shape, (i) => (i < 2 ? 50 : 0));
  const small = maskedMeanPool2x(src, m8, shape);
  const up = maskNormalisedUpsample(small.data, small.weight, small.shape, shape, m8);
  for (let v = 0; v < up.length; v++) assert.ok(m8[v] ? Math.abs(up[v] - 50) < 1e-4 : up[v] === 0);
});
