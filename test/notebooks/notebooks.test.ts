/**
 * Every notebook in notebooks/ executes headless, without a cell error, against a tiny pipeline
 * built through the CLI in a temporary folder: tiny synthetic cohort -> 1-epoch tiny training of
 * the baseline and the asymmetric-PTV condition -> inference + evaluation. Skipped (with the
 * reason) only when Jupyter is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jupyterMissing, ROOT, runNotebooks } from './helpers';

const skip = jupyterMissing() ?? false;

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
  { skip, timeout: 900_000 },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-notebooks-'));
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
        '--quiet',
      ];
      vmat(['train', ...tiny, '--exp-name', 'baseline'], dir);
      vmat(['train', ...tiny, '--exp-name', 'asymmetric_ptv', '--use-asymmetric-ptv'], dir);
      for (const run of ['baseline', 'asymmetric_ptv']) {
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
      const notebooks = fs
        .readdirSync(path.join(ROOT, 'notebooks'))
        .filter((n) => n.endsWith('.ipynb'))
        .sort()
        .map((n) => path.join(ROOT, 'notebooks', n));
      assert.ok(notebooks.length >= 6, `expected the six notebooks, found ${notebooks.length}`);
      const figs = path.join(dir, 'figures');
      const r = runNotebooks(
        notebooks,
        figs,
        {
          VMAT_TINY: '1',
          VMAT_DATA_DIR: path.join(dir, 'data'),
          VMAT_RUNS_DIR: path.join(dir, 'runs'),
          VMAT_PREDICTIONS_DIR: path.join(dir, 'predictions'),
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
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
