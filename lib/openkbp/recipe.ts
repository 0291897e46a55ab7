/**
 * OpenKBP recipes: the stages that make a shipped OpenKBP model, as data (recipes/*.json, validated
 * on read). A stage is one `vmat openkbp train` (64³) or `vmat openkbp refine-train` (128³ refiner)
 * run with the flags its `options` give; `init_from` starts it from an earlier stage's best weights,
 * `coarse` trains a refiner on an earlier stage's predictions. `ship` says which stages the model
 * bundle is made of. Each stage runs in <runsDir>/<recipe name>/<stage name>; a stage with a
 * training_summary.json is done, one with checkpoints/last only is resumed.
 *   vmat openkbp train --recipe recipes/openkbp-64-b16.json [--plan]
 *   vmat openkbp ship --recipe recipes/openkbp-64-b16.json
 * Scripts only call these commands; this module plans and runs them (as child processes, exactly the
 * commands the plan prints).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { DataError, UsageError, VmatError } from '../core/errors';
import { VMAT_BIN } from '../core/project';
import { commandText } from '../train/engine';

const optionValue = z.union([z.string(), z.number(), z.boolean()]);
const stageSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
  task: z.enum(['openkbp-64', 'openkbp-refine-128']),
  description: z.string().optional(),
  /** flags of the stage's command without the leading dashes, e.g. {"epochs": 12, "lr": 0.001} */
  options: z.record(z.string(), optionValue).default({}),
  /** an earlier stage whose best checkpoint the stage starts from */
  init_from: z.string().optional(),
  /** refiner stages: the earlier stage whose predictions are refined (with L/R TTA when tta) */
  coarse: z.object({ stage: z.string(), tta: z.boolean().default(false) }).optional(),
});
const recipeSchema = z.object({
  format: z.literal('vmat-openkbp-recipe'),
  version: z.literal(1),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
  description: z.string().optional(),
  data: z.object({ train_dir: z.string(), val_dir: z.string() }),
  stages: z.array(stageSchema).min(1),
  ship: z.object({
    main: z.string(),
    members: z.array(z.string()).default([]),
    refiner: z.string().optional(),
    tta: z.boolean().default(false),
    phase_tta: z.boolean().default(false),
  }),
});

export type RecipeStage = z.infer<typeof stageSchema>;
export type Recipe = z.infer<typeof recipeSchema>;

/** flags a recipe sets itself (from the stage graph), not through `options` */
const RESERVED = new Set(['data-dir', 'val-dir', 'runs-dir', 'exp-name', 'exp', 'init-from', 'coarse-model', 'resume']);

/** reads and validates a recipe file; every problem is a DataError naming the key */
export function readRecipe(file: string): Recipe {
  if (!fs.existsSync(file)) throw new DataError(file, null, 'a recipe JSON file', 'no such file');
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(file, null, 'JSON', (e as Error).message);
  }
  const r = recipeSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DataError(file, i.path.join('.') || '(top level)', 'a vmat-openkbp-recipe', i.message);
  }
  const recipe = r.data;
  const seen = new Map<string, RecipeStage>();
  for (const [k, s] of recipe.stages.entries()) {
    if (seen.has(s.name)) throw new DataError(file, `stages.${k}.name`, 'a unique stage name', `'${s.name}' twice`);
    for (const flag of Object.keys(s.options))
      if (RESERVED.has(flag))
        throw new DataError(file, `stages.${k}.options.${flag}`, 'a flag the recipe does not set itself', flag);
    const earlier = (name: string | undefined, key: string, task?: RecipeStage['task']) => {
      if (name === undefined) return;
      const e = seen.get(name);
      if (!e) throw new DataError(file, `stages.${k}.${key}`, 'the name of an earlier stage', `'${name}'`);
      if (task && e.task !== task) throw new DataError(file, `stages.${k}.${key}`, `a ${task} stage`, e.task);
    };
    earlier(s.init_from, 'init_from', s.task);
    if (s.coarse && s.task !== 'openkbp-refine-128')
      throw new DataError(file, `stages.${k}.coarse`, 'only on openkbp-refine-128 stages', s.task);
    earlier(s.coarse?.stage, 'coarse.stage', 'openkbp-64');
    seen.set(s.name, s);
  }
  const need = (name: string | undefined, key: string, task: RecipeStage['task']) => {
    if (name === undefined) return;
    const s = seen.get(name);
    if (!s || s.task !== task) throw new DataError(file, key, `a ${task} stage`, `'${name}'`);
  };
  need(recipe.ship.main, 'ship.main', 'openkbp-64');
  recipe.ship.members.forEach((m, i) => need(m, `ship.members.${i}`, 'openkbp-64'));
  need(recipe.ship.refiner, 'ship.refiner', 'openkbp-refine-128');
  return recipe;
}

export interface RecipeContext {
  /** folder that holds <recipe name>/<stage>/ */
  runsDir: string;
  trainDir: string;
  valDir: string;
}

/** the folder of a stage's run */
export function stageRunDir(r: Recipe, s: Pick<RecipeStage, 'name'>, ctx: RecipeContext): string {
  return path.resolve(ctx.runsDir, r.name, s.name);
}

export type StageState = 'done' | 'partial' | 'pending';

/** State of a recipe stage's run folder: done (training_summary.json), partial (checkpoints/last) or pending. */
export function stageState(runDir: string): StageState {
  if (fs.existsSync(path.join(runDir, 'training_summary.json'))) return 'done';
  if (fs.existsSync(path.join(runDir, 'checkpoints', 'last'))) return 'partial';
  return 'pending';
}

