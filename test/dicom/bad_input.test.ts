/**
 * The "Bad input" list of issue 14 on a corpus of broken cases made by the pydicom generator
 * (test/fixtures/dicom/make_dicom_cases.py --broken): each case fails with a message naming the
 * case, the file and the tag; it gets no npz (a stale one is removed); the batch goes on, lists
 * the failures with their reasons in batch_summary.json and exits 1; no stack traces.
 * Then `--allow-missing-dose` on the case without RTDOSE: an npz without `dose`, metadata
 * `dose_available` False, read back with `dose === null`, accepted by verify-npz's checks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz } from '../../lib/data/npz';
import { readReferenceNpz } from '../../lib/data/reference_npz';
import { verifyCaseFile } from '../../lib/data/verify';
import { FIX, py, pythonSkip, tmpDir, vmat } from './helpers';

const skip = pythonSkip();
let input = '';
let work = '';

before(() => {
  if (skip) return;
  work = tmpDir('dicom-broken');
  input = path.join(work, 'in');
  py([path.join(FIX, 'make_dicom_cases.py'), input, '--broken', '--seed', '5']);
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** case → [file name pattern, tag / key pattern, what the message says] */
const EXPECTED: Record<string, [RegExp, RegExp, RegExp]> = {
  truncated_ct: [/\/CT\.[\d.]+\.dcm/, /PixelData \(7FE0,0010\)/, /truncated/],
  non_dicom_file: [/\/CT_notes\.txt/, /./, /not a DICOM file|no 'DICM' prefix/],
  two_ct_series: [/two_ct_series/, /SeriesInstanceUID \(0020,000E\)/, /2 series/],
  missing_slice: [/\/CT\.[\d.]+\.dcm/, /ImagePositionPatient \(0020,0032\)/, /missing slice/],
  duplicated_slice: [/\.dcm/, /ImagePositionPatient \(0020,0032\)/, /duplicated slice/],
  oblique_ct: [/\/CT\.[\d.]+\.dcm/, /ImageOrientationPatient \(0020,0037\)/, /oblique/],
  rtstruct_frame_mismatch: [/\/RS\.[\d.]+\.dcm/, /FrameOfReferenceUID/, /the CT's FrameOfReferenceUID/],
  rtdose_frame_mismatch: [/\/RD\.[\d.]+\.dcm/, /FrameOfReferenceUID \(0020,0052\)/, /the CT's FrameOfReferenceUID/],
  contours_outside: [/\/RS\.[\d.]+\.dcm/, /ContourData \(3006,0050\) of ROI '[^']+'/, /all \d+ points outside/],
  no_dose_grid_scaling: [/\/RD\.[\d.]+\.dcm/, /DoseGridScaling \(3004,000E\)/, /missing/],
  no_ptv70: [/\/RS\.[\d.]+\.dcm/, /PTV70/, /no ROI name matches/],
  compressed_ct: [
    /\/CT\.[\d.]+\.dcm/,
    /TransferSyntaxUID \(0002,0010\)/,
    /JPEG Lossless.*1\.2\.840\.10008\.1\.2\.4\.70/,
  ],
  no_rtdose: [/no_rtdose/, /./, /RTDOSE/],
};

test('every broken case fails with file and tag named, gets no npz, and the batch goes on (exit 1)', { skip }, () => {
  const out = path.join(work, 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'oblique_ct.npz'), 'stale output of an earlier run');
  const r = vmat('preprocess', '--input-dir', input, '--output-dir', out, '--skip-plots', '--jobs', '2', '--json');
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  const j = JSON.parse(r.stdout);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'batch_summary.json'), 'utf8'));
  const names = fs.readdirSync(input).sort();
  assert.deepEqual(Object.keys(EXPECTED).sort(), names, 'the corpus has the expected cases');
  assert.deepEqual(summary.failed_cases, names);
  assert.deepEqual([summary.total_cases, summary.processed, summary.failed], [names.length, 0, names.length]);
  assert.deepEqual(j.failed_cases, names);
  for (const id of names) {
    const reason: string = summary.failure_reasons[id];
    const [file, tag, what] = EXPECTED[id];
    assert.match(reason, file, `${id}: names the file: ${reason}`);
    assert.match(reason, tag, `${id}: names the tag: ${reason}`);
    assert.match(reason, what, `${id}: says what is wrong: ${reason}`);
    assert.ok(reason.includes(path.join(input, id)), `${id}: the path names the case folder`);
    assert.ok(!fs.existsSync(path.join(out, `${id}.npz`)), `${id}: no npz`);
  }
  assert.equal(
    fs.readdirSync(out).filter((f) => f.endsWith('.npz')).length,
    0,
    'the stale npz of a failed case is removed',
  );

  // the same corpus in one thread, text output: every case listed with its reason
  const text = vmat(
    'preprocess',
    '--input-dir',
    input,
    '--output-dir',
    path.join(work, 'out1'),
    '--skip-plots',
    '--jobs',
    '1',
  );
  assert.equal(text.status, 1);
  for (const id of names) assert.match(text.stdout, new RegExp(`FAILED  ${id}: `));
  assert.match(text.stdout, /0 processed, 13 failed/);
});

test('--allow-missing-dose writes the case without dose; the reader and verify-npz accept it', { skip }, async () => {
  const one = path.join(work, 'only-no-dose');
  fs.mkdirSync(one);
  fs.cpSync(path.join(input, 'no_rtdose'), path.join(one, 'no_rtdose'), { recursive: true });
  const out = path.join(work, 'nodose-out');
  const r = vmat(
    'preprocess',
    '--input-dir',
    one,
    '--output-dir',
    out,
    '--skip-plots',
    '--allow-missing-dose',
    '--json',
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const file = path.join(out, 'no_rtdose.npz');
  const z = await openNpz(file);
  assert.ok(!z.keys.includes('dose'), 'no dose member');
  assert.deepEqual([...z.keys].sort(), [
    'beam0_mlc_a',
    'beam0_mlc_b',
    'beam1_mlc_a',
    'beam1_mlc_b',
    'constraints',
    'ct',
    'masks',
    'masks_sdf',
    'metadata',
  ]);
  const c = await readReferenceNpz(file);
  assert.equal(c.dose, null);
  assert.equal(c.metadata.dose_available, false);
  assert.equal(c.metadata.dose_grid_spacing_mm, null);
  assert.equal(c.metadata.dvh_validation, null);
  const v = c.metadata.validation as Record<string, unknown>;
  for (const k of [
    'dose_nonneg',
    'dose_min',
    'dose_max',
    'dose_reasonable',
    'ptv70_dose_mean',
    'ptv70_dose_std',
    'ptv70_dose_adequate',
    'registration_valid',
  ]) {
    assert.equal(v[k], null, `validation.${k} is None`);
  }
  assert.equal(c.rxGy, 70);
  assert.ok(c.masks.get('PTV70'));
  // what `vmat verify-npz` runs per file
  const ver = await verifyCaseFile(file);
  assert.equal(ver.ok, true, ver.errors.join('; '));
  assert.match(ver.warnings.join('\n'), /written without dose/);
  // without the flag the same case fails
  const strict = vmat(
    'preprocess',
    '--input-dir',
    one,
    '--output-dir',
    path.join(work, 'nodose-strict'),
    '--skip-plots',
  );
  assert.equal(strict.status, 1);
  assert.match(strict.stdout, /FAILED {2}no_rtdose: .*RTDOSE.*--allow-missing-dose/);
});
