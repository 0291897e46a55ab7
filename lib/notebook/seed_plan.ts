/**
 * How many seeds of an experiment exist, how many the statistics need (spec 8.2: 42, 123, 456),
 * and the exact commands that produce the missing ones. Runs are named `<experiment>_seed<N>`
 * (scripts/main.sh writes that), a plain `<experiment>` run counts with the seed in its
 * training_config.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seedRunsOf } from './params';
import { findEvaluationFile, readRun, runCheckpoints } from './run_artifacts';
import { inferCommand, seedCommands } from './reproduce';

export interface SeedPlan {
  experiment: string;
  required: number[];
  /** runs found: name, seed, evaluated (has an evaluation JSON) */
  found: Array<{ run: string; seed: number; evaluated: boolean }>;
  /** required seeds without a run */
  missing: number[];
  /** seeds trained but not evaluated */
  notEvaluated: number[];
  /** shell commands (from the project root) that produce the missing seeds and evaluations */
  commands: string[];
  /** markdown paragraph: found / needed / commands */
  markdown: string;
}

/** The seed plan of an experiment: runs found, seeds missing or not evaluated, and the commands that produce them. */
export function seedPlan(opts: {
  runsDir: string;
  predictionsDir: string;
  dataDir: string;
  experiment: string;
  required: number[];
}): SeedPlan {
  const { runsDir, predictionsDir, experiment, required } = opts;
  const found = seedRunsOf(runsDir, experiment).map(({ run, seed }) => ({ run, seed, evaluated: false }));
  // a plain <experiment> run counts with its recorded seed when no seeded run has that seed
  const plain = path.join(runsDir, experiment, 'training_config.json');
  if (fs.existsSync(plain)) {
    const cfg = JSON.parse(fs.readFileSync(plain, 'utf8')) as { training?: { seed?: number } };
    const seed = cfg.training?.seed;
    if (typeof seed === 'number' && !found.some((f) => f.seed === seed))
      found.push({ run: experiment, seed, evaluated: false });
  }
  for (const f of found)
    f.evaluated =
      findEvaluationFile(path.join(predictionsDir, f.run)) !== null ||
      findEvaluationFile(path.join(predictionsDir, `${f.run}_test`)) !== null;
  found.sort((a, b) => a.seed - b.seed);
  const missing = required.filter((s) => !found.some((f) => f.seed === s));
  const notEvaluated = found.filter((f) => !f.evaluated).map((f) => f.seed);
  const commands: string[] = [];
  const template = found[0] ? readRun(runsDir, found[0].run, predictionsDir) : null;
  for (const f of found.filter((x) => !x.evaluated)) {
    const r = readRun(runsDir, f.run, predictionsDir);
    const ck = runCheckpoints(r);
    if (ck.best ?? ck.last)
      commands.push(
        inferCommand({
          runDir: r.dir,
          checkpoint: (ck.best ?? ck.last) as string,
          dataDir: opts.dataDir,
          predictionsDir: path.join(predictionsDir, f.run),
        }),
      );
  }
  if (template)
    for (const seed of missing)
      commands.push(
        ...seedCommands({
          config: template.config,
          runDir: template.dir,
          experiment,
          seed,
          predictionsRoot: predictionsDir,
          dataDir: opts.dataDir,
        }),
      );
  const have = found.filter((f) => f.evaluated);
  const lines = [
    `**Seeds of \`${experiment}\`:** found ${have.length} evaluated of the ${required.length} the statistics need (seeds ${required.join(', ')}, spec 8.2)` +
      (found.length
        ? `: ${found.map((f) => `seed ${f.seed} (\`${f.run}\`${f.evaluated ? '' : ', not evaluated'})`).join(', ')}.`
        : '.'),
  ];
  if (missing.length || notEvaluated.length) {
    lines.push(
      `Missing: ${[...missing.map((s) => `seed ${s}`), ...notEvaluated.map((s) => `evaluation of seed ${s}`)].join(', ')}. ` +
        (have.length < 2
          ? 'With fewer than 2 seeds there is no between-seed variability: the numbers below are single-seed, descriptive only.'
          : 'Until all seeds exist the statistics are preliminary.'),
    );
    if (commands.length)
      lines.push(
        `To produce them, from the project root (the same configuration as \`${template?.name ?? found[0]?.run}\`, only the seed changed):`,
        '',
        '```bash',
        ...commands,
        '```',
      );
    else
      lines.push(
        `No run of \`${experiment}\` exists to copy the configuration from: train one first (\`bash scripts/main.sh\`).`,
      );
  } else lines.push('All required seeds are trained and evaluated.');
  return { experiment, required, found, missing, notEvaluated, commands, markdown: lines.join('\n') };
}
