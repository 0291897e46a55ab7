/**
 * The OpenKBP profile through the generic pipeline used for the prostate data: `vmat train`
 * (patches at full resolution, locked split), `vmat infer` (sliding window; writes pt_N.csv) and
 * `vmat openkbp score` on its output. (`vmat openkbp train` is the 64³ whole-volume recipe for the
 * CPU budget; it shares the model factory, AdamW, optimisation step and checkpoints.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const NPZ_TRAIN = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp', 'npz', 'train');
const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');
const IDS = ['pt_1', 'pt_10', 'pt_100', 'pt_101', 'pt_103', 'pt_104', 'pt_105', 'pt_106', 'pt_108', 'pt_109'];

test(
  'OpenKBP npz cases run through vmat train → vmat infer → vmat openkbp score',
  { skip: !fs.existsSync(NPZ_TRAIN) && 'shared OpenKBP data not present' },
  () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-generic-'));
    try {
      const data = path.join(root, 'data');
      fs.mkdirSync(data);
      for (const id of IDS) fs.symlinkSync(path.join(NPZ_TRAIN, `${id}.npz`), path.join(data, `${id}.npz`));
      const env = { ...process.env, VMAT_THREADS: '1' };
      const tr = spawnSync(
        process.execPath,
        [
          bin,
          'train',
          '--data-dir',
          data,
          '--runs-dir',
          path.join(root, 'runs'),
          '--exp-name',
          'g',
          '--epochs',
          '1',
          '--patch-size',
          '32',
          '--val-overlap',
          '0',
          '--base-channels',
          '2',
          '--levels',
          '2',
          '--patches-per-volume',
          '1',
          '--batch-size',
          '1',
          '--val-split',
          '0.2',
          '--test-split',
          '0.2',
          '--quiet',
        ],
        { encoding: 'utf8', env },
      );
      assert.equal(tr.status, 0, tr.stderr);
      const run = path.join(root, 'runs', 'g');
      const cfg = JSON.parse(fs.readFileSync(path.join(run, 'training_config.json'), 'utf8')) as {
        data: { profile: string; input: { structures: string[] } };
        split: { test: string[] };
      };
      assert.equal(cfg.data.profile, 'openkbp');
      assert.equal(cfg.data.input.structures.length, 10);
      const best = fs.readdirSync(path.join(run, 'checkpoints')).find((d) => d.startsWith('best-'));
      assert.ok(best, 'a best checkpoint');
      const out = path.join(root, 'pred');
      const inf = spawnSync(
        process.execPath,
        [
          bin,
          'infer',
          '--checkpoint',
          path.join(run, 'checkpoints', best!),
          '--input-dir',
          data,
          '--output-dir',
          out,
          '--cases-from',
          path.join(run, 'test_cases.json'),
          '--overlap',
          '0',
        ],
        { encoding: 'utf8', env },
      );
      assert.equal(inf.status, 0, inf.stderr);
      const test = cfg.split.test;
      assert.equal(test.length, 2);
      for (const id of test) assert.ok(fs.existsSync(path.join(out, `${id}.csv`)), `${id}.csv written`);
      const refs = path.join(root, 'refs');
      fs.mkdirSync(refs);
      for (const id of test) fs.symlinkSync(path.join(NPZ_TRAIN, `${id}.npz`), path.join(refs, `${id}.npz`));
      const sc = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'score', '--ref-dir', refs, '--pred-dir', out, '--json'],
        { encoding: 'utf8', env },
      );
      assert.equal(sc.status, 0, sc.stderr);
      const s = JSON.parse(sc.stdout) as { dose_score: number; dvh_score: number; n_patients: number };
      assert.equal(s.n_patients, 2);
      assert.ok(Number.isFinite(s.dose_score) && s.dose_score > 0 && Number.isFinite(s.dvh_score), JSON.stringify(s));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
