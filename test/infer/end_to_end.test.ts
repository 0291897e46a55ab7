/**
 * Tiny end-to-end run through the commands: cases written with the data layer, `vmat train`,
 * `vmat infer` with the best checkpoint and with the distance baseline, `vmat calibrate`, and a
 * one-epoch run with every clinical loss under uncertainty weighting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { writeReferenceNpz, readPredictionNpz } from '../../lib/data/reference_npz';
import { phantomCase } from '../prostate/phantom';
import { writeSplit } from '../../lib/data/split';

const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');

function vmat(args: string[]): { stdout: string; json: Record<string, unknown> | null } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `vmat ${args.join(' ')}\n${r.stderr}`);
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = null;
  }
  return { stdout: r.stdout, json };
}

test('train → infer (checkpoint and distance baseline) → calibrate, through the CLI', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-e2e-'));
  const data = path.join(root, 'data');
  fs.mkdirSync(data);
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = `case_${String(i).padStart(4, '0')}`;
    ids.push(id);
    await writeReferenceNpz(
      path.join(data, `${id}.npz`),
      phantomCase({ id, shape: [16, 18, 12], shift: [(i % 3) - 1, 0, 0], rxGy: i === 5 ? 60 : 70 }),
    );
  }
  await writeSplit(path.join(data, 'split.json'), {
    version: 1,
    seed: 0,
    created_by: 'test',
    strata_keys: [],
    train: ids.slice(0, 4),
    val: [ids[4]],
    test: [ids[5]],
  });
  const runs = path.join(root, 'runs');
  const common = [
    '--data-dir',
    data,
    '--runs-dir',
    runs,
    '--patch-size',
    '16',
    '--base-channels',
    '4',
    '--levels',
    '3',
    '--batch-size',
    '2',
    '--patches-per-volume',
    '1',
    '--lr',
    '1e-3',
    '--quiet',
    '--json',
  ];
  const t = vmat(['train', ...common, '--exp-name', 'e2e', '--epochs', '2']).json!;
  assert.equal(t.stopped_by, 'max_epochs');
  assert.ok(fs.existsSync(t.best_checkpoint as string));
  const tc = JSON.parse(fs.readFileSync(path.join(runs, 'e2e', 'test_cases.json'), 'utf8'));
  assert.deepEqual(tc.test_cases, [ids[5]], 'the split.json of the data folder is the locked split');

  const preds = path.join(root, 'preds');
  const inf = vmat([
    'infer',
    '--checkpoint',
    t.best_checkpoint as string,
    '--input-dir',
    data,
    '--output-dir',
    preds,
    '--cases-from',
    path.join(runs, 'e2e', 'test_cases.json'),
    '--compute-metrics',
    '--gamma-subsample',
    '2',
    '--quiet',
    '--json',
  ]).json!;
  assert.equal(inf.n_cases, 1);
  const p = await readPredictionNpz(path.join(preds, `${ids[5]}_pred.npz`));
  assert.deepEqual(p.shape, [16, 18, 12]);
  assert.ok(p.dose.every((v) => v >= 0 && v <= 1.5));
  assert.equal(p.metadata.case_id, ids[5]);
  // the evaluation JSON scores the prediction in Gy with the case's own Rx (60 Gy here)
  const ev = JSON.parse(fs.readFileSync(path.join(preds, 'evaluation_results.json'), 'utf8'));
  assert.equal(ev.n_cases, 1);
  const gt = phantomCase({ id: ids[5], shape: [16, 18, 12], shift: [(5 % 3) - 1, 0, 0], rxGy: 60 }).dose!;
  const mae = p.dose.reduce((s, v, i) => s + Math.abs(v * 60 - gt[i]), 0) / gt.length;
  assert.ok(
    Math.abs(ev.per_case_results[0].dose_metrics.mae_gy - mae) < 1e-3,
    `${ev.per_case_results[0].dose_metrics.mae_gy} vs ${mae}`,
  );

  const base = path.join(root, 'base');
  vmat([
    'infer',
    '--distance-baseline',
    path.join(runs, 'e2e'),
    '--input-dir',
    data,
    '--output-dir',
    base,
    '--cases-from',
    path.join(runs, 'e2e', 'test_cases.json'),
    '--quiet',
  ]);
  const bm = JSON.parse(fs.readFileSync(path.join(base, 'distance_baseline.json'), 'utf8'));
  assert.deepEqual(bm.fittedOn, ids.slice(0, 4));
  const bp = await readPredictionNpz(path.join(base, `${ids[5]}_pred.npz`));
  // inside the PTV the table gives about the prescription level of the training cases
  assert.ok(Math.max(...bp.dose) > 0.9 && Math.max(...bp.dose) < 1.1);

  const calib = path.join(root, 'calib.json');
  const c = vmat([
    'calibrate',
    '--data-dir',
    data,
    '--num-samples',
    '3',
    '--crop-size',
    '16',
    '--output',
    calib,
    '--quiet',
    '--json',
  ]).json!;
  const avg = c.avg_raw_losses as Record<string, number>;
  const rec = c.recommended_initial_log_sigma as Record<string, number>;
  assert.deepEqual(Object.keys(avg).sort(), ['asymmetric', 'base', 'dvh', 'gradient', 'structure']);
  for (const k of Object.keys(avg))
    assert.ok(
      Math.abs(rec[k] - (avg[k] > 0 ? Math.log(Math.sqrt(Math.min(Math.max(avg[k], 1e-4), 1e4))) : 0)) < 1e-12,
      k,
    );
  // noise of 5 Gy at Rx 70 gives MSE ≈ (5/70)² in the normalised units
  assert.ok(Math.abs(avg.base - (5 / 70) ** 2) / (5 / 70) ** 2 < 0.2, `base ${avg.base}`);

  vmat([
    'train',
    ...common,
    '--exp-name',
    'full_loss',
    '--epochs',
    '1',
    '--use-gradient-loss',
    '--use-dvh-loss',
    '--use-structure-weighted',
    '--use-asymmetric-ptv',
    '--asymmetric-underdose-weight',
    '2.5',
    '--use-uncertainty-weighting',
    '--calibration-json',
    calib,
  ]);
  const header = fs.readFileSync(path.join(runs, 'full_loss', 'metrics.csv'), 'utf8').split('\n')[0];
  assert.equal(
    header,
    'epoch,global_step,lr,seconds,elapsed_minutes,train_loss,train_mse,train_grad,train_dvh,train_struct,train_asym,' +
      'train_neg,sigma_base,sigma_gradient,sigma_dvh,sigma_structure,sigma_asymmetric,val_loss,val_mae_gy,' +
      'val_mae_gy_ptv70,val_d95_gap_gy,val_pred_d95_gy,val_target_d95_gy,val_underdose_pct,val_gamma,val_gamma_ptv,val_seconds',
  );
  const cfg = JSON.parse(fs.readFileSync(path.join(runs, 'full_loss', 'training_config.json'), 'utf8'));
  assert.equal(cfg.hparams.asymmetric.underdoseWeight, 2.5);
  // the network's parameters plus the five Kendall log-sigmas
  const { createModel } = await import('../../lib/models');
  const { initEngine } = await import('../../lib/engine');
  await initEngine({ quiet: true });
  const net = createModel({
    inChannels: cfg.hparams.in_channels,
    baseChannels: cfg.hparams.base_channels,
    levels: cfg.hparams.levels,
  });
  assert.equal(cfg.model_params, net.numParameters() + 5);
  net.dispose();
  // the recorded command holds every effective flag (defaults included), so it reproduces the configuration
  const argv: string[] = cfg.command.argv;
  assert.deepEqual(argv.slice(0, 2), ['vmat', 'train']);
  for (const flag of ['--use-asymmetric-ptv', '--use-uncertainty-weighting', '--weight-decay', '--patience'])
    assert.ok(argv.includes(flag), `${flag} recorded`);
  assert.equal(argv[argv.indexOf('--asymmetric-underdose-weight') + 1], '2.5');
  assert.ok(!argv.includes('--resume') && !argv.includes('--json'));
  fs.rmSync(root, { recursive: true, force: true });
});
