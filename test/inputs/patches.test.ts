/** Patch sampling and extraction with padding (lib/inputs/patches.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareCase, inputRecipeFor, CT_AIR } from '../../lib/inputs/case_inputs';
import { extractPatch, samplePatchCentre, padBefore, validHighDoseVoxels, centreRange } from '../../lib/inputs/patches';
import { Rng } from '../../lib/core/rng';
import { phantomCase } from '../prostate/phantom';

const at = (v: Float32Array, s: number, y: number, x: number, z: number) => v[(y * s + x) * s + z];

test('patch sampler: same seed → same centres; padding keeps content and fills air/outside/0', () => {
  const c = phantomCase({ shape: [10, 12, 6] });
  const pc = prepareCase(c, inputRecipeFor([c]));
  const P = 16;
  const seq = (seed: number) => {
    const r = Rng.fromSeed(seed);
    return Array.from({ length: 20 }, () => samplePatchCentre(pc, P, r));
  };
  const big = prepareCase(phantomCase({ shape: [40, 40, 24] }), inputRecipeFor([c]));
  const seqBig = (seed: number) => {
    const r = Rng.fromSeed(seed);
    return Array.from({ length: 20 }, () => samplePatchCentre(big, P, r));
  };
  assert.deepEqual(seqBig(3), seqBig(3));
  assert.notDeepEqual(seqBig(3), seqBig(4));
  // every axis shorter than the patch → only the central centre is valid
  assert.deepEqual(centreRange(16, 16), [8, 9]);
  for (const ctr of seq(5)) assert.deepEqual(ctr, [8, 8, 8]);
  const pb = padBefore(pc.shape, P);
  assert.deepEqual(pb, [3, 2, 5]);
  const p = extractPatch(pc, [8, 8, 8], P);
  // content at the padded offset
  for (const [y, x, z] of [
    [0, 0, 0],
    [9, 11, 5],
    [5, 6, 3],
  ]) {
    const i = (y * 12 + x) * 6 + z;
    assert.equal(at(p.channels[0], P, y + 3, x + 2, z + 5), pc.channels[0][i]);
    assert.equal(at(p.dose!, P, y + 3, x + 2, z + 5), pc.dose![i]);
  }
  assert.equal(at(p.channels[0], P, 0, 0, 0), CT_AIR);
  assert.equal(at(p.dose!, P, 15, 15, 15), 0);
  assert.equal(at(p.channels[1], P, 0, 0, 0), 1, 'present structure padded as outside');
  // half the draws are dose-biased: high-dose candidates exist and are inside the body
  assert.ok(validHighDoseVoxels(pc, P).length > 0);
});

test('patch sampler on a large volume: centres valid, half of them at dose > 0.1', () => {
  const c = phantomCase({ shape: [40, 40, 24] });
  const pc = prepareCase(c, inputRecipeFor([c]));
  const r = Rng.fromSeed(11);
  let high = 0;
  const N = 400;
  for (let k = 0; k < N; k++) {
    const ctr = samplePatchCentre(pc, 16, r);
    for (const v of ctr) assert.ok(v >= 8);
    assert.ok(ctr[0] < 32 && ctr[1] < 32 && ctr[2] < 16);
    if (pc.dose![(ctr[0] * 40 + ctr[1]) * 24 + ctr[2]] > 0.1) high++;
  }
  assert.ok(high / N > 0.5, `share of high-dose centres ${high / N}`);
});
