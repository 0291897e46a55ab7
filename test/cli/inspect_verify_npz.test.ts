import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIX, OPENKBP } from '../data/helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const vmat = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin', 'vmat.js'), ...args], { encoding: 'utf8', cwd: ROOT });
const refExpected = JSON.parse(fs.readFileSync(path.join(FIX, 'ref_expected.json'), 'utf8')) as Record<string, any>;

test('inspect --json on a reference npz, an OpenKBP folder and an openkbp npz', () => {
  const r = vmat('inspect', path.join(FIX, 'ref_v24.npz'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.source, 'vmat-npz-v2.4');
  assert.deepEqual(j.shape, [24, 20, 16]);
  assert.deepEqual(j.spacing_mm, [1.171875, 1.171875, 3]);
  assert.equal(j.rx_gy, 72);
  assert.deepEqual(j.structures, refExpected['ref_v24.npz'].structures);
  assert.ok(Math.abs(j.dose_max_gy - refExpected['ref_v24.npz'].dose_max_gy) < 1e-4);
  assert.equal(typeof j.dose_mean_gy, 'number');

  const csv = JSON.parse(vmat('inspect', path.join(OPENKBP, 'csv', 'train-pats', 'pt_143'), '--json').stdout);
  const npz = JSON.parse(vmat('inspect', path.join(OPENKBP, 'npz', 'train', 'pt_143.npz'), '--json').stdout);
  assert.equal(csv.source, 'openkbp-csv');
  assert.equal(npz.source, 'openkbp-npz');
  assert.deepEqual({ ...csv, source: null }, { ...npz, source: null });
  assert.deepEqual(Object.keys(csv.structures), ['SpinalCord', 'PTV70']);
  assert.deepEqual(csv.shape, [128, 128, 128]);
  assert.equal(csv.rx_gy, 70);

  const text = vmat('inspect', path.join(FIX, 'ref_v23.npz'));
  assert.equal(text.status, 0);
  assert.match(text.stdout, /vmat-npz-v2\.3/);
  assert.match(text.stdout, /PTV56/);

  const bad = vmat('inspect', path.join(FIX, 'malformed', 'nan_dose.npz'), '--json');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /nan_dose\.npz \[dose\]: expected finite dose values, found NaN/);
});

test('verify-npz: JSON array per file, broken files do not stop the others, exit codes', () => {
  const all = vmat('verify-npz', path.join(FIX, 'malformed'), path.join(FIX, 'ref_v23.npz'), '--json');
  assert.equal(all.status, 1);
  const res = JSON.parse(all.stdout) as Array<{
    file: string;
    ok: boolean;
    source: string | null;
    errors: string[];
    warnings: string[];
  }>;
  const names = res.map((r) => path.basename(r.file));
  assert.deepEqual(names, [
    ...fs
      .readdirSync(path.join(FIX, 'malformed'))
      .filter((n) => n.endsWith('.npz'))
      .sort(),
    'ref_v23.npz',
  ]);
  for (const r of res) {
    assert.deepEqual(Object.keys(r).sort(), ['errors', 'file', 'ok', 'source', 'warnings']);
    assert.equal(r.ok, r.errors.length === 0);
    const good = ['good_small.npz', 'ref_v23.npz'].includes(path.basename(r.file));
    assert.equal(r.ok, good, `${r.file}: ${r.errors.join(' | ')}`);
  }
  assert.equal(res.at(-1)!.source, 'vmat-npz-v2.3');

  const ok = vmat(
    'verify-npz',
    path.join(FIX, 'ref_v23.npz'),
    path.join(FIX, 'ref_v24.npz'),
    path.join(FIX, 'ref_v23_np1.npz'),
    path.join(OPENKBP, 'csv', 'train-pats', 'pt_170'),
  );
  assert.equal(ok.status, 0, ok.stdout);
  assert.match(ok.stdout, /4 ok, 0 failed/);

  const missing = vmat('verify-npz', '/nonexistent/case.npz', path.join(FIX, 'ref_v24.npz'), '--json');
  assert.equal(missing.status, 1);
  const mj = JSON.parse(missing.stdout);
  assert.equal(mj.length, 2);
  assert.equal(mj[0].ok, false);
  assert.match(mj[0].errors[0], /ENOENT/);
  assert.equal(mj[1].ok, true);
});

test('verify-npz flags reference-check failures: PTV70 dose, SDF sign, truncation, channel/version mismatch', async () => {
  const { readReferenceNpz, writeReferenceNpz } = await import('../../lib/data/reference_npz');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-verify-'));
  const c = await readReferenceNpz(path.join(FIX, 'ref_v23.npz'));
  // dose scaled so PTV70 mean is far below 0.85 × Rx
  await writeReferenceNpz(path.join(tmp, 'underdosed.npz'), { ...c, dose: c.dose!.map((v) => v * 0.5) });
  // SDF of PTV70 with the wrong sign
  const sdf = new Map(c.sdf);
  sdf.set(
    'PTV70',
    sdf.get('PTV70')!.map((v) => -v),
  );
  await writeReferenceNpz(path.join(tmp, 'bad_sdf.npz'), { ...c, sdf });
  // 8-channel file claiming script_version 2.4.0
  // (the writer itself keeps script_version consistent with the layout, so patch the entry)
  const { referenceNpzEntries } = await import('../../lib/data/reference_npz');
  const { writeNpz } = await import('../../lib/data/npz');
  const { pickleMetadata } = await import('../../lib/data/pickle');
  const entries = referenceNpzEntries(c, { layout: 'v2.3' }).map(
    ([k, v]) =>
      [k, k === 'metadata' ? { pickle: pickleMetadata({ ...c.metadata, script_version: '2.4.0' }) } : v] as [
        string,
        typeof v,
      ],
  );
  await writeNpz(path.join(tmp, 'version_mismatch.npz'), entries);
  // rectum touching the crop boundary
  const rect = new Uint8Array(c.masks.get('Rectum')!);
  for (let x = 0; x < 20; x++) for (let z = 0; z < 16; z++) rect[(23 * 20 + x) * 16 + z] = 1;
  await writeReferenceNpz(path.join(tmp, 'truncated_rectum.npz'), {
    ...c,
    masks: new Map([...c.masks, ['Rectum', rect]]),
    sdf: undefined,
  });
  const r = vmat('verify-npz', tmp, '--json');
  assert.equal(r.status, 1);
  const by = Object.fromEntries((JSON.parse(r.stdout) as any[]).map((x) => [path.basename(x.file), x]));
  assert.ok(by['underdosed.npz'].errors.some((e: string) => /PTV70 mean normalised dose in \(0\.85, 1\.15\)/.test(e)));
  assert.ok(by['bad_sdf.npz'].errors.some((e: string) => /\[masks_sdf\]: expected PTV70 SDF valid/.test(e)));
  assert.ok(by['version_mismatch.npz'].errors.some((e: string) => /9 channels for script_version 2\.4\.0/.test(e)));
  assert.equal(by['truncated_rectum.npz'].ok, true);
  assert.ok(by['truncated_rectum.npz'].warnings.some((w: string) => /Rectum truncation <= 5%/.test(w)));
  fs.rmSync(tmp, { recursive: true, force: true });
});
