/**
 * Inline display in the tslab kernel. Outside a kernel (tests, scripts) the display calls
 * print a one-line note instead, so notebook code can also run as a plain script.
 *
 * `setupPlotly()` emits plotly.js once per notebook; `show(fig)` displays a figure inline and,
 * when a figures folder is given, exports it to PNG + PDF there as well.
 */
import * as path from 'node:path';
import { figureHtml, plotlyLoaderHtml } from '../plot/html';
import { exportFigure, type ExportOptions } from '../plot/export';
import type { FigureSpec } from '../plot/figure';

interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
  png(b: Uint8Array): void;
  text(s: string): void;
}

function tslabDisplay(): TslabDisplay | null {
  if (process.env.VMAT_IN_NOTEBOOK !== '1') return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('tslab') as { display: TslabDisplay }).display;
  } catch {
    return null;
  }
}

/** True inside a tslab kernel (display available). */
export function inNotebook(): boolean {
  return tslabDisplay() !== null;
}

/** Displays HTML in the notebook (outside one, prints a placeholder line). */
export function html(s: string): void {
  const d = tslabDisplay();
  if (d) d.html(s);
  else process.stdout.write(`[html output, ${s.length} chars]\n`);
}

/** Displays markdown in the notebook (outside one, prints the text). */
export function markdown(s: string): void {
  const d = tslabDisplay();
  if (d) d.markdown(s);
  else process.stdout.write(`${s}\n`);
}

let plotlyShown = false;
/** Emit plotly.js into the notebook once (idempotent within a kernel session). */
export function setupPlotly(force = false): void {
  if (plotlyShown && !force) return;
  html(plotlyLoaderHtml());
  plotlyShown = true;
}

/**
 * Display a figure inline; with `saveDir`, also export it as `<saveDir>/<fig.name>.png|pdf`
 * and print the paths. Returns the written paths.
 */
export async function show(fig: FigureSpec, saveDir?: string | null, opts: ExportOptions = {}): Promise<string[]> {
  setupPlotly();
  html(figureHtml(fig));
  if (!saveDir) return [];
  const written = await exportFigure(fig, saveDir, opts);
  process.stdout.write(`saved ${written.map((p) => path.relative(process.cwd(), p)).join(', ')}\n`);
  return written;
}

/** Markdown table from a header and rows (numbers formatted with `digits`). */
export function table(header: string[], rows: Array<Array<string | number | null | undefined>>, digits = 2): string {
  const fmt = (v: string | number | null | undefined) =>
    v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))
      ? '—'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? String(v)
          : v.toFixed(digits)
        : v;
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`),
  ].join('\n');
}

/** Displays a markdown table; non-integers with `digits` decimals, null/undefined/non-finite as "—". */
export function showTable(header: string[], rows: Array<Array<string | number | null | undefined>>, digits = 2): void {
  markdown(table(header, rows, digits));
}
