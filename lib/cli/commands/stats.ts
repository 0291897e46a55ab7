/** `vmat stats wilcoxon|bootstrap`: paired Wilcoxon signed-rank test (scipy 1.15+ semantics) and bootstrap CIs (lib/stats). */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors';
import { oneOf, parseNumber, parseNumberList } from '../options';
import { bootstrapCi, type BootstrapMethod, type BootstrapStatistic } from '../../stats/bootstrap';
import { rankBiserial } from '../../stats/effect_size';
import { wilcoxon, type Alternative, type WilcoxonMethod, type WilcoxonZeroMethod } from '../../stats/wilcoxon';
import { printJson } from '../json';

/** Registers `vmat stats wilcoxon` and `vmat stats bootstrap` for paired comparisons of per-case metrics. */
export function register(program: Command): void {
  const stats = program
    .command('stats')
    .description('statistics for paired comparisons: Wilcoxon signed-rank test, bootstrap confidence intervals');

  stats
    .command('wilcoxon')
    .description('paired Wilcoxon signed-rank test of x - y, matching scipy.stats.wilcoxon (SciPy >= 1.15)')
    .requiredOption('--x <values>', 'comma-separated values (condition A, or differences when --y is omitted)')
    .option('--y <values>', 'comma-separated paired values (condition B)')
    .option('--method <m>', 'auto | exact | approx | permutation', 'auto')
    .option('--zero-method <m>', 'wilcox | pratt | zsplit', 'wilcox')
    .option('--correction', 'continuity correction (normal approximation only)')
    .option('--alternative <a>', 'two-sided | greater | less', 'two-sided')
    .option('--json', 'print one JSON object')
    .action(
      (o: {
        x: string;
        y?: string;
        method?: string;
        zeroMethod?: string;
        correction?: boolean;
        alternative?: string;
        json?: boolean;
      }) => {
        const x = parseNumberList('--x', o.x);
        const y = o.y === undefined ? null : parseNumberList('--y', o.y);
        if (y && y.length !== x.length)
          throw new UsageError(`--y: expected ${x.length} values to pair with --x, found ${y.length}`);
        const r = wilcoxon(x, y, {
          method: oneOf<WilcoxonMethod>('--method', o.method, ['auto', 'exact', 'approx', 'permutation'], 'auto'),
          zeroMethod: oneOf<WilcoxonZeroMethod>('--zero-method', o.zeroMethod, ['wilcox', 'pratt', 'zsplit'], 'wilcox'),
          correction: !!o.correction,
          alternative: oneOf<Alternative>(
            '--alternative',
            o.alternative,
            ['two-sided', 'greater', 'less'],
            'two-sided',
          ),
        });
        const out = {
          statistic: r.statistic,
          pvalue: r.pvalue,
          method: r.method,
          n: r.n,
          n_zero: r.nZero,
          z: r.z,
          rank_biserial: rankBiserial(x, y),
        };
        if (o.json) printJson(out);
        else
          console.log(
            `wilcoxon (${r.method}): statistic ${r.statistic}, p = ${r.pvalue.toPrecision(6)} (n = ${r.n}, zeros ${r.nZero}), rank-biserial ${out.rank_biserial.toFixed(3)}`,
          );
      },
    );

  stats
    .command('bootstrap')
    .description(
      'bootstrap confidence interval of the mean or median (percentile or BCa; seeded, numpy RandomState-compatible)',
    )
    .requiredOption('--x <values>', 'comma-separated values')
    .option('--statistic <s>', 'mean | median', 'mean')
    .option('--resamples <n>', 'bootstrap resamples', '9999')
    .option('--ci <level>', 'confidence level in %', '95')
    .option('--method <m>', 'percentile | bca', 'percentile')
    .option('--seed <s>', 'random seed (numpy RandomState(seed))', '42')
    .option('--json', 'print one JSON object')
    .action(
      (o: {
        x: string;
        statistic?: string;
        resamples?: string;
        ci?: string;
        method?: string;
        seed?: string;
        json?: boolean;
      }) => {
        const x = parseNumberList('--x', o.x);
        const r = bootstrapCi(x, {
          statistic: oneOf<BootstrapStatistic>('--statistic', o.statistic, ['mean', 'median'], 'mean'),
          resamples: parseNumber(
            '--resamples',
            o.resamples,
            9999,
            (v) => Number.isInteger(v) && v >= 1,
            'a positive integer',
          ),
          ci: parseNumber('--ci', o.ci, 95, (v) => v > 0 && v < 100, 'a level in (0, 100)'),
          method: oneOf<BootstrapMethod>('--method', o.method, ['percentile', 'bca'], 'percentile'),
          seed: parseNumber(
            '--seed',
            o.seed,
            42,
            (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32,
            'an integer in [0, 2^32)',
          ),
        });
        const out = {
          low: r.low,
          high: r.high,
          estimate: r.estimate,
          method: r.method,
          statistic: r.statistic,
          resamples: r.resamples,
          ci: r.ci,
          seed: r.seed,
        };
        if (o.json) printJson(out);
        else
          console.log(
            `${r.statistic} ${r.estimate} (${r.ci}% ${r.method} CI ${r.low} .. ${r.high}; ${r.resamples} resamples, seed ${r.seed})`,
          );
      },
    );
}
