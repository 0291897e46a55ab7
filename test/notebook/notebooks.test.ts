/**
 * Every notebook in notebooks/ executes headless, without a cell error, against a tiny pipeline
 * built through the CLI in a temporary folder: tiny synthetic cohort -> 1-epoch tiny training of
 * the baseline and the asymmetric-PTV condition (runs named <experiment>_seed42, as scripts/main.sh
 * writes them) -> inference + evaluation. Then, on the executed reports: no figure is wider than
 * its output area (1280 px at most) in the HTML export, the printed training command reproduces
 * the run's training_config.json (except time and environment), and the run left `git status`
 * unchanged. Skipped (with the reason) only when Jupyter is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jupyterMissing, renderedFigures, ROOT, runNotebooks } from './helpers';

const skip = jupyterMissing() ?? false;

const gitStatus = () => spawnSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';

/** the `node bin/vmat.js train …` line of the executed notebook's reproduce block */
function printedTrainCommand(executed: string): string {
  const nb = JSON.parse(fs.readFileSync(executed, 'utf8')) as {
    cells: Array<{ outputs?: Array<{ data?: Record<string, string | string[]> }> }>;
  };
  for (const c of nb.cells)
    for (const o of c.outputs ?? []) {
      const md = o.data?.['text/markdown'];
      const text = Array.isArray(md) ? md.join('') : (md ?? '');
      const line = text.split('\n').find((l) => l.startsWith('node bin/vmat.js train '));
      if (line) return line;
    }
  throw new Error(`no 'node bin/vmat.js train' line in ${executed}`);
}

/** training_config.json without the fields that legitimately differ between two runs of one command */
function comparableConfig(file: string): unknown {
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete c.timestamp;
  delete c.environment;
  delete c.git_commit;
  return c;
}

function vmat(args: string[], cwd: string): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/vmat.js'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `vmat ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

