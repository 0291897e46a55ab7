/**
 * The computed parts of the report notebooks, without Jupyter: the one SD convention (sample SD,
 * checked against numpy's ddof=1), change judgements that cannot contradict the conclusions, the
 * constraint-failure summary, the ground-truth coverage check, the configuration table, the
 * reconstructed training command (every flag exists in `vmat train`), the seed plan and the live
 * curve fed with the engine's EpochRow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sampleStat, renderIndex, pmText, type RunRow } from '../../lib/notebook/experiments_index';
import { judge, constraintSummary, gtCoverageCheck, d95Progression } from '../../lib/notebook/report';
import { configRows, lossTerms } from '../../lib/notebook/config_table';
import { reconstructTrainArgs, reproduceCommand, shellQuote } from '../../lib/notebook/reproduce';
import { seedPlan } from '../../lib/notebook/seed_plan';
import { resolveRunName } from '../../lib/notebook/params';
import { liveTrainingCurve } from '../../lib/notebook/live_curve';
import { findEvaluationFile } from '../../lib/notebook/run_artifacts';
import type { EpochRow } from '../../lib/train';
import type { EvaluationResults } from '../../lib/notebook/eval_results';
import type { ConstraintRow } from '../../lib/plot/metric_figures';

const numpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test(
  'one SD convention: sample SD (ddof 1) as numpy, stated in the index',
  { skip: numpy ? false : 'numpy missing' },
  () => {
    const v = [1.62, 1.95, 1.83, 2.11, 1.49];
    const peer = Number(
      spawnSync('python3', ['-c', `import numpy as np; print(repr(float(np.std(${JSON.stringify(v)}, ddof=1))))`], {
        encoding: 'utf8',
      }).stdout,
    );
    const s = sampleStat([...v, null])!;
    assert.ok(Math.abs(s.sd - peer) < 1e-12, `${s.sd} vs numpy ${peer}`);
    assert.equal(s.n, 5);
    assert.match(pmText(sampleStat([2])), /\(n = 1\)/, 'a single value has no SD');
    const row = (run: string, mae: number[]): RunRow => ({
      run,
      experiment: 'baseline',
      seed: null,
      date: null,
      gitHash: null,
      model: null,
      notebook: null,
      evaluation: null,
      nCases: mae.length,
      mae: sampleStat(mae),
      globalGamma: null,
      ptvGamma: null,
      d95Gap: null,
      quantec: { pass: 1, n: 2 },
      data: 'synthetic, 24 cases',
      complete: true,
    });
    const md = renderIndex([row('baseline_seed42', v), row('baseline_seed123', [1, 2])]);
    assert.match(md, /sample SD, n − 1/);
    assert.ok(md.includes(`${s.mean.toFixed(2)} ± ${s.sd.toFixed(2)}`));
    // the aggregate row: sample SD of the two per-seed means
    const agg = sampleStat([s.mean, 1.5])!;
    assert.ok(md.includes(`**${agg.mean.toFixed(2)} ± ${agg.sd.toFixed(2)}**`));
    assert.match(md, /\*\*2\/4 \(50%\)\*\*/);
  },
);

test('change judgements: an overshoot of the D95 gap is not an improvement', () => {
  assert.equal(judge(2.46, -1.86, 'zero').verdict, 'worse');
  assert.equal(judge(-0.5, -1.86, 'zero').verdict, 'improved');
  assert.equal(judge(1.8, 2.77, 'lower').verdict, 'improved');
  assert.equal(judge(71.8, 65.9, 'higher').verdict, 'improved');
  assert.equal(judge(1.801, 1.8, 'lower').verdict, 'unchanged', 'below the display precision');
  assert.equal(judge(null, 1, 'lower').verdict, 'n/a');
  assert.match(judge(2.46, -1.86, 'zero').text, /^\+4\.32 \(further from 0, worse\)$/);
});

