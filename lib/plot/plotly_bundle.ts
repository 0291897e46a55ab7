/**
 * The plotly.js browser bundle (npm plotly.js-dist), minified once with esbuild (a tsx
 * dependency) into build/ so notebooks and HTML exports embed ~4.6 MB instead of ~10 MB.
 * Falls back to the unminified bundle if esbuild is unavailable.
 */
import { PROJECT_ROOT } from '../core/project';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../core/atomic';

const ROOT = PROJECT_ROOT;
let cached: string | null = null;

/** Version of the installed plotly.js-dist. */
export function plotlyVersion(): string {
  return (
    JSON.parse(fs.readFileSync(require.resolve('plotly.js-dist/package.json', { paths: [ROOT] }), 'utf8')) as {
      version: string;
    }
  ).version;
}

/** The minified plotly.js source (cached in build/ and in memory). */
export function plotlySource(): string {
  if (cached) return cached;
  const src = require.resolve('plotly.js-dist', { paths: [ROOT] });
  const out = path.join(ROOT, 'build', `plotly-${plotlyVersion()}.min.js`);
  if (fs.existsSync(out) && fs.statSync(out).size > 1_000_000) return (cached = fs.readFileSync(out, 'utf8'));
  const code = fs.readFileSync(src, 'utf8');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as { transformSync(c: string, o: Record<string, unknown>): { code: string } };
    const min = esbuild.transformSync(code, { minify: true, legalComments: 'none', target: 'es2020' }).code;
    writeFileAtomicSync(out, min);
    return (cached = min);
  } catch {
    return (cached = code);
  }
}
