/**
 * The small RT files Debian's python3-pydicom ships (pydicom/data/test_files: rtplan.dcm,
 * rtdose.dcm and its big-endian and RLE variants, rtstruct.dcm, CT_small.dcm,
 * rtplan_truncated.dcm) read by vmat's dcmjs-based reader and by pydicom / the reference port:
 * prescription and beam geometry, dose grid values and geometry, ROIs and contour points, CT
 * HU; and the clear errors for the RLE-compressed dose, the preamble-less RTSTRUCT and the
 * truncated plan. Skipped when the Debian package does not ship the files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../../lib/core/errors';
import { loadCtSeries } from '../../lib/dicom/ct_series';
import { readDicomFile } from '../../lib/dicom/dicom_file';
import { decodePixelData } from '../../lib/dicom/pixel_data';
import { readBeamGeometry, readPrescription } from '../../lib/dicom/rtplan';
import { readDoseGrid } from '../../lib/dicom/rtdose';
import { readStructureSet } from '../../lib/dicom/rtstruct';
import { toPlainJson } from '../../lib/data/pyobj';
import { py, pyJson, pythonSkip, tmpDir } from './helpers';

let files = '';
let skip: string | false = pythonSkip();
if (!skip) {
  try {
    files = py([
      '-c',
      'import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))',
    ]).trim();
    if (!fs.existsSync(path.join(files, 'rtplan.dcm')))
      skip = `${files} has no rtplan.dcm (this pydicom package ships no test files)`;
  } catch (e) {
    skip = (e as Error).message;
  }
}
const f = (name: string) => path.join(files, name);
let work = '';
before(() => {
  if (!skip) work = tmpDir('pydicom-files');
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('rtplan.dcm: prescription and beam geometry = the reference port (pydicom)', { skip }, () => {
  // the reference selects the plan by name prefix in the case folder
  const dir = path.join(work, 'plan');
  fs.mkdirSync(dir);
  fs.copyFileSync(f('rtplan.dcm'), path.join(dir, 'RP.rtplan.dcm'));
  const want = pyJson<{ rx: Record<string, unknown>; beams: unknown }>(`
import json, numpy as np, reference_preprocess as rp
d = ${JSON.stringify(dir)}
b = rp.beam_geometry(d)
for beam in b['beams']:
    for k in ('mlc_bank_a', 'mlc_bank_b'):
        if k in beam: beam[k] = beam[k].tolist()
# NaN (a control point without GantryAngle) → null, as JSON.stringify writes it
print(json.dumps({'rx': rp.prescription(d), 'beams': b}).replace('NaN', 'null'))`);
  const plan = readDicomFile(path.join(dir, 'RP.rtplan.dcm'));
  assert.deepEqual(readPrescription(plan), want.rx);
  assert.equal(readPrescription(plan).source, 'DoseReferenceSequence');
  const g = readBeamGeometry(plan)!;
  assert.deepEqual(JSON.parse(JSON.stringify(toPlainJson(g.metadata))), want.beams);
  assert.equal(g.mlcArrays.length, 0, 'rtplan.dcm has jaws only');
});

test(
  'prescription rules on RTPLAN variants (FractionGroupSequence, empty TargetPrescriptionDose, none) = the reference port',
  { skip },
  () => {
    const variants = {
      fraction_group: 'del ds.DoseReferenceSequence',
      empty_target: 'ds.DoseReferenceSequence[1].TargetPrescriptionDose = None',
      no_prescription: 'del ds.DoseReferenceSequence; del ds.FractionGroupSequence',
      zero_beam_dose:
        'del ds.DoseReferenceSequence; ds.FractionGroupSequence[0].ReferencedBeamSequence[0].BeamDose = "0"',
    };
    const want = pyJson<Record<string, Record<string, unknown>>>(`
import json, os, pydicom, reference_preprocess as rp
out = {}
for name, edit in ${JSON.stringify(variants)}.items():
    d = os.path.join(${JSON.stringify(work)}, 'v_' + name); os.makedirs(d)
    ds = pydicom.dcmread(${JSON.stringify(f('rtplan.dcm'))})
    exec(edit)
    ds.save_as(os.path.join(d, 'RP.plan.dcm'))
    out[name] = rp.prescription(d)
print(json.dumps(out))`);
    for (const name of Object.keys(variants)) {
      const plan = readDicomFile(path.join(work, `v_${name}`, 'RP.plan.dcm'));
      assert.deepEqual(readPrescription(plan), want[name], name);
    }
    assert.equal(want.fraction_group.source, 'FractionGroupSequence');
    assert.equal(want.empty_target.source, 'default');
  },
);

test(
  'a multi-valued SpecificCharacterSet (ISO 2022 code extensions) is read with its first value and a warning',
  { skip },
  () => {
    const file = path.join(work, 'RP.charset.dcm');
    py([
      '-c',
      `import pydicom; ds = pydicom.dcmread(${JSON.stringify(f('rtplan.dcm'))}); ds.SpecificCharacterSet = ['ISO 2022 IR 6', 'ISO 2022 IR 100']; ds.save_as(${JSON.stringify(file)})`,
    ]);
    const plan = readDicomFile(file);
    assert.match(plan.warnings.join('\n'), /SpecificCharacterSet \(0008,0005\)/);
    assert.equal(readPrescription(plan).primary_dose, 30.826203);
  },
);

test('rtdose.dcm (implicit LE) and rtdose_expb.dcm (big endian): grid and Gy values = pydicom', { skip }, () => {
  const want = pyJson<{ dose: number[]; z: number[]; ipp: number[]; ps: number[]; shape: number[] }>(`
import json, numpy as np, pydicom
ds = pydicom.dcmread(${JSON.stringify(f('rtdose.dcm'))})
d = ds.pixel_array.astype(np.float32) * float(ds.DoseGridScaling)
z = [float(ds.ImagePositionPatient[2]) + float(o) for o in ds.GridFrameOffsetVector]
print(json.dumps({'dose': d.ravel().tolist(), 'z': z, 'ipp': [float(v) for v in ds.ImagePositionPatient], 'ps': [float(v) for v in ds.PixelSpacing], 'shape': list(d.shape)}))`);
  for (const name of ['rtdose.dcm', 'rtdose_expb.dcm']) {
    const g = readDoseGrid(readDicomFile(f(name)), null, '');
    assert.deepEqual([g.frames, g.rows, g.columns], want.shape, name);
    assert.deepEqual([...g.zPositions], want.z, name);
    assert.deepEqual(g.origin, [want.ipp[0], want.ipp[1], want.z[0]]);
    assert.deepEqual(g.pixelSpacing, want.ps);
    assert.deepEqual([...g.dose], want.dose.map(Math.fround), `${name}: Gy values`);
  }
});

test('clear errors: RLE-compressed dose, RTSTRUCT without file meta, truncated RTPLAN', { skip }, () => {
  assert.throws(
    () => decodePixelData(readDicomFile(f('rtdose_rle.dcm'))),
    (e: unknown) =>
      e instanceof DataError &&
      /rtdose_rle\.dcm/.test(e.message) &&
      /TransferSyntaxUID \(0002,0010\)/.test(e.message) &&
      /RLE Lossless \(1\.2\.840\.10008\.1\.2\.5\)/.test(e.message),
  );
  assert.throws(
    () => readDicomFile(f('rtstruct.dcm')),
    (e: unknown) => e instanceof DataError && /rtstruct\.dcm/.test(e.message) && /'DICM'/.test(e.message),
  );
  assert.throws(
    () => readDicomFile(f('rtplan_truncated.dcm')),
    (e: unknown) => e instanceof DataError && /rtplan_truncated\.dcm/.test(e.message) && /truncated/.test(e.message),
  );
});

test('rtstruct.dcm (as a Part-10 file): ROIs and contour points = pydicom', { skip }, () => {
  const part10 = path.join(work, 'RS.rtstruct.dcm');
  const want = pyJson<Array<{ number: number; name: string; frame: string; contours: number[][] }>>(`
import json, pydicom
from pydicom.dataset import FileMetaDataset
ds = pydicom.dcmread(${JSON.stringify(f('rtstruct.dcm'))}, force=True)
m = FileMetaDataset(); m.MediaStorageSOPClassUID = ds.SOPClassUID; m.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
m.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
ds.file_meta = m; ds.is_implicit_VR = True; ds.is_little_endian = True
ds.save_as(${JSON.stringify(part10)}, write_like_original=False)
out = []
for roi in ds.StructureSetROISequence:
    item = next((c for c in ds.ROIContourSequence if c.ReferencedROINumber == roi.ROINumber), None)
    cs = [[float(v) for v in c.ContourData] for c in getattr(item, 'ContourSequence', [])] if item else []
    out.append({'number': int(roi.ROINumber), 'name': roi.ROIName, 'frame': roi.ReferencedFrameOfReferenceUID, 'contours': cs})
print(json.dumps(out))`);
  const ss = readStructureSet(readDicomFile(part10));
  assert.deepEqual(
    ss.rois.map((r) => ({
      number: r.number,
      name: r.name,
      frame: r.referencedFrameUid,
      contours: (r.contours ?? []).map((c) => [...c.points]),
    })),
    want,
  );
  assert.ok(want.some((r) => r.contours.length > 0));
});

test('CT_small.dcm: stored values to HU (float32) = pydicom pixel_array * slope + intercept', { skip }, () => {
  const want = pyJson<{ hu: number[]; min: number; max: number }>(`
import json, numpy as np, pydicom
ds = pydicom.dcmread(${JSON.stringify(f('CT_small.dcm'))})
hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, 'RescaleSlope', 1)) + float(getattr(ds, 'RescaleIntercept', 0))
print(json.dumps({'hu': hu.ravel().tolist(), 'min': float(hu.min()), 'max': float(hu.max())}))`);
  const ct = loadCtSeries([f('CT_small.dcm')], files);
  assert.equal(ct.slices.length, 1);
  const s = ct.slices[0];
  const hu = Array.from(s.pixels, (p) =>
    Math.fround(Math.fround(Math.fround(p) * Math.fround(s.slope)) + Math.fround(s.intercept)),
  );
  assert.deepEqual(hu, want.hu);
  assert.deepEqual([ct.huMin, ct.huMax], [want.min, want.max]);
});
