/**
 * Shared helpers of test/dicom: the Python peers (Debian's python3 with pydicom, scikit-image,
 * scipy: scripts in test/fixtures/dicom/), the vmat CLI, and the generated case folders
 * (made once per test file in a temp folder by the independent pydicom generator).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIX = path.join(ROOT, 'test', 'fixtures', 'dicom');
export const PYTHON = process.env.VMAT_DICOM_PYTHON ?? '/usr/bin/python3';

let pythonStatus: string | false | undefined;

/** false when the Python peers can run, else the reason to skip */
export function pythonSkip(): string | false {
  if (pythonStatus !== undefined) return pythonStatus;
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy, skimage, pydicom'], { encoding: 'utf8' });
  pythonStatus =
    r.status === 0
      ? false
      : `${PYTHON} with numpy, scipy, scikit-image and pydicom is not installed (scripts/setup.d/75-dicom-peers.sh installs python3-pydicom python3-skimage python3-scipy)`;
  return pythonStatus;
}

/** runs python with args; throws with stderr on failure; returns stdout */
export function py(args: string[], input?: string): string {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', input, maxBuffer: 256 << 20 });
  if (r.status !== 0)
    throw new Error(`python ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** runs an inline Python program (stdin) with the fixture folder on sys.path; returns parsed JSON of its last stdout line */
export function pyJson<T>(program: string, args: string[] = []): T {
  const out = py(['-c', `import sys; sys.path.insert(0, ${JSON.stringify(FIX)})\n${program}`, ...args]);
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}

/** `node bin/vmat.js ...` */
export function vmat(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'vmat.js'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vmat-test-${prefix}-`));
}

/** Per-array result of compare_npz.py. */
export interface ArrayComparison {
  dtype_ref: string;
  dtype_ours: string;
  shape_ref: number[];
  shape_ours: number[];
  equal?: boolean;
  max_abs_diff?: number;
  n_diff?: number;
}

/** What compare_npz.py reports. */
export interface NpzComparison {
  keys_ref: string[];
  keys_ours: string[];
  arrays: Record<string, ArrayComparison>;
  metadata_diffs: Array<Record<string, unknown>>;
  rx_gy: number;
}

export function compareNpz(ref: string, ours: string): NpzComparison {
  return JSON.parse(py([path.join(FIX, 'compare_npz.py'), ref, ours])) as NpzComparison;
}

// ---- used by the dicom-out tests (synth --format dicom, export-rtdose, qa-review)

export const DICOM_FIX = FIX;
/** Debian's interpreter: python3-pydicom / python3-skimage live there, not in a pyenv python */
export const PY = PYTHON;

/** null when PY imports all `modules`, else the skip reason */
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
