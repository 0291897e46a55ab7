import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COLOR_ORDER,
  WONG,
  parseMetricsCsv,
  argminDefined,
  trainingCurvesFigure,
  extractSlice,
  maskCentroid,
  zDirectionOf,
  doseColorwashFigure,
  doseDifferenceFigure,
  differenceLimit,
  cumulativeDvh,
  dvhComparisonFigure,
  gammaBarFigure,
  perCaseBoxFigure,
  quantecHeatmapFigure,
  femurAsymmetryFigure,
  shortCaseId,
  meanSd,
  sliceViewerHtml,
  viewerStride,
  figureHtml,
} from '../../lib/plot/index';
import type { Shape3 } from '../../lib/data/case';

test('Wong palette order is blue, orange, green, red, purple, cyan (spec 9.1)', () => {
  assert.deepEqual(COLOR_ORDER, ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9']);
});

test('metrics.csv: Lightning rows of one epoch are merged; best epoch = argmin val MAE', () => {
  const csv =
    'epoch,step,train/loss_epoch,val/loss,val/mae_gy,val/gamma_3mm3pct\n0,9,0.5,,,\n0,9,,0.9,7.5,40\n1,19,0.25,,,\n1,19,,0.8,6.0,55\n2,29,0.2,,,\n2,29,,0.85,6.5,50\n';
  const h = parseMetricsCsv(csv);
  assert.deepEqual(h.epoch, [0, 1, 2]);
  assert.deepEqual(h.trainLoss, [0.5, 0.25, 0.2]);
  assert.deepEqual(h.valMae, [7.5, 6.0, 6.5]);
  assert.equal(argminDefined(h.valMae), 1);
  const f = trainingCurvesFigure(h);
  const star = f.data.find((t) => (t.marker as { symbol?: string } | undefined)?.symbol === 'star');
  assert.ok(star, 'best epoch star');
  assert.deepEqual(star!.x, [1]);
  assert.equal(f.data.find((t) => t.name === 'Val gamma 3%/3mm (%)')!.yaxis, 'y3', 'gamma on the secondary axis');
  const ann = (f.layout.annotations as Array<{ text: string }>).map((a) => a.text).join(' ');
  assert.match(ann, /Overfit ratio \(final val\/train loss\): 4\.25/);
  // flat per-epoch layout with underscore names
  const g = parseMetricsCsv('epoch,train_loss,val_mae_gy\n0,1,5\n1,0.5,4\n');
  assert.deepEqual(g.valMae, [5, 4]);
  assert.throws(() => parseMetricsCsv('step,loss\n1,2\n'), /no 'epoch' column/);
});

// a (Y, X, Z) volume whose value encodes its index: v = 10000 y + 100 x + z
function indexVolume(shape: Shape3): Float32Array {
  const v = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let y = 0; y < shape[0]; y++)
    for (let x = 0; x < shape[1]; x++)
      for (let z = 0; z < shape[2]; z++) v[(y * shape[1] + x) * shape[2] + z] = 10000 * y + 100 * x + z;
  return v;
}

test('slices: axial rows = Y (anterior up), coronal/sagittal rows = Z, coordinates in mm', () => {
  const shape: Shape3 = [4, 5, 6];
  const vol = indexVolume(shape);
  const ax = extractSlice(vol, shape, [2, 3, 4], 'axial', 2);
  assert.equal(ax.width, 5);
  assert.equal(ax.height, 4);
  assert.equal(ax.values[1 * 5 + 3], 10000 * 1 + 100 * 3 + 2);
  assert.deepEqual(ax.xMm, [0, 3, 6, 9, 12]);
  assert.deepEqual(ax.yMm, [0, 2, 4, 6]);
  assert.equal(ax.yReversed, true);
  assert.match(ax.xLabel, /right → left/);
  const co = extractSlice(vol, shape, [2, 3, 4], 'coronal', 1);
  assert.equal(co.width, 5);
  assert.equal(co.height, 6);
  assert.equal(co.values[4 * 5 + 2], 10000 * 1 + 100 * 2 + 4);
  assert.equal(co.yReversed, false, 'superior up for inferior->superior slices');
  assert.deepEqual(co.yMm, [0, 4, 8, 12, 16, 20]);
  const sa = extractSlice(vol, shape, [2, 3, 4], 'sagittal', 3);
  assert.equal(sa.width, 4);
  assert.equal(sa.height, 6);
  assert.equal(sa.values[5 * 4 + 2], 10000 * 2 + 100 * 3 + 5);
  assert.match(sa.xLabel, /Anterior → Posterior/);
  // OpenKBP slices run superior -> inferior: the vertical axis flips
  assert.equal(zDirectionOf('openkbp-npz'), 'superior-to-inferior');
  assert.equal(extractSlice(vol, shape, [2, 3, 4], 'coronal', 1, 'superior-to-inferior').yReversed, true);
});

