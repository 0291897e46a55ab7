import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readNpz, isNdArray } from '../../lib/data/npz';
import { gammaIndex, gammaIndexSync, gammaStats } from '../../lib/eval/gamma';
import { distanceSchedule, shellCoordinates3d } from '../../lib/eval/gamma_shells';
import { loadNativeAddon } from '../../lib/engine/native_addon';

const dir = path.join(__dirname, '..', 'fixtures', 'eval');
const spec = JSON.parse(fs.readFileSync(path.join(dir, 'gamma_cases.json'), 'utf8'));

interface PeerCase {
  name: string;
  shape: [number, number, number];
  spacing_mm: [number, number, number];
  dose_pct: number;
  dta_mm: number;
  cutoff_pct: number;
  max_gamma: number | null;
  local: boolean;
  n_evaluated: number;
  pass_rate: number;
  pass_rate_le: number;
  mean_gamma: number;
  masked?: { n_evaluated: number; pass_rate: number; pass_rate_le: number; mean_gamma: number };
}

async function load(name: string) {
  const z = await readNpz(path.join(dir, `gamma_${name}.npz`));
  const get = (k: string) => {
    const e = z.get(k);
    assert.ok(isNdArray(e), k);
    return e.data;
  };
  return {
    ref: get('ref') as Float32Array,
    ev: get('eval') as Float32Array,
    gamma: get('gamma') as Float64Array,
    mask: z.has('mask') ? (get('mask') as Uint8Array) : null,
  };
}

const kernels: Array<'js' | 'native'> = loadNativeAddon().addon ? ['js', 'native'] : ['js'];

for (const c of spec.cases as PeerCase[]) {
  for (const kernel of kernels)
    test(`gamma agrees with the pymedphys gamma_shell peer (${kernel} kernel): ${c.name}`, async () => {
      const d = await load(c.name);
      const opts = {
        dosePercent: c.dose_pct,
        dtaMm: c.dta_mm,
        cutoffPercent: c.cutoff_pct,
        maxGamma: c.max_gamma,
        local: c.local,
        kernel,
      };
      const m = gammaIndexSync(d.ref, d.ev, c.shape, c.spacing_mm, opts);
      const s = gammaStats(m.gamma);
      assert.equal(s.n_evaluated, c.n_evaluated);
      assert.ok(
        Math.abs((s.pass_rate as number) - c.pass_rate) < 0.1,
        `pass rate ${s.pass_rate} vs peer ${c.pass_rate}`,
      );
      assert.ok(
        Math.abs((s.pass_rate_le as number) - c.pass_rate_le) < 0.1,
        `pass rate <= 1: ${s.pass_rate_le} vs peer ${c.pass_rate_le}`,
      );
      // per voxel: same evaluated set, same pass/fail decision (gamma < 1 and gamma <= 1), same
      // value (the search is exact, only rounding differs)
      let maxDiff = 0;
      for (let i = 0; i < d.gamma.length; i++) {
        assert.equal(Number.isNaN(m.gamma[i]), Number.isNaN(d.gamma[i]), `evaluated set differs at ${i}`);
        if (Number.isNaN(d.gamma[i])) continue;
        maxDiff = Math.max(maxDiff, Math.abs(m.gamma[i] - d.gamma[i]));
        assert.equal(m.gamma[i] < 1, d.gamma[i] < 1, `pass/fail (< 1) differs at ${i}: ${m.gamma[i]} vs ${d.gamma[i]}`);
        assert.equal(m.gamma[i] <= 1, d.gamma[i] <= 1, `pass/fail (<= 1) differs at ${i}`);
      }
      assert.ok(maxDiff < 1e-9, `max per-voxel gamma difference ${maxDiff}`);
      if (c.masked && d.mask) {
        const mm = gammaIndexSync(d.ref, d.ev, c.shape, c.spacing_mm, { ...opts, mask: d.mask });
        const sm = gammaStats(mm.gamma);
        assert.equal(sm.n_evaluated, c.masked.n_evaluated);
        assert.ok(Math.abs((sm.pass_rate as number) - c.masked.pass_rate) < 1e-9);
        // one full map masked afterwards gives the same as restricting the reference points
        assert.deepEqual(gammaStats(m.gamma, d.mask), sm);
      }
    });
}