test('constraint summary: all failures Dmax, volume constraints pass', () => {
  const cell = (column: string, passed: boolean, value: number): ConstraintRow['cells'][number] => ({
    column,
    passed,
    value,
    unit: column.includes('Dmax') ? 'Gy' : '%',
    limitText: '≤ 75 Gy',
  });
  const rows: ConstraintRow[] = [
    {
      caseId: 'P1',
      cells: [cell('Rectum Dmax', false, 75.8), cell('Rectum V70', true, 3), cell('PTV70 D95', true, 68)],
    },
    { caseId: 'P2', cells: [cell('Bladder Dmax', false, 75.1), cell('Bladder V70', true, 5)] },
    { caseId: 'P3', cells: [cell('Rectum Dmax', true, 60), cell('Rectum V60', true, 9)] },
  ];
  const s = constraintSummary(rows);
  assert.equal(s.nAllPass, 1);
  assert.equal(s.byKind['Dmax (point dose)'].fail, 2);
  const text = s.lines.join('\n');
  assert.match(text, /All 2 failure\(s\) are Dmax \(point dose\) violations/);
  assert.match(text, /OAR volume \(Vx\) constraints pass in every case/);
  assert.match(text, /target coverage \(D95\/V95\) constraints pass in every case/);
});

test("ground-truth D95 check uses each case's limit (0.95 × Rx)", () => {
  const ev = {
    per_case_results: [
      { case_id: 'a', rx_gy: 70, dose_metrics: { mae_gy: 1 }, dvh_metrics: { PTV70: { target_D95: 68.7 } } },
      { case_id: 'b', rx_gy: 70, dose_metrics: { mae_gy: 1 }, dvh_metrics: { PTV70: { target_D95: 55.2 } } },
      { case_id: 'c', rx_gy: 60, dose_metrics: { mae_gy: 1 }, dvh_metrics: { PTV70: { target_D95: 58 } } },
    ],
  } as unknown as EvaluationResults;
  const c = gtCoverageCheck(ev);
  assert.equal(c.n, 3);
  assert.equal(c.nPass, 2);
  assert.equal(c.min, 55.2);
  assert.deepEqual(c.thresholds, ['66.5 Gy', '57.0 Gy']);
});

test('configuration table flattens nested values with units; loss terms from the config', () => {
  const cfg = {
    model: 'BaselineUNet3D',
    hparams: {
      useAsymmetricPtv: true,
      asymmetricPtvWeight: 1,
      asymmetric: { underdoseWeight: 3, overdoseWeight: 1 },
      gradientLossWeight: 0.1,
    },
    training: { epochs: 30, batch_size: 2, patch_size: 32, max_minutes: 8 },
    environment: { node: '20' },
  };
  const rows = configRows(cfg);
  const at = (k: string) => rows.find((r) => `${r.section}.${r.key}` === k);
  assert.equal(at('hparams.asymmetric.underdoseWeight')?.value, '3');
  assert.match(at('hparams.asymmetric.underdoseWeight')!.unit, /pred < GT/);
  assert.equal(at('training.patch_size')?.unit, 'voxels (cube edge)');
  assert.equal(at('training.max_minutes')?.unit, 'min');
  assert.equal(at('environment.node'), undefined, 'the environment has its own table');
  const asym = lossTerms(cfg).find((t) => t.loss === 'Asymmetric PTV')!;
  assert.equal(asym.enabled, true);
});

