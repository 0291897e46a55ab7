/** The Markdown rendering of a study report (numbers rounded for reading only; report.json has them in full). */
import type { ComparisonResult } from './analysis';
import type { StudyReport } from './report_types';

function f(v: number | null | undefined, d = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v !== 0 && Math.abs(v) < 10 ** -d) return v.toExponential(2);
  return v.toFixed(d);
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  const esc = (c: string | number) => String(c).replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function comparisonRows(list: ComparisonResult[]): Array<Array<string | number>> {
  return list.map((c) => [
    c.condition,
    c.against,
    `\`${c.metric}\`${c.primary ? ' (primary)' : ''}`,
    c.n_pairs,
    f(c.mean_diff),
    `[${f(c.mean_diff_ci_low)}, ${f(c.mean_diff_ci_high)}]`,
    f(c.cohens_d),
    c.statistic === null ? '—' : f(c.statistic, 1),
    f(c.p_value, 4),
    f(c.p_holm, 4),
    c.significant === null ? '—' : c.significant ? 'yes' : 'no',
    c.favours ?? '—',
    c.refused ?? c.method ?? '',
  ]);
}

const CMP_HEAD = [
  'Condition',
  'Against',
  'Metric',
  'Pairs',
  'Mean diff (cond − against)',
  '95% CI',
  'Cohen d',
  'W',
  'p',
  'p (Holm)',
  'Significant',
  'Favours',
  'Method / note',
];

/** the study report as Markdown tables (numbers rounded for reading; report.json keeps them unrounded) */
export function renderMarkdown(r: StudyReport): string {
  const out: string[] = [];
  out.push(`# Study report: ${r.study.title}`);
  if (r.study.description) out.push('', r.study.description);
  out.push(
    '',
    `Study file \`${r.study.file}\` (sha256 ${r.study.sha256.slice(0, 12)}…), generated ${r.generated_at}.`,
    `Data \`${r.study.data_dir}\`, locked split \`${r.study.split_file}\`: ${r.study.n_train} train / ${r.study.n_val} val / ${r.study.n_test} test cases, shared by every run.`,
    `Reference condition **${r.plan.reference}**; seeds ${r.plan.seeds.join(', ')}; alpha ${r.plan.alpha}; at least ${r.plan.min_pairs} pairs per test.`,
    '',
    `Statistics: per case, the mean across seeds; per condition, mean ± SD (ddof 1) of those per-case means with a ${r.plan.bootstrap.ci}% percentile bootstrap CI (${r.plan.bootstrap.resamples} resamples, seed ${r.plan.bootstrap.seed}). Comparisons: ${r.plan.wilcoxon}; ${r.plan.holm}. Effect sizes are condition minus comparator.`,
  );
  out.push('', '## Decisions (pre-registered rules)', '');
  if (!r.decisions.length) out.push('*The plan has no decision rules.*');
  for (const d of r.decisions) out.push(`- **${d.id}** (${d.outcome}): ${d.statement}`);
  if (r.seed_extension) out.push(`- **5-seed extension rule**: ${r.seed_extension.statement}`);

  out.push('', '## Runs', '');
  out.push(
    table(
      ['Run', 'State', 'Cases', 'Stopped by', 'Epochs'],
      r.runs.map((x) => [x.id, x.state, x.n_cases ?? '—', x.stopped_by ?? '—', x.epochs_completed ?? '—']),
    ),
  );
  if (r.missing_runs.length) out.push('', `Missing from the analysis: ${r.missing_runs.join(', ')}.`);

  out.push('', '## Per-condition summary (mean ± SD of per-case means across seeds)', '');
  const rows: Array<Array<string | number>> = [];
  for (const [cond, byMetric] of Object.entries(r.aggregates))
    for (const m of r.plan.metrics) {
      const a = byMetric[m.id];
      if (!a) continue;
      rows.push([
        cond,
        `\`${m.id}\`${m.primary ? ' (primary)' : ''}`,
        `${f(a.mean)} ± ${f(a.sd)}`,
        `[${f(a.ci_low)}, ${f(a.ci_high)}]`,
        a.n_cases,
        Object.entries(a.per_seed_means)
          .map(([seed, v]) => `${seed}: ${f(v)}`)
          .join(', '),
      ]);
    }
  out.push(table(['Condition', 'Metric', 'Mean ± SD', '95% CI', 'Cases', 'Per-seed means'], rows));

  const families = [...new Set(r.comparisons.map((c) => c.family))];
  for (const fam of families) {
    out.push('', `## Family \`${fam}\` (Holm within the family, per metric)`, '');
    out.push(table(CMP_HEAD, comparisonRows(r.comparisons.filter((c) => c.family === fam))));
  }
  if (r.supplementary.length) {
    out.push('', '## Supplementary comparisons (needed by decision rules, not in a family of the plan)', '');
    out.push(table(CMP_HEAD, comparisonRows(r.supplementary)));
  }
  out.push('', '## Deviations from the plan', '');
  out.push(r.deviations.length ? r.deviations.map((d) => `- ${d}`).join('\n') : '- none');
  out.push('');
  return out.join('\n');
}
