/**
 * The study file (`studies/<name>.json`): what a study runs and how it is analysed, validated with
 * zod. Every error is a DataError naming the file, the key path (e.g. `conditions[2].flags[0]`) and
 * what was expected vs found, raised before anything runs.
 *
 * Layout (snake_case keys; `training` and `evaluation` use the commands' own flag names):
 *   description?       free text
 *   data_dir           folder of cases with the locked split.json (relative to the study file's folder)
 *   seeds              [42, 123, 456]: every condition is trained once per seed
 *   reference          name of the reference condition (the baseline)
 *   training           shared `vmat train` settings: {"epochs": 30, "patch-size": 32, "augmentation": false, ...}
 *                      or an argv list ["--epochs", "30", ...]
 *   conditions         [{name, description?, flags: [argv added to `vmat train`], architecture?}]
 *   evaluation         {checkpoint: "best"|"last", plus `vmat infer` settings such as "gamma-subsample": 2}
 *   resources          {cpus_per_task, mem, gpus_per_task, time, partition, account, sbatch_args,
 *                       estimated_minutes_per_run}
 *   analysis           the pre-registered plan: metrics, alpha, min_pairs, bootstrap, families,
 *                      decision_rules, seed_extension (lib/study/analysis.ts applies it)
 */
import { z } from 'zod';

/** condition names become folder names (`<condition>_seed<N>`): letters, digits, '.', '-', '_' */
export const CONDITION_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*(?:_[A-Za-z0-9.-]+)*$/;

/** a flag value as the study file gives it: JSON scalar, or an argv list */
const settingValue = z.union([z.string(), z.number(), z.boolean()]);
/** shared or per-condition `vmat` settings: {flag: value} or an argv list */
export const settingsSchema = z.union([z.record(z.string(), settingValue), z.array(z.string())]);

const metricSpec = z
  .object({
    /** dot path in a per-case result, e.g. dose_metrics.mae_gy */
    path: z.string().min(1),
    /** which direction is an improvement */
    better: z.enum(['lower', 'higher']),
    /** analyse |value| (per case and seed, before averaging): for signed errors such as D95_error */
    abs: z.boolean().default(false),
    /** label for tables and figures */
    label: z.string().optional(),
  })
  .strict();

const familySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    description: z.string().optional(),
    /** comparator of `conditions` (default: the study's reference) */
    against: z.string().optional(),
    conditions: z.array(z.string()).default([]),
    /** explicit [condition, against] pairs, in addition to `conditions` */
    pairs: z.array(z.tuple([z.string(), z.string()])).default([]),
  })
  .strict();

const decisionRuleSchema = z.discriminatedUnion('kind', [
  z
    .object({
      id: z.string().min(1),
      kind: z.literal('beats_on_primary'),
      description: z.string().optional(),
      condition: z.string(),
      against: z.string(),
      /** the threshold on the (Holm-adjusted, unless p = "raw") p-value */
      p_threshold: z.number().gt(0).lt(1),
      p: z.enum(['holm', 'raw']).default('holm'),
    })
    .strict(),
  z
    .object({
      id: z.string().min(1),
      kind: z.literal('single_matches_full'),
      description: z.string().optional(),
      full: z.string(),
      singles: z.array(z.string()).min(1),
    })
    .strict(),
  z
    .object({
      id: z.string().min(1),
      kind: z.literal('cross_institution_drop'),
      description: z.string().optional(),
      condition: z.string(),
      /** relative drop that counts as a limitation (0.2 = 20 %) */
      max_drop: z.number().gt(0),
      metric: z.string().optional(),
    })
    .strict(),
]);

const analysisSchema = z
  .object({
    primary_metrics: z.array(metricSpec).min(1),
    secondary_metrics: z.array(metricSpec).default([]),
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** the fewest paired cases a Wilcoxon test may use (spec 8.1: 6) */
    min_pairs: z.number().int().min(6).default(6),
    bootstrap: z
      .object({
        resamples: z.number().int().min(100).default(10000),
        seed: z.number().int().min(0).default(42),
        ci: z.number().gt(0).lt(100).default(95),
      })
      .strict()
      .default({ resamples: 10000, seed: 42, ci: 95 }),
    families: z.array(familySchema).default([]),
    decision_rules: z.array(decisionRuleSchema).default([]),
    seed_extension: z
      .object({
        /** extend when |effect| < ratio x the seed-to-seed SD of the effect */
        ratio: z.number().gt(0).default(2),
        extra_seeds: z.array(z.number().int().min(0)).min(1),
      })
      .strict()
      .optional(),
  })
  .strict();

