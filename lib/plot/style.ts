/**
 * House style (spec 9.1): serif fonts, Wong (2011) colour-blind-safe palette, light grid, no
 * top/right spines. Every categorical series also differs by dash, marker or bar pattern so the
 * figures stay readable in grey-scale print.
 */
import type { Layout } from './figure';

/** The Wong (2011) colour-blind-safe palette. */
export const WONG = {
  blue: '#0072B2',
  orange: '#E69F00',
  green: '#009E73',
  red: '#D55E00',
  purple: '#CC79A7',
  cyan: '#56B4E9',
  yellow: '#F0E442',
  black: '#000000',
} as const;

/** Colours of categorical series, in order. */
export const COLOR_ORDER: readonly string[] = [WONG.blue, WONG.orange, WONG.green, WONG.red, WONG.purple, WONG.cyan];
/** Line dashes of categorical series, in order (grey-scale readable). */
export const DASH_ORDER: readonly string[] = ['solid', 'dash', 'dot', 'dashdot', 'longdash', 'longdashdot'];
/** Markers of categorical series, in order. */
export const MARKER_ORDER: readonly string[] = [
  'circle',
  'square',
  'diamond',
  'triangle-up',
  'triangle-down',
  'x',
  'cross',
  'star',
];
/** Bar fill patterns of categorical series, in order. */
export const PATTERN_ORDER: readonly string[] = ['', '/', '.', 'x', '\\', '+'];

/** Colour of a passed check. */
export const PASS_COLOR = WONG.green;
/** Colour of a failed check. */
export const FAIL_COLOR = WONG.red;
/** Colour of a check that was not evaluated. */
export const NOT_EVALUATED_COLOR = '#CCCCCC';

export interface StructureStyle {
  color: string;
  marker: string;
}

/** Structure colours of the reference DVH figure (spec 9.2 fig 4), each with its own marker too. */
export const STRUCTURE_STYLE: Record<string, StructureStyle> = {
  PTV70: { color: WONG.red, marker: 'circle' },
  PTV56: { color: WONG.yellow, marker: 'star' },
  'PTV50.4': { color: WONG.black, marker: 'cross' },
  Prostate: { color: '#8B6914', marker: 'hexagon' },
  Rectum: { color: WONG.orange, marker: 'square' },
  Bladder: { color: WONG.blue, marker: 'diamond' },
  Femur_L: { color: WONG.green, marker: 'triangle-up' },
  Femur_R: { color: WONG.cyan, marker: 'triangle-down' },
  Bowel: { color: WONG.purple, marker: 'x' },
};

/** Colour and marker of a structure: fixed for the known prostate structures, else by `index` in the series order. */
export function structureStyle(name: string, index = 0): StructureStyle {
  return (
    STRUCTURE_STYLE[name] ?? {
      color: COLOR_ORDER[index % COLOR_ORDER.length],
      marker: MARKER_ORDER[index % MARKER_ORDER.length],
    }
  );
}

/** Serif font stack of every figure. */
export const FONT_FAMILY = 'Liberation Serif, DejaVu Serif, Times New Roman, serif';

/** dose colour scale: viridis is perceptually uniform, colour-blind safe and monotone in grey */
export const DOSE_COLORSCALE = 'Viridis';
/** diverging scale for differences, red = prediction higher (RdBu reversed, as RdBu_r in the reference) */
export const DIFF_COLORSCALE: Array<[number, string]> = [
  [0, '#053061'],
  [0.1, '#2166ac'],
  [0.2, '#4393c3'],
  [0.3, '#92c5de'],
  [0.4, '#d1e5f0'],
  [0.5, '#f7f7f7'],
  [0.6, '#fddbc7'],
  [0.7, '#f4a582'],
  [0.8, '#d6604d'],
  [0.9, '#b2182b'],
  [1, '#67001f'],
];
/** Grey-scale colour scale of CT slices. */
export const CT_COLORSCALE: Array<[number, string]> = [
  [0, '#000000'],
  [1, '#ffffff'],
];
/** soft-tissue/bone window for pelvic CT (HU) */
export const CT_WINDOW: [number, number] = [-200, 300];

/** axis defaults: grid alpha 0.3, no top/right spine (spec 9.1) */
export function axisStyle(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    showgrid: true,
    gridcolor: 'rgba(0,0,0,0.15)',
    zeroline: false,
    showline: true,
    linecolor: '#000',
    linewidth: 1,
    mirror: false,
    ticks: 'outside',
    tickfont: { size: 11 },
    title: { font: { size: 14 } },
    ...extra,
  };
}

/** The house layout of a figure `width` × `height` px: serif font, light grid, no top/right spines, `extra` merged last. */
export function baseLayout(title: string, width: number, height: number, extra: Layout = {}): Layout {
  return {
    title: { text: title, font: { size: 15 }, x: 0.5, xanchor: 'center' },
    font: { family: FONT_FAMILY, size: 12, color: '#000' },
    paper_bgcolor: '#fff',
    plot_bgcolor: '#fff',
    width,
    height,
    margin: { l: 70, r: 30, t: 70, b: 60 },
    legend: { font: { size: 11 }, bgcolor: 'rgba(255,255,255,0.8)' },
    ...extra,
  };
}
