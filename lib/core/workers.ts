/**
 * Worker threads that run a module of vmat-lab: the code given to `new Worker(code, { eval: true })`
 * loads the compiled module when running from the build (dist/), else the TypeScript source through
 * tsx's CommonJS hook (tests, notebooks, the sources).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** worker code that calls `fn()` exported by module `name` of folder `dir` (the caller's __dirname) */
export function workerSource(dir: string, name: string, fn: string): string {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return `require(${JSON.stringify(js)}).${fn}();`;
  const tsxApi = require.resolve('tsx/cjs/api');
  const ts = path.join(dir, `${name}.ts`);
  return `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(ts)}).${fn}();`;
}
