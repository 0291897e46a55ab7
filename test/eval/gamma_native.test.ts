/**
 * The native gamma search (native/src/gamma.cc) against the JavaScript kernel it was ported from
 * (lib/eval/gamma_kernel.ts): bit-identical maps for global and local gamma, finite and infinite
 * max_gamma (the table-growth rounds), masks, points on the grid faces, float32 and float64
 * inputs, 1 and 2 threads. Skips when the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gammaIndex, gammaIndexSync, type GammaOptions } from '../../lib/eval/gamma';
import { smoothDosePair } from '../../lib/eval/smooth_dose';
import { loadNativeAddon } from '../../lib/engine/native_addon';
import { Rng } from '../../lib/core/rng';

const skip = loadNativeAddon().addon ? false : `native addon not built (${loadNativeAddon().reason})`;

/** a smooth plan-like pair plus a rugged component (seeded), so many points search far */
function pair(shape: [number, number, number], spacing: [number, number, number], seed: number) {
  const p = smoothDosePair(shape, spacing, { shiftMm: [2.5, -1.5, 3], scale: 1.04 });
  const rng = Rng.fromSeed(seed);
  for (let i = 0; i < p.ev.length; i++) p.ev[i] *= 1 + 0.04 * (rng.next() - 0.5);
  return p;
}

function assertSameMap(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length);
  let differ = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      differ++;
      if (first < 0) first = i;
    }
  }
  assert.equal(differ, 0, `${what}: ${differ} voxels differ (first at ${first}: ${a[first]} vs ${b[first]})`);
}

const CASES: Array<{
  name: string;
  shape: [number, number, number];
  spacing: [number, number, number];
  opts: GammaOptions;
}> = [
  { name: '3%/3 mm global, max_gamma 2', shape: [30, 28, 24], spacing: [3.906, 3.906, 2.5], opts: { maxGamma: 2 } },
  {
    name: '2%/2 mm local, max_gamma 2',
    shape: [30, 28, 24],
    spacing: [3.906, 3.906, 2.5],
    opts: { maxGamma: 2, local: true, dosePercent: 2, dtaMm: 2 },
  },
  {
    name: '3%/3 mm global, no max_gamma (table grows)',
    shape: [24, 22, 20],
    spacing: [3, 2, 2.5],
    opts: { maxGamma: null },
  },
  {
    name: 'thin slices (points snapped onto boundary planes), 1%/1 mm, cutoff 0',
    shape: [20, 18, 10],
    spacing: [1, 1, 3],
    opts: { maxGamma: 2, dosePercent: 1, dtaMm: 3, cutoffPercent: 0 },
  },
];

for (const c of CASES) {
  test(`native gamma equals the JavaScript kernel bit for bit: ${c.name}`, { skip }, async () => {
    const p = pair(c.shape, c.spacing, 11);
    const js = gammaIndexSync(p.ref, p.ev, c.shape, c.spacing, { ...c.opts, kernel: 'js' });
    assert.equal(js.kernel, 'js');
    const one = gammaIndexSync(p.ref, p.ev, c.shape, c.spacing, { ...c.opts, kernel: 'native', threads: 1 });
    assert.equal(one.kernel, 'native');
    assert.ok(one.nEvaluated > 1000, `${one.nEvaluated} points evaluated`);
    assertSameMap(one.gamma, js.gamma, '1 thread vs JS');
    const two = await gammaIndex(p.ref, p.ev, c.shape, c.spacing, { ...c.opts, kernel: 'native', threads: 2 });
    assertSameMap(two.gamma, js.gamma, '2 threads vs JS');
    // float64 inputs read in place give the same map as float32 ones (values widen exactly)
    const f64 = gammaIndexSync(Float64Array.from(p.ref), Float64Array.from(p.ev), c.shape, c.spacing, {
      ...c.opts,
      kernel: 'native',
    });
    assertSameMap(f64.gamma, js.gamma, 'float64 input vs JS');
  });
}

test('native gamma: masks restrict the reference points exactly as the JavaScript kernel', { skip }, () => {
  const shape: [number, number, number] = [26, 24, 18];
  const spacing: [number, number, number] = [2.5, 2.5, 2.5];
  const p = pair(shape, spacing, 3);
  const mask = new Uint8Array(p.ref.length);
  for (let i = 0; i < mask.length; i += 3) mask[i] = 1;
  const js = gammaIndexSync(p.ref, p.ev, shape, spacing, { maxGamma: 2, mask, kernel: 'js' });
  const nat = gammaIndexSync(p.ref, p.ev, shape, spacing, { maxGamma: 2, mask, kernel: 'native', threads: 2 });
  assertSameMap(nat.gamma, js.gamma, 'masked');
  assert.equal(nat.nEvaluated, js.nEvaluated);
});

test('native gamma: the same clear errors as the JavaScript path', { skip }, () => {
  const a = new Float32Array(24).fill(1);
  const bad = Float32Array.from(a);
  bad[7] = Infinity;
  assert.throws(
    () => gammaIndexSync(a, bad, [2, 3, 4], [1, 1, 1], { kernel: 'native' }),
    /evaluation dose has a non-finite value \(Infinity\) at flat index 7/,
  );
  assert.throws(
    () => gammaIndexSync(bad, a, [2, 3, 4], [1, 1, 1], { kernel: 'native' }),
    /reference dose has a non-finite value \(Infinity\) at flat index 7/,
  );
  assert.throws(() => gammaIndexSync(a, a, [2, 3, 4], [1, 1, 1], { kernel: 'native', maxGamma: 0 }), /max_gamma/);
});
