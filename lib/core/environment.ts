/**
 * The environment snapshot recorded with every run and printed by `vmat env`:
 * versions, engine backend, machine, git commit.
 */
import { PROJECT_ROOT } from './project';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';

export interface GitInfo {
  commit: string | null;
  message: string | null;
  dirty: boolean | null;
}

export interface EnvSnapshot {
  date: string;
  vmatLab: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  packages: Record<string, string | null>;
  engine: { backend: string; opsPath: string; threads: number; versions: Record<string, string> } | null;
  git: GitInfo;
}

const ROOT = PROJECT_ROOT;

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Commit, subject and dirty flag of the project's git checkout (nulls when git or the repository is missing). */
export function gitInfo(): GitInfo {
  const commit = git(['rev-parse', 'HEAD']);
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return { commit, message: git(['log', '-1', '--format=%s']), dirty: status === null ? null : status.length > 0 };
}

/**
 * Installed version of an npm package. Packages whose `exports` map hides package.json (npyjs)
 * are found through their entry point: the nearest package.json above it with the same name.
 */
export function pkgVersion(name: string): string | null {
  const read = (p: string) => JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version: string };
  try {
    return read(require.resolve(`${name}/package.json`, { paths: [ROOT] })).version;
  } catch {
    /* not exported: fall through */
  }
  try {
    let dir = path.dirname(require.resolve(name, { paths: [ROOT] }));
    while (dir !== path.dirname(dir)) {
      const p = path.join(dir, 'package.json');
      if (fs.existsSync(p) && read(p).name === name) return read(p).version;
      dir = path.dirname(dir);
    }
  } catch {
    /* not installed */
  }
  return null;
}

/** The environment recorded with every run: Node, platform, CPU, cores, memory (GB), package versions, engine backend, git. */
export function envSnapshot(engine: EnvSnapshot['engine'] = null): EnvSnapshot {
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const names = [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    'onnxruntime-node',
    'tslab',
    'plotly.js-dist',
    'npyjs',
    'jszip',
    'simple-statistics',
    'typescript',
  ];
  const packages: Record<string, string | null> = {};
  for (const n of names) packages[n] = pkgVersion(n);
  return {
    date: new Date().toISOString(),
    vmatLab: own.version,
    node: process.versions.node,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    packages,
    engine,
    git: gitInfo(),
  };
}
