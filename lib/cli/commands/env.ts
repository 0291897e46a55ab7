import type { Command } from 'commander';
import { envSnapshot } from '../../core/environment';
import { initEngine } from '../../engine';
import { printJson } from '../json';

export function register(program: Command): void {
  program
    .command('env')
    .description('print the environment snapshot recorded with every run (versions, engine backend, git commit)')
    .option('--no-engine', 'do not initialise the compute engine')
    .action(async (opts: { engine: boolean }) => {
      const engine = opts.engine ? await initEngine({ quiet: true }) : null;
      printJson(envSnapshot(engine));
    });
}
