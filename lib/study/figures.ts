/**
 * Figures of a study report (lib/plot figure specs, shown and exported through lib/notebook and
 * lib/plot like every other figure):
 *  - per-condition box plots of the per-case means across seeds, with each seed's per-case values
 *    as points beside the box (one marker per seed);
 *  - a forest plot of the paired differences (condition minus comparator) with their bootstrap CIs,
 *    one row per comparison of the plan, filled when Holm-significant within its family.
 */
import { axisStyle, baseLayout, COLOR_ORDER, MARKER_ORDER, WONG } from '../plot/style';
import { inches, type FigureSpec, type Trace } from '../plot/figure';
import type { StudyReport } from './report_types';

function label(r: StudyReport, metric: string): string {
  return r.plan.metrics.find((m) => m.id === metric)?.label ?? metric;
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/** box plot of per-case means per condition, seeds as points; `metric` is a metric id of the report */
export function studyBoxFigure(r: StudyReport, metric: string): FigureSpec {
  const conds = r.plan.conditions.map((c) => c.name).filter((c) => r.aggregates[c]?.[metric]);
  const data: Trace[] = [];
  conds.forEach((c, i) => {
    const a = r.aggregates[c][metric];
    const means = Object.values(a.per_case).map((x) => x.mean);
    data.push({
      type: 'box',
      name: c,
      x: means.map(() => i),
      y: means,
      boxpoints: false,
      width: 0.35,
      marker: { color: '#555' },
      line: { color: '#333', width: 1.5 },
      fillcolor: 'rgba(200,200,200,0.35)',
      showlegend: false,
      hovertemplate: `${c}: %{y:.3f}<extra>per-case mean</extra>`,
    });
  });
  r.plan.seeds.forEach((seed, k) => {
    const xs: number[] = [];
    const ys: number[] = [];
    const text: string[] = [];
    conds.forEach((c, i) => {
      const vals = r.aggregates[c][metric].per_seed_case[String(seed)] ?? {};
      for (const [caseId, v] of Object.entries(vals)) {
        xs.push(i + 0.28 + 0.1 * (k - (r.plan.seeds.length - 1) / 2));
        ys.push(v);
        text.push(caseId);
      }
    });
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `seed ${seed}`,
      x: xs,
      y: ys,
      text,
      marker: {
        color: COLOR_ORDER[k % COLOR_ORDER.length],
        symbol: MARKER_ORDER[k % MARKER_ORDER.length],
        size: 6,
        opacity: 0.8,
      },
      hovertemplate: `seed ${seed} %{text}: %{y:.3f}<extra></extra>`,
    });
  });
  const width = Math.max(inches(6), inches(1.1 * conds.length + 2.5));
  return {
    name: `study_box_${safe(metric)}`,
    data,
    layout: baseLayout(`${label(r, metric)}: per-case means across seeds`, width, inches(4.5), {
      xaxis: axisStyle({
        tickvals: conds.map((_, i) => i),
        ticktext: conds,
        range: [-0.6, conds.length - 0.2],
        showgrid: false,
      }),
      yaxis: axisStyle({ title: { text: label(r, metric) } }),
    }),
    width,
    height: inches(4.5),
  };
}

/** forest plot of the paired mean differences (condition − comparator) with CIs, for one metric */
export function studyForestFigure(r: StudyReport, metric: string): FigureSpec {
  const rows = r.comparisons.filter((c) => c.metric === metric && c.mean_diff !== null);
  const names = rows.map((c) => `${c.family}: ${c.condition} − ${c.against}`);
  const y = names.map((_, i) => rows.length - 1 - i);
  const sig = rows.map((c) => c.significant === true);
  const data: Trace[] = [
    {
      type: 'scatter',
      mode: 'markers',
      name: 'mean difference (95% CI)',
      x: rows.map((c) => c.mean_diff),
      y,
      error_x: {
        type: 'data',
        symmetric: false,
        array: rows.map((c) => (c.mean_diff_ci_high ?? c.mean_diff!) - c.mean_diff!),
        arrayminus: rows.map((c) => c.mean_diff! - (c.mean_diff_ci_low ?? c.mean_diff!)),
        color: '#333',
        thickness: 1.5,
        width: 4,
      },
      marker: {
        size: 9,
        symbol: 'square',
        color: sig.map((s) => (s ? WONG.red : '#fff')),
        line: { color: '#000', width: 1.2 },
      },
      text: rows.map(
        (c) =>
          `p=${c.p_value === null ? '—' : c.p_value.toPrecision(3)}, Holm p=${c.p_holm === null ? '—' : c.p_holm.toPrecision(3)}, d=${c.cohens_d === null ? '—' : c.cohens_d.toFixed(2)}, n=${c.n_pairs}`,
      ),
      hovertemplate: '%{text}<extra></extra>',
      showlegend: false,
    },
  ];
  const height = Math.max(inches(2.5), inches(0.45 * rows.length + 1.6));
  const better = r.plan.metrics.find((m) => m.id === metric)?.better;
  return {
    name: `study_forest_${safe(metric)}`,
    data,
    layout: baseLayout(`${label(r, metric)}: paired differences (filled: Holm-significant)`, inches(8), height, {
      margin: { l: 230, r: 30, t: 70, b: 60 },
      xaxis: axisStyle({
        title: { text: `mean difference, condition − comparator${better ? ` (${better} is better)` : ''}` },
        zeroline: true,
        zerolinecolor: '#000',
        zerolinewidth: 1.5,
      }),
      yaxis: axisStyle({ tickvals: y, ticktext: names, showgrid: false }),
    }),
    width: inches(8),
    height,
  };
}