test('PTV centroid is the integer mean index; empty mask -> volume centre', () => {
  const shape: Shape3 = [10, 10, 10];
  const m = new Uint8Array(1000);
  for (const [y, x, z] of [
    [2, 3, 4],
    [3, 3, 4],
    [4, 6, 5],
  ])
    m[(y * 10 + x) * 10 + z] = 1;
  assert.deepEqual(maskCentroid(m, shape), [3, 4, 4]);
  assert.deepEqual(maskCentroid(new Uint8Array(1000), shape), [5, 5, 5]);
});

function phantom() {
  const shape: Shape3 = [12, 14, 10];
  const n = 12 * 14 * 10;
  const ct = new Float32Array(n).fill(40),
    gt = new Float32Array(n),
    pred = new Float32Array(n),
    ptv = new Uint8Array(n);
  for (let y = 0; y < 12; y++)
    for (let x = 0; x < 14; x++)
      for (let z = 0; z < 10; z++) {
        const i = (y * 14 + x) * 10 + z;
        const r = Math.hypot(y - 6, x - 7, z - 5);
        gt[i] = Math.max(0, 70 - 8 * r);
        pred[i] = Math.max(0, 68 - 8 * r);
        ptv[i] = r < 2 ? 1 : 0;
      }
  return { caseId: 'prostate70gy_0042', shape, spacingMm: [3, 2, 2.5] as Shape3, ct, gt, pred, rxGy: 70, ptvMask: ptv };
}

test('colourwash: 2 rows x 3 views, dose < 5 Gy transparent, equal physical aspect, scale 0..1.1 Rx', () => {
  const f = doseColorwashFigure(phantom());
  const dose = f.data.filter((t) => t.coloraxis === 'coloraxis');
  assert.equal(dose.length, 6);
  for (const t of dose)
    for (const row of t.z as Array<Array<number | null>>) for (const v of row) assert.ok(v === null || v >= 5);
  assert.equal((f.layout.coloraxis as { cmax: number }).cmax, 77);
  for (let i = 1; i <= 6; i++) {
    const ya = f.layout[i === 1 ? 'yaxis' : `yaxis${i}`] as { scaleanchor: string; scaleratio: number };
    assert.equal(ya.scaleanchor, i === 1 ? 'x' : `x${i}`);
    assert.equal(ya.scaleratio, 1);
  }
  // axial panel x coordinates use X spacing (2 mm), y use Y spacing (3 mm)
  assert.deepEqual((dose[0].x as number[]).slice(0, 3), [0, 2, 4]);
  assert.deepEqual((dose[0].y as number[]).slice(0, 3), [0, 3, 6]);
});

test('difference map: diverging scale centred at 0 with symmetric limits', () => {
  const p = phantom();
  const f = doseDifferenceFigure(p);
  const ca = f.layout.coloraxis as { cmin: number; cmax: number; cmid: number };
  assert.equal(ca.cmid, 0);
  assert.equal(ca.cmin, -ca.cmax);
  assert.equal(ca.cmax, 2, 'pred - gt is -2 Gy wherever gt > 2');
  assert.equal(differenceLimit([100], [0], 5, 30), 30, 'capped at 30 Gy');
});

