/**
 * Per-case metric figures of the standard set (spec 9.2): 5 gamma bar chart, 6 per-case box
 * plots, 7 QUANTEC compliance heat map, 8 femur L/R asymmetry. Inputs are plain arrays
 * (lib/notebook/report.ts extracts them from an evaluation JSON).
 */
import { inches, panelDomains, panelTitle, round, type FigureSpec, type Trace } from './figure';
import { axisStyle, baseLayout, FAIL_COLOR, NOT_EVALUATED_COLOR, PASS_COLOR, WONG } from './style';

/** 'prostate70gy_0056' -> 'P0056' (reference id shortening), other ids unchanged */
export function shortCaseId(id: string): string {
  return id.replace(/^prostate70gy_/, 'P');
}

/** mean and sample standard deviation (ddof 1; 0 when n < 2) of the finite values */
export function meanSd(values: Array<number | null>): { mean: number; sd: number; n: number } {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, sd: NaN, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

export interface GammaBarInput {
  caseIds: string[];
  globalPct: Array<number | null>;
  ptvPct: Array<number | null>;
  criterion?: string;
}

/** Figure 5: global vs PTV-region gamma pass rate per case, with the 95 % clinical line. */
export function gammaBarFigure(g: GammaBarInput): FigureSpec {
  const x = g.caseIds.map(shortCaseId);
  const label = (v: number | null) => (v === null ? 'n/a' : v.toFixed(1));
  const crit = g.criterion ?? '3%/3mm';
  const data: Trace[] = [
    {
      type: 'bar',
      name: `Global gamma ${crit}`,
      x,
      y: g.globalPct,
      text: g.globalPct.map(label),
      textposition: 'outside',
      marker: { color: WONG.blue, line: { color: '#000', width: 1 } },
    },
    {
      type: 'bar',
      name: `PTV-region gamma ${crit}`,
      x,
      y: g.ptvPct,
      text: g.ptvPct.map(label),
      textposition: 'outside',
      marker: {
        color: WONG.orange,
        line: { color: '#000', width: 1 },
        pattern: { shape: '/', fillmode: 'overlay', fgcolor: '#000', size: 6, solidity: 0.2 },
      },
    },
  ];
  const width = Math.max(inches(8), inches(0.9 * x.length + 2)),
    height = inches(5.5);
  const layout = baseLayout(`Gamma pass rate per case (${crit})`, width, height, {
    barmode: 'group',
    bargap: 0.3,
    bargroupgap: 0.05,
    xaxis: axisStyle({ title: { text: 'Case' }, showgrid: false }),
    yaxis: axisStyle({ title: { text: 'Gamma pass rate (%)' }, range: [0, 110] }),
    shapes: [
      { type: 'line', xref: 'paper', x0: 0, x1: 1, y0: 95, y1: 95, line: { color: WONG.red, dash: 'dash', width: 2 } },
    ],
    annotations: [
      {
        xref: 'paper',
        x: 1,
        y: 95,
        xanchor: 'right',
        yanchor: 'bottom',
        showarrow: false,
        text: '95% clinical target',
        font: { size: 11, color: WONG.red },
      },
    ],
    legend: { orientation: 'h', x: 0.5, xanchor: 'center', y: -0.18 },
    margin: { l: 70, r: 30, t: 70, b: 100 },
  });
  return { name: 'fig5_gamma_bar_chart', data, layout, width, height };
}

export interface BoxPanel {
  title: string;
  unit: string;
  values: Array<number | null>;
  /** optional reference line (e.g. 95 %, 0 Gy) */
  refLine?: number;
}

/** Figure 6: one box per metric with every case as a jittered point, mean ± SD text. */
export function perCaseBoxFigure(caseIds: string[], panels: BoxPanel[], opts: { title?: string } = {}): FigureSpec {
  const doms = panelDomains(panels.length, 0.07);
  const data: Trace[] = [];
  const layoutAxes: Record<string, unknown> = {};
  const annotations: Array<Record<string, unknown>> = [];
  const shapes: Array<Record<string, unknown>> = [];
  const letters = 'ABCDEFGH';
  panels.forEach((p, i) => {
    const ax = i + 1;
    const xr = ax === 1 ? 'x' : `x${ax}`,
      yr = ax === 1 ? 'y' : `y${ax}`;
    const stats = meanSd(p.values);
    data.push({
      type: 'box',
      name: p.title,
      y: p.values,
      x: p.values.map(() => p.title),
      text: caseIds.map(shortCaseId),
      xaxis: xr,
      yaxis: yr,
      boxpoints: 'all',
      jitter: 0.35,
      pointpos: 0,
      boxmean: true,
      showlegend: false,
      fillcolor: 'rgba(0,114,178,0.3)',
      line: { color: '#000', width: 1.5 },
      marker: { color: WONG.orange, symbol: 'circle', size: 8, line: { color: '#000', width: 1 } },
      hovertemplate: '%{text}: %{y:.2f}<extra></extra>',
    });
    layoutAxes[ax === 1 ? 'xaxis' : `xaxis${ax}`] = axisStyle({
      domain: doms[i],
      anchor: yr,
      showticklabels: false,
      showgrid: false,
    });
    layoutAxes[ax === 1 ? 'yaxis' : `yaxis${ax}`] = axisStyle({ anchor: xr, title: { text: p.unit } });
    annotations.push(panelTitle(`(${letters[i]}) ${p.title}`, doms[i]));
    annotations.push({
      xref: 'paper',
      yref: 'paper',
      x: (doms[i][0] + doms[i][1]) / 2,
      y: -0.08,
      showarrow: false,
      text: Number.isFinite(stats.mean)
        ? `mean ± SD: ${stats.mean.toFixed(2)} ± ${stats.sd.toFixed(2)} (n=${stats.n})`
        : 'no data',
      font: { size: 11 },
    });
    if (p.refLine !== undefined) {
      shapes.push({
        type: 'line',
        xref: `${xr} domain`,
        yref: yr,
        x0: 0,
        x1: 1,
        y0: p.refLine,
        y1: p.refLine,
        line: { color: WONG.red, dash: 'dot', width: 1.5 },
      });
    }
  });
  const width = inches(18),
    height = inches(5);
  const layout = baseLayout(opts.title ?? 'Per-case metrics', width, height, {
    ...layoutAxes,
    annotations,
    shapes,
    margin: { l: 60, r: 20, t: 80, b: 60 },
  });
  return { name: 'fig6_per_case_boxplots', data, layout, width, height };
}

export interface ConstraintCell {
  /** column label, e.g. 'Rectum V70' */
  column: string;
  passed: boolean | null;
  /** predicted value and unit, shown in the cell */
  value: number | null;
  unit?: string;
  /** e.g. '≤ 15 %' */
  limitText?: string;
}

export interface ConstraintRow {
  caseId: string;
  cells: ConstraintCell[];
}

/** Figure 7: cases × constraints; pass / fail / not evaluated, each cell labelled P/F with its value. */
export function quantecHeatmapFigure(rows: ConstraintRow[]): FigureSpec {
  const columns: string[] = [];
  const limits = new Map<string, string>();
  for (const r of rows)
    for (const c of r.cells) {
      if (!columns.includes(c.column)) columns.push(c.column);
      if (c.limitText && !limits.has(c.column)) limits.set(c.column, c.limitText);
    }
  const y = rows.map((r) => shortCaseId(r.caseId));
  const z: number[][] = [],
    text: string[][] = [];
  for (const r of rows) {
    const byCol = new Map(r.cells.map((c) => [c.column, c]));
    z.push(
      columns.map((col) => {
        const c = byCol.get(col);
        return !c || c.passed === null ? 0.5 : c.passed ? 1 : 0;
      }),
    );
    text.push(
      columns.map((col) => {
        const c = byCol.get(col);
        if (!c || c.passed === null) return '–';
        return `${c.passed ? 'P' : 'F'}${c.value === null ? '' : `<br>${round(c.value, 1)}`}`;
      }),
    );
  }
  const xLabels = columns.map((c) => (limits.has(c) ? `${c}<br>${limits.get(c)}` : c));
  const data: Trace[] = [
    {
      type: 'heatmap',
      x: xLabels,
      y,
      z,
      text,
      texttemplate: '<b>%{text}</b>',
      textfont: { color: '#fff', size: 11 },
      zmin: 0,
      zmax: 1,
      xgap: 2,
      ygap: 2,
      showscale: false,
      hovertemplate: '%{y} %{x}: %{text}<extra></extra>',
      colorscale: [
        [0, FAIL_COLOR],
        [0.33, FAIL_COLOR],
        [0.33, NOT_EVALUATED_COLOR],
        [0.67, NOT_EVALUATED_COLOR],
        [0.67, PASS_COLOR],
        [1, PASS_COLOR],
      ],
    },
    // legend entries (the heat map itself has no legend)
    ...[
      ['Pass (P)', PASS_COLOR],
      ['Fail (F)', FAIL_COLOR],
      ['Not evaluated (–)', NOT_EVALUATED_COLOR],
    ].map(([name, color]) => ({
      type: 'scatter',
      mode: 'markers',
      name,
      x: [null],
      y: [null],
      marker: { symbol: 'square', size: 14, color },
    })),
  ];
  const width = Math.max(inches(9), inches(0.85 * columns.length + 3)),
    height = Math.max(inches(4), inches(0.45 * rows.length + 2.2));
  const nPass = rows.filter((r) => r.cells.every((c) => c.passed !== false)).length;
  const layout = baseLayout(
    `QUANTEC compliance: ${nPass}/${rows.length} cases pass all checked constraints`,
    width,
    height,
    {
      xaxis: { side: 'bottom', tickangle: -45, tickfont: { size: 10 }, showgrid: false },
      yaxis: { autorange: 'reversed', tickfont: { size: 11 }, showgrid: false, title: { text: 'Case' } },
      legend: { x: 1.01, y: 1, xanchor: 'left' },
      margin: { l: 80, r: 170, t: 70, b: 140 },
    },
  );
  return { name: 'fig7_quantec_compliance', data, layout, width, height };
}

/** Figure 8: Femur_L vs Femur_R MAE per case (paired bars) and L − R differences. */
export function femurAsymmetryFigure(
  caseIds: string[],
  leftMae: Array<number | null>,
  rightMae: Array<number | null>,
): FigureSpec {
  const x = caseIds.map(shortCaseId);
  const [dA, dB] = panelDomains(2, 0.1);
  const diff = leftMae.map((l, i) => (l === null || rightMae[i] === null ? null : l - (rightMae[i] as number)));
  const defined = diff.filter((d): d is number => d !== null);
  const worse = defined.filter((d) => d > 0).length;
  const mean = defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : NaN;
  const data: Trace[] = [
    {
      type: 'bar',
      name: 'Femur_L',
      x,
      y: leftMae,
      xaxis: 'x',
      yaxis: 'y',
      marker: { color: WONG.green, line: { color: '#000', width: 1 } },
    },
    {
      type: 'bar',
      name: 'Femur_R',
      x,
      y: rightMae,
      xaxis: 'x',
      yaxis: 'y',
      marker: {
        color: WONG.cyan,
        line: { color: '#000', width: 1 },
        pattern: { shape: '.', fillmode: 'overlay', fgcolor: '#000', size: 5, solidity: 0.25 },
      },
    },
    {
      type: 'bar',
      name: 'L − R',
      x,
      y: diff,
      xaxis: 'x2',
      yaxis: 'y2',
      showlegend: false,
      marker: {
        color: diff.map((d) => (d !== null && d > 0 ? WONG.red : WONG.blue)),
        line: { color: '#000', width: 1 },
        pattern: {
          shape: diff.map((d) => (d !== null && d > 0 ? '' : '/')),
          fillmode: 'overlay',
          fgcolor: '#000',
          size: 6,
          solidity: 0.25,
        },
      },
      text: diff.map((d) => (d === null ? '' : d.toFixed(1))),
      textposition: 'outside',
    },
  ];
  const shapes: Array<Record<string, unknown>> = [
    { type: 'line', xref: 'x2 domain', yref: 'y2', x0: 0, x1: 1, y0: 0, y1: 0, line: { color: '#000', width: 1 } },
  ];
  if (Number.isFinite(mean))
    shapes.push({
      type: 'line',
      xref: 'x2 domain',
      yref: 'y2',
      x0: 0,
      x1: 1,
      y0: mean,
      y1: mean,
      line: { color: WONG.orange, dash: 'dash', width: 2 },
    });
  const width = inches(14),
    height = inches(5.5);
  const layout = baseLayout('Femur L/R asymmetry of prediction error', width, height, {
    barmode: 'group',
    xaxis: axisStyle({ domain: dA, anchor: 'y', showgrid: false, title: { text: 'Case' } }),
    yaxis: axisStyle({ anchor: 'x', title: { text: 'Structure MAE (Gy)' }, rangemode: 'tozero' }),
    xaxis2: axisStyle({ domain: dB, anchor: 'y2', showgrid: false, title: { text: 'Case' } }),
    yaxis2: axisStyle({ anchor: 'x2', title: { text: 'MAE difference L − R (Gy)' } }),
    shapes,
    annotations: [
      panelTitle('(A) Femur MAE per case', dA),
      panelTitle('(B) L − R difference', dB),
      {
        xref: 'x2 domain',
        yref: 'y2 domain',
        x: 0.02,
        y: 0.98,
        xanchor: 'left',
        yanchor: 'top',
        showarrow: false,
        text: `Femur_L worse: ${worse}/${defined.length}<br>mean L − R: ${Number.isFinite(mean) ? mean.toFixed(2) : 'n/a'} Gy (dashed)`,
        bgcolor: 'rgba(255,255,255,0.9)',
        bordercolor: '#999',
        borderwidth: 1,
        font: { size: 11 },
      },
    ],
    legend: { x: dA[1] - 0.01, xanchor: 'right', y: 1 },
  });
  return { name: 'fig8_femur_asymmetry', data, layout, width, height };
}
