/**
 * Loading a study file: JSON -> zod schema (lib/study/schema.ts) -> cross-checks (unique names and
 * seeds, known conditions in the plan, flags the commands accept, a data folder with its locked
 * split) -> a resolved Study with absolute paths, the argv of every run and the study folder layout:
 *
 *   studies/<name>.json          the study file
 *   studies/<name>/runs/<condition>_seed<N>/          `vmat train --runs-dir` (run folders)
 *   studies/<name>/predictions/<condition>_seed<N>/   `vmat infer --output-dir` (predictions, evaluation JSON)
 *   studies/<name>/logs/<condition>_seed<N>/          train.log, infer.log, status.json (argv, attempts)
 *   studies/<name>/jobs/                              SLURM job scripts, submission records, local lock
 *   studies/<name>/report/                            report.json, report.md
 *
 * Relative paths in a study file (data_dir) are resolved against the study file's folder; when
 * nothing is there, against the current folder (both are named in the error).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { DataError } from '../core/errors';
import { readSplit, type SplitManifest } from '../data/split';
import {
  checkArgv,
  FlagError,
  settingsToArgv,
  STUDY_MANAGED_INFER_FLAGS,
  STUDY_MANAGED_TRAIN_FLAGS,
  type CommandSpecs,
} from './command_spec';
import {
  describeValue,
  expectedFor,
  keyPath,
  studySchema,
  type AnalysisSpec,
  type MetricSpec,
  type ResourcesSpec,
  type StudyFileJson,
} from './schema';

export interface StudyCondition {
  name: string;
  description: string;
  /** argv this condition adds to `vmat train` (architecture shorthand included) */
  flags: string[];
}

/** one paired comparison of the plan: `condition` minus `against` */
export interface PlannedComparison {
  family: string;
  condition: string;
  against: string;
}

export interface Study {
  /** absolute path of the study file */
  file: string;
  /** file name without .json: names the study folder */
  name: string;
  title: string;
  description: string;
  /** sha256 of the study file's bytes */
  sha256: string;
  /** studies/<name>/ (absolute) */
  dir: string;
  runsDir: string;
  predictionsDir: string;
  logsDir: string;
  jobsDir: string;
  reportDir: string;
  dataDir: string;
  splitFile: string;
  /** the locked split (an empty one when the data folder is not there and `requireData` was false) */
  split: SplitManifest;
  /** why the data folder cannot be used (only with `requireData: false`; `study run` refuses then) */
  dataProblem: string | null;
  seeds: number[];
  reference: string;
  /** shared `vmat train` argv (study-managed flags excluded) */
  trainingArgv: string[];
  conditions: StudyCondition[];
  evaluation: { checkpoint: 'best' | 'last'; argv: string[] };
  resources: ResourcesSpec;
  analysis: AnalysisSpec;
  /** every metric analysed: primary first */
  metrics: MetricSpec[];
  comparisons: PlannedComparison[];
  raw: StudyFileJson;
}

/** one training + inference run of the study */
export interface StudyRun {
  /** `<condition>_seed<N>` */
  id: string;
  condition: string;
  seed: number;
  /** position in the plan (SLURM array index) */
  index: number;
  runDir: string;
  predDir: string;
  logDir: string;
}

function fail(file: string, key: string, expected: string, found: string): never {
  throw new DataError(file, key, expected, found);
}

function sha256(buf: Buffer): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/**
 * Reads, validates and resolves a study file; throws DataError naming the key on any problem.
 * With `requireData: false` (for `study plan` on a machine without the data) a missing data folder or
 * split is reported in `dataProblem` instead.
 */
