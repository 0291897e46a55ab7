/**
 * Figures 2 and 3 (spec 9.2): dose colourwash over CT (prediction vs ground truth) and the dose
 * difference map, in axial / coronal / sagittal views through the PTV70 centroid, with physical
 * aspect ratio and labelled radiological orientation (see slices.ts).
 */
import type { Shape3 } from '../data/case';
import {
  axisKey,
  axisRef,
  inches,
  panelDomains,
  panelTitle,
  round,
  type FigureSpec,
  type Layout,
  type Trace,
} from './figure';
import {
  extractSlice,
  indexForView,
  maskCentroid,
  sliceRows,
  VIEWS,
  type Slice2D,
  type ViewName,
  type ZDirection,
} from './slices';
import { axisStyle, baseLayout, CT_COLORSCALE, CT_WINDOW, DIFF_COLORSCALE, DOSE_COLORSCALE } from './style';

export interface DoseViewInput {
  caseId: string;
  shape: Shape3;
  spacingMm: Shape3;
  /** CT in HU */
  ct: ArrayLike<number>;
  /** ground-truth and predicted dose in Gy */
  gt: ArrayLike<number>;
  pred: ArrayLike<number>;
  rxGy: number;
  /** PTV70 (primary target) mask: its centroid picks the slices */
  ptvMask?: ArrayLike<number>;
  zDirection?: ZDirection;
}

const VIEW_TITLE: Record<ViewName, string> = { axial: 'Axial', coronal: 'Coronal', sagittal: 'Sagittal' };

function ctTrace(s: Slice2D, axis: number): Trace {
  return {
    type: 'heatmap',
    name: 'CT',
    x: s.xMm,
    y: s.yMm,
    z: sliceRows(s, () => true, 0),
    coloraxis: 'coloraxis2',
    xaxis: axisRef('x', axis),
    yaxis: axisRef('y', axis),
    hoverinfo: 'skip',
  };
}

/** the panel grid shared by both figures: rows x 3 views, equal-aspect axes in mm */
function gridLayout(
  rows: number,
  slicesByRow: Slice2D[][],
  titles: string[],
): { axes: Layout; annotations: Array<Record<string, unknown>> } {
  const cols = panelDomains(3, 0.07);
  const rowGap = 0.1;
  const rowH = (0.92 - rowGap * (rows - 1)) / rows;
  const axes: Layout = {};
  const annotations: Array<Record<string, unknown>> = [];
  for (let r = 0; r < rows; r++) {
    const top = 0.92 - r * (rowH + rowGap);
    const yDom: [number, number] = [top - rowH, top];
    for (let c = 0; c < 3; c++) {
      const i = r * 3 + c + 1;
      const s = slicesByRow[r][c];
      axes[axisKey('x', i)] = axisStyle({
        domain: cols[c],
        anchor: axisRef('y', i),
        showgrid: false,
        constrain: 'domain',
        title: { text: s.xLabel, font: { size: 11 } },
        tickfont: { size: 9 },
      });
      axes[axisKey('y', i)] = axisStyle({
        domain: yDom,
        anchor: axisRef('x', i),
        showgrid: false,
        scaleanchor: axisRef('x', i),
        scaleratio: 1,
        constrain: 'domain',
        autorange: s.yReversed ? 'reversed' : true,
        title: { text: s.yLabel, font: { size: 11 } },
        tickfont: { size: 9 },
      });
      annotations.push(panelTitle(`${titles[r]} — ${VIEW_TITLE[s.view]} (slice ${s.index})`, cols[c], top + 0.005));
    }
  }
  return { axes, annotations };
}

function centreOf(input: DoseViewInput): [number, number, number] {
  return maskCentroid(input.ptvMask, input.shape);
}

