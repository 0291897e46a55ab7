import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');

test('vmat --help lists the program and exits 0', () => {
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: vmat/);
});

test('every registered command has --help', () => {
  const { buildProgram } = require('../../lib/cli/main') as typeof import('../../lib/cli/main');
  const program = buildProgram();
  for (const cmd of program.commands) {
    const r = spawnSync(process.execPath, [bin, cmd.name(), '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd.name()} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: vmat ${cmd.name()}`));
  }
});
