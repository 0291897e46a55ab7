/** Shared by the notebook tests: is Jupyter here, minimal notebook files, running the headless runner. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** null when Jupyter (python3 + nbclient + nbformat) is installed, else the skip reason */
export function jupyterMissing(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import nbclient, nbformat'], { stdio: 'ignore' }).status === 0) return null;
  }
  return 'Jupyter is not installed (python3 with nbclient + nbformat): run bash scripts/setup.sh';
}

export function writeNotebook(file: string, cells: string[]): void {
  const nb = {
    cells: cells.map((src, i) => ({
      cell_type: 'code',
      id: `c${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source: src,
    })),
    metadata: {
      kernelspec: { name: 'vmat-tslab', display_name: 'TypeScript (vmat-lab)', language: 'typescript' },
      vmat: { experiment: path.basename(file, '.ipynb') },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(file, JSON.stringify(nb));
}

export function runNotebooks(
  notebooks: string[],
  figuresRoot: string,
  env: Record<string, string> = {},
  timeoutMs = 600_000,
) {
  return spawnSync(
    'bash',
    [path.join(ROOT, 'scripts/notebooks/run.sh'), '--keep-going', '--figures-root', figuresRoot, ...notebooks],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, VMAT_SKIP_INDEX: '1', ...env },
    },
  );
}
