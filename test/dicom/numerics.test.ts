/**
 * The hand-written numeric pieces of lib/dicom against their peers, on random and edge inputs
 * made in the test by Python:
 * - polygon fill = `skimage.draw.polygon` pixel for pixel (vertices on pixel centres and half
 *   pixels, polygons partly or wholly outside the image, degenerate ones);
 * - cubic B-spline resampling = the peer's SimpleITK substitute (scipy `map_coordinates(order=3,
 *   mode='mirror')` on `spline_filter(mode='mirror')` coefficients, ITK's inside rule
 *   −0.5 ≤ index < n − 0.5 and scanline indices), including grids whose points fall exactly on
 *   those bounds;
 * - crop box = the reference's `compute_crop_box` (the peer's port), min-128 rule included;
 * - numpy's pairwise float64 sum (metadata `voxel_spacing_mm[2]` is numpy's mean of diffs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bsplineCoefficients, resampleBSpline, type Axis } from '../../lib/dicom/bspline_resample';
import { computeCropBox } from '../../lib/dicom/crop';
import { npMean as numpyMean, npSum as numpySum } from '../../lib/stats/npsum';
import { fillPolygon } from '../../lib/dicom/polygon_fill';
import { normaliseRoiName } from '../../lib/dicom/roi_mapping';
import type { SparseMask } from '../../lib/dicom/rtstruct';
import { pyJson, pythonSkip } from './helpers';

const skip = pythonSkip();

test('fillPolygon = skimage.draw.polygon on 1200 polygons (edge and vertex cases, clipping)', { skip }, () => {
  const cases = pyJson<Array<{ r: number[]; c: number[]; rows: number; cols: number; pix: number[] }>>(`
import json, numpy as np
from skimage.draw import polygon
rng = np.random.default_rng(42)
out = []
for t in range(1200):
    n = int(rng.integers(1, 14)); kind = t % 6; rows, cols = int(rng.integers(5, 30)), int(rng.integers(5, 30))
    if kind == 0: r, c = rng.uniform(-6, rows + 6, n), rng.uniform(-6, cols + 6, n)
    elif kind == 1: r, c = rng.integers(-3, rows + 3, n).astype(float), rng.integers(-3, cols + 3, n).astype(float)
    elif kind == 2: r, c = rng.integers(-4, 2 * rows + 4, n) * 0.5, rng.integers(-4, 2 * cols + 4, n) * 0.5
    elif kind == 3:
        a, b = sorted(rng.integers(-2, 2 * rows, 2) * 0.5); d, e = sorted(rng.integers(-2, 2 * cols, 2) * 0.5)
        r, c = np.array([a, a, b, b]), np.array([d, e, e, d])
    elif kind == 4:
        t0 = np.sort(rng.uniform(0, 2 * np.pi, max(n, 3))); rad = rng.uniform(2, 12)
        r, c = rows / 2 + rad * np.sin(t0), cols / 2 + rad * np.cos(t0)
    else: r, c = rng.uniform(rows + 1, rows + 9, n) * rng.choice([-1, 1]), rng.uniform(-3, cols + 3, n)
    rr, cc = polygon(r, c, (rows, cols))
    out.append({'r': r.tolist(), 'c': c.tolist(), 'rows': rows, 'cols': cols, 'pix': sorted((rr * cols + cc).tolist())})
print(json.dumps(out))`);
  let filled = 0;
  for (const cs of cases) {
    const got: number[] = [];
    fillPolygon(Float64Array.from(cs.r), Float64Array.from(cs.c), cs.rows, cs.cols, (a, b) =>
      got.push(a * cs.cols + b),
    );
    got.sort((a, b) => a - b);
    assert.deepEqual(
      got,
      cs.pix,
      `polygon r=${JSON.stringify(cs.r)} c=${JSON.stringify(cs.c)} in ${cs.rows}x${cs.cols}`,
    );
    filled += got.length;
  }
  assert.ok(filled > 20000, 'the cases fill pixels');
});

test(
  'B-spline resampling = scipy map_coordinates(order 3, mirror) with ITK inside rule, bounds hit exactly',
  { skip },
  () => {
    type Case = { shape: number[]; data: number[]; inAxes: Axis[]; outAxes: Axis[]; box: number[]; want: number[] };
    const cases = pyJson<Case[]>(`
import json, numpy as np, reference_preprocess as rp
rng = np.random.default_rng(7)
out = []
for t in range(24):
    nz, ny, nx = (int(v) for v in rng.integers(1 if t % 8 == 0 else 2, 9, 3))
    d = (rng.random((nz, ny, nx)) * 10 - (2 if t % 3 == 0 else 0)).astype(np.float32)
    ins = [(float(rng.uniform(-5, 5)), float(rng.choice([1.0, 2.5, 3.0])), n) for n in (nx, ny, nz)]
    if t % 2 == 0:
        # output grid at half the input spacing from the input origin: last points at exactly n - 0.5
        outs = [(o, s / 2, 2 * n) for (o, s, n) in ins]
    else:
        outs = [(float(rng.uniform(-9, 0)), float(rng.uniform(0.4, 1.3)), int(rng.integers(6, 30))) for _ in range(3)]
    want = rp.itk_bspline_resample(d, (ins[0][0], ins[1][0], ins[2][0]), (ins[0][1], ins[1][1], ins[2][1]),
                                   (outs[1][2], outs[0][2], outs[2][2]), (outs[0][0], outs[1][0], outs[2][0]),
                                   (outs[0][1], outs[1][1], outs[2][1]))
    out.append({'shape': [nz, ny, nx], 'data': d.ravel().tolist(),
                'inAxes': [{'origin': o, 'spacing': s_, 'n': n} for (o, s_, n) in ins],
                'outAxes': [{'origin': o, 'spacing': s_, 'n': n} for (o, s_, n) in outs],
                'box': [0, outs[0][2], 0, outs[1][2], 0, outs[2][2]], 'want': want.ravel().tolist()})
print(json.dumps(out))`);
    let maxDiff = 0;
    let zerosChecked = 0;
    for (const c of cases) {
      const coeffs = bsplineCoefficients(Float32Array.from(c.data), c.shape[0], c.shape[1], c.shape[2]);
      const [x0, x1, y0, y1, z0, z1] = c.box;
      const got = resampleBSpline(
        coeffs,
        c.inAxes[0],
        c.inAxes[1],
        c.inAxes[2],
        c.outAxes[0],
        c.outAxes[1],
        c.outAxes[2],
        { x0, x1, y0, y1, z0, z1 },
      );
      assert.equal(got.length, c.want.length);
      for (let i = 0; i < got.length; i++) {
        const w = Math.fround(c.want[i]);
        if (w === 0 || got[i] === 0) {
          assert.equal(got[i], w, `inside/outside decision at ${i} (shape ${c.shape})`);
          zerosChecked++;
        }
        maxDiff = Math.max(maxDiff, Math.abs(got[i] - w) / Math.max(1, Math.abs(w)));
      }
    }
    assert.ok(zerosChecked > 1000, 'outside points exercised');
    assert.ok(maxDiff <= 2e-6, `max relative difference ${maxDiff}`);
  },
);

test('computeCropBox = the reference compute_crop_box (peer port) on random masks', { skip }, () => {
  type Case = {
    shape: number[];
    dz: number;
    size: number;
    margin: number;
    channels: number[][];
    want: Record<string, unknown>;
  };
  const cases = pyJson<Case[]>(`
import json, numpy as np, reference_preprocess as rp
rng = np.random.default_rng(3)
out = []
for t in range(60):
    shape = (int(rng.integers(10, 60)), int(rng.integers(10, 60)), int(rng.integers(5, 220)))
    masks = np.zeros((9,) + shape, np.uint8)
    chans = []
    for c in range(9):
        pts = []
        if rng.random() < (0.9 if c == 0 else 0.5) and not (t % 10 == 0 and c in (0, 2)):
            k = int(rng.integers(1, 40))
            pts = np.stack([rng.integers(0, s, k) for s in shape], 1)
            masks[c][tuple(pts.T)] = 1
            pts = pts.tolist()
        chans.append([int(i) for p in pts for i in p])
    size, margin, dz = int(rng.integers(4, 70)), float(rng.uniform(0, 40)), float(rng.choice([1.0, 2.5, 3.0]))
    box = rp.crop_box(masks, (1.0, 1.0, dz), size, margin)
    box['centroid_voxel'] = list(box['centroid_voxel'])
    out.append({'shape': list(shape), 'dz': dz, 'size': size, 'margin': margin, 'channels': chans, 'want': box})
print(json.dumps(out))`);
  for (const c of cases) {
    const [ny, nx] = c.shape;
    const masks: SparseMask[] = c.channels.map((flat) => {
      const m: SparseMask = new Map();
      for (let i = 0; i < flat.length; i += 3) {
        const [y, x, z] = [flat[i], flat[i + 1], flat[i + 2]];
        if (!m.has(z)) m.set(z, new Uint8Array(ny * nx));
        m.get(z)![y * nx + x] = 1;
      }
      return m;
    });
    const got = computeCropBox(masks, c.shape as [number, number, number], c.dz, c.size, c.margin);
    assert.deepEqual(
      { ...got, centroid_voxel: [...got.centroid_voxel] },
      c.want,
      `shape ${c.shape} size ${c.size} margin ${c.margin}`,
    );
  }
});

test('numpySum/numpyMean are bit-identical to numpy; ROI names normalise as the reference', { skip }, () => {
  const cases = pyJson<Array<{ a: number[]; sum: number; mean: number }>>(`
import json, numpy as np
rng = np.random.default_rng(9)
out = []
for n in [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 1000, 4099]:
    a = rng.standard_normal(n) * 10 ** rng.uniform(-3, 3, n)
    out.append({'a': a.tolist(), 'sum': float(np.sum(a)), 'mean': float(np.mean(a))})
print(json.dumps(out))`);
  for (const c of cases) {
    assert.equal(numpySum(c.a), c.sum, `sum of ${c.a.length}`);
    assert.equal(numpyMean(c.a), c.mean, `mean of ${c.a.length}`);
  }
  const names = ['PTV_70-Gy', 'Ptv 70Gy', 'G-y', 'Femur_Head_L', 'SplResdMax_Rectum_AP_n_AP', 'bladder  ', 'PTV5040'];
  const want = pyJson<string[]>(
    `import json, reference_preprocess as rp\nprint(json.dumps([rp.norm_name(s) for s in ${JSON.stringify(names)}]))`,
  );
  assert.deepEqual(names.map(normaliseRoiName), want);
});
