import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareCase, inputRecipeFor, lrChannelPairs, CT_AIR, normaliseCtHu } from '../../lib/inputs/case_inputs';
import { extractPatch, samplePatchCentre, padBefore, validHighDoseVoxels, centreRange } from '../../lib/inputs/patches';
import { flipLeftRight, augmentPatch, translate, rotateZ } from '../../lib/inputs/augment';
import { Rng } from '../../lib/core/rng';
import { phantomCase } from './phantom';

const at = (v: Float32Array, s: number, y: number, x: number, z: number) => v[(y * s + x) * s + z];

test('inputs: CT normalised as the reference, SDF channels in profile order, constraints from Rx', () => {
  const c = phantomCase({ rxGy: 60, withFemurR: false });
  const recipe = inputRecipeFor([c]);
  assert.equal(recipe.profile, 'prostate-v2.3');
  assert.equal(recipe.absentSdfValue, 1);
  const pc = prepareCase(c, recipe);
  assert.equal(pc.channels.length, 9);
  assert.equal(normaliseCtHu(-1000), 0.25);
  assert.equal(normaliseCtHu(5000), 1.25);
  assert.equal(pc.channels[0][0], 0.25);
  // PTV70 SDF negative exactly inside the mask (spec 1.4)
  const ptv = c.masks.get('PTV70')!;
  for (let i = 0; i < ptv.length; i++) assert.equal(pc.channels[1][i] < 0, ptv[i] === 1);
  // absent Femur_R (ch 6 → input 7) is +1 everywhere under v2.3
  assert.ok(pc.channels[7].every((v) => v === 1));
  assert.deepEqual(pc.present, [true, false, false, true, false, true, false, false]);
  // dose normalised by the case's own Rx (60 Gy)
  const iMax = pc.dose!.reduce((b, v, i, a) => (v > a[b] ? i : b), 0);
  assert.ok(Math.abs(pc.dose![iMax] - c.dose![iMax] / 60) < 1e-7);
  assert.ok(Math.abs(pc.constraints[0] - 70 / 60) < 1e-6 && Math.abs(pc.constraints[12] - 45 / 60) < 1e-6);
});

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

test('true left-right flip mirrors axis X (1) and swaps Femur_L/Femur_R channels and presence', () => {
  const c = phantomCase({ shape: [16, 16, 16], withFemurR: false });
  const recipe = inputRecipeFor([c]);
  const pc = prepareCase(c, recipe);
  const P = 16;
  const p = extractPatch(pc, [8, 8, 8], P);
  const iL = recipe.structures.indexOf('Femur_L') + 1;
  const iR = recipe.structures.indexOf('Femur_R') + 1;
  const before = p.channels[iL].slice();
  const ctBefore = p.channels[0].slice();
  const pairs = lrChannelPairs(recipe.structures);
  assert.deepEqual(pairs, [[5, 6]]);
  flipLeftRight(p, pairs);
  // the left femur (high x) is now a right femur at the mirrored x, same y and z
  for (let y = 0; y < P; y++)
    for (let x = 0; x < P; x++)
      for (let z = 0; z < P; z++) {
        assert.equal(at(p.channels[iR], P, y, x, z), at(before, P, y, P - 1 - x, z));
        assert.equal(at(p.channels[0], P, y, x, z), at(ctBefore, P, y, P - 1 - x, z));
      }
  assert.equal(p.present[5], false, 'Femur_L now absent');
  assert.equal(p.present[6], true, 'Femur_R now present');
  assert.ok(
    p.channels[iL].every((v) => v === 1),
    'Femur_L channel holds the absent value',
  );
  // inside voxels of the new Femur_R lie on the right side (low x)
  let xs = 0;
  let n = 0;
  for (let i = 0; i < P ** 3; i++)
    if (p.channels[iR][i] < 0) {
      xs += Math.floor(i / P) % P;
      n++;
    }
  assert.ok(n > 0 && xs / n < P / 2, `mean x of flipped femur ${xs / n}`);
});

test('translation and rotation: exact integer shift with edge repeat; 0° rotation is identity', () => {
  const s = 8;
  const v = Float32Array.from({ length: s ** 3 }, (_, i) => i);
  const t = translate(v, s, [1, -2, 0]);
  assert.equal(at(t, s, 3, 3, 4), at(v, s, 2, 5, 4));
  assert.equal(at(t, s, 0, 7, 1), at(v, s, 0, 7, 1), 'edge repeated');
  assert.deepEqual(Array.from(rotateZ(v, s, 0)), Array.from(v));
  const r = rotateZ(v, s, 90);
  // 90° maps (y, x) to a rotated position exactly on the grid
  assert.ok(
    Math.abs(at(r, s, 0, 0, 2) - at(v, s, 0, 7, 2)) < 1e-3 || Math.abs(at(r, s, 0, 0, 2) - at(v, s, 7, 0, 2)) < 1e-3,
  );
});

test('augmentation is deterministic for a seed and keeps CT within [0, 1.26]', () => {
  const c = phantomCase({ shape: [16, 16, 16] });
  const recipe = inputRecipeFor([c]);
  const pc = prepareCase(c, recipe);
  const run = (seed: number) => {
    const r = Rng.fromSeed(seed);
    const p = extractPatch(pc, [8, 8, 8], 16);
    const log = [] as unknown[];
    for (let k = 0; k < 6; k++) log.push(augmentPatch(p, r, lrChannelPairs(recipe.structures)));
    return { log, ct: Array.from(p.channels[0]), dose: Array.from(p.dose!) };
  };
  const a = run(1);
  assert.deepEqual(a, run(1));
  assert.ok(a.ct.every((v) => v >= 0 && v <= 1.26));
});