/** Figure 2: dose (Gy) over CT, masked below `thresholdGy` (default 5 Gy), scale 0 .. 1.1·Rx. */
export function doseColorwashFigure(
  input: DoseViewInput,
  opts: { thresholdGy?: number; opacity?: number } = {},
): FigureSpec {
  const threshold = opts.thresholdGy ?? 5;
  const centre = centreOf(input);
  const zDir = input.zDirection ?? 'inferior-to-superior';
  const rows: Array<{ title: string; dose: ArrayLike<number> }> = [
    { title: 'Predicted', dose: input.pred },
    { title: 'Ground truth', dose: input.gt },
  ];
  const data: Trace[] = [];
  const slicesByRow: Slice2D[][] = [];
  rows.forEach((row, r) => {
    const rowSlices: Slice2D[] = [];
    VIEWS.forEach((view, c) => {
      const axis = r * 3 + c + 1;
      const idx = indexForView(view, centre);
      const ct = extractSlice(input.ct, input.shape, input.spacingMm, view, idx, zDir);
      const dose = extractSlice(row.dose, input.shape, input.spacingMm, view, idx, zDir);
      rowSlices.push(dose);
      data.push(ctTrace(ct, axis));
      data.push({
        type: 'heatmap',
        name: `${row.title} dose`,
        x: dose.xMm,
        y: dose.yMm,
        z: sliceRows(dose, (v) => v >= threshold, 1),
        coloraxis: 'coloraxis',
        opacity: opts.opacity ?? 0.6,
        xaxis: axisRef('x', axis),
        yaxis: axisRef('y', axis),
        hovertemplate: '%{z:.1f} Gy<extra></extra>',
      });
    });
    slicesByRow.push(rowSlices);
  });
  const { axes, annotations } = gridLayout(
    2,
    slicesByRow,
    rows.map((r) => r.title),
  );
  const width = inches(16),
    height = inches(10);
  const layout = baseLayout(
    `Dose colourwash: ${input.caseId} (through PTV70 centroid; dose ≥ ${threshold} Gy)`,
    width,
    height,
    {
      ...axes,
      annotations,
      coloraxis: {
        colorscale: DOSE_COLORSCALE,
        cmin: 0,
        cmax: round(1.1 * input.rxGy, 1),
        colorbar: { title: { text: 'Dose (Gy)', side: 'right' }, len: 0.8, thickness: 18 },
      },
      coloraxis2: { colorscale: CT_COLORSCALE, cmin: CT_WINDOW[0], cmax: CT_WINDOW[1], showscale: false },
      margin: { l: 60, r: 40, t: 80, b: 50 },
    },
  );
  return { name: 'fig2_dose_colorwash', data, layout, width, height };
}

/**
 * Symmetric colour limit of a difference map: min(P99 of |diff|, capGy), as the reference
 * (spec 9.2 fig 3), over the voxels where either dose reaches `thresholdGy`.
 */
export function differenceLimit(
  pred: ArrayLike<number>,
  gt: ArrayLike<number>,
  thresholdGy: number,
  capGy = 30,
): number {
  const abs: number[] = [];
  for (let i = 0; i < gt.length; i++)
    if (gt[i] >= thresholdGy || pred[i] >= thresholdGy) abs.push(Math.abs(pred[i] - gt[i]));
  if (abs.length === 0) return 1;
  abs.sort((a, b) => a - b);
  const p99 = abs[Math.min(abs.length - 1, Math.floor(0.99 * (abs.length - 1)))];
  return Math.max(0.5, Math.min(p99, capGy));
}

/** Figure 3: prediction − ground truth (Gy) over CT, diverging scale centred at 0. */
export function doseDifferenceFigure(
  input: DoseViewInput,
  opts: { thresholdGy?: number; capGy?: number; opacity?: number } = {},
): FigureSpec {
  const threshold = opts.thresholdGy ?? 5;
  const centre = centreOf(input);
  const zDir = input.zDirection ?? 'inferior-to-superior';
  const n = input.gt.length;
  const diff = new Float32Array(n);
  const shown = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    diff[i] = input.pred[i] - input.gt[i];
    shown[i] = input.gt[i] >= threshold || input.pred[i] >= threshold ? 1 : 0;
  }
  const lim = round(differenceLimit(input.pred, input.gt, threshold, opts.capGy ?? 30), 2);
  const data: Trace[] = [];
  const slices: Slice2D[] = [];
  VIEWS.forEach((view, c) => {
    const axis = c + 1;
    const idx = indexForView(view, centre);
    const ct = extractSlice(input.ct, input.shape, input.spacingMm, view, idx, zDir);
    const d = extractSlice(diff, input.shape, input.spacingMm, view, idx, zDir);
    const m = extractSlice(shown, input.shape, input.spacingMm, view, idx, zDir);
    for (let k = 0; k < d.values.length; k++) if (!m.values[k]) d.values[k] = NaN;
    slices.push(d);
    data.push(ctTrace(ct, axis));
    data.push({
      type: 'heatmap',
      name: 'Pred − GT',
      x: d.xMm,
      y: d.yMm,
      z: sliceRows(d, () => true, 2),
      coloraxis: 'coloraxis',
      opacity: opts.opacity ?? 0.7,
      xaxis: axisRef('x', axis),
      yaxis: axisRef('y', axis),
      hovertemplate: '%{z:.2f} Gy<extra></extra>',
    });
  });
  const { axes, annotations } = gridLayout(1, [slices], ['Pred − GT']);
  const width = inches(16),
    height = inches(5.6);
  const layout = baseLayout(`Dose difference: ${input.caseId} (where either dose ≥ ${threshold} Gy)`, width, height, {
    ...axes,
    annotations,
    coloraxis: {
      colorscale: DIFF_COLORSCALE,
      cmin: -lim,
      cmax: lim,
      cmid: 0,
      colorbar: { title: { text: 'Dose difference (Gy): Pred − GT', side: 'right' }, len: 0.9, thickness: 18 },
    },
    coloraxis2: { colorscale: CT_COLORSCALE, cmin: CT_WINDOW[0], cmax: CT_WINDOW[1], showscale: false },
    margin: { l: 60, r: 40, t: 80, b: 50 },
  });
  return { name: 'fig3_dose_difference', data, layout, width, height };
}
