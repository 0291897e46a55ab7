/** `vmat verify-npz PATH...`: reference verify_npz checks on files and folders of cases. */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VerifyResult } from '../../data/verify';
import { DataError } from '../../core/errors';
import { printJson } from '../json';

/** expands folders into their case paths (an OpenKBP patient folder is itself a case) */
async function expand(paths: string[]): Promise<string[]> {
  const { listCasePaths } = await import('../../data/load');
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = fs.statSync(p).isDirectory();
    } catch {
      out.push(p); // verifyCaseFile reports the missing path
      continue;
    }
    if (isDir && !fs.existsSync(path.join(p, 'ct.csv'))) out.push(...(await listCasePaths(p)));
    else out.push(p);
  }
  return out;
}

/** Registers `vmat verify-npz`: checks case files like the reference verify_npz; exit 1 if any file fails. */
export function register(program: Command): void {
  program
    .command('verify-npz')
    .description(
      'check case files (reference npz v2.3/v2.4, openkbp npz, OpenKBP folders) like the reference verify_npz; exit 1 if any fails',
    )
    .argument('<paths...>', 'files or folders (folders: every *.npz and pt_* patient folder inside)')
    .option('--json', 'print a JSON array of {file, ok, source, errors[], warnings[]}')
    .action(async (paths: string[], opts: { json?: boolean }) => {
      const { verifyCaseFile } = await import('../../data/verify');
      const { createProgress } = await import('../../core/progress');
      const files = await expand(paths);
      const results: VerifyResult[] = [];
      const progress = createProgress({ label: 'verify-npz', total: files.length, quiet: files.length < 4 });
      for (const f of files) {
        let r: VerifyResult;
        try {
          r = await verifyCaseFile(f);
        } catch (e) {
          // a bug or an unexpected failure on one file must not stop the others
          r = {
            file: f,
            ok: false,
            source: null,
            errors: [e instanceof DataError ? e.message : `internal error: ${(e as Error).message}`],
            warnings: [],
          };
        }
        results.push(r);
        progress.tick(1, path.basename(f));
      }
      progress.stop();
      if (opts.json) printJson(results);
      else {
        for (const r of results) {
          process.stdout.write(`${r.ok ? 'OK  ' : 'FAIL'} ${r.file}${r.source ? ` (${r.source})` : ''}\n`);
          for (const e of r.errors) process.stdout.write(`  error:   ${e}\n`);
          for (const w of r.warnings) process.stdout.write(`  warning: ${w}\n`);
        }
        const bad = results.filter((r) => !r.ok).length;
        process.stdout.write(`${results.length - bad} ok, ${bad} failed\n`);
      }
      if (results.some((r) => !r.ok) || results.length === 0) process.exitCode = 1;
    });
}
