/**
 * `vmat export-rtdose` read back with pydicom (Debian python3-pydicom): the file parses; every
 * dose voxel centre lies on the CT voxel centre the crop box says (from each object's own
 * ImagePositionPatient / ImageOrientationPatient / PixelSpacing / GridFrameOffsetVector); dose =
 * prediction × the case's Rx within one DoseGridScaling step or float32 precision (whichever is
 * larger) inside the crop box and 0 outside (--extent ct); the CT's study, frame of reference
 * and patient, the RTPLAN referenced, new UIDs, "predicted" + the model in SeriesDescription.
 * Bad input (another case's prediction, wrong shape, crop box outside the CT, no CT, no
 * crop_box) is a clear error and writes nothing. Also on Debian's pydicom test file CT_small.dcm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ndarray } from '../../lib/data/npy';
import { writeNpz } from '../../lib/data/npz';
import { pickleMetadata } from '../../lib/data/pickle';
import { pyFloat, pyTuple } from '../../lib/data/pyobj';
import { DataError } from '../../lib/core/errors';
import { exportPredictedRtDose } from '../../lib/dicom/export_rtdose';
import { loadOarMapping } from '../../lib/dicom/roi_mapping';
import { synthesizeCase } from '../../lib/synth/synth_case';
import { writeSynthCaseDicom } from '../../lib/synth/dicom/export_case';
import { DICOM_FIX, PY, ROOT, pythonMissing } from './helpers';

const skip = pythonMissing('pydicom', 'numpy') ?? false;

interface Box {
  y: [number, number];
  x: [number, number];
  z: [number, number];
}

/** a prediction npz for a crop box of a case: smooth pseudo-dose / Rx, metadata as preprocess writes it */
async function writePred(
  file: string,
  caseId: string,
  box: Box,
  spacing: number[],
  rx: number,
  extra: Record<string, unknown> = {},
): Promise<Float32Array> {
  const shape: [number, number, number] = [box.y[1] - box.y[0], box.x[1] - box.x[0], box.z[1] - box.z[0]];
  const n = shape[0] * shape[1] * shape[2];
  const d = new Float32Array(n);
  for (let y = 0; y < shape[0]; y++)
    for (let x = 0; x < shape[1]; x++)
      for (let z = 0; z < shape[2]; z++)
        d[(y * shape[1] + x) * shape[2] + z] =
          1.1 * Math.exp(-((y - 9) ** 2 + (x - 12) ** 2 + (z - 5) ** 2) / 60) + 0.013 * ((x * 7 + y * 3 + z) % 5);
  const md = {
    case_id: caseId,
    normalization_dose_gy: pyFloat(rx),
    voxel_spacing_mm: pyTuple(spacing.map((v) => pyFloat(v))),
    crop_box: {
      y_start: box.y[0],
      y_end: box.y[1],
      x_start: box.x[0],
      x_end: box.x[1],
      z_start: box.z[0],
      z_end: box.z[1],
      centroid_voxel: pyTuple([0, 0, 0]),
    },
    ...extra,
  };
  await writeNpz(file, [
    ['dose', ndarray(d, [...shape])],
    ['metadata', { pickle: pickleMetadata(md) }],
  ]);
  return d;
}

function vmat(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/vmat.js'), ...args], { encoding: 'utf8' });
}

