/**
 * `vmat bench <name>`: each file bench/<name>.ts exports `registerBench(group)` and adds one
 * benchmark subcommand (benchmarks print ratios against a peer measured in the same run).
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function register(program: Command): void {
  const group = program
    .command('bench')
    .description('benchmarks (speed and memory against peers measured in the same run)');
  const dir = path.resolve(__dirname, '..', '..', '..', 'bench');
  if (!fs.existsSync(dir)) return;
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.ts'))
    .sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, f)) as { registerBench?: (g: Command) => void };
    mod.registerBench?.(group);
  }
}
