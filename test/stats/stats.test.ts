import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wilcoxon, type WilcoxonMethod, type WilcoxonZeroMethod, type Alternative } from '../../lib/stats/wilcoxon';
import { ndtr, ndtri, normSf } from '../../lib/stats/normal';
import { bootstrapCi, type BootstrapStatistic } from '../../lib/stats/bootstrap';
import { RandomState } from '../../lib/stats/prng';
import { percentile } from '../../lib/stats/percentile';
import { holmBonferroni, holmReferenceVariant } from '../../lib/stats/holm';
import { pairedCohensD, rankBiserial } from '../../lib/stats/effect_size';
import { npMean, npSum } from '../../lib/stats/npsum';
import { aggregateAcrossSeeds, compareConditions, getPath } from '../../lib/stats/seeds';

const peers = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'stats', 'stats_peers.json'), 'utf8'));

function close(actual: number, expected: number, rel: number, msg: string): void {
  const tol = rel * Math.max(1e-300, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol || actual === expected, `${msg}: got ${actual}, expected ${expected}`);
}

test('wilcoxon matches scipy 1.17 on every option combination (n = 7/8/10/13/14/21/60, ties, zeros)', () => {
  const cases = peers.wilcoxon as Array<{
    case: string;
    zero_method: WilcoxonZeroMethod;
    correction: boolean;
    alternative: Alternative;
    method: WilcoxonMethod;
    statistic: number;
    pvalue: number;
  }>;
  assert.ok(cases.length > 500);
  const seen = new Set<string>();
  for (const c of cases) {
    const s = peers.wilcoxon_samples[c.case];
    const r = wilcoxon(s.x, s.y, {
      zeroMethod: c.zero_method,
      correction: c.correction,
      alternative: c.alternative,
      method: c.method,
    });
    const label = `${c.case} ${c.zero_method} corr=${c.correction} ${c.alternative} ${c.method}`;
    close(r.statistic, c.statistic, 1e-12, `${label} statistic`);
    close(r.pvalue, c.pvalue, 1e-9, `${label} pvalue`);
    if (c.method === 'auto') seen.add(r.method);
  }
  // auto must have resolved to each of the three branches somewhere in the fixture
  assert.deepEqual([...seen].sort(), ['approx', 'exact', 'permutation']);
});

test('wilcoxon auto picks exact / permutation / approx by ties, zeros and n', () => {
  const s = peers.wilcoxon_samples;
  assert.equal(wilcoxon(s.n7_no_ties.x, s.n7_no_ties.y).method, 'exact');
  assert.equal(wilcoxon(s.n21_no_ties.x, s.n21_no_ties.y).method, 'exact');
  assert.equal(wilcoxon(s.n10_ties.x, s.n10_ties.y).method, 'permutation');
  assert.equal(wilcoxon(s.n13_zeros.x, s.n13_zeros.y).method, 'permutation');
  assert.equal(wilcoxon(s.n14_ties.x, s.n14_ties.y).method, 'approx');
  assert.equal(wilcoxon(s.n60_approx.x, s.n60_approx.y).method, 'approx');
});

test('wilcoxon rejects bad input', () => {
  assert.throws(() => wilcoxon([1, 2, 3], [1, 2]), /x has 3 values, y has 2/);
  assert.throws(() => wilcoxon([1, NaN, 3], [1, 2, 3]), /non-finite/);
  assert.throws(() => wilcoxon([], null), /no data/);
});

test('normal distribution matches scipy.special to ~1e-13 relative', () => {
  for (const [z, v] of peers.normal.ndtr) close(ndtr(z), v, 1e-12, `ndtr(${z})`);
  for (const [z, v] of peers.normal.normsf) close(normSf(z), v, 1e-12, `norm.sf(${z})`);
  for (const [p, v] of peers.normal.ndtri) close(ndtri(p), v, 1e-12, `ndtri(${p})`);
});

test('percentile linear and lower match numpy', () => {
  const p = peers.percentile;
  p.q.forEach((q: number, i: number) => {
    close(percentile(p.values, q, 'linear'), p.linear[i], 1e-14, `linear q=${q}`);
    assert.equal(percentile(p.values, q, 'lower'), p.lower[i], `lower q=${q}`);
  });
});

test('npSum / npMean reproduce numpy bit for bit (pairwise summation)', () => {
  for (const c of peers.npsum as Array<{ x: number[]; sum: number; mean: number }>) {
    assert.equal(npSum(c.x), c.sum, `n=${c.x.length}`);
    assert.equal(npMean(c.x), c.mean, `n=${c.x.length}`);
  }
});

test('RandomState.randint reproduces numpy legacy streams', () => {
  const rs = new RandomState(peers.randint.seed);
  for (const [n, vals] of peers.randint.calls as Array<[number, number[]]>) {
    assert.deepEqual(Array.from(rs.randint(0, n, vals.length)), vals, `randint(0, ${n})`);
  }
});

test('bootstrap reproduces the reference bootstrap_ci (RandomState(42), 10,000 resamples)', () => {
  const r = peers.reference_bootstrap_ci;
  const ci = bootstrapCi(r.x, { resamples: r.resamples, seed: r.seed, statistic: 'mean', method: 'percentile' });
  close(ci.low, r.low, 1e-12, 'low');
  close(ci.high, r.high, 1e-12, 'high');
});

