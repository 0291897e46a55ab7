/**
 * The compiled CLI: every lib/ and bench/ TypeScript module transpiled by esbuild (one CommonJS file per module, the same tree)
 * into dist/<hash>/, where <hash> is a digest of the sources' paths, sizes and modification times.
 * bin/vmat.js asks for the build of the current sources and runs it, so the CLI starts without
 * compiling TypeScript; a source change simply makes a new build on the next start (~0.2 s).
 * Builds are made in a temporary folder and renamed into place, so concurrent starts are safe.
 * Without esbuild (never on a normal install) bin/vmat.js falls back to tsx.
 * `node scripts/build-cli.cjs` builds now (scripts/setup.sh does) and prints the folder.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const ROOT = path.resolve(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
const BENCH = path.join(ROOT, 'bench');
const DIST = path.join(ROOT, 'dist');
const KEEP = 3;

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** the digest of the sources (relative path, size, mtime of every file under lib/) */
function sourceHash(files) {
  const h = crypto.createHash('sha1');
  for (const f of files) {
    const st = fs.statSync(f);
    h.update(`${path.relative(ROOT, f)}\0${st.size}\0${Math.floor(st.mtimeMs)}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

function build(files, target) {
  const esbuild = require('esbuild');
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const ts = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  esbuild.buildSync({
    entryPoints: ts,
    outdir: tmp,
    outbase: ROOT,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // the command modules' lazy `await import()`s become require() (the build is CommonJS)
    supported: { 'dynamic-import': false },
    logLevel: 'error',
  });
  // data files next to the modules that read them (e.g. dicom/oar_mapping.json); not the Python peers
  for (const f of files) {
    if (f.endsWith('.ts') || f.endsWith('.md') || f.startsWith(BENCH) || f === __filename) continue;
    const dst = path.join(tmp, path.relative(ROOT, f));
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(f, dst);
  }
  try {
    fs.renameSync(tmp, target);
  } catch {
    // another process made the same build first
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // keep the newest few builds
  const old = fs
    .readdirSync(DIST)
    .filter((d) => /^[0-9a-f]{16}$/.test(d))
    .map((d) => ({ d, t: fs.statSync(path.join(DIST, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(KEEP);
  for (const { d } of old) fs.rmSync(path.join(DIST, d), { recursive: true, force: true });
}

/** the folder of the build of the current sources (built when missing); null when esbuild is not available */
function currentBuild() {
  // this script is part of the digest: a change in how the build is made makes a new build
  const files = [...walk(LIB, []), ...(fs.existsSync(BENCH) ? walk(BENCH, []) : []), __filename].sort();
  const dir = path.join(DIST, sourceHash(files));
  if (fs.existsSync(path.join(dir, 'lib', 'cli', 'main.js'))) return dir;
  try {
    require.resolve('esbuild');
  } catch {
    return null;
  }
  fs.mkdirSync(DIST, { recursive: true });
  build(files, dir);
  return dir;
}

module.exports = { currentBuild };

if (require.main === module) process.stdout.write(`${currentBuild() ?? 'esbuild not available'}\n`);
