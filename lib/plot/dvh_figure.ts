/**
 * Figure 4 (spec 9.2): cumulative DVH comparison, ground truth solid vs prediction dashed, one
 * colour + marker per structure. Curves are computed by the caller (lib/eval/dvh.ts); the
 * reference used 500 bins over 0..1.15·Rx, % volume receiving ≥ d.
 */
import { inches, type FigureSpec, type Trace } from './figure';
import { axisStyle, baseLayout, structureStyle } from './style';

export interface DvhCurve {
  /** dose bin edges in Gy (x) */
  doseGy: ArrayLike<number>;
  /** % of the structure volume receiving at least that dose (y) */
  volumePct: ArrayLike<number>;
}

export interface DvhPair {
  structure: string;
  gt: DvhCurve;
  pred: DvhCurve;
}

/** thin a curve to at most `max` points (keeping the ends) so figure specs stay small */
function thin(c: DvhCurve, max = 250): { x: number[]; y: number[] } {
  const n = c.doseGy.length;
  const step = Math.max(1, Math.ceil(n / max));
  const x: number[] = [],
    y: number[] = [];
  for (let i = 0; i < n; i += step) {
    x.push(Math.round(c.doseGy[i] * 100) / 100);
    y.push(Math.round(c.volumePct[i] * 100) / 100);
  }
  if ((n - 1) % step !== 0) {
    x.push(c.doseGy[n - 1]);
    y.push(c.volumePct[n - 1]);
  }
  return { x, y };
}

/** The DVH comparison figure of one case: ground truth solid vs prediction dashed per structure (dose in Gy, volume in %). */
export function dvhComparisonFigure(caseId: string, curves: DvhPair[], opts: { maxDoseGy?: number } = {}): FigureSpec {
  const data: Trace[] = [];
  curves.forEach((c, i) => {
    const st = structureStyle(c.structure, i);
    const g = thin(c.gt),
      p = thin(c.pred);
    const every = Math.max(1, Math.floor(g.x.length / 10));
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${c.structure} (GT)`,
      legendgroup: c.structure,
      x: g.x,
      y: g.y,
      line: { color: st.color, width: 2.2, dash: 'solid' },
      marker: { symbol: st.marker, size: 7, color: st.color, maxdisplayed: every > 0 ? 10 : 0 },
    });
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${c.structure} (Pred)`,
      legendgroup: c.structure,
      x: p.x,
      y: p.y,
      line: { color: st.color, width: 2.2, dash: 'dash' },
      marker: { symbol: `${st.marker}-open`, size: 7, color: st.color, maxdisplayed: 10 },
    });
  });
  const width = inches(10),
    height = inches(7);
  const layout = baseLayout(`DVH comparison: ${caseId} (solid = ground truth, dashed = prediction)`, width, height, {
    xaxis: axisStyle({
      title: { text: 'Dose (Gy)' },
      range: opts.maxDoseGy ? [0, opts.maxDoseGy] : undefined,
      rangemode: 'tozero',
    }),
    yaxis: axisStyle({ title: { text: 'Volume (%)' }, range: [0, 105] }),
    legend: { font: { size: 10 }, x: 1.01, y: 1, xanchor: 'left', traceorder: 'grouped' },
    margin: { l: 70, r: 170, t: 70, b: 60 },
  });
  return { name: 'fig4_dvh_comparison', data, layout, width, height };
}
