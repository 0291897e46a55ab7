/**
 * `--reorient` and the debug panel:
 * - a case stored head-first prone (ImageOrientationPatient [-1,0,0,0,-1,0], pixels and dose grid
 *   flipped, positions moved so the patient is unchanged) preprocesses with `--reorient` to the
 *   same npz as the HFS original; without it (the reference's identity assumption) the contours
 *   land outside the image and the case fails with the reason and the hint;
 * - unless `--skip-plots`, `debug_<case>.png` is written through the figure library (PNG from
 *   headless Chromium; skipped when Chromium is missing) and the panel spec has the 2 × 4 layout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findChromium } from '../../lib/plot/export';
import { debugPanelFigure } from '../../lib/dicom/debug_panel';
import type { DebugSlices } from '../../lib/dicom/preprocess_case';
import { FIX, compareNpz, py, pythonSkip, tmpDir, vmat } from './helpers';

const skip = pythonSkip();
let work = '';

before(() => {
  if (skip) return;
  work = tmpDir('dicom-orient');
  py([path.join(FIX, 'make_dicom_cases.py'), path.join(work, 'hfs'), '--cases', '1', '--seed', '21']);
  // the same patient stored head-first prone: both in-plane axes flipped
  py([
    '-c',
    `
import os, shutil, pydicom
src = ${JSON.stringify(path.join(work, 'hfs', 'case_0000'))}
dst = ${JSON.stringify(path.join(work, 'hfp', 'case_0000'))}
shutil.copytree(src, dst)
def flip(p):
    ds = pydicom.dcmread(p)
    ps = [float(v) for v in ds.PixelSpacing]
    ipp = [float(v) for v in ds.ImagePositionPatient]
    ds.ImageOrientationPatient = ['-1', '0', '0', '0', '-1', '0']
    ds.ImagePositionPatient = ['%.6f' % (ipp[0] + (ds.Columns - 1) * ps[0]), '%.6f' % (ipp[1] + (ds.Rows - 1) * ps[1]), ds.ImagePositionPatient[2]]
    arr = ds.pixel_array
    ds.PixelData = (arr[..., ::-1, ::-1]).copy().tobytes()
    if hasattr(ds, 'PatientPosition'): ds.PatientPosition = 'HFP'
    ds.save_as(p)
for root, _, files in os.walk(dst):
    for f in files:
        if f.startswith(('CT', 'RD')) and 'Zone' not in f: flip(os.path.join(root, f))
`,
  ]);
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('--reorient: a head-first-prone copy gives the HFS npz; without it the case fails with the hint', { skip }, () => {
  const a = vmat(
    'preprocess',
    '--input-dir',
    path.join(work, 'hfs'),
    '--output-dir',
    path.join(work, 'out-hfs'),
    '--skip-plots',
    '--no-beams',
  );
  assert.equal(a.status, 0, a.stdout + a.stderr);
  const b = vmat(
    'preprocess',
    '--input-dir',
    path.join(work, 'hfp'),
    '--output-dir',
    path.join(work, 'out-hfp'),
    '--skip-plots',
    '--no-beams',
    '--reorient',
    '--json',
  );
  assert.equal(b.status, 0, b.stdout + b.stderr);
  assert.ok(JSON.parse(b.stdout).cases[0].warnings.some((w: string) => /reoriented to identity/.test(w)));
  const c = compareNpz(path.join(work, 'out-hfs', 'case_0000.npz'), path.join(work, 'out-hfp', 'case_0000.npz'));
  for (const k of ['ct', 'masks', 'constraints', 'masks_sdf']) assert.equal(c.arrays[k].equal, true, `${k} identical`);
  assert.ok(c.arrays.dose.max_abs_diff! <= 1e-6, `dose ${c.arrays.dose.max_abs_diff}`);
  const d = vmat(
    'preprocess',
    '--input-dir',
    path.join(work, 'hfp'),
    '--output-dir',
    path.join(work, 'out-noflip'),
    '--skip-plots',
  );
  assert.equal(d.status, 1);
  assert.match(d.stdout, /FAILED {2}case_0000: .*ContourData \(3006,0050\).*all \d+ points outside.*use --reorient/);
});

test('debug panel: 2 x 4 figure spec; debug_<case>.png exported unless --skip-plots', { skip }, (t) => {
  const n = 6;
  const slices: DebugSlices = {
    shape: [n, n],
    ct: new Float32Array(n * n).fill(0.5),
    doseGy: new Float32Array(n * n).fill(70),
    masks: { PTV70: new Uint8Array(n * n).fill(1), Rectum: new Uint8Array(n * n) },
    sdf: { PTV70: new Float32Array(n * n), Rectum: new Float32Array(n * n).fill(1) },
    summary: ['Case: x', 'Type: sib_2level'],
  };
  const fig = debugPanelFigure('x', 'sib_2level', slices, 70);
  assert.equal(fig.name, 'debug_x');
  for (let p = 1; p <= 8; p++) assert.ok(fig.layout[p === 1 ? 'xaxis' : `xaxis${p}`], `axis ${p}`);
  assert.ok(
    fig.data.some((d) => d.type === 'contour'),
    'PTV70 contour drawn',
  );
  assert.equal(fig.data.filter((d) => d.type === 'contour').length, 1, 'empty Rectum mask draws no contour');
  if (!findChromium()) {
    t.skip('Chromium not installed: PNG export not tested');
    return;
  }
  const out = path.join(work, 'plot');
  const r = vmat('preprocess', '--input-dir', path.join(work, 'hfs'), '--output-dir', out, '--no-sdf');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const png = fs.readFileSync(path.join(out, 'debug_case_0000.png'));
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.ok(png.length > 20000, `PNG of ${png.length} bytes`);
  // 20 x 10 inches at 150 dpi
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [3000, 1500]);
});
