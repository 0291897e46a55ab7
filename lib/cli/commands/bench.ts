/**
 * `vmat bench <name>`: each file bench/<name>.ts exports `registerBench(group)` and adds one
 * benchmark subcommand (benchmarks print ratios against a peer measured in the same run).
 */
import type { Command } from 'commander';
import type { RegisterContext } from '../main';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** adds `vmat bench` and, when the command line asks for it, every bench/<name>.ts subcommand */
export function register(program: Command, context: RegisterContext): void {
  const group = program
    .command('bench')
    .description('benchmarks (speed and memory against peers measured in the same run)');
  if (!context.benchmarks) return;
  // bench/ sits beside lib/ in the sources and in the compiled build alike
  const dir = path.resolve(__dirname, '..', '..', '..', 'bench');
  if (!fs.existsSync(dir)) return;
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => /\.(ts|js)$/.test(n) && !n.endsWith('.d.ts'))
    .sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, f)) as { registerBench?: (g: Command) => void };
    mod.registerBench?.(group);
  }
}