export function loadStudy(file: string, specs: CommandSpecs, o: { requireData?: boolean } = {}): Study {
  const abs = path.resolve(file);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(abs);
  } catch (e) {
    throw new DataError(file, null, 'a readable study file (studies/<name>.json)', (e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new DataError(file, null, 'valid JSON', (e as Error).message);
  }
  const parsed = studySchema.safeParse(json, { reportInput: true });
  if (!parsed.success) throw issueError(file, parsed.error.issues[0]);
  const s = parsed.data;
  const name = path.basename(abs).replace(/\.json$/i, '');
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    fail(file, 'file name', "a study file name of letters, digits, '.', '-', '_' (it names the study folder)", name);

  // conditions and seeds
  const seen = new Map<string, number>();
  s.conditions.forEach((c, i) => {
    if (seen.has(c.name))
      fail(
        file,
        `conditions[${i}].name`,
        'each condition name used once',
        `"${c.name}" again (already conditions[${seen.get(c.name)}].name)`,
      );
    seen.set(c.name, i);
  });
  const seedSeen = new Set<number>();
  s.seeds.forEach((v, i) => {
    if (seedSeen.has(v)) fail(file, `seeds[${i}]`, 'each seed once', `${v} again`);
    seedSeen.add(v);
  });
  const known = (key: string, cond: string) => {
    if (!seen.has(cond))
      fail(file, key, `the name of a condition of this study (${[...seen.keys()].join(', ')})`, `"${cond}"`);
  };
  known('reference', s.reference);

  // flags
  const training = settingsToArgvChecked(file, 'training', specs, s.training);
  const conditions: StudyCondition[] = s.conditions.map((c, i) => {
    const flags = [...c.flags, ...(c.architecture ? ['--architecture', c.architecture] : [])];
    try {
      checkArgv(specs.train, flags, STUDY_MANAGED_TRAIN_FLAGS);
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      const key =
        e.index === null
          ? `conditions[${i}]${c.architecture ? '' : '.flags'}`
          : e.index < c.flags.length
            ? `conditions[${i}].flags[${e.index}]`
            : `conditions[${i}].architecture`;
      fail(file, key, e.expected, e.found);
    }
    try {
      specs.train.parse([...training, ...flags]);
    } catch (e) {
      fail(file, `conditions[${i}]`, 'flags that combine with `training`', (e as Error).message);
    }
    return { name: c.name, description: c.description ?? '', flags };
  });

  const checkpoint = s.evaluation.checkpoint ?? 'best';
  if (checkpoint !== 'best' && checkpoint !== 'last')
    fail(file, 'evaluation.checkpoint', '"best" or "last"', describeValue(checkpoint));
  let evalArgv: string[];
  try {
    const conv = settingsToArgv(specs.infer, s.evaluation, ['checkpoint']);
    evalArgv = conv.argv;
    checkArgv(specs.infer, evalArgv, STUDY_MANAGED_INFER_FLAGS);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    fail(file, 'evaluation', e.expected, e.found);
  }

  // analysis plan
  const a = s.analysis;
  const metrics = [...a.primary_metrics, ...a.secondary_metrics];
  const metricSeen = new Set<string>();
  metrics.forEach((m, i) => {
    const id = metricId(m);
    const key =
      i < a.primary_metrics.length
        ? `analysis.primary_metrics[${i}]`
        : `analysis.secondary_metrics[${i - a.primary_metrics.length}]`;
    if (metricSeen.has(id)) fail(file, key, 'each metric once', `${id} again`);
    metricSeen.add(id);
  });
  const comparisons: PlannedComparison[] = [];
  const familySeen = new Set<string>();
  a.families.forEach((f, i) => {
    if (familySeen.has(f.name)) fail(file, `analysis.families[${i}].name`, 'each family name once', f.name);
    familySeen.add(f.name);
    const against = f.against ?? s.reference;
    if (f.against) known(`analysis.families[${i}].against`, f.against);
    const pairs: Array<[string, string, string]> = [
      ...f.conditions.map(
        (c, j) => [c, against, `analysis.families[${i}].conditions[${j}]`] as [string, string, string],
      ),
      ...f.pairs.map(([c, b], j) => [c, b, `analysis.families[${i}].pairs[${j}]`] as [string, string, string]),
    ];
    if (!pairs.length) fail(file, `analysis.families[${i}]`, 'at least one comparison (conditions or pairs)', 'none');
    const pairSeen = new Set<string>();
    for (const [c, b, key] of pairs) {
      known(key, c);
      known(key, b);
      if (c === b) fail(file, key, 'a condition compared with another one', `"${c}" against itself`);
      if (pairSeen.has(`${c}|${b}`)) fail(file, key, 'each comparison once per family', `${c} vs ${b} again`);
      pairSeen.add(`${c}|${b}`);
      comparisons.push({ family: f.name, condition: c, against: b });
    }
  });
  if (!a.families.length) {
    for (const c of conditions)
      if (c.name !== s.reference) comparisons.push({ family: 'vs_reference', condition: c.name, against: s.reference });
  }
  const ruleIds = new Set<string>();
  a.decision_rules.forEach((r, i) => {
    const key = `analysis.decision_rules[${i}]`;
    if (ruleIds.has(r.id)) fail(file, `${key}.id`, 'each rule id once', r.id);
    ruleIds.add(r.id);
    if (r.kind === 'beats_on_primary') {
      known(`${key}.condition`, r.condition);
      known(`${key}.against`, r.against);
    } else if (r.kind === 'single_matches_full') {
      known(`${key}.full`, r.full);
      r.singles.forEach((c, j) => known(`${key}.singles[${j}]`, c));
    } else known(`${key}.condition`, r.condition);
  });
  if (a.seed_extension)
    a.seed_extension.extra_seeds.forEach((v, i) => {
      if (seedSeen.has(v))
        fail(file, `analysis.seed_extension.extra_seeds[${i}]`, 'a seed not already in `seeds`', String(v));
    });

  // data folder and its locked split
  let dataDir = path.resolve(path.dirname(abs), s.data_dir);
  let split: SplitManifest = { version: 1, seed: 0, created_by: 'none', strata_keys: [], train: [], val: [], test: [] };
  let dataProblem: string | null = null;
  try {
    dataDir = resolveDataDir(file, abs, s.data_dir);
    const splitFile = path.join(dataDir, 'split.json');
    if (!fs.existsSync(splitFile))
      fail(
        file,
        'data_dir',
        'a data folder with a locked split (split.json, written by `vmat synth` or by hand)',
        `${dataDir} without split.json`,
      );
    split = readSplit(splitFile);
    if (!split.test.length) fail(splitFile, 'test', 'at least one test case', 'an empty list');
  } catch (e) {
    if (o.requireData !== false || !(e instanceof DataError)) throw e;
    dataProblem = e.message;
  }
  const splitFile = path.join(dataDir, 'split.json');

  const dir = path.join(path.dirname(abs), name);
  return {
    file: abs,
    name,
    title: s.name ?? name,
    description: s.description ?? '',
    sha256: sha256(buf),
    dir,
    runsDir: path.join(dir, 'runs'),
    predictionsDir: path.join(dir, 'predictions'),
    logsDir: path.join(dir, 'logs'),
    jobsDir: path.join(dir, 'jobs'),
    reportDir: path.join(dir, 'report'),
    dataDir,
    splitFile,
    split,
    dataProblem,
    seeds: s.seeds,
    reference: s.reference,
    trainingArgv: training,
    conditions,
    evaluation: { checkpoint, argv: evalArgv! },
    resources: s.resources,
    analysis: a,
    metrics,
    comparisons,
    raw: s,
  };
}

/** the analysed name of a metric: its JSON path, or abs(path) */
export function metricId(m: Pick<MetricSpec, 'path' | 'abs'>): string {
  return m.abs ? `abs(${m.path})` : m.path;
}

function settingsToArgvChecked(
  file: string,
  key: string,
  specs: CommandSpecs,
  settings: Record<string, string | number | boolean> | string[],
): string[] {
  let conv: ReturnType<typeof settingsToArgv>;
  try {
    conv = settingsToArgv(specs.train, settings);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    fail(file, key, e.expected, e.found);
  }
  try {
    checkArgv(specs.train, conv.argv, STUDY_MANAGED_TRAIN_FLAGS);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    const sub = e.index === null ? '' : Array.isArray(settings) ? `[${e.index}]` : `.${conv.keyOf(e.index)}`;
    fail(file, `${key}${sub}`, e.expected, e.found);
  }
  return conv.argv;
}

function resolveDataDir(file: string, absFile: string, dataDir: string): string {
  if (path.isAbsolute(dataDir)) {
    if (!fs.existsSync(dataDir)) fail(file, 'data_dir', 'an existing folder of cases', `${dataDir} (no such folder)`);
    return dataDir;
  }
  const besideFile = path.resolve(path.dirname(absFile), dataDir);
  if (fs.existsSync(besideFile)) return besideFile;
  const fromCwd = path.resolve(dataDir);
  if (fs.existsSync(fromCwd)) return fromCwd;
  fail(
    file,
    'data_dir',
    'an existing folder of cases (relative paths are resolved against the study file folder, then the current folder)',
    `"${dataDir}": neither ${besideFile} nor ${fromCwd} exists`,
  );
}

function issueError(file: string, issue: z.core.$ZodIssue): DataError {
  const key = keyPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const where = issue.path.length ? key : 'the top level';
      return new DataError(
        file,
        issue.path.length ? `${key}.${issue.keys[0]}` : issue.keys[0],
        `only the keys of ${where} documented in lib/study/schema.ts`,
        `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    case 'invalid_type':
      return new DataError(file, key, expectedFor(key, issue.expected), describeValue(input));
    case 'too_small':
      return new DataError(
        file,
        key,
        expectedFor(key, issue.message.replace(/^Too small: /, '')),
        describeValue(input),
      );
    case 'invalid_format':
      return new DataError(file, key, expectedFor(key, `a value matching ${issue.message}`), describeValue(input));
    case 'invalid_value':
      return new DataError(
        file,
        key,
        expectedFor(key, `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`),
        describeValue(input),
      );
    case 'invalid_union': {
      const kind = (input as { kind?: unknown } | undefined)?.kind;
      if (/decision_rules\[\d+\]$/.test(key))
        return new DataError(
          file,
          `${key}.kind`,
          '"beats_on_primary", "single_matches_full" or "cross_institution_drop"',
          describeValue(kind),
        );
      return new DataError(file, key, expectedFor(key, issue.message), describeValue(input));
    }
    default:
      return new DataError(file, key, expectedFor(key, issue.message), describeValue(input));
  }
}

/** every run of the study in plan order: condition-major, then seeds */
export function studyRuns(s: Study): StudyRun[] {
  const out: StudyRun[] = [];
  for (const c of s.conditions)
    for (const seed of s.seeds) {
      const id = `${c.name}_seed${seed}`;
      out.push({
        id,
        condition: c.name,
        seed,
        index: out.length,
        runDir: path.join(s.runsDir, id),
        predDir: path.join(s.predictionsDir, id),
        logDir: path.join(s.logsDir, id),
      });
    }
  return out;
}
