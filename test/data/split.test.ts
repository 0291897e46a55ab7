import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../../lib/core/errors';
import { type SplitItem, makeStratifiedSplit, readSplit, tertileLabels, writeSplit } from '../../lib/data/split';

/** 24 cases: 8 SIB + 16 single-Rx, volumes 1..24 */
function items(): SplitItem[] {
  const vols = Array.from({ length: 24 }, (_, i) => ((i * 7) % 24) + 1);
  const tert = tertileLabels(vols);
  return vols.map((_, i) => ({
    id: `case_${String(i).padStart(2, '0')}`,
    strata: [i % 3 === 0 ? 'sib_2level' : 'single_rx', tert[i]],
  }));
}

const typeOf = (its: SplitItem[], id: string) => its.find((x) => x.id === id)!.strata[0];

test('split covers every id exactly once, with the reference-style counts', () => {
  const its = items();
  const m = makeStratifiedSplit(its, {
    val: 0.15,
    test: 0.15,
    seed: 42,
    strataKeys: ['plan_type', 'ptv70_volume_tertile'],
  });
  const all = [...m.train, ...m.val, ...m.test];
  assert.equal(new Set(all).size, 24);
  assert.deepEqual([...all].sort(), its.map((x) => x.id).sort());
  // max(1, int(24 * 0.15)) = 3 each
  assert.equal(m.test.length, 3);
  assert.equal(m.val.length, 3);
  assert.equal(m.version, 1);
  assert.deepEqual(m.strata_keys, ['plan_type', 'ptv70_volume_tertile']);
});

test('stratified by plan type: each held-out set mirrors the 1:2 SIB:single mix', () => {
  const its = items();
  for (const seed of [1, 2, 3, 42, 123, 456]) {
    const m = makeStratifiedSplit(its, { val: 0.25, test: 0.25, seed });
    for (const set of [m.val, m.test]) {
      const sib = set.filter((id) => typeOf(its, id) === 'sib_2level').length;
      assert.equal(set.length, 6);
      assert.equal(sib, 2, `seed ${seed}: ${sib} SIB of ${set.length}`);
    }
  }
});

test('second key spreads the held-out cases over PTV-volume tertiles', () => {
  const its = items();
  const m = makeStratifiedSplit(its, { val: 0, test: 0.25, seed: 7 });
  const single = m.test.filter((id) => typeOf(its, id) === 'single_rx');
  const tert = new Set(single.map((id) => its.find((x) => x.id === id)!.strata[1]));
  assert.equal(single.length, 4);
  assert.ok(tert.size >= 3, `single-Rx test cases from tertiles ${[...tert].join(',')}`);
});

test('deterministic and independent of input order; the seed changes the draw', () => {
  const its = items();
  const a = makeStratifiedSplit(its, { val: 0.15, test: 0.15, seed: 9 });
  const b = makeStratifiedSplit([...its].reverse(), { val: 0.15, test: 0.15, seed: 9 });
  assert.deepEqual(a, b);
  const draws = new Set(
    [9, 10, 11, 12].map((seed) => makeStratifiedSplit(its, { val: 0.15, test: 0.15, seed }).test.join(',')),
  );
  assert.ok(draws.size > 1, 'the seed never changes the test set');
});

test('small cohorts keep at least one training case; singleton strata stay in training', () => {
  const two = makeStratifiedSplit(
    [
      { id: 'a', strata: ['x'] },
      { id: 'b', strata: ['y'] },
    ],
    { val: 0.15, test: 0.15, seed: 1 },
  );
  assert.equal(two.train.length, 1);
  assert.equal(two.test.length, 1);
  assert.equal(two.val.length, 0);
  const one = makeStratifiedSplit([{ id: 'a', strata: ['x'] }], { val: 0.15, test: 0.15, seed: 1 });
  assert.deepEqual(one.train, ['a']);
  // a stratum of 3 among 30 cases keeps a training case
  const its: SplitItem[] = Array.from({ length: 30 }, (_, i) => ({ id: `c${i}`, strata: [i < 3 ? 'rare' : 'common'] }));
  const m = makeStratifiedSplit(its, { val: 0.4, test: 0.4, seed: 3 });
  assert.ok(m.train.some((id) => Number(id.slice(1)) < 3));
});

test('tertile labels by rank', () => {
  assert.deepEqual(tertileLabels([10, 30, 20, 60, 50, 40]), ['T1', 'T2', 'T1', 'T3', 'T3', 'T2']);
});

test('writeSplit/readSplit round trip; malformed manifests are DataErrors naming the key', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-split-'));
  try {
    const m = makeStratifiedSplit(items(), { val: 0.15, test: 0.15, seed: 5 });
    const f = path.join(dir, 'split.json');
    await writeSplit(f, m);
    assert.deepEqual(readSplit(f), m);
    const bad = (obj: unknown, key: RegExp) => {
      fs.writeFileSync(f, JSON.stringify(obj));
      assert.throws(
        () => readSplit(f),
        (e: unknown) => e instanceof DataError && key.test(e.message),
      );
    };
    bad({ ...m, version: 2 }, /\[version\]/);
    bad({ ...m, test: [...m.test, m.train[0]] }, /\[test\].*in both train and test/);
    bad({ ...m, val: 'x' }, /\[val\]/);
    fs.writeFileSync(f, '{not json');
    assert.throws(() => readSplit(f), DataError);
    assert.throws(() => readSplit(path.join(dir, 'missing.json')), DataError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
