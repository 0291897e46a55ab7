/**
 * Where the vmat-lab installation is: the folder holding its package.json, found from this module
 * (so it is the same whether the TypeScript sources or the compiled build in dist/ run).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function findRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    const p = path.join(d, 'package.json');
    if (fs.existsSync(p)) {
      try {
        if ((JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string }).name === 'vmat-lab') return d;
      } catch {
        // not ours; keep looking
      }
    }
    if (path.dirname(d) === d) return path.resolve(__dirname, '..', '..');
  }
}

/** the installation folder (package.json, bin/, lib/, models/) */
export const PROJECT_ROOT = findRoot();

/** the CLI entry point, for running a `vmat` command as a child process */
export const VMAT_BIN = path.join(PROJECT_ROOT, 'bin', 'vmat.js');

/** vmat-lab's version (package.json) */
export const VMAT_VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
})();