test('reconstructed train command: every flag is a `vmat train` option; paths and names rewritten', async () => {
  const { buildProgram } = await import('../../lib/cli/main');
  const trainCmd = buildProgram().commands.find((c) => c.name() === 'train')!;
  const known = new Set(trainCmd.options.map((o) => o.long));
  const cfg = {
    hparams: {
      base_channels: 8,
      levels: 4,
      learning_rate: 1e-3,
      weight_decay: 0.01,
      architecture: 'baseline',
      useAsymmetricPtv: true,
      asymmetric: { underdoseWeight: 3, overdoseWeight: 1 },
      dvh: { d95Weight: 10 },
      structure: { ptvWeight: 2 },
    },
    training: {
      epochs: 30,
      batch_size: 2,
      patch_size: 32,
      patches_per_volume: 2,
      seed: 42,
      augmentation: false,
      val_gamma: true,
      max_minutes: 8,
    },
    data: { data_dir: path.join(process.cwd(), 'data', 'synthetic') },
  };
  const argv = reconstructTrainArgs(cfg, 'asym_seed42', 'runs');
  for (const a of argv.filter((x) => x.startsWith('--'))) assert.ok(known.has(a), `${a} is not a vmat train option`);
  const r = reproduceCommand(cfg, 'runs/asym_seed42');
  assert.equal(r.source, 'reconstructed');
  assert.match(r.text, /^node bin\/vmat\.js train --data-dir data\/synthetic --exp-name asym_seed42 --runs-dir runs /);
  assert.match(r.text, / --no-augmentation /);
  assert.match(r.text, / --val-gamma /);
  assert.match(r.text, / --max-minutes 8$/);
  // a recorded command wins; --resume is dropped
  const rec = reproduceCommand(
    { ...cfg, command: { argv: ['vmat', 'train', '--data-dir', 'x', '--resume', '--epochs', '5'], text: '' } },
    'runs/asym_seed42',
  );
  assert.equal(rec.source, 'recorded');
  assert.deepEqual(rec.argv.slice(0, 5), ['train', '--data-dir', 'data/synthetic', '--epochs', '5']);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

test('seed plan: found/needed and the exact commands for the missing seeds; run naming', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-seeds-'));
  try {
    const runs = path.join(dir, 'runs');
    const preds = path.join(dir, 'predictions');
    const cfg = {
      hparams: { base_channels: 8 },
      training: { epochs: 3, seed: 42 },
      data: { data_dir: path.join(dir, 'data') },
    };
    fs.mkdirSync(path.join(runs, 'baseline_seed42', 'checkpoints', 'last'), { recursive: true });
    fs.writeFileSync(path.join(runs, 'baseline_seed42', 'training_config.json'), JSON.stringify(cfg));
    fs.mkdirSync(path.join(preds, 'baseline_seed42'), { recursive: true });
    fs.writeFileSync(
      path.join(preds, 'baseline_seed42', 'baseline_evaluation_results.json'),
      '{"per_case_results":[]}',
    );
    fs.writeFileSync(path.join(preds, 'baseline_seed42', 'evaluation_results.json'), '{"per_case_results":[]}');
    assert.equal(path.basename(findEvaluationFile(path.join(preds, 'baseline_seed42'))!), 'evaluation_results.json');
    assert.equal(resolveRunName(runs, 'baseline', 42), 'baseline_seed42');
    assert.equal(resolveRunName(runs, 'baseline', 7), 'baseline_seed42', 'lowest available seed');
    const p = seedPlan({
      runsDir: runs,
      predictionsDir: preds,
      dataDir: path.join(dir, 'data'),
      experiment: 'baseline',
      required: [42, 123, 456],
    });
    assert.deepEqual(p.missing, [123, 456]);
    assert.equal(p.found.length, 1);
    assert.match(p.markdown, /found 1 evaluated of the 3/);
    const train123 = p.commands.find((c) => c.includes('--exp-name baseline_seed123'))!;
    assert.match(train123, /--seed 123/);
    assert.ok(p.commands.some((c) => /infer .*--output-dir .*baseline_seed456/.test(c)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live curve consumes the engine EpochRow; D95 progression columns', () => {
  const live = liveTrainingCurve();
  const rows: EpochRow[] = [
    {
      epoch: 0,
      global_step: 4,
      lr: 1e-3,
      seconds: 1,
      elapsed_minutes: 0.02,
      train_loss: 1,
      val_loss: 2,
      val_mae_gy: 10,
      val_d95_gap_gy: -3,
      val_pred_d95_gy: 66,
      val_underdose_pct: 80,
      val_gamma: 40,
    },
    {
      epoch: 1,
      global_step: 8,
      lr: 1e-3,
      seconds: 1,
      elapsed_minutes: 0.04,
      train_loss: 0.5,
      val_loss: null,
      val_mae_gy: null,
      val_d95_gap_gy: null,
      val_pred_d95_gy: null,
      val_underdose_pct: null,
      val_gamma: null,
    },
  ];
  const out = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    for (const r of rows) live.onEpoch(r, rows);
  } finally {
    process.stdout.write = out;
  }
  const h = live.history();
  assert.deepEqual(h.trainLoss, [1, 0.5]);
  assert.deepEqual(h.valLoss, [2, null]);
  assert.deepEqual(h.valGamma, [40, null]);
  const prog = d95Progression(h);
  assert.deepEqual(prog.rows, [[0, 10, -3, 66, 80]]);
  assert.deepEqual(prog.missing, []);
});
