/**
 * `vmat bench startup`: how long a command takes to start — `vmat --help` and `vmat gamma --help`
 * as a user types them (child processes, wall time, median of N runs) — for the compiled build the
 * CLI runs (bin/vmat.js) and, as the reference in the same run, for the TypeScript sources through
 * tsx (VMAT_FROM_SOURCE=1, what every start cost before the build). Goal: under 0.3 s.
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { printJson } from '../lib/cli/json';
import { intOpt } from '../lib/cli/options';
import { VMAT_BIN } from '../lib/core/project';

const BIN = VMAT_BIN;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** wall seconds of `vmat <args>`, each run checked for exit code 0 */
function timeRuns(args: string[], n: number, env: NodeJS.ProcessEnv): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`vmat ${args.join(' ')} failed: ${r.stderr}`);
    out.push(s);
  }
  return out;
}

export function registerBench(group: Command): void {
  group
    .command('startup')
    .description(
      'start-up time of `vmat --help` and `vmat gamma --help` (median of N), compiled build vs TypeScript sources',
    )
    .option('--runs <n>', 'runs per command (median reported)', intOpt('--runs', 1), 5)
    .option('--json', 'print one JSON object')
    .action((o: { runs: number; json?: boolean }) => {
      const base = { ...process.env, VMAT_FROM_SOURCE: '0' };
      timeRuns(['--help'], 1, base); // makes the build of the current sources if needed
      const rows = [['--help'], ['gamma', '--help']].map((args) => {
        const built = timeRuns(args, o.runs, base);
        const source = timeRuns(args, o.runs, { ...process.env, VMAT_FROM_SOURCE: '1' });
        return {
          command: `vmat ${args.join(' ')}`,
          compiled_median_s: median(built),
          compiled_runs_s: built,
          source_median_s: median(source),
          source_runs_s: source,
          speedup: median(source) / median(built),
          goal_s: 0.3,
          goal_met: median(built) < 0.3,
        };
      });
      if (o.json) printJson({ runs: o.runs, commands: rows });
      else
        for (const r of rows)
          console.log(
            `${r.command}: ${r.compiled_median_s.toFixed(3)} s compiled (median of ${o.runs}; goal < 0.3 s: ${r.goal_met ? 'met' : 'not met'}), ${r.source_median_s.toFixed(3)} s from the TypeScript sources (${r.speedup.toFixed(1)}× slower)`,
          );
    });
}
