/**
 * The project kernel (notebooks/kernels/vmat-tslab) and the headless runner: library imports type-check,
 * a type error / thrown error / un-awaited promise rejection fails the run with the cell number and
 * message, and the executed copy + HTML are written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jupyterMissing, runNotebooks, writeNotebook } from './helpers';

const skip = jupyterMissing() ?? false;

test(
  'kernel: library imports with types, runs from the project root, writes executed copy + HTML',
  { skip, timeout: 180_000 },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-kernel-'));
    try {
      const nb = path.join(dir, 'ok.ipynb');
      writeNotebook(nb, [
        "import { parseMetricsCsv } from './lib/plot/training_history';\nconst h = parseMetricsCsv('epoch,train_loss\\n0,1\\n1,0.5\\n');",
        "console.log('epochs', h.epoch.length, 'cwd-has-lib', require('node:fs').existsSync('lib/plot'));",
      ]);
      const r = runNotebooks([nb], path.join(dir, 'figs'));
      assert.equal(r.status, 0, r.stderr);
      const executed = JSON.parse(fs.readFileSync(path.join(dir, 'figs', 'ok', 'ok.executed.ipynb'), 'utf8'));
      assert.match(JSON.stringify(executed.cells[1].outputs), /epochs 2 cwd-has-lib true/);
      assert.ok(fs.statSync(path.join(dir, 'figs', 'ok', 'ok.html')).size > 1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'runner: type errors, exceptions and un-awaited rejections fail with cell and message',
  { skip, timeout: 300_000 },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-kernel-'));
    try {
      const cases: Array<[string, string[], RegExp]> = [
        [
          'typeerr',
          [
            "import { parseMetricsCsv } from './lib/plot/training_history';\nconst n: number = parseMetricsCsv('epoch\\n0\\n');",
          ],
          /cell 1 of 1[\s\S]*not assignable to type 'number'/,
        ],
        ['throws', ["console.log('ok');", "throw new Error('boom-thrown');"], /cell 2 of 2[\s\S]*boom-thrown/],
        [
          'reject',
          ["Promise.reject(new Error('boom-unawaited'));\nconsole.log('after');", "console.log('never reached');"],
          /cell 1 of 2[\s\S]*Unhandled promise rejection[\s\S]*boom-unawaited/,
        ],
      ];
      for (const [name, cells] of cases) writeNotebook(path.join(dir, `${name}.ipynb`), cells);
      const r = runNotebooks(
        cases.map(([n]) => path.join(dir, `${n}.ipynb`)),
        path.join(dir, 'figs'),
      );
      assert.equal(r.status, 1);
      for (const [name, , re] of cases) {
        const block = r.stderr.split('FAILED ').find((b) => b.includes(`${name}.ipynb —`));
        assert.ok(block, `${name} reported as failed:\n${r.stderr}`);
        assert.match(block!, re);
      }
      assert.match(r.stderr, /3 notebook\(s\) failed/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
