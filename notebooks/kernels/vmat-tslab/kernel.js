#!/usr/bin/env node
/*
 * The project's Jupyter kernel: tslab (the project's own devDependency, never a global install),
 * wrapped so that the known tslab rough edges are non-issues for users:
 *
 *  - tslab compiles only files under its working directory (it emits imported .ts files itself and
 *    refuses paths outside that root). The kernel therefore runs from the PROJECT ROOT, whatever
 *    folder the notebook lives in: cells import the library as `./lib/...` with full type
 *    information, and relative paths (runs/, figures/, data/) mean the same as on the command line.
 *  - tslab's own module loader resolves `./x` only to the file `x.ts` it compiled, not to a folder's
 *    index.ts. tsx's require hook is registered as the fallback, so folder imports (in cells or
 *    inside the library) also work; prefer file imports (`./lib/plot/index`) in notebooks so one
 *    loader handles the whole library.
 *  - tslab's TypeScript watch program reacts to file-system events (someone editing lib/, npm
 *    installing) by scheduling a second rebuild timer, which tslab rejects with "Unexpected pending
 *    rebuildTimer" and the running cell fails. File watching is switched off: the library is
 *    compiled once per kernel session, so after editing lib/ restart the kernel (as with Python
 *    modules without autoreload).
 *  - tslab only logs an un-awaited promise rejection or an exception thrown from a timer, so a
 *    headless run would pass. Here any such error fails the cell that was running (or, if it
 *    happens between cells, the next cell), with the error printed.
 *
 * Started by Jupyter through kernel.json (`{resource_dir}` = this folder); JUPYTER_PATH must
 * include <project>/notebooks (scripts/notebooks/env.sh sets it).
 */
'use strict';
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
process.chdir(ROOT);
process.env.VMAT_ROOT = ROOT;
process.env.VMAT_IN_NOTEBOOK = '1';

// fallback loader for .ts modules tslab did not compile itself (see above)
require(require.resolve('tsx/cjs/api', { paths: [ROOT] })).register();

// no file watching in tslab's compiler (see above)
const ts = require(path.join(ROOT, 'node_modules', '@tslab', 'typescript-for-tslab'));
const noWatcher = { close() {} };
ts.sys.watchFile = () => noWatcher;
ts.sys.watchDirectory = () => noWatcher;

const tslabDist = path.join(ROOT, 'node_modules', 'tslab', 'dist');
const executorModule = require(path.join(tslabDist, 'executor.js'));
const { startKernel } = require(path.join(tslabDist, 'main.js'));

/** errors that escaped every await since the last check */
const escaped = [];
process.on('unhandledRejection', (reason) => escaped.push({ kind: 'Unhandled promise rejection (a promise was not awaited)', error: reason }));
process.on('uncaughtException', (error) => escaped.push({ kind: 'Uncaught exception (thrown outside the awaited cell code)', error }));

function reportEscaped() {
  for (const { kind, error } of escaped.splice(0)) {
    const text = error instanceof Error ? (error.stack || String(error)) : String(error);
    process.stderr.write(`${kind}:\n${text}\n`);
  }
}

const originalCreateExecutor = executorModule.createExecutor;
executorModule.createExecutor = function createExecutorFailingOnEscapedErrors(...args) {
  const executor = originalCreateExecutor(...args);
  const execute = executor.execute;
  executor.execute = async function executeCell(src) {
    // an error left over from a previous cell's background work fails this cell before it runs
    if (escaped.length) {
      process.stderr.write('An earlier cell left work running that failed:\n');
      reportEscaped();
      return false;
    }
    const ok = await execute(src);
    // give rejections of promises created (and dropped) by the cell a chance to surface
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (escaped.length) {
      reportEscaped();
      return false;
    }
    return ok;
  };
  return executor;
};

const argv = process.argv.slice(2);
const at = argv.indexOf('--config-path');
if (at < 0 || !argv[at + 1]) {
  process.stderr.write('usage: kernel.js --config-path <connection file>  (started by Jupyter)\n');
  process.exit(2);
}
startKernel({ configPath: argv[at + 1], enableFindLocal: false, jsKernel: false, globalVersion: '' });
