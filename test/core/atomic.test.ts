/** Atomic folder replacement (lib/core/atomic.ts withAtomicDir / recoverAtomicDir). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';

test('a checkpoint folder replaced while the process dies is recovered (no window without checkpoints/last)', async () => {
  const { withAtomicDir, recoverAtomicDir } = await import('../../lib/core/atomic');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-atomic-dir-'));
  const target = path.join(root, 'last');
  await withAtomicDir(target, async (tmp) => fs.writeFileSync(path.join(tmp, 'v'), '1'));
  await withAtomicDir(target, async (tmp) => fs.writeFileSync(path.join(tmp, 'v'), '2'));
  assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  assert.deepEqual(fs.readdirSync(root), ['last'], 'no temporary or previous folder left behind');
  // the state between the two renames of a replacement: the previous version beside a missing target
  fs.renameSync(target, path.join(root, '.last.previous'));
  assert.equal(recoverAtomicDir(target), true);
  assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  // a failing fill leaves the old folder in place
  await assert.rejects(
    withAtomicDir(target, async () => {
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  assert.deepEqual(fs.readdirSync(root), ['last']);
  fs.rmSync(root, { recursive: true, force: true });
});
