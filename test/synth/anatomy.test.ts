import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type PlanType, PLAN_TARGETS, buildAnatomy, sampleAnatomy } from '../../lib/synth/anatomy';
import { centroidIndex, count, dilate, uniformMargins, Grid } from '../../lib/synth/geometry';
import { Rng } from '../../lib/core/rng';
import { DEFAULT_SHAPE, DEFAULT_SPACING_MM } from '../../lib/synth/synth_case';

const TYPES: PlanType[] = ['sib_2level', 'sib_3level', 'nodal_only', 'single_rx'];

function build(seed: number, planType: PlanType) {
  return buildAnatomy(
    DEFAULT_SHAPE,
    DEFAULT_SPACING_MM,
    sampleAnatomy(Rng.fromSeed(`anat-test:${seed}`), planType),
    Rng.fromSeed(`noise:${seed}`),
  );
}

const cases = TYPES.flatMap((t, k) => [build(100 + k, t), build(200 + k, t)]);

test('every profile structure is present and non-empty; targets follow the plan type', () => {
  for (const a of cases) {
    const t = PLAN_TARGETS[a.params.planType];
    const want = [
      'PTV70',
      'Prostate',
      'Rectum',
      'Bladder',
      'Femur_L',
      'Femur_R',
      'Bowel',
      ...(t.ptv56 ? ['PTV56'] : []),
      ...(t.ptv50 ? ['PTV50.4'] : []),
    ];
    for (const nm of want)
      assert.ok(a.masks.has(nm) && count(a.masks.get(nm)!) > 50, `${a.params.planType}: ${nm} missing or tiny`);
    assert.equal(a.masks.has('PTV56'), t.ptv56);
    assert.equal(a.masks.has('PTV50.4'), t.ptv50);
  }
});

test('Femur_L lies on the patient left = higher X index (spec 1.7: x_max = left)', () => {
  for (const a of cases) {
    const l = centroidIndex(a.grid, a.masks.get('Femur_L')!);
    const r = centroidIndex(a.grid, a.masks.get('Femur_R')!);
    const p = centroidIndex(a.grid, a.masks.get('Prostate')!);
    assert.ok(l[1] > p[1] + 10 && r[1] < p[1] - 10, `femur x: L ${l[1]}, R ${r[1]}, prostate ${p[1]}`);
  }
});

test('organ placement: rectum posterior, bladder anterior-superior, bowel superior of the prostate', () => {
  for (const a of cases) {
    const p = centroidIndex(a.grid, a.masks.get('Prostate')!);
    const r = centroidIndex(a.grid, a.masks.get('Rectum')!);
    const b = centroidIndex(a.grid, a.masks.get('Bladder')!);
    const w = centroidIndex(a.grid, a.masks.get('Bowel')!);
    assert.ok(r[0] > p[0], `rectum y ${r[0]} not posterior of prostate y ${p[0]}`);
    assert.ok(b[2] > p[2] && b[0] < r[0], `bladder (y ${b[0]}, z ${b[2]}) vs prostate z ${p[2]}, rectum y ${r[0]}`);
    assert.ok(w[2] > b[2], `bowel z ${w[2]} not above bladder z ${b[2]}`);
  }
});

test('PTV70 contains the prostate; PTV56 excludes PTV70 but covers the seminal vesicles outside it', () => {
  for (const a of cases) {
    const ptv = a.masks.get('PTV70')!;
    const pro = a.masks.get('Prostate')!;
    for (let i = 0; i < pro.length; i++) if (pro[i]) assert.equal(ptv[i], 1);
    // the margin is real: PTV70 is larger than the prostate by roughly a 5-7 mm shell
    assert.ok(count(ptv) > 1.5 * count(pro), `PTV70 ${count(ptv)} vs prostate ${count(pro)}`);
    const p56 = a.masks.get('PTV56');
    if (!p56) continue;
    const sv = a.masks.get('SeminalVesicles')!;
    for (let i = 0; i < p56.length; i++) {
      assert.ok(!(p56[i] && ptv[i]), 'PTV56 overlaps PTV70');
      if (sv[i] && !ptv[i]) assert.equal(p56[i], 1);
    }
  }
});

