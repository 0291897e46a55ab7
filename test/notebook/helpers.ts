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

export interface RenderedFigure {
  id: string;
  /** rendered width of the figure element (CSS px) */
  width: number;
  /** width of the plot's SVG as drawn by plotly.js */
  svgWidth: number;
  /** width available to the figure: its output area (parent element) */
  areaWidth: number;
  /** the element scrolls horizontally (content wider than the element) */
  overflows: boolean;
}

/**
 * Opens an exported notebook HTML in headless Chromium at `viewportWidth` and measures every
 * vmat figure after plotly.js has drawn it. Returns null when Chromium is not installed.
 */
export async function renderedFigures(htmlFile: string, viewportWidth = 1400): Promise<RenderedFigure[] | null> {
  const { findChromium, CHROMIUM_ARGS } = await import('../../lib/plot/export');
  const exe = findChromium();
  if (!exe) return null;
  const puppeteer = await import('puppeteer-core');
  const userDataDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'vmat-figcheck-'));
  const browser = await puppeteer.launch({
    executablePath: exe,
    headless: true,
    userDataDir,
    args: CHROMIUM_ARGS,
    pipe: true,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: viewportWidth, height: 900 });
    // no network here: block remote scripts (nbconvert templates reference CDNs) instead of waiting for them
    await page.setRequestInterception(true);
    page.on('request', (r) => (r.url().startsWith('file:') || r.url().startsWith('data:') ? r.continue() : r.abort()));
    await page.goto(`file://${htmlFile}`, { waitUntil: 'load', timeout: 120_000 });
    // evaluated in the page: typed loosely (the project compiles without the DOM library)
    type El = {
      id: string;
      scrollWidth: number;
      clientWidth: number;
      parentElement: El;
      getBoundingClientRect(): { width: number };
      querySelector(s: string): El | null;
    };
    type Doc = { querySelectorAll(s: string): ArrayLike<El> };
    await page.waitForFunction(
      () => {
        const doc = (globalThis as unknown as { document: Doc }).document;
        const figs = Array.from(doc.querySelectorAll('.vmat-figure'));
        return figs.length > 0 && figs.every((f) => f.querySelector('.main-svg'));
      },
      { timeout: 120_000 },
    );
    return await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: Doc }).document;
      return Array.from(doc.querySelectorAll('.vmat-figure')).map((el) => {
        const svg = el.querySelector('.main-svg') as El;
        return {
          id: el.id,
          width: el.getBoundingClientRect().width,
          svgWidth: svg.getBoundingClientRect().width,
          areaWidth: el.parentElement.clientWidth,
          overflows: el.scrollWidth > el.clientWidth + 1,
        };
      });
    });
  } finally {
    await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
