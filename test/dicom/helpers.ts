/** Shared by test/dicom: Debian's python3 peers (pydicom, scikit-image) and small mask helpers. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DICOM_FIX = path.join(ROOT, 'test', 'fixtures', 'dicom');
/** Debian's interpreter: python3-pydicom / python3-skimage live there, not in a pyenv python */
export const PY = '/usr/bin/python3';

/** null when /usr/bin/python3 imports all `modules`, else the skip reason */
export function pythonMissing(...modules: string[]): string | null {
  const r = spawnSync(PY, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
  return r.status === 0
    ? null
    : `${PY} with ${modules.join(', ')} is not installed (Debian python3-pydicom / python3-skimage)`;
}

/** runs a python script file with JSON on stdin, returns its parsed JSON stdout */
export function runPy<T>(script: string, input: unknown, args: string[] = []): T {
  const r = spawnSync(PY, [script, ...args], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${script} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
