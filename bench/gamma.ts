/**
 * `vmat bench gamma`: the whole `vmat gamma ... --json` command, as a user runs it, against the
 * pymedphys `gamma_shell` peer (bench/peers/gamma_shell.py: pymedphys's algorithm and numba
 * interpolation, one numba thread) on realistic dose pairs (bench/gamma_pairs.ts).
 *
 * Per pair and criterion, in alternating rounds (so product and peer see the same machine load):
 *   1. `vmat gamma --help` (the CLI's start-up, which issue 15 owns),
 *   2. `vmat gamma ... --json --threads 1`, 3. the same with `--threads 2`,
 *   4. the peer (its own timing of the gamma_shell call; numba compiled before it, as pymedphys's
 *      cache=True does for every run after the first).
 * vmat's user-visible time = command wall time minus the --help wall time. On a shared machine a
 * single start-up time varies by more than the work itself, so --help is timed before and after
 * the two commands in every round and the estimates are min(command) - min(--help) over all rounds
 * ("best") and median(command) - median(--help) ("median"); the ratio = peer seconds (its min or
 * median) / that. The command's own JSON `total_seconds` (reading to summary) is reported beside it.
 * Correctness in the same run: vmat's map (in-process, the same kernel) against the peer's map:
 * every point's pass/fail (gamma < 1 and gamma <= 1) and the largest |gamma difference|.
 * Criteria: 3%/3 mm global (the goal, `--rounds` rounds), 2%/2 mm global, 3%/3 mm local,
 * 2%/2 mm local (one round each unless --rounds-all); cutoff 10 %, max_gamma 2, interp_fraction 10.
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, ndarray, parseNpy } from '../lib/data/npy';
import { printJson } from '../lib/cli/json';
import { PROJECT_ROOT } from '../lib/core/project';
import type { DosePair, PairResult } from './gamma_pairs';

// the project root in the sources and in the compiled CLI build alike
const REPO = PROJECT_ROOT;
const VMAT = path.join(REPO, 'bin', 'vmat.js');

interface Criterion {
  name: string;
  dosePct: number;
  dtaMm: number;
  local: boolean;
}
const CRITERIA: Criterion[] = [
  { name: '3%/3mm global', dosePct: 3, dtaMm: 3, local: false },
  { name: '2%/2mm global', dosePct: 2, dtaMm: 2, local: false },
  { name: '3%/3mm local', dosePct: 3, dtaMm: 3, local: true },
  { name: '2%/2mm local', dosePct: 2, dtaMm: 2, local: true },
];
const CUTOFF = 10;
const MAX_GAMMA = 2;

interface PeerOut {
  n_evaluated: number;
  pass_rate: number;
  pass_rate_le: number;
  seconds: number;
  backend: string;
}

function findPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import numpy, numba'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

function wall(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): { seconds: number; stdout: string; stderr: string; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, env: env ?? process.env });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface CriterionResult {
  criterion: string;
  n_evaluated: number;
  vmat_pass_rate: number | null;
  peer_pass_rate: number | null;
  pass_fail_mismatches: number | null;
  max_abs_gamma_difference: number | null;
  rounds: Array<{
    help_s: number[];
    vmat_1t_s: number;
    vmat_2t_s: number;
    vmat_total_seconds: number[];
    peer_s: number | null;
    peer_wall_s: number | null;
  }>;
  vmat_user_seconds: { threads_1: { best: number; median: number }; threads_2: { best: number; median: number } };
  vmat_self_reported_search_seconds: number;
  vmat_self_reported_total_seconds: { threads_1: number; threads_2: number };
  peer_seconds: { best: number; median: number } | null;
  ratio: { threads_1: { best: number; median: number }; threads_2: { best: number; median: number } } | null;
}

async function benchPair(
  pair: DosePair,
  criteria: Criterion[],
  rounds: number,
  roundsAll: number,
  python: string | null,
  log: (s: string) => void,
): Promise<CriterionResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-bench-gamma-'));
  const out: CriterionResult[] = [];
  try {
    const refFile = path.join(dir, 'ref.npy');
    const evFile = path.join(dir, 'ev.npy');
    fs.writeFileSync(refFile, encodeNpy(ndarray(pair.ref, [...pair.shape])));
    fs.writeFileSync(evFile, encodeNpy(ndarray(pair.ev, [...pair.shape])));
    const sp = pair.spacingMm.join(',');
    for (const [ci, c] of criteria.entries()) {
      const nRounds = ci === 0 ? rounds : roundsAll;
      const cliArgs = [
        VMAT,
        'gamma',
        '--ref',
        refFile,
        '--eval',
        evFile,
        '--spacing-mm',
        sp,
        '--dose-pct',
        String(c.dosePct),
        '--dta-mm',
        String(c.dtaMm),
        '--cutoff-pct',
        String(CUTOFF),
        '--max-gamma',
        String(MAX_GAMMA),
        '--json',
        ...(c.local ? ['--local'] : []),
      ];
      const peerMap = path.join(dir, 'peer_gamma.npy');
      const rs: CriterionResult['rounds'] = [];
      let vmatPass: number | null = null;
      let selfReported = Infinity;
      let peerOut: PeerOut | null = null;
      for (let r = 0; r < nRounds; r++) {
        const help = wall(process.execPath, [VMAT, 'gamma', '--help']);
        const one = wall(process.execPath, [...cliArgs, '--threads', '1']);
        const two = wall(process.execPath, [...cliArgs, '--threads', '2']);
        const help2 = wall(process.execPath, [VMAT, 'gamma', '--help']);
        for (const x of [one, two]) if (x.status !== 0) throw new Error(`vmat gamma failed: ${x.stderr.slice(-500)}`);
        const j1 = JSON.parse(one.stdout) as { pass_rate: number; seconds: number; total_seconds: number };
        const j2 = JSON.parse(two.stdout) as { pass_rate: number; seconds: number; total_seconds: number };
        vmatPass = j1.pass_rate;
        if (j2.pass_rate !== j1.pass_rate) throw new Error('vmat gamma: 1 and 2 threads disagree');
        selfReported = Math.min(selfReported, j2.seconds);
        let peerS: number | null = null;
        let peerWall: number | null = null;
        if (python) {
          const pr = wall(
            python,
            [
              path.join(REPO, 'bench', 'peers', 'gamma_shell.py'),
              refFile,
              evFile,
              sp,
              String(c.dosePct),
              String(c.dtaMm),
              String(CUTOFF),
              String(MAX_GAMMA),
              c.local ? '1' : '0',
              'numba',
              ...(r === 0 ? [peerMap] : []),
            ],
            { ...process.env, NUMBA_NUM_THREADS: '1' },
          );
          if (pr.status !== 0) throw new Error(`peer failed: ${pr.stderr.slice(-1000)}`);
          peerOut = JSON.parse(pr.stdout.trim().split('\n').pop() as string) as PeerOut;
          peerS = peerOut.seconds;
          peerWall = pr.seconds;
        }
        rs.push({
          help_s: [help.seconds, help2.seconds],
          vmat_1t_s: one.seconds,
          vmat_2t_s: two.seconds,
          vmat_total_seconds: [j1.total_seconds, j2.total_seconds],
          peer_s: peerS,
          peer_wall_s: peerWall,
        });
        log(
          `    round ${r + 1}: help ${help.seconds.toFixed(2)}/${help2.seconds.toFixed(2)} s, vmat 1 thread ${one.seconds.toFixed(2)} s, 2 threads ${two.seconds.toFixed(2)} s` +
            (peerS === null ? '' : `, peer ${peerS.toFixed(2)} s`),
        );
      }
      // per-point comparison with the peer's map (in-process: the same kernel as the command)
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { gammaIndex } = require('../lib/eval/gamma') as typeof import('../lib/eval/gamma');
      const map = await gammaIndex(pair.ref, pair.ev, pair.shape, pair.spacingMm, {
        dosePercent: c.dosePct,
        dtaMm: c.dtaMm,
        cutoffPercent: CUTOFF,
        maxGamma: MAX_GAMMA,
        local: c.local,
      });
      let mismatches: number | null = null;
      let maxDiff: number | null = null;
      if (python && fs.existsSync(peerMap)) {
        const pg = parseNpy(new Uint8Array(fs.readFileSync(peerMap))).data as Float64Array;
        mismatches = 0;
        maxDiff = 0;
        for (let i = 0; i < pg.length; i++) {
          const a = map.gamma[i];
          const b = pg[i];
          if (Number.isNaN(a) !== Number.isNaN(b)) {
            mismatches++;
            continue;
          }
          if (Number.isNaN(a)) continue;
          if (a < 1 !== b < 1 || a <= 1 !== b <= 1) mismatches++;
          maxDiff = Math.max(maxDiff, Math.abs(a - b));
        }
      }
      const helps = rs.flatMap((x) => x.help_s);
      // wall minus --help, never below the command's own reading-to-summary time (a strict lower
      // bound of the work after start-up; start-up noise can push the difference under it)
      const est = (cmd: number[], own: number[]) => ({
        best: Math.max(Math.min(...cmd) - Math.min(...helps), Math.min(...own)),
        median: Math.max(median(cmd) - median(helps), median(own)),
      });
      const u1 = est(
        rs.map((x) => x.vmat_1t_s),
        rs.map((x) => x.vmat_total_seconds[0]),
      );
      const u2 = est(
        rs.map((x) => x.vmat_2t_s),
        rs.map((x) => x.vmat_total_seconds[1]),
      );
      const peerTimes = rs.map((x) => x.peer_s).filter((x): x is number => x !== null);
      const ratios = (u: { best: number; median: number }) => ({
        best: Math.min(...peerTimes) / u.best,
        median: median(peerTimes) / u.median,
      });
      const res: CriterionResult = {
        criterion: c.name,
        n_evaluated: map.nEvaluated,
        vmat_pass_rate: vmatPass,
        peer_pass_rate: peerOut ? peerOut.pass_rate : null,
        pass_fail_mismatches: mismatches,
        max_abs_gamma_difference: maxDiff,
        rounds: rs,
        vmat_user_seconds: { threads_1: u1, threads_2: u2 },
        vmat_self_reported_total_seconds: {
          threads_1: Math.min(...rs.map((x) => x.vmat_total_seconds[0])),
          threads_2: Math.min(...rs.map((x) => x.vmat_total_seconds[1])),
        },
        vmat_self_reported_search_seconds: selfReported,
        peer_seconds: peerTimes.length ? { best: Math.min(...peerTimes), median: median(peerTimes) } : null,
        ratio: peerTimes.length ? { threads_1: ratios(u1), threads_2: ratios(u2) } : null,
      };
      out.push(res);
      const f = (x: number, d = 3) => x.toFixed(d);
      log(
        `  ${c.name}: ${map.nEvaluated} points; vmat ${f(res.vmat_user_seconds.threads_1.best)} s (1 thread) / ${f(res.vmat_user_seconds.threads_2.best)} s (2 threads) best, ${f(res.vmat_user_seconds.threads_1.median)} / ${f(res.vmat_user_seconds.threads_2.median)} s median (wall minus --help); the command's own reading-to-summary time ${f(res.vmat_self_reported_total_seconds.threads_1)} / ${f(res.vmat_self_reported_total_seconds.threads_2)} s`,
      );
      if (res.peer_seconds && res.ratio) {
        log(
          `  peer (pymedphys gamma_shell, numba, 1 thread): ${f(res.peer_seconds.best, 2)} s best, ${f(res.peer_seconds.median, 2)} s median -> ratio ${f(res.ratio.threads_1.best, 1)}x / ${f(res.ratio.threads_2.best, 1)}x best, ${f(res.ratio.threads_1.median, 1)}x / ${f(res.ratio.threads_2.median, 1)}x median (1 / 2 threads)`,
        );
        log(
          `  pass rate vmat ${f(res.vmat_pass_rate as number, 4)} % vs peer ${f(res.peer_pass_rate as number, 4)} %; points whose pass/fail differs: ${mismatches}; max |gamma difference| ${maxDiff?.toExponential(2)}`,
        );
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export function registerBench(group: Command): void {
  group
    .command('gamma')
    .description(
      'the whole `vmat gamma --json` command (wall time minus `vmat gamma --help`) vs the pymedphys gamma_shell peer (numba, 1 thread) on realistic dose pairs, 1 and 2 threads',
    )
    .option(
      '--pairs <names>',
      'synthetic, openkbp-blur, openkbp-model (comma-separated)',
      'synthetic,openkbp-blur,openkbp-model',
    )
    .option('--patients <ids>', 'OpenKBP validation patients', 'pt_201')
    .option(
      '--criteria <n>',
      'how many criteria: 1 = 3%/3mm global only, 4 = also 2%/2mm global, 3%/3mm and 2%/2mm local',
      '4',
    )
    .option('--rounds <n>', 'alternating rounds for 3%/3mm global', '3')
    .option('--rounds-all <n>', 'rounds for the other criteria', '1')
    .option('--no-peer', 'skip the python peer')
    .option('--json', 'print one JSON object')
    .action(
      async (o: {
        pairs: string;
        patients: string;
        criteria: string;
        rounds: string;
        roundsAll: string;
        peer: boolean;
        json?: boolean;
      }) => {
        const log = (s: string) => {
          if (!o.json) console.log(s);
        };
        const python = o.peer ? findPython() : null;
        if (o.peer && !python)
          log('peer: no python3 with numpy and numba (apt-get install python3-numba); timing vmat only');
        // loaded here, not at CLI start-up (every command pays for what bench files import)
        const { openKbpBlurPair, openKbpModelPair, syntheticPair } =
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require('./gamma_pairs') as typeof import('./gamma_pairs');
        const wanted = o.pairs.split(',');
        const patients = o.patients.split(',');
        const pairs: Array<() => Promise<PairResult>> = [];
        if (wanted.includes('synthetic')) pairs.push(async () => syntheticPair());
        for (const p of patients) {
          if (wanted.includes('openkbp-blur')) pairs.push(() => openKbpBlurPair(p));
          if (wanted.includes('openkbp-model')) pairs.push(() => openKbpModelPair(p, REPO));
        }
        const criteria = CRITERIA.slice(0, Math.max(1, Math.min(4, Number(o.criteria))));
        const results: Record<string, unknown> = {
          machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg_start: os.loadavg() },
          settings: { cutoff_pct: CUTOFF, max_gamma: MAX_GAMMA, interp_fraction: 10 },
          pairs: {},
        };
        for (const make of pairs) {
          const pair = await make();
          if ('skipped' in pair) {
            log(`${pair.name}: skipped (${pair.skipped})`);
            (results.pairs as Record<string, unknown>)[pair.name] = { skipped: pair.skipped };
            continue;
          }
          log(`${pair.name}: ${pair.description}; ${pair.shape.join('x')} at ${pair.spacingMm.join('x')} mm`);
          const r = await benchPair(pair, criteria, Number(o.rounds), Number(o.roundsAll), python, log);
          (results.pairs as Record<string, unknown>)[pair.name] = {
            description: pair.description,
            shape: pair.shape,
            spacing_mm: pair.spacingMm,
            criteria: r,
          };
        }
        results.loadavg_end = os.loadavg();
        log(
          `load average at start ${(results.machine as { loadavg_start: number[] }).loadavg_start.map((x) => x.toFixed(1)).join(' ')}, end ${os
            .loadavg()
            .map((x) => x.toFixed(1))
            .join(' ')} (2 cores)`,
        );
        if (o.json) printJson(results);
      },
    );
}
