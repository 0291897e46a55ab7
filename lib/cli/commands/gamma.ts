/**
 * `vmat gamma`: 3-D gamma index of two dose arrays (pymedphys gamma_shell semantics, lib/eval/gamma.ts).
 * Dose arrays go to the search as they are read (float32 or float64 .npy payloads viewed in place,
 * no float64 copy); the non-finite check runs inside the search's own first pass.
 */
import type { Command } from 'commander';
import type { GammaMap } from '../../eval/gamma';
import { parseNumber, parseSpacing } from '../options';
import { printJson } from '../json';

/**
 * A 3-D dose array from `file.npy` or `file.npz:key`: float32/float64 data as stored (a .npy file's
 * payload is adopted without a copy), other numeric dtypes widened to float64.
 */
async function loadDose(spec: string, what: string): Promise<{ data: Float32Array | Float64Array; shape: number[] }> {
  // loaded here, not at CLI start-up
  const fs = await import('node:fs');
  const { DataError } = await import('../../core/errors');
  const { loadArrayArg } = await import('../../data/array_arg');
  const { parseNpy } = await import('../../data/npy');
  let arr: Awaited<ReturnType<typeof loadArrayArg>>;
  if (spec.endsWith('.npy')) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.promises.readFile(spec));
    } catch (e) {
      throw new DataError(spec, null, 'a readable .npy file', (e as NodeJS.ErrnoException).code ?? String(e));
    }
    arr = parseNpy(bytes, { file: spec }, { adopt: true });
  } else arr = await loadArrayArg(spec);
  if (arr.shape.length !== 3) throw new DataError(spec, null, `a 3-D ${what} array`, `shape (${arr.shape.join(', ')})`);
  if (arr.data instanceof BigInt64Array || arr.data instanceof BigUint64Array)
    throw new DataError(spec, null, `a float or small-integer ${what} array`, `dtype ${arr.dtype}`);
  const data =
    arr.data instanceof Float32Array || arr.data instanceof Float64Array
      ? arr.data
      : Float64Array.from(arr.data as ArrayLike<number>);
  return { data, shape: arr.shape };
}

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

/** adds `vmat gamma`: gamma index of two dose arrays (Gy) on one grid, pass rate and statistics */
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
      const t0 = performance.now();
      const { GammaNonFiniteError, gammaIndex, gammaStats } = await import('../../eval/gamma');
      const { loadMask, sameShape } = await import('../array_inputs');
      const { DataError } = await import('../../core/errors');
      const [ref, ev] = await Promise.all([loadDose(o.ref, 'reference dose'), loadDose(o.eval, 'evaluated dose')]);
      sameShape(ref, o.ref, ev, o.eval);
      const mask = o.mask ? await loadMask(o.mask, ref.shape, o.ref) : null;
      const pos = (x: number) => x > 0;
      const tRead = performance.now();
      let map: GammaMap;
      try {
        map = await gammaIndex(ref.data, ev.data, ref.shape, spacing, {
          dosePercent: parseNumber('--dose-pct', o.dosePct, 3, pos, 'a positive number'),
          dtaMm: parseNumber('--dta-mm', o.dtaMm, 3, pos, 'a positive number'),
          cutoffPercent: parseNumber('--cutoff-pct', o.cutoffPct, 10, (x) => x >= 0, 'a number >= 0'),
          maxGamma:
            o.maxGamma === undefined ? null : parseNumber('--max-gamma', o.maxGamma, 0, pos, 'a positive number'),
          local: !!o.local,
          mask,
          threads:
            o.threads === undefined
              ? undefined
              : parseNumber('--threads', o.threads, 1, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
        });
      } catch (e) {
        // name the file, as every input error does
        if (e instanceof GammaNonFiniteError) {
          const file = e.which === 'reference' ? o.ref : o.eval;
          const what = e.which === 'reference' ? 'reference dose' : 'evaluated dose';
          throw new DataError(file, null, `finite ${what} values`, `${e.value} at flat index ${e.index}`);
        }
        throw e;
      }
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
        kernel: map.kernel,
        /** the search (incl. its input checks); read_seconds: reading both files; total: reading to summary */
        seconds: map.seconds,
        read_seconds: (tRead - t0) / 1000,
        total_seconds: (performance.now() - t0) / 1000,
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