function check(rdFile: string, caseDir: string): any {
  const r = spawnSync(PY, [path.join(DICOM_FIX, 'read_rtdose_check.py'), rdFile, caseDir], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** |got - want| within one scaling step or float32 precision of the value, whichever is larger */
function assertDoseEqual(got: number, want: number, scaling: number, where: string): void {
  const tol = Math.max(scaling, Math.abs(want) * 2 ** -23) + 1e-12;
  assert.ok(Math.abs(got - want) <= tol, `${where}: ${got} vs ${want} (tolerance ${tol})`);
}

test(
  'export-rtdose: pydicom places every voxel on the CT and reads the prediction in Gy',
  { skip, timeout: 120_000 },
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-exp-'));
    try {
      const r = synthesizeCase({
        id: 'synth_0001',
        seed: 3,
        planType: 'sib_2level',
        layout: 'v2.3',
        shape: [40, 40, 24],
      });
      const caseDir = (await writeSynthCaseDicom(r.case, tmp, { mapping: loadOarMapping() })).dir;
      const rp = fs.readdirSync(caseDir).find((f) => f.startsWith('RP'))!;
      const box: Box = { y: [3, 35], x: [5, 37], z: [2, 20] };
      const rx = 60.0; // the case's own Rx, not 70
      const pred = path.join(tmp, 'synth_0001_pred.npz');
      const d = await writePred(pred, 'synth_0001', box, r.case.spacingMm, rx, {
        prediction: { model: 'unet-b16-seed42' },
      });
      const [py, px, pz] = [32, 32, 18];

      for (const extent of ['crop', 'ct'] as const) {
        const out = path.join(tmp, `RD.pred.${extent}.dcm`);
        const res = vmat([
          'export-rtdose',
          '--pred',
          pred,
          '--dicom-dir',
          caseDir,
          '--out',
          out,
          '--extent',
          extent,
          '--json',
        ]);
        assert.equal(res.status, 0, res.stderr);
        const summary = JSON.parse(res.stdout);
        assert.equal(summary.rxGy, 60);
        assert.equal(summary.model, 'unet-b16-seed42');
        const got = check(out, caseDir);
        assert.equal(got.transfer_syntax, '1.2.840.10008.1.2.1');
        assert.equal(got.sop_class, '1.2.840.10008.5.1.4.1.1.481.2');
        assert.equal(got.dtype, 'uint32');
        assert.deepEqual(got.bits, [32, 32, 31, 0]);
        assert.deepEqual([got.units, got.type, got.summation], ['GY', 'PHYSICAL', 'PLAN']);
        assert.match(got.series_description, /predicted/);
        assert.match(got.series_description, /unet-b16-seed42/);
        for (const k of ['frame_of_reference', 'study', 'patient_name', 'patient_id'])
          assert.equal(got[k], got.ct[k], k);
        assert.notEqual(got.series, got.ct.series);
        assert.ok(!got.ct.uids.includes(got.sop_instance));
        const rpUid = spawnSync(
          PY,
          ['-c', `import pydicom; print(pydicom.dcmread(${JSON.stringify(path.join(caseDir, rp))}).SOPInstanceUID)`],
          { encoding: 'utf8' },
        ).stdout.trim();
        assert.equal(got.referenced_plan, rpUid);
        // geometry: dose voxel (0,0,0) is CT voxel (y0, x0, z0) and every voxel centre is a CT voxel centre
        assert.ok(got.max_residual_mm < 1e-4, `voxel centres off the CT grid by ${got.max_residual_mm} mm`);
        const origin = extent === 'crop' ? [box.y[0], box.x[0], box.z[0]] : [0, 0, 0];
        assert.deepEqual(got.ct_index, origin);
        const [gy, gx, gz] = got.shape;
        assert.deepEqual(got.shape, extent === 'crop' ? [py, px, pz] : [40, 40, 24]);
        let inside = 0;
        for (let y = 0; y < gy; y++)
          for (let x = 0; x < gx; x++)
            for (let z = 0; z < gz; z++) {
              const v = got.dose[(y * gx + x) * gz + z];
              const [cy, cx, cz] = [y + origin[0], x + origin[1], z + origin[2]];
              const inBox =
                cy >= box.y[0] && cy < box.y[1] && cx >= box.x[0] && cx < box.x[1] && cz >= box.z[0] && cz < box.z[1];
              if (!inBox) {
                assert.equal(v, 0, `outside the crop box at CT voxel (${cy}, ${cx}, ${cz})`);
                continue;
              }
              inside++;
              const want = d[((cy - box.y[0]) * px + (cx - box.x[0])) * pz + (cz - box.z[0])] * rx;
              assertDoseEqual(v, want, got.scaling, `CT voxel (${cy}, ${cx}, ${cz})`);
            }
        assert.equal(inside, py * px * pz);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);

test('export-rtdose: bad input is a clear error and writes nothing', { timeout: 60_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-exp-bad-'));
  try {
    const r = synthesizeCase({ id: 'synth_0002', seed: 3, planType: 'single_rx', layout: 'v2.3', shape: [32, 32, 24] });
    const caseDir = (await writeSynthCaseDicom(r.case, tmp, { mapping: loadOarMapping() })).dir;
    const sp = r.case.spacingMm;
    const good: Box = { y: [2, 30], x: [2, 30], z: [1, 23] };
    const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
      [
        'another case',
        async () => {
          const p = path.join(tmp, 'other_pred.npz');
          await writePred(p, 'synth_0099', good, sp, 70);
          return ['--pred', p, '--dicom-dir', caseDir];
        },
        /metadata\.case_id\]: expected the case folder's name "synth_0002".*found "synth_0099"/,
      ],
      [
        'crop box outside the CT',
        async () => {
          const p = path.join(tmp, 'big_pred.npz');
          await writePred(p, 'synth_0002', { y: [2, 30], x: [2, 30], z: [4, 28] }, sp, 70);
          return ['--pred', p, '--dicom-dir', caseDir];
        },
        /metadata\.crop_box\]: expected a box inside the CT .*32 rows x 32 columns x 24 slices/,
      ],
      [
        'wrong spacing',
        async () => {
          const p = path.join(tmp, 'sp_pred.npz');
          await writePred(p, 'synth_0002', good, [1, 1, 3], 70);
          return ['--pred', p, '--dicom-dir', caseDir];
        },
        /metadata\.voxel_spacing_mm\]: expected the CT's spacing/,
      ],
      [
        'no CT in the folder',
        async () => {
          const empty = path.join(tmp, 'synth_0002_empty', 'synth_0002');
          fs.mkdirSync(empty, { recursive: true });
          fs.copyFileSync(
            path.join(
              caseDir,
              fs.readdirSync(caseDir).find((f) => f.startsWith('RP'))!,
            ),
            path.join(empty, 'RP.x.dcm'),
          );
          const p = path.join(tmp, 'ok_pred.npz');
          await writePred(p, 'synth_0002', good, sp, 70);
          return ['--pred', p, '--dicom-dir', empty];
        },
        /\[CT\]: expected a CT series .*found no CT files/,
      ],
      [
        'no crop box',
        async () => {
          const p = path.join(tmp, 'nobox_pred.npz');
          await writeNpz(p, [
            ['dose', ndarray(new Float32Array(8), [2, 2, 2])],
            ['metadata', { pickle: pickleMetadata({ case_id: 'synth_0002', normalization_dose_gy: pyFloat(70) }) }],
          ]);
          return ['--pred', p, '--dicom-dir', caseDir];
        },
        /\[metadata\.crop_box\]: expected a crop_box/,
      ],
    ];
    for (const [what, make, re] of cases) {
      const out = path.join(tmp, `RD.${what.replace(/ /g, '_')}.dcm`);
      const args = await make();
      await assert.rejects(exportPredictedRtDose({ pred: args[1], dicomDir: args[3], out }), (e: unknown) => {
        assert.ok(e instanceof DataError, `${what}: ${String(e)}`);
        assert.match(e.message, re, what);
        return true;
      });
      assert.ok(!fs.existsSync(out), `${what}: nothing written`);
    }
    // through the CLI: exit code 2, the message, no stack trace
    const cli = vmat(['export-rtdose', ...(await cases[0][1]()), '--out', path.join(tmp, 'RD.cli.dcm')]);
    assert.equal(cli.status, 2, cli.stderr);
    assert.match(cli.stderr, cases[0][2]);
    assert.doesNotMatch(cli.stderr, /\n\s+at /);
    // the shape check: a prediction whose array does not match its own crop box
    const p = path.join(tmp, 'shape_pred.npz');
    await writeNpz(p, [
      ['dose', ndarray(new Float32Array(27), [3, 3, 3])],
      [
        'metadata',
        {
          pickle: pickleMetadata({
            case_id: 'synth_0002',
            normalization_dose_gy: pyFloat(70),
            crop_box: { y_start: 0, y_end: 4, x_start: 0, x_end: 4, z_start: 0, z_end: 4 },
          }),
        },
      ],
    ]);
    await assert.rejects(
      exportPredictedRtDose({ pred: p, dicomDir: caseDir, out: path.join(tmp, 'x.dcm') }),
      /\[dose\]: expected shape 4 x 4 x 4 .*found shape 3 x 3 x 3/,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("export-rtdose onto Debian pydicom's CT_small.dcm (a clinical-style single-slice CT)", { skip }, async () => {
  const r = spawnSync(PY, ['-c', 'from pydicom.data import get_testdata_file as g; print(g("CT_small.dcm"))'], {
    encoding: 'utf8',
  });
  const ctSmall = r.stdout.trim();
  if (r.status !== 0 || !fs.existsSync(ctSmall)) return; // pydicom without its test files
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-exp-small-'));
  try {
    const caseDir = path.join(tmp, 'CT_small_case');
    fs.mkdirSync(caseDir);
    fs.copyFileSync(ctSmall, path.join(caseDir, 'CT_small.dcm'));
    const pred = path.join(tmp, 'p_pred.npz');
    const box: Box = { y: [40, 72], x: [30, 62], z: [0, 1] };
    const info = JSON.parse(
      spawnSync(
        PY,
        [
          '-c',
          `import pydicom,json; d=pydicom.dcmread(${JSON.stringify(ctSmall)}); print(json.dumps([float(v) for v in d.PixelSpacing]))`,
        ],
        { encoding: 'utf8' },
      ).stdout,
    );
    const d = await writePred(pred, 'CT_small_case', box, [info[1], info[0], 1], 70);
    const out = path.join(tmp, 'RD.dcm');
    const res = vmat(['export-rtdose', '--pred', pred, '--dicom-dir', caseDir, '--out', out]);
    assert.equal(res.status, 0, res.stderr);
    const got = check(out, caseDir);
    assert.equal(got.max_residual_mm < 1e-4, true, `off grid by ${got.max_residual_mm}`);
    assert.deepEqual(got.ct_index, [40, 30, 0]);
    for (const k of ['frame_of_reference', 'study', 'patient_name', 'patient_id']) assert.equal(got[k], got.ct[k], k);
    assert.match(got.series_description, /predicted dose \(unknown model\)/);
    for (let i = 0; i < d.length; i++) assertDoseEqual(got.dose[i], d[i] * 70, got.scaling, `voxel ${i}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
