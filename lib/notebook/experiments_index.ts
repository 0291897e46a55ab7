/**
 * EXPERIMENTS_INDEX.md, regenerated from the run folders (spec 9.5 layout): one row per run, plus a
 * bold aggregate row per experiment with several seeds. Nothing is typed in by hand: every number
 * comes from runs/<run>/ and the run's evaluation JSON. Every SD is the sample SD (ddof 1, spec
 * 8.1), as in the notebooks. The index is written to figures/EXPERIMENTS_INDEX.md (git-ignored) by
 * the notebook runner, so running notebooks never modifies the tracked tree; committing it is a
 * deliberate `update-index.ts --out notebooks/EXPERIMENTS_INDEX.md`.
 *
 * A run is runs/<run>/ with training_config.json. Its experiment id is <run> without a trailing
 * `_seed<N>`. Its evaluation is the first of predictions/<run>/, predictions/<run>_test/ and
 * runs/<run>/ holding `*evaluation_results.json`. Its notebook is notebooks/*_<experiment>.ipynb
 * (executed copy under figures/<experiment>/ when present).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { headlineSeries, readEvaluation, type EvaluationResults } from './eval_results';

export interface RunRow {
  run: string;
  experiment: string;
  seed: number | null;
  date: string | null;
  gitHash: string | null;
  model: string | null;
  notebook: string | null;
  evaluation: string | null;
  nCases: number;
  mae: Stat | null;
  globalGamma: Stat | null;
  ptvGamma: Stat | null;
  d95Gap: Stat | null;
  /** cases passing every checked clinical constraint / cases with constraints checked */
  quantec: { pass: number; n: number } | null;
  /** data folder and case count recorded in training_config.json */
  data: string | null;
  complete: boolean;
}