/** a finished stage's best checkpoint folder (its training_summary.json), or null before it is done */
export function stageBestCheckpoint(runDir: string): string | null {
  const f = path.join(runDir, 'training_summary.json');
  if (!fs.existsSync(f)) return null;
  const s = JSON.parse(fs.readFileSync(f, 'utf8')) as { best_checkpoint?: string | null };
  return s.best_checkpoint ?? null;
}

export interface PlannedStage {
  stage: RecipeStage;
  runDir: string;
  state: StageState;
  /** the `vmat ...` arguments (after `vmat`) that run the stage; `<stage X best>` where not yet known */
  args: string[];
  /** the stage's training time so far (hours), from its training_summary.json */
  hours: number | null;
}

function stageArgs(r: Recipe, s: RecipeStage, ctx: RecipeContext, state: StageState): string[] {
  const best = (name: string) =>
    stageBestCheckpoint(stageRunDir(r, { name }, ctx)) ?? `<best checkpoint of stage ${name}>`;
  const args = [
    'openkbp',
    s.task === 'openkbp-64' ? 'train' : 'refine-train',
    '--data-dir',
    ctx.trainDir,
    '--val-dir',
    ctx.valDir,
    '--runs-dir',
    path.join(ctx.runsDir, r.name),
    '--exp-name',
    s.name,
  ];
  if (s.init_from) args.push('--init-from', best(s.init_from));
  if (s.coarse) {
    args.push('--coarse-model', best(s.coarse.stage));
    if (s.coarse.tta) args.push('--coarse-tta');
  }
  for (const [k, v] of Object.entries(s.options)) {
    if (v === true) args.push(`--${k}`);
    else if (v === false) args.push(`--no-${k}`);
    else args.push(`--${k}`, String(v));
  }
  if (state === 'partial') args.push('--resume');
  return args;
}

/** what the recipe runs, stage by stage, with each stage's state */
export function planRecipe(r: Recipe, ctx: RecipeContext): PlannedStage[] {
  return r.stages.map((s) => {
    const runDir = stageRunDir(r, s, ctx);
    const state = stageState(runDir);
    let hours: number | null = null;
    const sum = path.join(runDir, 'training_summary.json');
    if (fs.existsSync(sum))
      hours = (JSON.parse(fs.readFileSync(sum, 'utf8')) as { total_time_hours?: number }).total_time_hours ?? null;
    return { stage: s, runDir, state, args: stageArgs(r, s, ctx, state), hours };
  });
}

/** the plan as text: one block per stage with its state and its command */
export function planText(r: Recipe, plan: PlannedStage[]): string {
  const lines = [`recipe ${r.name}: ${plan.length} stages${r.description ? ` — ${r.description}` : ''}`];
  plan.forEach((p, i) => {
    const h = p.hours !== null ? `, ${p.hours.toFixed(2)} h` : '';
    lines.push(
      `${i + 1}. ${p.stage.name} (${p.stage.task}) [${p.state}${h}]${p.stage.description ? ` ${p.stage.description}` : ''}`,
    );
    lines.push(`   vmat ${commandText(p.args)}`);
  });
  const sh = r.ship;
  lines.push(
    `ship: ${[`main ${sh.main}`, sh.members.length ? `members ${sh.members.join(', ')}` : '', sh.refiner ? `refiner ${sh.refiner}` : '', sh.tta ? 'L/R TTA' : '', sh.phase_tta ? '8 block phases' : ''].filter(Boolean).join(', ')}`,
  );
  return lines.join('\n');
}

/** runs `vmat <args>` as a child process (its output on our stderr); resolves with its exit code */
export function runVmat(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    // the stage's own output goes to stderr: stdout is the recipe command's (its plan or --json)
    const child = spawn(process.execPath, [VMAT_BIN, ...args], { stdio: ['inherit', 2, 2] });
    // a stop request reaches the child too (same process group on a terminal; forwarded otherwise)
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    const sigs: NodeJS.Signals[] = ['SIGTERM', 'SIGUSR1'];
    for (const s of sigs) process.on(s, forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of sigs) process.off(s, forward);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** runs every stage that is not done, in order; stops at the first failing stage */
export async function runRecipe(
  r: Recipe,
  ctx: RecipeContext,
  o: { only?: string[]; say?: (s: string) => void } = {},
): Promise<PlannedStage[]> {
  const say = o.say ?? ((s: string) => process.stderr.write(`${s}\n`));
  for (const s of r.stages) {
    if (o.only && !o.only.includes(s.name)) continue;
    const [p] = planRecipe({ ...r, stages: [s] }, ctx);
    if (p.state === 'done') {
      say(`recipe ${r.name}: stage ${s.name} is done (${p.runDir})`);
      continue;
    }
    const missing = p.args.find((a) => a.startsWith('<best checkpoint of stage'));
    if (missing)
      throw new UsageError(`recipe ${r.name}: stage ${s.name} needs ${missing.slice(1, -1)}, which is not done`);
    say(`recipe ${r.name}: stage ${s.name}${p.state === 'partial' ? ' (resuming)' : ''}: vmat ${commandText(p.args)}`);
    const code = await runVmat(p.args);
    if (code !== 0) {
      const e = new VmatError(
        `recipe ${r.name}: stage ${s.name} stopped with exit code ${code}; run the recipe again to resume it`,
      );
      e.exitCode = code === 75 ? 75 : 1;
      throw e;
    }
  }
  return planRecipe(r, ctx);
}
