/**
 * The real thing (issue 16 acceptance, on this machine): a one-node SLURM started by the project's
 * own scripts/slurm/local-cluster.sh; studies/cpu_smoke.json (3 conditions x 3 seeds, tiny CPU
 * configuration) on a freshly made synthetic cohort, submitted with `vmat study run --executor slurm
 * --wait`; one training task requeued mid-training with `scontrol requeue`; the study finishes
 * (the report job included) and every run's per-case results and the report equal (1e-6) the same
 * study run by the local executor, itself interrupted once with SIGINT and resumed; the report's
 * statistics equal the scipy peer recomputed from the runs' own evaluation JSON; the report notebook
 * renders it.
 *
 * Skipped, with the reason, only when SLURM cannot run here at all (not root and no password-less
 * sudo); missing SLURM packages are a failure (scripts/setup.d/60-slurm.sh installs them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertReportMatchesPeer, BIN, close, ROOT, runPeer, vmat } from './helpers';
import { jupyterMissing, runNotebooks } from '../notebook/helpers';
import { evaluationFile } from '../../lib/study/runs';

const CLUSTER = path.join(ROOT, 'scripts', 'slurm', 'local-cluster.sh');

function startCluster(): { env: NodeJS.ProcessEnv; startedHere: boolean; skip: string | null } {
  const before = spawnSync('bash', [CLUSTER, 'status'], { encoding: 'utf8' });
  const r =
    before.status === 0 ? before : spawnSync('bash', [CLUSTER, 'start'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 3) return { env: {}, startedHere: false, skip: `SLURM cannot run here: ${r.stderr.trim()}` };
  assert.equal(r.status, 0, `local-cluster.sh start failed:\n${r.stdout}\n${r.stderr}`);
  const m = /export SLURM_CONF=(\S+)/.exec(r.stdout);
  assert.ok(m, `no SLURM_CONF in:\n${r.stdout}`);
  return { env: { SLURM_CONF: m[1] }, startedHere: before.status !== 0, skip: null };
}

function startVmat(
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; out: string }>((res) =>
    child.on('exit', (code) => res({ code, out })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Status {
  attempts: Array<{
    phase: string;
    argv: string[];
    outcome: string;
    slurm_job_id: string | null;
    signal: string | null;
    exit_code: number | null;
  }>;
  state: string;
}
function status(studyDir: string, run: string): Status | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(studyDir, 'logs', run, 'status.json'), 'utf8')) as Status;
  } catch {
    return null;
  }
}
function epochs(studyDir: string, run: string): number {
  try {
    return (
      fs
        .readFileSync(path.join(studyDir, 'runs', run, 'metrics.csv'), 'utf8')
        .trim()
        .split('\n').length - 1
    );
  } catch {
    return 0;
  }
}
const trained = (studyDir: string, run: string) =>
  fs.existsSync(path.join(studyDir, 'runs', run, 'training_summary.json'));

/** every numeric leaf of a per-case result, by its path */
function leaves(o: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof o === 'number') out[prefix] = o;
  else if (o && typeof o === 'object' && !Array.isArray(o))
    for (const [k, v] of Object.entries(o)) if (k !== 'timestamp') leaves(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

test(
  'SLURM: cpu_smoke submitted to a one-node cluster, a training task requeued mid-way, equals the local executor (1e-6) and the scipy peer',
  { timeout: 1_200_000 },
  async (t) => {
    const cluster = startCluster();
    if (cluster.skip) {
      t.skip(cluster.skip);
      return;
    }
    const env = { ...cluster.env, VMAT_STUDY_POLL_SECONDS: '2' };
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-study-slurm-'));
    try {
      // the cohort of studies/cpu_smoke.json's description
      const data = path.join(root, 'data');
      const syn = vmat(
        [
          'synth',
          '--out',
          data,
          '--cases',
          '11',
          '--seed',
          '11',
          '--shape',
          '32,32,24',
          '--spacing-mm',
          '11.71875,11.71875,6.6666667',
          '--val-fraction',
          '0.1',
          '--test-fraction',
          '0.55',
        ],
        { timeout: 300_000 },
      );
      assert.equal(syn.status, 0, syn.stderr);
      const smoke = JSON.parse(fs.readFileSync(path.join(ROOT, 'studies', 'cpu_smoke.json'), 'utf8'));
      const files: Record<'slurm' | 'local', string> = { slurm: '', local: '' };
      for (const k of ['slurm', 'local'] as const) {
        fs.mkdirSync(path.join(root, k));
        files[k] = path.join(root, k, 'cpu_smoke.json');
        fs.writeFileSync(files[k], JSON.stringify({ ...smoke, data_dir: data }, null, 2));
      }
      const sdir = path.join(root, 'slurm', 'cpu_smoke');
      const ldir = path.join(root, 'local', 'cpu_smoke');
      const plan = JSON.parse(vmat(['study', 'plan', files.slurm, '--json']).stdout) as {
        runs: Array<{ run: string }>;
      };
      const runIds = plan.runs.map((r) => r.run);
      assert.equal(runIds.length, 9);

      // --- SLURM: submit and wait; meanwhile requeue one training task after its first epoch
      const sl = startVmat(['study', 'run', files.slurm, '--executor', 'slurm', '--wait'], env);
      let requeued: { run: string; task: string } | null = null;
      let exited = false;
      void sl.done.then(() => (exited = true));
      const t0 = Date.now();
      while (!requeued && !exited && Date.now() - t0 < 600_000) {
        for (const run of runIds) {
          const st = status(sdir, run);
          const a = st?.attempts.at(-1);
          if (
            st?.state === 'running' &&
            a?.phase === 'train' &&
            a.slurm_job_id &&
            epochs(sdir, run) >= 1 &&
            !trained(sdir, run)
          ) {
            const q = spawnSync('scontrol', ['requeue', a.slurm_job_id], {
              encoding: 'utf8',
              env: { ...process.env, ...env },
            });
            assert.equal(q.status, 0, `scontrol requeue ${a.slurm_job_id}: ${q.stderr}`);
            requeued = { run, task: a.slurm_job_id };
            break;
          }
        }
        await sleep(100);
      }
      assert.ok(requeued, 'no training task was caught mid-training to requeue');
      const slr = await sl.done;
      assert.equal(slr.code, 0, slr.out);
      assert.match(
        slr.out,
        /submitted 9 runs: training array (\d+), inference array (\d+) \(aftercorr\), report (\d+)/,
      );
      assert.match(slr.out, /9\/9 runs done/);
      const sub = JSON.parse(fs.readFileSync(path.join(sdir, 'jobs', 'submission.json'), 'utf8'));
      assert.match(
        fs.readFileSync(path.join(sdir, 'jobs', 'train.sbatch'), 'utf8'),
        /#SBATCH --job-name=vmat-cpu_smoke-train\n/,
      );
      assert.deepEqual(sub.commands[1].slice(0, 4), [
        'sbatch',
        '--parsable',
        `--array=0,1,2,3,4,5,6,7,8`,
        `--dependency=aftercorr:${sub.train_job}`,
      ]);

      // the requeued task stopped, was requeued by SLURM, and resumed from its checkpoint
      const rs = status(sdir, requeued.run)!;
      const trains = rs.attempts.filter((a) => a.phase === 'train');
      assert.ok(trains.length >= 2, JSON.stringify(rs.attempts));
      assert.equal(trains[0].outcome, 'interrupted');
      assert.ok(!trains[0].argv.includes('--resume'));
      assert.equal(trains.at(-1)!.outcome, 'ok');
      assert.ok(trains.at(-1)!.argv.includes('--resume'), 'the requeued task resumed');
      const idx = requeued.task.split('_')[1];
      const slog = fs.readFileSync(path.join(sdir, 'logs', 'slurm', `train_${sub.train_job}_${idx}.out`), 'utf8');
      assert.match(slog, /restart 0: train/);
      assert.match(slog, /restart 1: train/);
      // the report job ran
      const slReport = JSON.parse(fs.readFileSync(path.join(sdir, 'report', 'report.json'), 'utf8'));
      assert.deepEqual(slReport.missing_runs, []);

      // --- local executor, interrupted once with SIGINT (Ctrl-C), then resumed
      const lo = startVmat(['study', 'run', files.local, '--max-parallel', '2'], {});
      let interrupted = false;
      const t1 = Date.now();
      while (!interrupted && Date.now() - t1 < 600_000) {
        if (runIds.some((r) => epochs(ldir, r) >= 1 && !trained(ldir, r))) {
          lo.child.kill('SIGINT');
          interrupted = true;
        } else await sleep(100);
      }
      const lor = await lo.done;
      assert.ok(interrupted);
      assert.equal(lor.code, 75, lor.out);
      assert.match(lor.out, /SIGINT — stopping/);
      assert.ok(
        runIds.some((r) => status(ldir, r)?.state === 'interrupted'),
        'a run was recorded as interrupted',
      );
      const lor2 = startVmat(['study', 'run', files.local, '--max-parallel', '2'], {});
      const lr2 = await lor2.done;
      assert.equal(lr2.code, 0, lr2.out);
      assert.ok(
        runIds.some((r) => status(ldir, r)!.attempts.some((a) => a.phase === 'train' && a.argv.includes('--resume'))),
      );
      const loReport = JSON.parse(fs.readFileSync(path.join(ldir, 'report', 'report.json'), 'utf8'));

      // --- same results: every per-case number of every run, then the report
      let n = 0;
      for (const run of runIds) {
        const ev = (d: string) =>
          JSON.parse(fs.readFileSync(evaluationFile(path.join(d, 'predictions', run))!, 'utf8')) as {
            per_case_results: Array<{ case_id: string }>;
          };
        const a = ev(sdir).per_case_results;
        const b = ev(ldir).per_case_results;
        assert.deepEqual(
          a.map((c) => c.case_id),
          b.map((c) => c.case_id),
        );
        a.forEach((c, i) => {
          const la = leaves(c);
          const lb = leaves(b[i]);
          for (const k of Object.keys(lb)) {
            close(la[k], lb[k], `${run} ${c.case_id} ${k}`);
            n++;
          }
        });
      }
      assert.ok(n > 1000, `compared ${n} per-case numbers`);
      for (const c of Object.keys(loReport.aggregates))
        for (const m of Object.keys(loReport.aggregates[c]))
          for (const k of ['mean', 'sd', 'ci_low', 'ci_high'])
            close(slReport.aggregates[c][m][k], loReport.aggregates[c][m][k], `aggregate ${c} ${m} ${k}`);
      loReport.comparisons.forEach((c: Record<string, number | null>, i: number) => {
        for (const k of [
          'statistic',
          'p_value',
          'p_holm',
          'cohens_d',
          'mean_diff',
          'mean_diff_ci_low',
          'mean_diff_ci_high',
        ])
          close(slReport.comparisons[i][k], c[k], `comparison ${i} ${k}`);
      });
      assert.deepEqual(
        slReport.decisions.map((d: { statement: string }) => d.statement),
        loReport.decisions.map((d: { statement: string }) => d.statement),
      );

      // --- the report equals scipy recomputed from the runs' own evaluation JSON
      assert.ok(assertReportMatchesPeer(slReport, runPeer(files.slurm)) > 100);
      // --- the report notebook renders this report: box plots with seeds, forest plots, decisions
      if (!jupyterMissing()) {
        const figs = path.join(root, 'figures');
        const nb = runNotebooks(
          [path.join(ROOT, 'notebooks', 'study_report.ipynb')],
          figs,
          { VMAT_STUDY: files.slurm },
          300_000,
        );
        assert.equal(nb.status, 0, nb.stderr);
        const html = fs.readFileSync(path.join(figs, 'study_report', 'study_report.html'), 'utf8');
        assert.ok(
          html.includes(slReport.decisions[0].statement.slice(0, 40)),
          'the decision is stated in the notebook',
        );
        for (const f of ['study_box_dose_metrics.mae_gy', 'study_forest_dose_metrics.mae_gy'])
          assert.ok(fs.statSync(path.join(figs, 'study_report', `${f}.png`)).size > 1000, f);
      }
      process.stderr.write(
        `# study slurm test: requeued ${requeued.task} (${requeued.run}); ${n} per-case numbers equal local\n`,
      );
    } finally {
      if (cluster.startedHere) spawnSync('bash', [CLUSTER, 'stop'], { encoding: 'utf8' });
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