test('bootstrap percentile and BCa match scipy on shared resample indices', () => {
  for (const c of peers.bootstrap as Array<{
    case: string;
    statistic: BootstrapStatistic;
    ci: number;
    percentile: number[];
    bca: number[];
    estimate: number;
  }>) {
    const s = peers.bootstrap_samples[c.case];
    const label = `${c.case} ${c.statistic} ${c.ci}%`;
    const p = bootstrapCi(s.x, { indices: s.indices, statistic: c.statistic, ci: c.ci, method: 'percentile' });
    close(p.low, c.percentile[0], 1e-12, `${label} percentile low`);
    close(p.high, c.percentile[1], 1e-12, `${label} percentile high`);
    close(p.estimate, c.estimate, 1e-14, `${label} estimate`);
    const b = bootstrapCi(s.x, { indices: s.indices, statistic: c.statistic, ci: c.ci, method: 'bca' });
    close(b.low, c.bca[0], 1e-9, `${label} bca low`);
    close(b.high, c.bca[1], 1e-9, `${label} bca high`);
  }
});

test('bootstrap is deterministic per seed and rejects bad input', () => {
  const x = [1.13, 4.71, 2.29, 8.02, 5.55, 7.37];
  assert.deepEqual(bootstrapCi(x, { seed: 3, resamples: 500 }), bootstrapCi(x, { seed: 3, resamples: 500 }));
  assert.notDeepEqual(bootstrapCi(x, { seed: 3, resamples: 500 }).low, bootstrapCi(x, { seed: 4, resamples: 500 }).low);
  assert.throws(() => bootstrapCi([1, NaN]), /NaN/);
  assert.throws(() => bootstrapCi([1, 2], { ci: 120 }), /ci must be/);
});

test('Holm-Bonferroni: standard step-down with monotone adjusted p-values', () => {
  for (const c of peers.holm) {
    const h = holmBonferroni(c.p);
    h.pAdjusted.forEach((v, i) => close(v, c.adjusted[i], 1e-14, `holm adjusted ${c.p}`));
    assert.deepEqual(h.significant, c.significant);
  }
  // the reference's variant is not monotone and does not stop: [0.01, 0.04, 0.045] at m = 3
  const ref = holmReferenceVariant([0.01, 0.04, 0.045]);
  const std = holmBonferroni([0.01, 0.04, 0.045]);
  assert.deepEqual(
    std.pAdjusted.map((v) => +v.toFixed(6)),
    [0.03, 0.08, 0.08],
  );
  assert.deepEqual(
    ref.pAdjusted.map((v) => +v.toFixed(6)),
    [0.03, 0.08, 0.045],
  );
  assert.deepEqual(std.significant, [true, false, false]);
  assert.deepEqual(ref.significant, [true, false, true]);
  assert.deepEqual(ref.differsFromStandard, [false, false, true]);
});

test('effect sizes: matched-pairs rank-biserial and paired Cohen d', () => {
  const e = peers.effect;
  close(rankBiserial(e.x, e.y), e.rank_biserial, 1e-14, 'rank-biserial');
  close(pairedCohensD(e.x, e.y), e.cohens_d, 1e-13, 'cohens d');
});

test('multi-seed aggregation averages per case first, then summarises', () => {
  const mk = (v: number) => ({ dose_metrics: { mae_gy: v }, dvh_metrics: { 'PTV50.4': { D95_error: v / 2 } } });
  const seeds = [
    { a: mk(1), b: mk(3), c: mk(5) },
    { a: mk(2), b: mk(4) },
    { a: mk(3), c: mk(7), d: mk(10) },
  ];
  const agg = aggregateAcrossSeeds(seeds, ['dose_metrics.mae_gy', 'dvh_metrics.PTV50.4.D95_error'], {
    resamples: 200,
    seed: 1,
  });
  const m = agg['dose_metrics.mae_gy'];
  assert.deepEqual(Object.fromEntries(Object.entries(m.per_case).map(([k, v]) => [k, v.mean])), {
    a: 2,
    b: 3.5,
    c: 6,
    d: 10,
  });
  close(m.mean as number, (2 + 3.5 + 6 + 10) / 4, 1e-15, 'mean of case means');
  assert.equal(m.n_cases_with_data, 4);
  assert.deepEqual(m.per_seed_means, [3, 3, 20 / 3]);
  assert.equal(agg['dvh_metrics.PTV50.4.D95_error'].per_case.a.mean, 1);
  assert.equal(getPath({ a: { 'PTV50.4': { x: 2 } } }, 'a.PTV50.4.x'), 2);
  assert.equal(getPath({ a: 1 }, 'a.b'), null);
});

test('condition comparison uses per-case means and Holm across metrics', () => {
  const mk = (v: number, g: number) => ({
    dose_metrics: { mae_gy: v },
    gamma: { global_3mm3pct: { gamma_pass_rate: g } },
  });
  const ids = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'];
  const A = [Object.fromEntries(ids.map((id, i) => [id, mk(3 + i * 0.1, 50 + i)]))];
  const B = [Object.fromEntries(ids.map((id, i) => [id, mk(3.5 + i * 0.13, 50 + i + (i % 2 ? 1 : -1) * 0.5)]))];
  const keys = ['dose_metrics.mae_gy', 'gamma.global_3mm3pct.gamma_pass_rate'];
  const res = compareConditions(
    aggregateAcrossSeeds(A, keys, { resamples: 100 }),
    aggregateAcrossSeeds(B, keys, { resamples: 100 }),
    keys,
  );
  assert.equal(res[0].n_pairs, 8);
  assert.equal(res[0].direction, 'A < B');
  const w = wilcoxon(
    ids.map((_, i) => 3 + i * 0.1),
    ids.map((_, i) => 3.5 + i * 0.13),
  );
  close(res[0].p_value as number, w.pvalue, 1e-15, 'p');
  const h = holmBonferroni([res[0].p_value as number, res[1].p_value as number]);
  assert.equal(res[0].p_adjusted, h.pAdjusted[0]);
  assert.equal(res[1].p_adjusted, h.pAdjusted[1]);
  assert.equal(res[0].rank_biserial, -1);
});
