/**
 * The `vmat` command line. Every file in ./commands exports `register(program, context)` and adds
 * one command (or a command group); they are discovered at start so each capability owns its file.
 * Registering loads no heavy library (command modules import those inside their actions; checked by
 * test/cli/startup.test.ts), so any command starts in a fraction of a second. Benchmarks (bench/*.ts)
 * are registered only when the command line asks for `bench`.
 */
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VMAT_VERSION } from '../core/project';

export interface RegisterContext {
  /** register the benchmark subcommands of `vmat bench` too */
  benchmarks: boolean;
}

export interface CommandModule {
  register(program: Command, context: RegisterContext): void;
}

/** the whole command tree (`benchmarks: false` leaves `vmat bench` without its subcommands) */
export function buildProgram(context: RegisterContext = { benchmarks: true }): Command {
  const program = new Command();
  program
    .name('vmat')
    .version(VMAT_VERSION, '-V, --version', 'print the vmat-lab version')
    .description('vmat-lab: train, run and evaluate 3D dose-prediction models for radiotherapy')
    .showHelpAfterError()
    .enablePositionalOptions();
  const dir = path.join(__dirname, 'commands');
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  for (const f of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, f)) as Partial<CommandModule>;
    if (typeof mod.register === 'function') mod.register(program, context);
  }
  return program;
}

/** Runs the CLI on `argv` (process.argv layout); benchmark subcommands are registered only for `vmat bench`. */
export async function main(argv: string[]): Promise<void> {
  await buildProgram({ benchmarks: argv.slice(2).includes('bench') }).parseAsync(argv);
}