test('cumulative DVH: % of voxels with dose >= each edge', () => {
  const c = cumulativeDvh([0, 10, 20, 30, 99], [1, 1, 1, 1, 0], 40, 4);
  assert.deepEqual(c.doseGy, [0, 10, 20, 30, 40]);
  assert.deepEqual(c.volumePct, [100, 75, 50, 25, 0]);
  const f = dvhComparisonFigure('c', [
    { structure: 'PTV70', gt: c, pred: c },
    { structure: 'Rectum', gt: c, pred: c },
  ]);
  assert.equal(f.data.length, 4);
  assert.equal((f.data[0].line as { dash: string }).dash, 'solid');
  assert.equal((f.data[1].line as { dash: string }).dash, 'dash');
  assert.equal((f.data[0].line as { color: string }).color, WONG.red);
  assert.notEqual(
    (f.data[0].marker as { symbol: string }).symbol,
    (f.data[2].marker as { symbol: string }).symbol,
    'structures differ by marker too',
  );
});

test('gamma bars, box plots, QUANTEC heat map, femur asymmetry', () => {
  assert.equal(shortCaseId('prostate70gy_0056'), 'P0056');
  const ids = ['prostate70gy_0001', 'prostate70gy_0002', 'prostate70gy_0003'];
  const g = gammaBarFigure({ caseIds: ids, globalPct: [30, null, 40], ptvPct: [96, 90, 85] });
  assert.deepEqual(g.data[0].x, ['P0001', 'P0002', 'P0003']);
  assert.equal((g.layout.shapes as Array<{ y0: number }>)[0].y0, 95);
  assert.deepEqual((g.layout.yaxis as { range: number[] }).range, [0, 110]);
  assert.ok(
    (g.data[1].marker as { pattern?: { shape: string } }).pattern?.shape,
    'PTV bars hatched for grey-scale print',
  );

  const s = meanSd([1, 2, 3, null]);
  assert.equal(s.mean, 2);
  assert.equal(s.sd, 1);
  assert.equal(s.n, 3);
  const b = perCaseBoxFigure(ids, [
    { title: 'MAE', unit: 'Gy', values: [1, 2, 3] },
    { title: 'G', unit: '%', values: [50, 60, 70], refLine: 95 },
  ]);
  assert.equal(b.data.length, 2);
  assert.equal(b.data[0].boxpoints, 'all');
  assert.match(JSON.stringify(b.layout.annotations), /2\.00 ± 1\.00 \(n=3\)/);

  const q = quantecHeatmapFigure([
    {
      caseId: ids[0],
      cells: [
        { column: 'Rectum V70', passed: true, value: 3.2, limitText: '≤ 15 %' },
        { column: 'Rectum Dmax', passed: false, value: 75.8 },
      ],
    },
    {
      caseId: ids[1],
      cells: [
        { column: 'Rectum V70', passed: true, value: 1 },
        { column: 'Bowel V45cc', passed: null, value: null },
      ],
    },
  ]);
  const hm = q.data[0];
  assert.deepEqual(hm.z, [
    [1, 0, 0.5],
    [1, 0.5, 0.5],
  ]);
  assert.equal((hm.text as string[][])[0][1], 'F<br>75.8');
  assert.match(String((q.layout.title as { text: string }).text), /1\/2 cases pass/);

  const fa = femurAsymmetryFigure(ids, [10, 5, null], [4, 6, 3]);
  assert.deepEqual(fa.data[2].y, [6, -1, null]);
  assert.match(JSON.stringify(fa.layout.annotations), /Femur_L worse: 1\/2/);
});

test('slice viewer embeds quantised volumes and picks a stride under the voxel budget', () => {
  assert.equal(viewerStride([100, 100, 100], 1_000_000), 1);
  assert.equal(viewerStride([200, 200, 100], 1_000_000), 2);
  const p = phantom();
  const html = sliceViewerHtml({ ...p, masks: new Map([['PTV70', p.ptvMask]]) });
  assert.match(html, /data-k="slice"/);
  assert.match(html, /<option>Difference \(pred − GT\)<\/option>/);
  assert.match(html, /PTV70/);
  assert.doesNotMatch(html.replace(/<\/script>\s*$/, ''), /<\/script>[\s\S]*<\/script>/, 'exactly one script block');
});

test('figure HTML cannot be closed early by data containing </script>', () => {
  const h = figureHtml({
    name: 'x',
    width: 10,
    height: 10,
    data: [{ type: 'scatter', name: '</script><b>' }],
    layout: {},
  });
  assert.equal(h.split('</script>').length, 2);
});