test('organ masks are mutually exclusive', () => {
  const names = ['Prostate', 'Rectum', 'Bladder', 'Femur_L', 'Femur_R', 'Bowel'];
  for (const a of cases) {
    const seen = new Uint8Array(a.grid.n);
    for (const nm of names) {
      const m = a.masks.get(nm)!;
      for (let i = 0; i < m.length; i++) {
        if (!m[i]) continue;
        assert.equal(seen[i], 0, `${nm} overlaps another organ`);
        seen[i] = 1;
      }
    }
  }
});

test('CT has plausible HU: air outside, fat and soft tissue inside, cortical bone in femora, gas in some rectums', () => {
  let gasCases = 0;
  for (const a of cases) {
    const med = (mask: (i: number) => boolean) => {
      const buf = new Float32Array(a.grid.n);
      let k = 0;
      for (let i = 0; i < a.grid.n; i++) if (mask(i)) buf[k++] = a.hu[i];
      const v = buf.subarray(0, k).sort();
      return { med: v[Math.floor(v.length / 2)], max: v[v.length - 1], min: v[0] };
    };
    const air = med((i) => !a.body[i]);
    assert.ok(air.med > -1030 && air.med < -970, `air ${air.med}`);
    const fem = med((i) => a.masks.get('Femur_L')![i] === 1);
    assert.ok(fem.med > 150 && fem.med < 700 && fem.max > 900, `femur HU median ${fem.med} max ${fem.max}`);
    const bladder = med((i) => a.masks.get('Bladder')![i] === 1);
    assert.ok(bladder.med > -20 && bladder.med < 40, `bladder ${bladder.med}`);
    const prostate = med((i) => a.masks.get('Prostate')![i] === 1);
    assert.ok(prostate.med > 20 && prostate.med < 70, `prostate ${prostate.med}`);
    // subcutaneous fat: body voxels near the lateral skin at the prostate level
    const fat = med((i) => a.body[i] === 1 && a.hu[i] < -50 && a.hu[i] > -200);
    assert.ok(fat.med > -130 && fat.med < -60, `fat ${fat.med}`);
    const rect = med((i) => a.masks.get('Rectum')![i] === 1);
    if (rect.min < -800) gasCases++;
  }
  assert.ok(gasCases > 0 && gasCases < cases.length, `rectal gas in ${gasCases}/${cases.length} cases`);
});

test('anatomy varies between cases and is reproducible for the same seed', () => {
  const a = build(100, 'sib_2level');
  assert.deepEqual(a.hu, cases[0].hu);
  assert.deepEqual(a.masks.get('PTV70'), cases[0].masks.get('PTV70'));
  const vols = cases.map((c) => count(c.masks.get('Prostate')!));
  assert.ok(
    new Set(vols).size >= vols.length - 2 && Math.max(...vols) > 1.3 * Math.min(...vols),
    `prostate voxel counts barely vary: ${vols.join(',')}`,
  );
  const rect = cases.map((c) => centroidIndex(c.grid, c.masks.get('Bladder')!)[2]);
  assert.ok(Math.max(...rect) - Math.min(...rect) > 2, `bladder height barely varies: ${rect.join(',')}`);
});

test('anisotropic margin: 7 mm everywhere, 5 mm posterior, voxels treated as cubes', () => {
  const g = new Grid([21, 21, 21], [1, 1, 1]);
  const m = new Uint8Array(g.n);
  m[g.index(10, 10, 10)] = 1;
  const d = dilate(g, m, uniformMargins(7, 5));
  // along +y (posterior): gap |dy| - 0.5 <= 5 -> 5 voxels; along -y: <= 7 -> 7 voxels
  assert.equal(d[g.index(15, 10, 10)], 1);
  assert.equal(d[g.index(16, 10, 10)], 0);
  assert.equal(d[g.index(3, 10, 10)], 1);
  assert.equal(d[g.index(2, 10, 10)], 0);
  assert.equal(d[g.index(10, 17, 10)], 1);
  assert.equal(d[g.index(10, 18, 10)], 0);
});
