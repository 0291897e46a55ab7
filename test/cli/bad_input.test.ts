/**
 * Bad options and bad model folders fail as typed errors (lib/core/errors.ts): the CLI prints one
 * line naming the flag, file or key with expected vs found, no stack trace, and exits with code 2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../../lib/engine';
import { createModel } from '../../lib/models';
import { saveCheckpoint } from '../../lib/models/checkpoint';
import { inputRecipeFor } from '../../lib/inputs/case_inputs';
import { writeReferenceNpz } from '../../lib/data/reference_npz';
import { phantomCase } from '../prostate/phantom';

const ROOT = path.resolve(__dirname, '..', '..');
const vmat = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin', 'vmat.js'), ...args], { encoding: 'utf8', cwd: ROOT });

/** a user error: exit code 2, the expected one-line message, no stack trace */
function assertUserError(r: SpawnSyncReturns<string>, message: RegExp): void {
  assert.equal(r.status, 2, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

let tmp = '';
let dataDir = '';
let checkpoint = '';

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-bad-input-'));
  dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  // one 24 x 24 x 16 case and an untrained 3-level model (its patches must be multiples of 4)
  const c = phantomCase({ id: 'case_00', shape: [24, 24, 16] });
  await writeReferenceNpz(path.join(dataDir, 'case_00.npz'), c);
  await initEngine({ quiet: true });
  const model = createModel({ inChannels: 9, baseChannels: 2, levels: 3 }, { seed: 1 });
  checkpoint = path.join(tmp, 'model');
  await saveCheckpoint(checkpoint, { model, input: inputRecipeFor([c]), meta: { patch_size: 16 } });
  model.dispose();
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const infer = (model: string, ...extra: string[]) =>
  vmat(
    'infer',
    '--checkpoint',
    model,
    '--input-dir',
    dataDir,
    '--output-dir',
    path.join(tmp, 'out'),
    '--quiet',
    ...extra,
  );

test('vmat infer: an overlap as large as the patch is a UsageError naming --overlap', () => {
  assertUserError(
    infer(checkpoint, '--patch-size', '16', '--overlap', '16'),
    /^vmat: --overlap: expected fewer voxels than the patch size 16, found 16$/m,
  );
});

test('vmat infer: a patch the U-Net cannot halve is a clear error pointing at --patch-size', () => {
  assertUserError(
    infer(checkpoint, '--patch-size', '18'),
    /^vmat: U-Net input 18x18x18: every spatial size must be divisible by 4 for a 3-level model \(check --patch-size\)$/m,
  );
});

test('vmat infer: a checkpoint whose config.json has an impossible model is a DataError naming the file', () => {
  const bad = path.join(tmp, 'model_bad');
  fs.cpSync(checkpoint, bad, { recursive: true });
  const cfgFile = path.join(bad, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  cfg.model.levels = 1;
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const r = infer(bad);
  assertUserError(r, /model_bad\/config\.json \[model\]: expected a valid model configuration, found /);
  assert.match(r.stderr, /levels must be an integer >= 2, found 1/);
});

test('vmat train: --patch-size that is not a multiple of 2^(levels-1) fails before any data is read', () => {
  assertUserError(
    vmat('train', '--data-dir', path.join(tmp, 'no-such-folder'), '--patch-size', '20', '--levels', '4'),
    /^vmat: --patch-size: expected a multiple of 2\^\(levels-1\) = 8 for --levels 4, found 20$/m,
  );
});
