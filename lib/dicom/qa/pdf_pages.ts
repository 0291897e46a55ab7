/**
 * A multi-page vector PDF from figure specs of equal size: each page is exported to SVG by the
 * figure library (lib/plot/export.ts, Plotly in headless Chromium), then Chromium prints the
 * pages, one SVG per page, into one PDF (fonts embedded). lib/plot exports one figure per file;
 * a contact sheet needs one file with many pages.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../core/atomic';
import { VmatError } from '../../core/errors';
import { CHROMIUM_ARGS, CHROMIUM_CANDIDATES, exportFigure, findChromium } from '../../plot/export';
import type { FigureSpec } from '../../plot/figure';

/** Writes `pages` (same width/height) as one PDF at `file` (atomic). */
export async function writePdfPages(pages: FigureSpec[], file: string): Promise<void> {
  if (!pages.length) throw new Error('writePdfPages: no pages (the QA review always passes at least one case page)');
  const { width, height } = pages[0];
  const executablePath = findChromium();
  if (!executablePath)
    throw new VmatError(
      `the PDF contact sheet needs Chromium: none of ${CHROMIUM_CANDIDATES.join(', ')} exists (set VMAT_CHROMIUM, or run bash scripts/setup.sh)`,
    );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-pdfpages-'));
  try {
    const svgs: string[] = [];
    for (const p of pages) {
      const [svgFile] = await exportFigure({ ...p, width, height }, tmp, { formats: ['svg'] });
      svgs.push(fs.readFileSync(svgFile, 'utf8'));
    }
    const puppeteer = await import('puppeteer-core');
    const browser = await puppeteer.launch({
      executablePath,
      headless: true,
      userDataDir: path.join(tmp, 'profile'),
      args: CHROMIUM_ARGS,
      pipe: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    try {
      const page = await browser.newPage();
      await page.setContent(
        `<!doctype html><html><head><meta charset="utf-8"><style>@page{size:${width}px ${height}px;margin:0}html,body{margin:0;padding:0}` +
          `.p{width:${width}px;height:${height}px;overflow:hidden;page-break-after:always;break-after:page}.p:last-child{page-break-after:auto;break-after:auto}svg{display:block}</style></head><body>` +
          svgs.map((s) => `<div class="p">${s}</div>`).join('') +
          '</body></html>',
      );
      const pdf = await page.pdf({
        width: `${width}px`,
        height: `${height}px`,
        printBackground: true,
        margin: { top: 0, right: 0, bottom: 0, left: 0 },
      });
      await writeFileAtomic(file, Buffer.from(pdf));
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
