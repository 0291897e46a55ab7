/** Training augmentation (lib/inputs/augment.ts): true left-right flip, translation, rotation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareCase, inputRecipeFor, lrChannelPairs } from '../../lib/inputs/case_inputs';
import { extractPatch } from '../../lib/inputs/patches';
import { flipLeftRight, augmentPatch, translate, rotateZ } from '../../lib/inputs/augment';
import { Rng } from '../../lib/core/rng';
import { phantomCase } from '../prostate/phantom';

const at = (v: Float32Array, s: number, y: number, x: number, z: number) => v[(y * s + x) * s + z];

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
