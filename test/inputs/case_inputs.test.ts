/** Network inputs of a case (lib/inputs/case_inputs.ts): CT normalisation, SDF channels, constraints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareCase, inputRecipeFor, normaliseCtHu } from '../../lib/inputs/case_inputs';
import { phantomCase } from '../prostate/phantom';

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
