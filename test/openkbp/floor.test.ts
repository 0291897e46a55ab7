/** The resolution floor of the 64³ recipe (lib/openkbp/floor.ts) against its numpy peer and through the CLI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCase } from '../../lib/data/load';
import type { Case } from '../../lib/data/case';
import { resolutionFloorPatient } from '../../lib/openkbp/floor';
import { combineOpenKbpScores } from '../../lib/eval/openkbp_score';

const ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp');
const CSV = path.join(ROOT, 'csv', 'train-pats');
const IDS = ['pt_143', 'pt_170', 'pt_66', 'pt_91'];
const available = fs.existsSync(CSV);
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'openkbp', 'floor_csv4.json');

const cache = new Map<string, Case>();
async function csvCase(id: string): Promise<Case> {
  if (!cache.has(id)) cache.set(id, await loadCase(path.join(CSV, id)));
  return cache.get(id)!;
}

test(
  'resolution floor on the 4 CSV patients matches the numpy peer (floor_peer.py) to 1e-6',
  { skip: !available },
  async () => {
    const peer = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as {
      dose_score: number;
      dvh_score: number;
      n_dvh_cells: number;
      per_patient: Record<
        string,
        { dose_error: number; dvh_errors: Record<string, number>; pred_sum: number; pred_nonzero: number }
      >;
    };
    const per: Record<string, ReturnType<typeof resolutionFloorPatient>['score']> = {};
    for (const id of IDS) {
      const c = await csvCase(id);
      const r = resolutionFloorPatient(c);
      per[id] = r.score;
      const p = peer.per_patient[id];
      let sum = 0;
      let nz = 0;
      for (const v of r.dose) {
        sum += v;
        nz += v > 0 ? 1 : 0;
      }
      assert.equal(nz, p.pred_nonzero, `${id} non-zero voxels`);
      assert.ok(Math.abs(sum - p.pred_sum) <= 1e-6 * Math.abs(p.pred_sum), `${id} dose sum ${sum} vs ${p.pred_sum}`);
      assert.ok(
        Math.abs(r.score.dose_error - p.dose_error) < 1e-6,
        `${id} dose error ${r.score.dose_error} vs ${p.dose_error}`,
      );
      assert.deepEqual(Object.keys(r.score.dvh_errors).sort(), Object.keys(p.dvh_errors).sort());
      for (const [k, v] of Object.entries(p.dvh_errors))
        assert.ok(Math.abs(r.score.dvh_errors[k] - v) < 1e-6, `${id} ${k}: ${r.score.dvh_errors[k]} vs ${v}`);
    }
    const all = combineOpenKbpScores(per);
    assert.equal(all.n_dvh_cells, peer.n_dvh_cells);
    assert.ok(Math.abs(all.dose_score - peer.dose_score) < 1e-6);
    assert.ok(Math.abs(all.dvh_score - peer.dvh_score) < 1e-6);
    // the floor is a real loss of information, not zero
    assert.ok(all.dose_score > 0.1 && all.dvh_score > 0.1);
  },
);

test(
  'openkbp score --floor: the floor it prints equals the score of the floor predictions `openkbp floor` writes; --model adds the training record',
  { skip: !available },
  async () => {
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    const bin = path.join(__dirname, '..', '..', 'bin', 'vmat.js');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-score-floor-'));
    try {
      const ref = path.join(tmp, 'ref');
      fs.mkdirSync(ref);
      for (const id of ['pt_143', 'pt_170']) fs.symlinkSync(path.join(CSV, id), path.join(ref, id));
      const fl = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'floor', '--ref-dir', ref, '--out', path.join(tmp, 'floor')],
        { encoding: 'utf8' },
      );
      assert.equal(fl.status, 0, fl.stderr);
      const model = path.join(tmp, 'model');
      fs.mkdirSync(model);
      fs.writeFileSync(
        path.join(model, 'validation_scores.json'),
        JSON.stringify({
          model: 'openkbp-x',
          training: { wall_time_hours: 1.5, global_step: 10 },
          machine: { cpu: 'c', cores: 2, backend: 'cpu/native' },
        }),
      );
      const r = spawnSync(
        process.execPath,
        [
          bin,
          'openkbp',
          'score',
          '--ref-dir',
          ref,
          '--pred-dir',
          path.join(tmp, 'floor'),
          '--floor',
          '--model',
          model,
          '--json',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as {
        dose_score: number;
        dvh_score: number;
        resolution_floor: { dose_score: number; dvh_score: number; n_patients: number };
        model_training: { wall_time_hours: number };
        leaderboard: { winner: { dose_score: number } };
      };
      assert.equal(j.resolution_floor.n_patients, 2);
      assert.ok(
        Math.abs(j.resolution_floor.dose_score - j.dose_score) < 1e-4,
        `${j.resolution_floor.dose_score} vs ${j.dose_score}`,
      );
      assert.ok(
        Math.abs(j.resolution_floor.dvh_score - j.dvh_score) < 1e-3,
        `${j.resolution_floor.dvh_score} vs ${j.dvh_score}`,
      );
      assert.ok(j.dose_score > 0.1, 'the floor is not zero');
      assert.equal(j.model_training.wall_time_hours, 1.5);
      assert.equal(j.leaderboard.winner.dose_score, 2.4294);
      const bad = spawnSync(
        process.execPath,
        [bin, 'openkbp', 'score', '--ref-dir', ref, '--pred-dir', path.join(tmp, 'floor'), '--model', tmp],
        { encoding: 'utf8' },
      );
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /validation_scores\.json/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);
