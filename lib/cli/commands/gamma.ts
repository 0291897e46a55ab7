/** `vmat gamma`: 3-D gamma index of two dose arrays (pymedphys gamma_shell semantics, lib/eval/gamma.ts). */
import type { Command } from 'commander';
import { parseNumber, parseSpacing } from '../options';
import { printJson } from '../json';

interface GammaOpts {
  ref: string;
  eval: string;
  spacingMm: string;
  dosePct?: string;
  dtaMm?: string;
  cutoffPct?: string;
  maxGamma?: string;
  local?: boolean;
  mask?: string;
  threads?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('gamma')
    .description(
      '3-D gamma index (pymedphys gamma_shell semantics): pass rates gamma<1 and gamma<=1 over reference points above the cutoff',
    )
    .requiredOption('--ref <array>', 'reference dose: file.npy or file.npz:key')
    .requiredOption('--eval <array>', 'evaluated dose on the same grid: file.npy or file.npz:key')
    .requiredOption('--spacing-mm <a,b,c>', 'voxel size in mm, array axis order')
    .option('--dose-pct <x>', 'dose-difference criterion, % of max(reference) (global) or of the local dose', '3')
    .option('--dta-mm <x>', 'distance-to-agreement criterion (mm)', '3')
    .option('--cutoff-pct <x>', 'low-dose cutoff on the reference, % of max(reference)', '10')
    .option('--max-gamma <g>', 'stop searching at gamma = g and clip to it (default: no limit, as pymedphys)')
    .option('--local', 'local gamma (dose difference relative to the local reference dose)')
    .option('--mask <array>', 'evaluate only reference points inside this mask (e.g. a PTV region)')
    .option('--threads <n>', 'threads (default: all cores, at most 8)')
    .option('--json', 'print one JSON object')
    .action(async (o: GammaOpts) => {
      const spacing = parseSpacing(o.spacingMm);
      const { gammaIndex, gammaStats } = await import('../../eval/gamma');
      const { load3d, loadMask, sameShape } = await import('../array_inputs');
      const ref = await load3d(o.ref, 'reference dose');
      const ev = await load3d(o.eval, 'evaluated dose');
      sameShape(ref, o.ref, ev, o.eval);
      const mask = o.mask ? await loadMask(o.mask, ref.shape, o.ref) : null;
      const pos = (x: number) => x > 0;
      const map = await gammaIndex(ref.data, ev.data, ref.shape, spacing, {
        dosePercent: parseNumber('--dose-pct', o.dosePct, 3, pos, 'a positive number'),
        dtaMm: parseNumber('--dta-mm', o.dtaMm, 3, pos, 'a positive number'),
        cutoffPercent: parseNumber('--cutoff-pct', o.cutoffPct, 10, (x) => x >= 0, 'a number >= 0'),
        maxGamma: o.maxGamma === undefined ? null : parseNumber('--max-gamma', o.maxGamma, 0, pos, 'a positive number'),
        local: !!o.local,
        mask,
        threads:
          o.threads === undefined
            ? undefined
            : parseNumber('--threads', o.threads, 1, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
      });
      const s = gammaStats(map.gamma);
      const out = {
        pass_rate: s.pass_rate,
        pass_rate_le: s.pass_rate_le,
        n_evaluated: s.n_evaluated,
        mean_gamma: s.mean_gamma,
        median_gamma: s.median_gamma,
        max_gamma: s.max_gamma,
        normalisation_gy: map.normalisation,
        cutoff_gy: map.cutoffDose,
        threads: map.threads,
        seconds: map.seconds,
      };
      if (o.json) printJson(out);
      else {
        const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
        console.log(
          `gamma: pass rate ${f(s.pass_rate)}% (gamma < 1), ${f(s.pass_rate_le)}% (gamma <= 1); ${s.n_evaluated} points; mean ${f(s.mean_gamma)}; ${map.seconds.toFixed(2)} s`,
        );
      }
    });
}
