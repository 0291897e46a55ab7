/**
 * The habits of a kept codebase, checked on every run: one formatter (Prettier), one linter
 * (ESLint with typescript-eslint), and the layer rules of lib/ (dependency-cruiser, no cycles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const bin = (name: string) => path.join(ROOT, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[]) => spawnSync(bin(cmd), args, { cwd: ROOT, encoding: 'utf8' });

test('every source file is formatted by Prettier (npx prettier --write to fix)', () => {
  const r = run('prettier', [
    '--list-different',
    'lib/**/*.ts',
    'test/**/*.ts',
    'bench/**/*.ts',
    'scripts/**/*.{ts,mjs}',
    'bin/*.js',
  ]);
  assert.equal(r.stdout.trim(), '', `not formatted:\n${r.stdout}${r.stderr}`);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
});

test('ESLint finds no problems (npx eslint . to see them)', () => {
  const r = run('eslint', ['.', '--max-warnings', '0']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('lib/ layers point one way and have no import cycles (.dependency-cruiser.cjs)', () => {
  const r = run('depcruise', ['lib', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
