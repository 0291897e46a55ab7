/**
 * `vmat env`: the environment snapshot recorded with every run (versions, engine backend, machine,
 * git commit). Readable `key  value` lines by default; `--json` prints the snapshot object exactly
 * as training_config.json records it.
 */
import type { Command } from 'commander';
import { envSnapshot, type EnvSnapshot } from '../../core/environment';
import { printJson } from '../json';

/** the snapshot as aligned `key  value` lines (nested objects flattened with dots) */
export function readableSnapshot(s: EnvSnapshot): string {
  const rows: Array<[string, string]> = [];
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else rows.push([prefix, v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(', ') : String(v)]);
  };
  walk('', s);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** Registers `vmat env`: prints the environment snapshot recorded with every run (text or `--json`). */
export function register(program: Command): void {
  program
    .command('env')
    .description('print the environment snapshot recorded with every run (versions, engine backend, git commit)')
    .option('--json', 'print the snapshot as one JSON object (as recorded in training_config.json)', false)
    .option('--no-engine', 'do not initialise the compute engine')
    .action(async (opts: { engine: boolean; json: boolean }) => {
      const engine = opts.engine ? await (await import('../../engine')).initEngine({ quiet: true }) : null;
      const snap = envSnapshot(engine);
      if (opts.json) printJson(snap);
      else process.stdout.write(readableSnapshot(snap));
    });
}
