/**
 * The `vmat` command line. Every file in ./commands exports `register(program)` and adds one
 * command (or a command group); they are discovered at start so each capability owns its file.
 */
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CommandModule {
  register(program: Command): void;
}

/** vmat-lab's version from package.json */
export function packageVersion(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('vmat')
    .version(packageVersion(), '-V, --version', 'print the vmat-lab version')
    .description('vmat-lab: train, run and evaluate 3D dose-prediction models for radiotherapy')
    .showHelpAfterError()
    .enablePositionalOptions();
  const dir = path.join(__dirname, 'commands');
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  for (const f of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, f)) as Partial<CommandModule>;
    if (typeof mod.register === 'function') mod.register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
