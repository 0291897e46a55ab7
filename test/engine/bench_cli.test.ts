/** `vmat bench train-step` end to end on a tiny U-Net: JSON fields, tensor stability, peer reporting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function bench(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'vmat.js'), 'bench', 'train-step', ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
}

test('train-step --json on a tiny model: required fields, stable tensor count, missing peer reported', () => {
  const r = bench(
    ['--patch', '8', '--in-channels', '2', '--base-channels', '4', '--levels', '2', '--steps', '2', '--json'],
    {
      VMAT_TORCH_PYTHON: '/nonexistent/python3',
      VMAT_THREADS: '1',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of [
    'backend',
    'ops_path',
    'threads',
    'ms_per_step_median',
    'cpu_ms_per_step',
    'rss_peak_mb',
    'params',
  ]) {
    assert.ok(k in out, `missing ${k}`);
  }
  assert.equal(out.threads, out.ops_path === 'native' ? 1 : out.threads);
  // params: enc0 2*4*27 + 4*4*27, enc1 4*8*27 + 8*8*27, up 8*8*4, dec 8*4*27 + 4*4*27, out 4 + 1, GN 2*(4+4+8+8+4+4+4)
  assert.equal(out.params, 216 + 432 + 864 + 1728 + 256 + 864 + 432 + 5 + 72);
  assert.equal(out.tensors_after, out.tensors_before);
  assert.equal(out.peer_status, 'peer not available: /nonexistent/python3 missing');
  assert.equal(out.ratio_vs_pytorch, null);
});

test('train-step rejects a patch the U-Net cannot halve', () => {
  const r = bench(['--patch', '12', '--levels', '4', '--no-peer']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--patch: expected a multiple of 2\^\(levels-1\) = 8, found 12/);
});
