/**
 * Figure specs as HTML for inline display (notebook outputs, HTML exports). The plotly.js bundle
 * is emitted once per notebook (`plotlyLoaderHtml`); each figure's snippet waits for
 * `window.Plotly`, so cell order on re-render does not matter.
 */
import type { FigureSpec } from './figure';
import { plotlySource } from './plotly_bundle';

let counter = 0;

/** escape `</script` so JSON embedded in a <script> cannot close it */
export function scriptSafeJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/<\/(script)/gi, '<\\/$1')
    .replace(/<!--/g, '<\\!--');
}

/** An HTML snippet that loads the bundled plotly.js once per page (inline, no network). */
export function plotlyLoaderHtml(): string {
  const src = plotlySource().replace(/<\/(script)/gi, '<\\/$1');
  return `<script type="text/javascript">if (!window.Plotly) {\n${src}\n}</script><div style="font-size:11px;color:#777">plotly.js loaded</div>`;
}

/**
 * Inline HTML of a figure, responsive by default: the plot takes the width of its output area (at
 * most the export width `fig.width`) and redraws when that area is resized; only the height is fixed.
 * The fixed `fig.width × fig.height` size is for the PNG/PDF export alone. `responsive: false` draws
 * at the export size (a wide figure then overflows a narrow output area).
 */
export function figureHtml(fig: FigureSpec, opts: { responsive?: boolean; id?: string } = {}): string {
  const id = opts.id ?? `vmat-fig-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const responsive = opts.responsive ?? true;
  const { width: _exportWidth, ...rest } = fig.layout as { width?: unknown } & Record<string, unknown>;
  void _exportWidth;
  const layout = responsive
    ? { ...rest, autosize: true, height: fig.height }
    : { ...fig.layout, width: fig.width, height: fig.height };
  const config = {
    displaylogo: false,
    responsive,
    toImageButtonOptions: { format: 'png', filename: fig.name, width: fig.width, height: fig.height, scale: 3 },
    ...(fig.config ?? {}),
  };
  const style = responsive
    ? `width:100%;max-width:${fig.width}px;height:${fig.height}px`
    : `width:${fig.width}px;height:${fig.height}px`;
  return `<div id="${id}" class="vmat-figure" style="${style}"></div>
<script type="text/javascript">(function(){var spec=${scriptSafeJson({ data: fig.data, layout, config })};
function draw(n){var el=document.getElementById(${JSON.stringify(id)});
if(!window.Plotly||!el){if(n<400){setTimeout(function(){draw(n+1)},50)}else if(el){el.textContent='plotly.js is not loaded: run the notebook setup cell'};return}
window.Plotly.newPlot(el,spec.data,spec.layout,spec.config);}draw(0);})();</script>`;
}

/** A standalone HTML page with the bundle inlined (for saving a figure as .html). */
export function standaloneHtml(figs: FigureSpec[], title = 'vmat-lab figure'): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>
${plotlyLoaderHtml()}
${figs.map((f) => figureHtml(f)).join('\n')}
</body></html>`;
}
