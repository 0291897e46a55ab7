/** The locked train/val/test split of a run (lib/data/split_lock.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSplitFor } from '../../lib/data/split_lock';

test('locked split: stratified by plan type and target-volume tertile, independent of the training seed', () => {
  const infos = Array.from({ length: 20 }, (_, i) => ({
    id: `c${String(i).padStart(2, '0')}`,
    planType: i < 10 ? 'sib_2level' : 'single_rx',
    targetVolumeCc: 50 + i,
    institution: null,
  }));
  const a = makeSplitFor(infos, { val: 0.1, test: 0.1, seed: 1 });
  assert.deepEqual(a, makeSplitFor([...infos].reverse(), { val: 0.1, test: 0.1, seed: 1 }));
  assert.equal(a.test.length, 2);
  assert.equal(a.val.length, 2);
  assert.equal(a.train.length, 16);
  assert.equal(a.test.filter((id) => Number(id.slice(1)) < 10).length, 1, 'one test case per plan type');
  assert.deepEqual(a.strata_keys, ['plan_type', 'target_volume_tertile']);
});
