#!/usr/bin/env node
// Entry point for `npx vmat`: runs the compiled build of lib/ (scripts/build-cli.cjs makes it from
// the current sources when they changed), or the TypeScript sources through tsx when there is no
// esbuild or VMAT_FROM_SOURCE=1 (re-executed under `node --import tsx`, which also loads the lazy
// `await import()`s of the command modules).
'use strict';
const path = require('node:path');

let dir = null;
if (process.env.VMAT_FROM_SOURCE !== '1') {
  try {
    dir = require('../scripts/build-cli.cjs').currentBuild();
  } catch (err) {
    if (process.env.VMAT_DEBUG) process.stderr.write(`vmat: compiled build unavailable (${err.message}); using tsx\n`);
  }
}
if (!dir && !process.env.VMAT_UNDER_TSX) {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, VMAT_UNDER_TSX: '1' },
  });
  process.exit(r.status ?? 1);
}
dir ??= path.join(__dirname, '..');
require(path.join(dir, 'lib', 'cli', 'main'))
  .main(process.argv)
  .catch((err) => {
    const { formatError } = require(path.join(dir, 'lib', 'core', 'errors'));
    process.stderr.write(formatError(err) + '\n');
    process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 2);
  });
