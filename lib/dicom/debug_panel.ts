/**
 * The per-case debug panel of the reference preprocessing (spec 2.2 step 13,
 * `debug_<case>.png`): a 2 × 4 grid on the middle slice of the crop — CT; dose (hot, 0-75 Gy);
 * PTV70/56/50.4 contours on CT; PTV70 SDF (RdBu); CT + dose (jet, α 0.5, below 10 % of Rx
 * hidden); rectum/bladder contours on CT; rectum SDF; a text summary — as a figure spec of the
 * project's figure library (lib/plot), exported to PNG at 150 dpi by `exportFigure`.
 */
import { axisKey, axisRef, type FigureSpec, type Trace } from '../plot/figure';
import { baseLayout } from '../plot/style';
import type { DebugSlices } from './preprocess_case';

const GRAY: Array<[number, string]> = [
  [0, '#000000'],
  [1, '#ffffff'],
];
const HOT: Array<[number, string]> = [
  [0, '#0b0000'],
  [0.365, '#ff0000'],
  [0.746, '#ffff00'],
  [1, '#ffffff'],
];
const JET = 'Jet';
const RDBU = 'RdBu';

function rowsOf(
  v: ArrayLike<number>,
  ny: number,
  nx: number,
  map?: (x: number) => number | null,
): Array<Array<number | null>> {
  const out: Array<Array<number | null>> = [];
  for (let y = 0; y < ny; y++) {
    const row: Array<number | null> = new Array(nx);
    for (let x = 0; x < nx; x++) {
      const val = v[y * nx + x];
      row[x] = map ? map(val) : Math.round(val * 1000) / 1000;
    }
    out.push(row);
  }
  return out;
}

/** The 2 × 4 debug panel of one case (`name` = `debug_<case>`). */
export function debugPanelFigure(caseId: string, caseType: string, s: DebugSlices, rxGy: number): FigureSpec {
  const [ny, nx] = s.shape;
  const data: Trace[] = [];
  const heat = (panel: number, z: Array<Array<number | null>>, coloraxis: string, opacity = 1): void => {
    data.push({
      type: 'heatmap',
      z,
      coloraxis,
      opacity,
      xaxis: axisRef('x', panel),
      yaxis: axisRef('y', panel),
      hoverinfo: 'skip',
    });
  };
  const contour = (panel: number, m: Uint8Array | undefined, color: string, name: string): void => {
    if (!m || !m.some((v) => v !== 0)) return;
    data.push({
      type: 'contour',
      name,
      z: rowsOf(m, ny, nx, (v) => v),
      contours: { start: 0.5, end: 0.5, size: 1, coloring: 'none' },
      line: { color, width: 1.5 },
      showscale: false,
      xaxis: axisRef('x', panel),
      yaxis: axisRef('y', panel),
      hoverinfo: 'skip',
    });
  };
  const ct = rowsOf(s.ct, ny, nx);
  const titles: string[] = [];
  // row 1
  heat(1, ct, 'coloraxis');
  titles.push('CT');
  if (s.doseGy) heat(2, rowsOf(s.doseGy, ny, nx), 'coloraxis2');
  titles.push(s.doseGy ? 'Dose (Gy)' : 'Dose: none');
  heat(3, ct, 'coloraxis');
  contour(3, s.masks.PTV70, 'red', 'PTV70');
  contour(3, s.masks.PTV56, 'orange', 'PTV56');
  contour(3, s.masks['PTV50.4'], 'yellow', 'PTV50.4');
  titles.push('PTV70/56/50.4');
  if (s.sdf.PTV70) heat(4, rowsOf(s.sdf.PTV70, ny, nx), 'coloraxis3');
  titles.push(s.sdf.PTV70 ? 'PTV70 SDF' : '');
  // row 2
  heat(5, ct, 'coloraxis');
  if (s.doseGy)
    heat(
      5,
      rowsOf(s.doseGy, ny, nx, (v) => (v / rxGy < 0.1 ? null : Math.round(v * 100) / 100)),
      'coloraxis4',
      0.5,
    );
  titles.push('CT + Dose');
  heat(6, ct, 'coloraxis');
  contour(6, s.masks.Rectum, 'brown', 'Rectum');
  contour(6, s.masks.Bladder, 'yellow', 'Bladder');
  titles.push('Rectum/Bladder');
  if (s.sdf.Rectum) heat(7, rowsOf(s.sdf.Rectum, ny, nx), 'coloraxis3');
  titles.push(s.sdf.Rectum ? 'Rectum SDF' : '');
  titles.push('');

  const layout: Record<string, unknown> = {};
  const annotations: Record<string, unknown>[] = [];
  const colW = 0.25;
  const rowH = 0.5;
  for (let p = 1; p <= 8; p++) {
    const c = (p - 1) % 4;
    const r = Math.floor((p - 1) / 4);
    const x0 = c * colW + 0.01;
    const x1 = (c + 1) * colW - 0.01;
    const y1 = 1 - r * rowH - 0.06;
    const y0 = 1 - (r + 1) * rowH + 0.02;
    layout[axisKey('x', p)] = { domain: [x0, x1], visible: false, anchor: axisRef('y', p), constrain: 'domain' };
    layout[axisKey('y', p)] = {
      domain: [y0, y1],
      visible: false,
      autorange: 'reversed',
      anchor: axisRef('x', p),
      scaleanchor: axisRef('x', p),
      constrain: 'domain',
    };
    if (titles[p - 1])
      annotations.push({
        text: titles[p - 1],
        xref: 'paper',
        yref: 'paper',
        x: (x0 + x1) / 2,
        y: y1 + 0.005,
        xanchor: 'center',
        yanchor: 'bottom',
        showarrow: false,
        font: { size: 14 },
      });
  }
  annotations.push({
    text: s.summary.join('<br>'),
    xref: 'paper',
    yref: 'paper',
    x: 0.78,
    y: 0.25,
    xanchor: 'left',
    yanchor: 'middle',
    align: 'left',
    showarrow: false,
    font: { size: 13, family: 'DejaVu Sans Mono, Liberation Mono, monospace' },
  });
  const width = 20 * 96;
  const height = 10 * 96;
  return {
    name: `debug_${caseId}`,
    data,
    layout: baseLayout(`${caseId} - ${caseType}`, width, height, {
      ...layout,
      annotations,
      showlegend: false,
      margin: { l: 20, r: 20, t: 60, b: 20 },
      coloraxis: { colorscale: GRAY, cmin: 0, cmax: 1, showscale: false },
      coloraxis2: { colorscale: HOT, cmin: 0, cmax: 75, showscale: false },
      // Plotly's RdBu runs blue → red; matplotlib's (the reference's) red → blue
      coloraxis3: { colorscale: RDBU, reversescale: true, cmin: -1, cmax: 1, showscale: false },
      coloraxis4: { colorscale: JET, cmin: 0, cmax: 75, showscale: false },
    }),
    width,
    height,
  };
}
