/**
 * The CLI starts fast because registering the commands loads no heavy library: every command module
 * imports tfjs, zod, jszip, dcmjs, puppeteer or plotly only inside its action (`await import`). The
 * start-up time itself is measured by `vmat bench startup` (tests do not time things).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const HEAVY = /node_modules[\\/](@tensorflow|zod|jszip|dcmjs|puppeteer-core|plotly\.js-dist)[\\/]/;

test('registering every command (as `vmat --help` does) loads no heavy library: lazy imports in command modules', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `const { buildProgram } = require(${JSON.stringify(path.join(ROOT, 'lib', 'cli', 'main'))});
       buildProgram({ benchmarks: false });
       process.stdout.write(JSON.stringify(Object.keys(require.cache)));`,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const loaded = (JSON.parse(r.stdout) as string[]).filter((f) => HEAVY.test(f));
  const libs = [
    ...new Set(
      loaded.map((f) =>
        f
          .split(/node_modules[\\/]/)[1]
          .split(/[\\/]/)
          .slice(0, 2)
          .join('/'),
      ),
    ),
  ];
  assert.deepEqual(libs, [], `command registration loaded: ${libs.join(', ')}`);
});