export interface Stat {
  mean: number;
  sd: number;
  n: number;
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function get(o: unknown, dotPath: string): unknown {
  let cur = o;
  for (const k of dotPath.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function firstString(o: unknown, paths: string[]): string | null {
  for (const p of paths) {
    const v = get(o, p);
    if (typeof v === 'string' && v.length) return v;
  }
  return null;
}

/**
 * mean ± SD of the finite values, SD = sample SD (ddof 1, spec 8.1; NaN for a single value), the
 * one convention of the notebooks and the index (the reference index used ddof 0, spec 8.3).
 */
export function sampleStat(values: Array<number | null>): Stat | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : NaN;
  return { mean, sd, n: v.length };
}

/** header text of the SD convention, used in every table that shows mean ± SD */
export const SD_NOTE = 'mean ± SD (sample SD, n − 1)';

/** Splits a run name `<experiment>_seed<N>` into experiment and seed (seed null without the suffix). */
export function experimentOf(run: string): { experiment: string; seed: number | null } {
  const m = /^(.*)_seed(\d+)$/.exec(run);
  return m ? { experiment: m[1], seed: Number(m[2]) } : { experiment: run, seed: null };
}

function findEvaluation(runsDir: string, predictionsDir: string, run: string): string | null {
  for (const dir of [
    path.join(predictionsDir, run),
    path.join(predictionsDir, `${run}_test`),
    path.join(runsDir, run),
  ]) {
    if (!fs.existsSync(dir)) continue;
    const f = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('evaluation_results.json'))
      .sort()[0];
    if (f) return path.join(dir, f);
  }
  return null;
}

/** the notebook reporting an experiment: metadata vmat.experiment === experiment, else a file named *_<experiment>.ipynb */
function findNotebook(root: string, experiment: string): string | null {
  const nbDir = path.join(root, 'notebooks');
  if (!fs.existsSync(nbDir)) return null;
  const files = fs
    .readdirSync(nbDir)
    .filter((n) => n.endsWith('.ipynb'))
    .sort();
  for (const n of files) {
    const meta = readJson(path.join(nbDir, n))?.metadata as { vmat?: { experiment?: string } } | undefined;
    if (meta?.vmat?.experiment === experiment) return `notebooks/${n}`;
  }
  const hit = files.find((n) => n.endsWith(`_${experiment}.ipynb`) || n === `${experiment}.ipynb`);
  return hit ? `notebooks/${hit}` : null;
}

export interface CollectOptions {
  /** runs folder (default <root>/runs) */
  runsDir?: string;
  /** predictions folder (default <root>/predictions) */
  predictionsDir?: string;
}

/** one row per run folder with a training_config.json (sorted by name) */
export function collectRuns(root: string, opts: CollectOptions = {}): RunRow[] {
  const runsDir = path.resolve(root, opts.runsDir ?? 'runs');
  const predictionsDir = path.resolve(root, opts.predictionsDir ?? 'predictions');
  if (!fs.existsSync(runsDir)) return [];
  const rows: RunRow[] = [];
  for (const run of fs.readdirSync(runsDir).sort()) {
    const dir = path.join(runsDir, run);
    const cfg = readJson(path.join(dir, 'training_config.json'));
    if (!cfg) continue;
    const summary = readJson(path.join(dir, 'training_summary.json'));
    const { experiment, seed: seedFromName } = experimentOf(run);
    const evalFile = findEvaluation(runsDir, predictionsDir, run);
    let ev: EvaluationResults | null = null;
    try {
      ev = evalFile ? readEvaluation(evalFile) : null;
    } catch {
      ev = null;
    }
    const s = ev ? headlineSeries(ev) : null;
    const seedCfg = get(cfg, 'seed') ?? get(cfg, 'training.seed') ?? get(cfg, 'hparams.seed');
    const ts = firstString(cfg, ['timestamp', 'date', 'created']) ?? firstString(summary, ['timestamp', 'finished']);
    rows.push({
      run,
      experiment,
      seed: typeof seedCfg === 'number' ? seedCfg : seedFromName,
      date: ts ? ts.slice(0, 10) : null,
      gitHash:
        (firstString(cfg, ['git_commit', 'git.commit', 'env.git.commit', 'environment.git.commit']) ?? '').slice(
          0,
          8,
        ) || null,
      model: firstString(cfg, ['model', 'architecture', 'hparams.architecture']),
      notebook: findNotebook(root, experiment),
      evaluation: evalFile ? path.relative(root, evalFile) : null,
      nCases: s ? s.caseIds.length : 0,
      mae: s ? sampleStat(s.mae) : null,
      globalGamma: s ? sampleStat(s.globalGamma) : null,
      ptvGamma: s ? sampleStat(s.ptvGamma) : null,
      d95Gap: s ? sampleStat(s.d95Error) : null,
      quantec: s
        ? {
            pass: s.quantecPass.filter((v) => v === true).length,
            n: s.quantecPass.filter((v) => v !== null).length,
          }
        : null,
      data: dataText(cfg),
      complete: summary !== null && ev !== null,
    });
  }
  return rows;
}

function dataText(cfg: Record<string, unknown>): string | null {
  const dir = firstString(cfg, ['data.data_dir', 'data_dir', 'hparams.data_dir']);
  const n = get(cfg, 'data.n_cases');
  if (!dir) return null;
  return `${path.basename(dir)}${typeof n === 'number' ? `, ${n} cases` : ''}`;
}

/** "mean ± SD" text; a single value has no SD ("mean (n = 1)") */
export function pmText(s: Stat | null, digits = 2, unit = ''): string {
  if (!s) return '—';
  return Number.isFinite(s.sd)
    ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}${unit}`
    : `${s.mean.toFixed(digits)}${unit} (n = ${s.n})`;
}
const pm = pmText;

/** "k/n (p%)" of the QUANTEC all-constraints pass count */
export function quantecText(q: { pass: number; n: number } | null): string {
  return q && q.n ? `${q.pass}/${q.n} (${Math.round((100 * q.pass) / q.n)}%)` : '—';
}

function rowCells(r: RunRow, status: string, linkBase: string): string[] {
  const gamma =
    r.globalGamma || r.ptvGamma ? `${pm(r.globalGamma, 1, '%')} (global), ${pm(r.ptvGamma, 1, '%')} (PTV)` : '—';
  return [
    r.date ?? '—',
    `\`${r.run}\``,
    r.gitHash ? `\`${r.gitHash}\`` : '—',
    r.notebook ? `[${path.basename(r.notebook)}](${path.posix.join(linkBase, r.notebook)})` : '—',
    r.model ?? '—',
    r.data ?? '—',
    pm(r.mae),
    gamma,
    pm(r.d95Gap, 2, ' Gy'),
    quantecText(r.quantec),
    status,
  ];
}

/** aggregate over seeds: mean ± sample SD (ddof 1) of the per-seed means */
function aggregateRow(exp: string, rs: RunRow[]): string[] {
  const over = (k: 'mae' | 'globalGamma' | 'ptvGamma' | 'd95Gap') => sampleStat(rs.map((r) => r[k]?.mean ?? null));
  const q = rs.reduce((a, r) => ({ pass: a.pass + (r.quantec?.pass ?? 0), n: a.n + (r.quantec?.n ?? 0) }), {
    pass: 0,
    n: 0,
  });
  const g = `${pm(over('globalGamma'), 1, '%')} (global), ${pm(over('ptvGamma'), 1, '%')} (PTV)`;
  return [
    '',
    `**${exp} (${rs.length} seeds)**`,
    '',
    '',
    '',
    '',
    `**${pm(over('mae'))}**`,
    `**${g}**`,
    `**${pm(over('d95Gap'), 2, ' Gy')}**`,
    `**${quantecText(q)}**`,
    rs.length >= 3 ? '**Complete**' : '**Preliminary**',
  ];
}

