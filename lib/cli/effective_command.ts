/**
 * The command line that reproduces a run: every option of the command with its effective value
 * (defaults included), in the command's own order, so re-running it gives the same configuration
 * even if a default changes later. Output-only flags (--json, --quiet) and --resume are left out;
 * file and folder flags are recorded as absolute paths.
 */
import * as path from 'node:path';
import type { Command } from 'commander';

const SKIP = new Set(['json', 'quiet', 'resume', 'help']);
/** flags that name files or folders: recorded as absolute paths, so the command means the same from any folder */
const PATH_FLAGS = new Set([
  '--data-dir',
  '--val-dir',
  '--runs-dir',
  '--output-dir',
  '--input-dir',
  '--init-from',
  '--calibration-json',
  '--coarse-model',
  '--checkpoint',
]);

/** `['vmat', 'train', '--data-dir', 'd', ...]` for the parsed options `values` of `cmd` */
export function effectiveCommand(cmd: Command, values: Record<string, unknown>): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  names[0] = 'vmat';
  const argv = [...names];
  const seen = new Set<string>();
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (SKIP.has(key) || seen.has(key) || !opt.long) continue;
    const v = values[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'boolean') {
      // a pair --x / --no-x shares one key: emit whichever form gives the value
      const forms = cmd.options.filter((o) => o.attributeName() === key);
      const form = forms.find((o) => (o.negate ? !v : v));
      if (form?.long && (forms.length > 1 || v)) argv.push(form.long);
      seen.add(key);
      continue;
    }
    seen.add(key);
    const text = Array.isArray(v) ? v.join(',') : String(v);
    argv.push(opt.long, PATH_FLAGS.has(opt.long) ? path.resolve(text) : text);
  }
  return argv;
}