const resourcesSchema = z
  .object({
    /** CPU cores per run; also the engine's thread count (VMAT_THREADS), so results do not depend on the executor */
    cpus_per_task: z.number().int().min(1).default(1),
    /** memory per run, SLURM syntax: 4G, 500M */
    mem: z
      .string()
      .regex(/^\d+(\.\d+)?[KMGT]?$/i)
      .default('4G'),
    gpus_per_task: z.number().int().min(0).default(0),
    /** SLURM time limit per task: minutes, or D-HH:MM:SS / HH:MM:SS */
    time: z.union([z.string().min(1), z.number().int().min(1)]).optional(),
    partition: z.string().optional(),
    account: z.string().optional(),
    sbatch_args: z.array(z.string()).default([]),
    /** for `study plan`: wall minutes per run (training + inference) on these resources */
    estimated_minutes_per_run: z.number().gt(0).optional(),
    /** seconds before the time limit at which a task checkpoints and requeues itself */
    signal_lead_seconds: z.number().int().min(10).default(300),
  })
  .strict();

/** the study file (studies/<name>.json), validated with clear errors by readStudy */
export const studySchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().optional(),
    description: z.string().optional(),
    data_dir: z.string().min(1),
    seeds: z.array(z.number().int().min(0)).min(1),
    reference: z.string().min(1),
    training: settingsSchema.default({}),
    conditions: z
      .array(
        z
          .object({
            name: z.string().regex(CONDITION_NAME),
            description: z.string().optional(),
            /** argv added to `vmat train` for this condition */
            flags: z.array(z.string()).default([]),
            /** shorthand for ["--architecture", NAME] */
            architecture: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
    evaluation: z.record(z.string(), settingValue).default({}),
    resources: resourcesSchema.default({
      cpus_per_task: 1,
      mem: '4G',
      gpus_per_task: 0,
      sbatch_args: [],
      signal_lead_seconds: 300,
    }),
    analysis: analysisSchema,
  })
  .strict();

export type StudyFileJson = z.infer<typeof studySchema>;
export type MetricSpec = z.infer<typeof metricSpec>;
export type FamilySpec = z.infer<typeof familySchema>;
export type DecisionRuleSpec = z.infer<typeof decisionRuleSchema>;
export type AnalysisSpec = z.infer<typeof analysisSchema>;
export type ResourcesSpec = z.infer<typeof resourcesSchema>;

/** `conditions[2].flags[0]` from a zod path */
export function keyPath(p: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || '(top level)';
}

/** a short description of a JSON value for "found ..." */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (key missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list ${truncate(JSON.stringify(v))}`;
  if (typeof v === 'object') return `an object ${truncate(JSON.stringify(v))}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** what a key expects, for the messages of zod issues that do not say it themselves */
const EXPECTED: Array<[RegExp, string]> = [
  [/^seeds$/, 'a non-empty list of integer seeds, e.g. [42, 123, 456]'],
  [/^seeds\[\d+\]$/, 'an integer seed >= 0'],
  [/^conditions$/, 'a non-empty list of conditions {name, flags}'],
  [/^conditions\[\d+\]\.name$/, `a condition name of letters, digits, '.', '-' or single '_' (it names folders)`],
  [/^conditions\[\d+\]\.flags$/, 'an argv list of `vmat train` flags, e.g. ["--use-gradient-loss"]'],
  [/^data_dir$/, 'the folder of cases (with split.json)'],
  [/^reference$/, 'the name of the reference condition'],
  [/^analysis$/, 'the analysis plan {primary_metrics, families, ...}'],
  [/^analysis\.primary_metrics$/, 'a non-empty list of {path, better: "lower"|"higher"}'],
  [/^analysis\.min_pairs$/, 'an integer >= 6 (spec 8.1: a test needs at least 6 paired cases)'],
  [/better$/, '"lower" or "higher"'],
  [/^resources\.mem$/, 'SLURM memory such as "4G" or "500M"'],
];

/** what a study-file key must hold, in words, for the error that names it */
export function expectedFor(key: string, fallback: string): string {
  for (const [re, text] of EXPECTED) if (re.test(key)) return text;
  return fallback;
}