test(
  'every notebook runs headless on a tiny synth -> train -> infer -> evaluate pipeline',
  { skip, timeout: 1_200_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-notebooks-'));
    const statusBefore = gitStatus();
    try {
      vmat(
        ['synth', '--out', 'data', '--cases', '8', '--seed', '7', '--shape', process.env.VMAT_TEST_SHAPE ?? '48,48,32'],
        dir,
      );
      const tiny = [
        '--data-dir',
        'data',
        '--runs-dir',
        'runs',
        '--epochs',
        '1',
        '--patch-size',
        '16',
        '--base-channels',
        '4',
        '--levels',
        '2',
        '--batch-size',
        '2',
        '--patches-per-volume',
        '1',
        '--seed',
        '42',
        '--quiet',
      ];
      vmat(['train', ...tiny, '--exp-name', 'baseline_seed42'], dir);
      vmat(['train', ...tiny, '--exp-name', 'asymmetric_ptv_seed42', '--use-asymmetric-ptv'], dir);
      for (const run of ['baseline_seed42', 'asymmetric_ptv_seed42']) {
        const summary = JSON.parse(fs.readFileSync(path.join(dir, 'runs', run, 'training_summary.json'), 'utf8')) as {
          best_checkpoint: string | null;
          last_checkpoint: string;
        };
        vmat(
          [
            'infer',
            '--checkpoint',
            summary.best_checkpoint ?? summary.last_checkpoint,
            '--input-dir',
            'data',
            '--output-dir',
            `predictions/${run}`,
            '--cases-from',
            `runs/${run}/test_cases.json`,
            '--compute-metrics',
            '--gamma-subsample',
            '2',
            '--quiet',
          ],
          dir,
        );
      }
      // VMAT_TEST_NOTEBOOKS=stem1,stem2 runs a subset (development); the default is every notebook
      const only = process.env.VMAT_TEST_NOTEBOOKS?.split(',').map((x) => x.trim());
      const notebooks = fs
        .readdirSync(path.join(ROOT, 'notebooks'))
        .filter((n) => n.endsWith('.ipynb') && (!only || only.includes(n.replace(/\.ipynb$/, ''))))
        .sort()
        .map((n) => path.join(ROOT, 'notebooks', n));
      if (!only) assert.ok(notebooks.length >= 6, `expected the six notebooks, found ${notebooks.length}`);
      const figs = path.join(dir, 'figures');
      const r = runNotebooks(
        notebooks,
        figs,
        {
          VMAT_TINY: '1',
          VMAT_DATA_DIR: path.join(dir, 'data'),
          VMAT_RUNS_DIR: path.join(dir, 'runs'),
          VMAT_PREDICTIONS_DIR: path.join(dir, 'predictions'),
          VMAT_SKIP_INDEX: '0',
          VMAT_INDEX_FILE: path.join(dir, 'EXPERIMENTS_INDEX.md'),
        },
        840_000,
      );
      assert.equal(
        r.status,
        0,
        `notebook run failed:\n${r.stderr
          .split('\n')
          .filter((l) => !/ cell \d+\/\d+ done$/.test(l))
          .join('\n')}`,
      );
      // the baseline report leaves the standard 8-figure set as PNG + PDF next to its executed copy and HTML
      const out = path.join(figs, 'baseline');
      for (const n of [
        'fig1_training_curves',
        'fig2_dose_colorwash',
        'fig3_dose_difference',
        'fig4_dvh_comparison',
        'fig5_gamma_bar_chart',
        'fig6_per_case_boxplots',
        'fig7_quantec_compliance',
        'fig8_femur_asymmetry',
      ]) {
        for (const ext of ['png', 'pdf'])
          assert.ok(fs.statSync(path.join(out, `${n}.${ext}`)).size > 1000, `${n}.${ext}`);
      }
      assert.ok(fs.existsSync(path.join(out, '2026-02-24_baseline_v23_preliminary.executed.ipynb')));
      assert.ok(fs.existsSync(path.join(out, '2026-02-24_baseline_v23_preliminary.html')));
      // the index was written where it was asked (outside the tracked tree), with the SD convention stated
      assert.match(
        fs.readFileSync(path.join(dir, 'EXPERIMENTS_INDEX.md'), 'utf8'),
        /sample SD, n − 1[\s\S]*baseline_seed42/,
      );

      // no figure of the executed reports is wider than its output area (and never wider than 1280 px)
      for (const [exp, stem] of [
        ['baseline', '2026-02-24_baseline_v23_preliminary'],
        ['asymmetric_ptv', '2026-01-23_asymmetric_ptv_loss'],
      ]) {
        const figures = await renderedFigures(path.join(figs, exp, `${stem}.html`));
        if (figures === null) continue; // no Chromium: the figure export above would have failed first
        assert.ok(figures.length >= 6, `${stem}: ${figures.length} figures rendered`);
        for (const f of figures) {
          assert.ok(
            f.width <= Math.min(1280, f.areaWidth) + 0.5,
            `${stem} ${f.id}: ${f.width} px in a ${f.areaWidth} px output area`,
          );
          assert.ok(
            f.svgWidth <= f.width + 0.5 && !f.overflows,
            `${stem} ${f.id}: plot ${f.svgWidth} px overflows ${f.width} px`,
          );
        }
      }

      // the printed training command reproduces the run's training configuration
      const asymExec = path.join(figs, 'asymmetric_ptv', '2026-01-23_asymmetric_ptv_loss.executed.ipynb');
      const printed = printedTrainCommand(asymExec);
      assert.match(printed, /--use-asymmetric-ptv/);
      assert.match(printed, /--asymmetric-underdose-weight 3\b/);
      const runDir = path.join(dir, 'runs', 'asymmetric_ptv_seed42');
      const original = comparableConfig(path.join(runDir, 'training_config.json'));
      fs.renameSync(runDir, `${runDir}.original`);
      const rerun = spawnSync('bash', ['-c', `${printed} --quiet`], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
      assert.equal(rerun.status, 0, `${printed}\n${rerun.stdout}\n${rerun.stderr}`);
      assert.deepEqual(comparableConfig(path.join(runDir, 'training_config.json')), original);

      // running the notebooks (and the index) left the tracked tree as it was
      assert.equal(gitStatus(), statusBefore);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
