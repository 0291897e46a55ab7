/**
 * The QA contact sheet (issue 14 item 4): several cases per page, each an axial CT slice through
 * the PTV70 centroid with the dose colourwash (>= 5 Gy, 0 .. 1.1 x Rx) and the contours of that
 * slice, beside its ROI table (channel -> ROI names, missing channels, unmatched ROIs, Rx and
 * its source). Figure specs of lib/plot (Plotly), one per page.
 */
import { axisKey, axisRef, inches, round, type FigureSpec, type Layout, type Trace } from '../../plot/figure';
import { CT_COLORSCALE, CT_WINDOW, DOSE_COLORSCALE, axisStyle, baseLayout, structureStyle } from '../../plot/style';
import type { CaseReview } from './review_case';

export interface ContactSheetOptions {
  /** cases per page (default 4: 2 x 2) */
  casesPerPage?: number;
  /** dose colourwash threshold (Gy, default 5) */
  thresholdGy?: number;
  title?: string;
}

/** rows of the ROI table of a case: [channel, ROI names] */
export function roiTableRows(r: CaseReview): Array<[string, string]> {
  const m = r.manifest;
  const rows: Array<[string, string]> = [];
  for (const [ch, rois] of Object.entries(m.matched)) rows.push([ch, rois.join(', ')]);
  for (const ch of m.missing) rows.push([ch, '— missing —']);
  for (const roi of m.unmatched) rows.push(['(unmatched)', roi]);
  return rows;
}

function cellDomains(
  i: number,
  perPage: number,
): {
  img: { x: [number, number]; y: [number, number] };
  table: { x: [number, number]; y: [number, number] };
  top: number;
  left: number;
  width: number;
} {
  const cols = perPage <= 1 ? 1 : 2;
  const rows = Math.ceil(perPage / cols);
  const r = Math.floor(i / cols);
  const c = i % cols;
  const w = 1 / cols;
  const h = 0.94 / rows;
  const left = c * w;
  const top = 0.94 - r * h;
  const bottom = top - h;
  return {
    img: { x: [left + 0.01, left + w * 0.5], y: [bottom + 0.04, top - 0.05] },
    table: { x: [left + w * 0.53, left + w - 0.01], y: [bottom + 0.02, top - 0.05] },
    top,
    left,
    width: w,
  };
}

