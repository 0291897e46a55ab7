/**
 * numpy 1.x / 2.x interop of the npz files vmat-lab writes (issue 14 item 6): a synthetic case
 * (`vmat synth`), a reference npz re-written by writeReferenceNpz and a prediction file
 * (writePredictionNpz) must load with `numpy.load(f, allow_pickle=True)` in Debian's numpy 1.24
 * (/usr/bin/python3) and in numpy 2.x when a python with it is on PATH, and numpy must see the
 * same typed metadata dict vmat-lab reads back (canonical form of gen_fixtures.canon). Each
 * interpreter is skipped, with the reason, when it is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isPickled, readNpz } from '../../lib/data/npz';
import { readReferenceNpz, writePredictionNpz, writeReferenceNpz } from '../../lib/data/reference_npz';
import { FIX, canon } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');

/** numpy major version of a python, or null when it has no numpy */
function numpyMajor(py: string): number | null {
  const r = spawnSync(py, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return Number(r.stdout.trim().split('.')[0]);
}

const PY1 = numpyMajor('/usr/bin/python3') === 1 ? '/usr/bin/python3' : null;
const PY2 = ['python3', '/usr/bin/python3'].find((p) => numpyMajor(p) === 2) ?? null;

/** metadata dicts numpy.load reads from each file, in canonical form; warnings are errors */
const PY_READ = `
import json, sys, warnings
sys.path.insert(0, ${JSON.stringify(FIX)})
import numpy as np
from gen_fixtures import canon
out = {}
warnings.simplefilter("error", DeprecationWarning)
for f in sys.argv[1:]:
    with np.load(f, allow_pickle=True) as z:
        arrays = {k: z[k] for k in z.files}
    out[f] = {"keys": sorted(arrays), "metadata": canon(arrays["metadata"].item()), "numpy": np.__version__}
print(json.dumps(out))
`;

async function writeFiles(dir: string): Promise<string[]> {
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bin/vmat.js'), 'synth', '--out', dir, '--cases', '1', '--shape', '40,40,24', '--threads', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const synth = path.join(dir, 'synth_0001.npz');
  const c = await readReferenceNpz(synth);
  const rewritten = path.join(dir, 'rewritten.npz');
  await writeReferenceNpz(rewritten, c);
  const pred = path.join(dir, 'synth_0001_pred.npz');
  const dose = new Float32Array(c.dose!.length);
  for (let i = 0; i < dose.length; i++) dose[i] = c.dose![i] / c.rxGy;
  await writePredictionNpz(pred, dose, c.shape, c.metadata);
  return [synth, rewritten, pred];
}

for (const [label, py] of [
  ['numpy 1.x (Debian python3-numpy)', PY1],
  ['numpy 2.x', PY2],
] as const) {
  test(`npz files written by vmat-lab load in ${label} with the metadata vmat-lab reads`, { skip: py ? false : `no python with ${label}` }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-np-'));
    try {
      const files = await writeFiles(dir);
      const r = spawnSync(py!, ['-c', PY_READ, ...files], { encoding: 'utf8' });
      assert.equal(r.status, 0, `numpy.load failed:\n${r.stderr}`);
      const seen = JSON.parse(r.stdout) as Record<string, { keys: string[]; metadata: unknown; numpy: string }>;
      for (const f of files) {
        const m = await readNpz(f);
        const md = m.get('metadata');
        assert.ok(isPickled(md), f);
        assert.deepEqual(seen[f].keys, [...m.keys()].sort(), `${f} keys`);
        assert.deepEqual(seen[f].metadata, canon(md.value), `${f} metadata as numpy ${seen[f].numpy} reads it`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
