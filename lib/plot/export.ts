/**
 * Static export of figure specs to PNG (raster, default scale 300/96 = 300 dpi at the figure's
 * inch size) and PDF (vector; Chromium embeds the font subsets) through headless Debian
 * Chromium driven by puppeteer-core. No browser is ever downloaded: the executable comes from
 * VMAT_CHROMIUM or the usual system paths.
 *
 * One browser is shared by consecutive exports and closed after a short idle period (and on
 * process exit), so a notebook that exports eight figures starts Chromium once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { writeFileAtomic } from '../core/atomic';
import { VmatError } from '../core/errors';
import type { FigureSpec } from './figure';
import { plotlySource } from './plotly_bundle';

export type ExportFormat = 'png' | 'pdf' | 'svg';

export interface ExportOptions {
  formats?: ExportFormat[];
  /** PNG pixel scale over CSS px; 300/96 gives 300 dpi at the figure's nominal inch size */
  scale?: number;
}

/** Where Chromium is looked for (after VMAT_CHROMIUM). */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** The Chromium executable: VMAT_CHROMIUM when set (null if missing), else the first CHROMIUM_CANDIDATES that exists. */
export function findChromium(): string | null {
  const env = process.env.VMAT_CHROMIUM;
  if (env) return fs.existsSync(env) ? env : null;
  return CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

/** Command-line flags of the headless Chromium used for export. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--font-render-hinting=none',
];

interface Session {
  browser: Browser;
  page: Page;
  userDataDir: string;
}
let session: Promise<Session> | null = null;
let idleTimer: NodeJS.Timeout | null = null;
const IDLE_MS = 15_000;

async function openSession(): Promise<Session> {
  const executablePath = findChromium();
  if (!executablePath)
    throw new VmatError(
      `figure export needs Chromium: none of ${CHROMIUM_CANDIDATES.join(', ')} exists (set VMAT_CHROMIUM, or run bash scripts/setup.sh)`,
    );
  const puppeteer = await import('puppeteer-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-chromium-'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    pipe: true,
  });
  const page = await browser.newPage();
  await page.setContent(
    '<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"></body></html>',
  );
  await page.addScriptTag({ content: plotlySource() });
  return { browser, page, userDataDir };
}

function killOnExit(): void {
  if (!session) return;
  session
    .then((s) => {
      try {
        s.browser.process()?.kill('SIGKILL');
      } catch {
        /* already gone */
      }
      fs.rmSync(s.userDataDir, { recursive: true, force: true });
    })
    .catch(() => {});
}
let exitHookInstalled = false;

async function getSession(): Promise<Session> {
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  if (!exitHookInstalled) {
    process.once('exit', killOnExit);
    exitHookInstalled = true;
  }
  if (!session) {
    session = openSession();
    session.catch(() => {
      session = null;
    });
  }
  return session;
}

function scheduleIdleClose(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    void closeExporter();
  }, IDLE_MS);
  idleTimer.unref();
}

/** Close the shared browser now (tests and scripts call this to exit promptly). */
export async function closeExporter(): Promise<void> {
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  const s = session;
  session = null;
  if (!s) return;
  try {
    const { browser, userDataDir } = await s;
    await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
    fs.rmSync(userDataDir, { recursive: true, force: true });
  } catch {
    /* launch had failed: nothing to close */
  }
}

async function toImage(page: Page, fig: FigureSpec, format: 'png' | 'svg', scale: number): Promise<string> {
  const spec = {
    data: fig.data,
    layout: { ...fig.layout, width: fig.width, height: fig.height },
    config: { staticPlot: true },
  };
  return page.evaluate(
    async (s: typeof spec, fmt: string, sc: number) => {
      const P = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
      return P.toImage(s, { format: fmt, width: s.layout.width, height: s.layout.height, scale: sc });
    },
    spec,
    format,
    scale,
  );
}

function dataUrlBytes(url: string): Buffer {
  const comma = url.indexOf(',');
  const head = url.slice(0, comma);
  const body = url.slice(comma + 1);
  return head.includes(';base64') ? Buffer.from(body, 'base64') : Buffer.from(decodeURIComponent(body), 'utf8');
}

async function svgToPdf(browser: Browser, svg: string, width: number, height: number): Promise<Buffer> {
  const page = await browser.newPage();
  try {
    await page.setContent(
      `<!doctype html><html><head><meta charset="utf-8"><style>@page{size:${width}px ${height}px;margin:0}html,body{margin:0;padding:0}svg{display:block}</style></head><body>${svg}</body></html>`,
    );
    const pdf = await page.pdf({
      width: `${width}px`,
      height: `${height}px`,
      printBackground: true,
      pageRanges: '1',
      margin: { top: 0, right: 0, bottom: 0, left: 0 },
    });
    return Buffer.from(pdf);
  } finally {
    await page.close();
  }
}

/**
 * Export one figure as `<outDir>/<fig.name>.<format>` for each format (atomic writes).
 * Returns the written paths.
 */
export async function exportFigure(fig: FigureSpec, outDir: string, opts: ExportOptions = {}): Promise<string[]> {
  const formats = opts.formats ?? ['png', 'pdf'];
  const scale = opts.scale ?? 300 / 96;
  const s = await getSession();
  const written: string[] = [];
  try {
    let svg: string | null = null;
    for (const fmt of formats) {
      const target = path.join(outDir, `${fig.name}.${fmt}`);
      if (fmt === 'png') {
        await writeFileAtomic(target, dataUrlBytes(await toImage(s.page, fig, 'png', scale)));
      } else {
        svg ??= dataUrlBytes(await toImage(s.page, fig, 'svg', 1)).toString('utf8');
        await writeFileAtomic(target, fmt === 'svg' ? svg : await svgToPdf(s.browser, svg, fig.width, fig.height));
      }
      written.push(target);
    }
  } finally {
    scheduleIdleClose();
  }
  return written;
}

/** Exports several figures into `outDir` (see exportFigure); returns every file written. */
export async function exportFigures(figs: FigureSpec[], outDir: string, opts: ExportOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for (const f of figs) out.push(...(await exportFigure(f, outDir, opts)));
  return out;
}