/** one figure per page of `perPage` cases */
export function contactSheetPages(reviews: CaseReview[], opts: ContactSheetOptions = {}): FigureSpec[] {
  const perPage = opts.casesPerPage ?? 4;
  const threshold = opts.thresholdGy ?? 5;
  const pages: FigureSpec[] = [];
  const nPages = Math.max(1, Math.ceil(reviews.length / perPage));
  for (let p = 0; p < nPages; p++) {
    const data: Trace[] = [];
    const layout: Layout = {};
    const annotations: Array<Record<string, unknown>> = [];
    const cases = reviews.slice(p * perPage, (p + 1) * perPage);
    cases.forEach((r, i) => {
      const ax = i + 1;
      const d = cellDomains(i, perPage);
      const m = r.manifest;
      const rx = m.prescription?.primary_dose ?? 70;
      const head =
        m.status === 'error'
          ? `<b>${m.case_id}</b> — ERROR`
          : `<b>${m.case_id}</b> — Rx ${round(rx, 2)} Gy (${m.prescription?.source ?? '?'}), ${m.review_slice?.through ?? ''} z = ${round(m.review_slice?.z_mm ?? 0, 1)} mm`;
      annotations.push({
        text: head,
        xref: 'paper',
        yref: 'paper',
        x: d.left + 0.01,
        y: d.top - 0.005,
        xanchor: 'left',
        yanchor: 'top',
        showarrow: false,
        font: { size: 12 },
      });
      if (m.warnings.length || m.error) {
        const text = (m.error ? [m.error] : m.warnings)
          .slice(0, 3)
          .map((w) => (w.length > 110 ? `${w.slice(0, 107)}...` : w));
        annotations.push({
          text: text.join('<br>'),
          xref: 'paper',
          yref: 'paper',
          x: d.left + 0.01,
          y: d.img.y[0] - 0.005,
          xanchor: 'left',
          yanchor: 'top',
          showarrow: false,
          font: { size: 8, color: m.error ? '#D55E00' : '#555' },
          align: 'left',
        });
      }
      layout[axisKey('x', ax)] = axisStyle({
        domain: d.img.x,
        anchor: axisRef('y', ax),
        showgrid: false,
        constrain: 'domain',
        tickfont: { size: 8 },
        title: { text: 'x (mm)', font: { size: 9 } },
      });
      layout[axisKey('y', ax)] = axisStyle({
        domain: d.img.y,
        anchor: axisRef('x', ax),
        showgrid: false,
        scaleanchor: axisRef('x', ax),
        scaleratio: 1,
        constrain: 'domain',
        autorange: 'reversed',
        tickfont: { size: 8 },
        title: { text: 'y (mm)', font: { size: 9 } },
      });
      const s = r.slice;
      if (s) {
        data.push({
          type: 'heatmap',
          x: s.xMm,
          y: s.yMm,
          z: s.hu,
          coloraxis: 'coloraxis2',
          xaxis: axisRef('x', ax),
          yaxis: axisRef('y', ax),
          hoverinfo: 'skip',
          showlegend: false,
        });
        if (s.doseGy) {
          const z = s.doseGy.map((row) => row.map((v) => (v !== null && v >= threshold ? round(v, 2) : null)));
          data.push({
            type: 'heatmap',
            x: s.xMm,
            y: s.yMm,
            z,
            coloraxis: 'coloraxis',
            opacity: 0.5,
            xaxis: axisRef('x', ax),
            yaxis: axisRef('y', ax),
            hovertemplate: '%{z:.1f} Gy<extra></extra>',
            showlegend: false,
          });
        }
        s.contours.forEach((c, k) => {
          const st = structureStyle(c.channel ?? '', k);
          for (const poly of c.polygons) {
            data.push({
              type: 'scatter',
              mode: 'lines',
              x: poly.x.map((v) => round(v, 2)),
              y: poly.y.map((v) => round(v, 2)),
              line: {
                color: c.channel ? st.color : '#aaaaaa',
                width: c.channel ? 1.5 : 0.8,
                dash: c.channel ? 'solid' : 'dot',
              },
              name: c.roi,
              xaxis: axisRef('x', ax),
              yaxis: axisRef('y', ax),
              showlegend: false,
              hoverinfo: 'name',
            });
          }
        });
      }
      const rows = roiTableRows(r);
      data.push({
        type: 'table',
        domain: { x: d.table.x, y: d.table.y },
        columnwidth: [1, 2],
        header: {
          values: ['<b>channel</b>', '<b>ROI(s)</b>'],
          align: 'left',
          font: { size: 9 },
          fill: { color: '#eeeeee' },
          height: 18,
        },
        cells: {
          values: [rows.map((x) => x[0]), rows.map((x) => x[1])],
          align: 'left',
          font: {
            size: 8,
            color: [
              rows.map((x) =>
                x[1].startsWith('— missing') ? '#D55E00' : x[0] === '(unmatched)' ? '#777777' : '#000000',
              ),
            ],
          },
          height: 15,
        },
      });
    });
    const width = inches(11);
    const height = inches(8.5);
    pages.push({
      name: `qa_contact_sheet_p${p + 1}`,
      data,
      layout: baseLayout(`${opts.title ?? 'DICOM-RT QA review'} — page ${p + 1} / ${nPages}`, width, height, {
        ...layout,
        annotations,
        coloraxis: {
          colorscale: DOSE_COLORSCALE,
          cmin: 0,
          cmax: 77,
          colorbar: { title: { text: 'Dose (Gy)', side: 'right' }, len: 0.6, thickness: 12 },
        },
        coloraxis2: { colorscale: CT_COLORSCALE, cmin: CT_WINDOW[0], cmax: CT_WINDOW[1], showscale: false },
        margin: { l: 30, r: 30, t: 50, b: 20 },
      }),
      width,
      height,
    });
  }
  return pages;
}