const HEADER =
  '| Date | ID | Git Hash | Notebook | Model | Data | MAE (Gy) | Gamma 3%/3mm | PTV70 D95 Gap | QUANTEC (all pass) | Status |';
const RULE = '|---|---|---|---|---|---|---|---|---|---|---|';
const EMPTY = (text: string) => `| — | ${text} | | | | | | | | | |`;

/** the default index file: figures/EXPERIMENTS_INDEX.md under the project root (git-ignored) */
export function defaultIndexFile(root: string): string {
  return path.join(root, 'figures', 'EXPERIMENTS_INDEX.md');
}

/**
 * The index text. `linkBase` is the project root relative to the index file (for the notebook
 * links; default '..', right for figures/ and notebooks/).
 */
export function renderIndex(rows: RunRow[], opts: { generated?: string; linkBase?: string } = {}): string {
  const linkBase = opts.linkBase ?? '..';
  const done = rows.filter((r) => r.complete);
  const pending = rows.filter((r) => !r.complete);
  const byExp = new Map<string, RunRow[]>();
  for (const r of done) byExp.set(r.experiment, [...(byExp.get(r.experiment) ?? []), r]);
  const lines: string[] = [
    '# Experiments Index',
    '',
    '> **MASTER LIST** of every run in `runs/`. Regenerated into `figures/EXPERIMENTS_INDEX.md` (git-ignored) by',
    '> `bash scripts/notebooks/run.sh` or `node --import tsx scripts/notebooks/update-index.ts`, from the run folders and',
    '> their evaluation JSON; `update-index.ts --out notebooks/EXPERIMENTS_INDEX.md` writes the tracked copy to commit it',
    '> deliberately. Do not edit by hand; edit the notebooks instead.',
    '',
    `*Generated: ${opts.generated ?? new Date().toISOString()}*`,
    '',
    '## Experiments (current — valid metrics)',
    '',
    `MAE, gamma and D95 gap are ${SD_NOTE} over the test cases of a run (the notebooks use the same convention);`,
    "a bold row aggregates an experiment's seeds (mean ± sample SD of the per-seed means). Gap = prediction − ground truth",
    '(negative = under-dose). QUANTEC = cases passing every checked clinical constraint.',
    '',
    HEADER,
    RULE,
  ];
  for (const [exp, rs] of byExp) {
    for (const r of rs)
      lines.push(`| ${rowCells(r, rs.length >= 3 ? 'Complete' : 'Preliminary', linkBase).join(' | ')} |`);
    if (rs.length > 1) lines.push(`| ${aggregateRow(exp, rs).join(' | ')} |`);
  }
  if (!done.length) lines.push(EMPTY('*no evaluated runs yet*'));
  lines.push(
    '',
    '## Experiments — In Progress',
    '',
    'Runs with a training configuration but no training summary or no evaluation yet.',
    '',
    HEADER,
    RULE,
  );
  for (const r of pending) lines.push(`| ${rowCells(r, 'In progress', linkBase).join(' | ')} |`);
  if (!pending.length) lines.push(EMPTY('*none*'));
  lines.push(
    '',
    '## Pilot Experiments (reference v2.2.0 — metrics invalid)',
    '',
    "> ⚠️ The reference project's pilot results (v2.2.0 data, D95 preprocessing artefact) are not reproduced here",
    '> and must not be compared with the runs above.',
    '',
    '## Naming Conventions',
    '',
    '- Notebooks: `notebooks/YYYY-MM-DD_<experiment>.ipynb` (executed copies: `figures/<experiment>/<notebook>.executed.ipynb` + `.html`)',
    '- Runs: `runs/<experiment>[_seed<N>]/` (training_config.json, metrics.csv, training_summary.json, test_cases.json, checkpoints/)',
    '- Predictions and evaluation: `predictions/<run>/` (`<case>_pred.npz`, `*evaluation_results.json`)',
    '- Figures: `figures/<experiment>/fig<N>_<name>.png|pdf`, written by the notebooks through `lib/plot`',
    '',
    '## Data Versions',
    '',
    '| Data | Where | Notes |',
    '|---|---|---|',
    '| Synthetic prostate cohort | `vmat synth` (embedded default) | deterministic from `--seed`; for pipeline checks, not clinical conclusions |',
    '| Reference npz v2.3 / v2.4 | user-provided directory (`VMAT_DATA_DIR`) | read by `lib/data/reference_npz.ts` |',
    '| OpenKBP | user-provided directory | read by `lib/data/openkbp.ts` |',
    '',
  );
  return lines.join('\n');
}
