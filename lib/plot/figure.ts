/**
 * The figure spec every lib/plot function returns: plain Plotly data + layout (JSON-serialisable),
 * plus the size it is exported at. Kept deliberately loose (Plotly's own schema types are very
 * large and slow down the notebook kernel's type checker); the tests check the structure instead.
 */
export type Trace = { type: string } & Record<string, unknown>;
export type Layout = Record<string, unknown>;

export interface FigureSpec {
  /** file stem used by export, e.g. 'fig1_training_curves' */
  name: string;
  data: Trace[];
  layout: Layout;
  config?: Record<string, unknown>;
  /** export size in CSS pixels (96 px = 1 inch) */
  width: number;
  height: number;
}

/** inches -> CSS px (the reference sizes figures in inches; 96 CSS px per inch) */
export function inches(n: number): number {
  return Math.round(n * 96);
}

/** Plotly axis id suffixes: 1 -> 'x'/'xaxis', 2 -> 'x2'/'xaxis2' */
export function axisRef(kind: 'x' | 'y', i: number): string {
  return i === 1 ? kind : `${kind}${i}`;
}
/** The layout key of axis `i` (1-based): `xaxis`, `xaxis2`, … */
export function axisKey(kind: 'x' | 'y', i: number): string {
  return i === 1 ? `${kind}axis` : `${kind}axis${i}`;
}

/** Equal-width panel domains across [0, 1] with a gap between panels. */
export function panelDomains(n: number, gap = 0.06): Array<[number, number]> {
  const w = (1 - gap * (n - 1)) / n;
  return Array.from({ length: n }, (_, i) => [i * (w + gap), i * (w + gap) + w] as [number, number]);
}

/** A panel label such as "(A) Title" placed above a panel's x domain. */
export function panelTitle(text: string, domain: [number, number], y = 1.0): Record<string, unknown> {
  return {
    text: `<b>${text}</b>`,
    xref: 'paper',
    yref: 'paper',
    x: (domain[0] + domain[1]) / 2,
    y,
    xanchor: 'center',
    yanchor: 'bottom',
    showarrow: false,
    font: { size: 14 },
  };
}

/** Round for compact JSON (figure specs embed every value). */
export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