test('gamma (JavaScript kernel) with worker threads equals the single-thread map', async () => {
  const c = (spec.cases as PeerCase[])[1];
  const d = await load(c.name);
  // tile the small case 3x along axis 0 so the threaded path (>= 8192 points) is used
  const [n0, n1, n2] = c.shape;
  const big = (a: Float32Array) => {
    const out = new Float32Array(a.length * 3);
    for (let t = 0; t < 3; t++) out.set(a, t * a.length);
    return out;
  };
  const shape: [number, number, number] = [3 * n0, n1, n2];
  const opts = { maxGamma: c.max_gamma, dosePercent: c.dose_pct, dtaMm: c.dta_mm, cutoffPercent: c.cutoff_pct };
  const one = gammaIndexSync(big(d.ref), big(d.ev), shape, c.spacing_mm, { ...opts, kernel: 'js' });
  const two = await gammaIndex(big(d.ref), big(d.ev), shape, c.spacing_mm, { ...opts, threads: 2, kernel: 'js' });
  assert.equal(two.threads, 2);
  assert.deepEqual(Array.from(two.gamma), Array.from(one.gamma));
});

test('distance schedule and shells follow pymedphys', () => {
  const { shells } = distanceSchedule(3, 10, 2, Infinity);
  const d = shells.map((s) => s[0]);
  assert.equal(d[0], 0);
  assert.ok(d.includes(3), 'the DTA itself is searched');
  assert.ok(Math.max(...d) <= 6 && Math.max(...d) > 5.6);
  for (let i = 1; i < d.length; i++) assert.ok(d[i] >= d[i - 1] - 1e-12);
  assert.equal(shellCoordinates3d(0, 0.3)[0].length, 1);
  // d = 0.3, step 0.3: rows 1, 6, 8, 6, 2 points
  assert.equal(shellCoordinates3d(0.3, 0.3)[0].length, 23);
});

test('gamma: identical doses pass everywhere; cutoff excludes low dose', () => {
  const shape: [number, number, number] = [6, 7, 5];
  const n = 6 * 7 * 5;
  const ref = Float64Array.from({ length: n }, (_, i) => 10 + (i % 13));
  const m = gammaIndexSync(ref, ref, shape, [2, 2, 2], { maxGamma: 2 });
  const s = gammaStats(m.gamma);
  assert.equal(s.pass_rate, 100);
  assert.equal(s.max_gamma, 0);
  const cut = ref.filter((v) => v >= 0.5 * 22).length;
  assert.equal(gammaIndexSync(ref, ref, shape, [2, 2, 2], { cutoffPercent: 50 }).nEvaluated, cut);
});

test('gamma: bad input gives clear errors', () => {
  const a = new Float64Array(24).fill(1);
  assert.throws(() => gammaIndexSync(a, new Float64Array(23), [2, 3, 4], [1, 1, 1]), /evaluation has 23 voxels/);
  assert.throws(() => gammaIndexSync(a, a, [2, 3, 4], [1, 1]), /expected 3 spacing values/);
  assert.throws(() => gammaIndexSync(a, a, [2, 3, 4], [1, -1, 1]), /spacing must be positive/);
  const nan = Float64Array.from(a);
  nan[5] = NaN;
  assert.throws(() => gammaIndexSync(a, nan, [2, 3, 4], [1, 1, 1]), /non-finite value \(NaN\) at flat index 5/);
  assert.throws(() => gammaIndexSync(a, a, [2, 3, 4], [1, 1, 1], { mask: new Uint8Array(3) }), /mask has 3 voxels/);
});

test('gammaStats: median (quickselect) equals numpy median over finite values, with ties, odd and even counts', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let t = 0; t < 200; t++) {
    const n = 1 + Math.floor(next() * 40);
    const g = Float64Array.from({ length: n }, () => (next() < 0.2 ? NaN : Math.floor(next() * 6) / 3));
    const vals = Array.from(g)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const k = vals.length;
    const want = k === 0 ? null : k % 2 ? vals[(k - 1) / 2] : (vals[k / 2 - 1] + vals[k / 2]) / 2;
    assert.equal(gammaStats(g).median_gamma, want, `case ${t}: ${Array.from(g).join(',')}`);
  }
});
