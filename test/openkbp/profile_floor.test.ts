import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCase } from '../../lib/data/load';
import type { Case } from '../../lib/data/case';
import { OPENKBP_STRUCTURES } from '../../lib/data/profiles';
import {
  OPENKBP_CHANNELS,
  OPENKBP_IN_CHANNELS,
  OPENKBP_LR_CHANNEL_PAIRS,
  prepareOpenKbp64,
  normaliseCtHuOpenKbp,
} from '../../lib/inputs/openkbp64';
import { resolutionFloorPatient } from '../../lib/openkbp/floor';
import { combineOpenKbpScores } from '../../lib/eval/openkbp_score';

const ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp');
const CSV = path.join(ROOT, 'csv', 'train-pats');
const NPZ = path.join(ROOT, 'npz', 'train');
const IDS = ['pt_143', 'pt_170', 'pt_66', 'pt_91'];
const available = fs.existsSync(CSV);
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'openkbp', 'floor_csv4.json');

const cache = new Map<string, Case>();
async function csvCase(id: string): Promise<Case> {
  if (!cache.has(id)) cache.set(id, await loadCase(path.join(CSV, id)));
  return cache.get(id)!;
}

const at = (a: number, b: number, c: number, n = 128) => (a * n + b) * n + c;

test(
  'OpenKBP 64³ inputs: channels, CT normalisation, occupancy, Rx channel, mask weight, target',
  { skip: !available },
  async () => {
    for (const id of IDS) {
      const c = await csvCase(id);
      const s = prepareOpenKbp64(c);
      assert.equal(s.channels.length, OPENKBP_IN_CHANNELS);
      assert.equal(OPENKBP_CHANNELS.length, 14);
      for (const ch of s.channels) assert.equal(ch.length, 64 ** 3);
      // absent structures are all-zero channels, present ones have occupancy in (0, 1]
      OPENKBP_STRUCTURES.forEach((name, k) => {
        const ch = s.channels[1 + k];
        let mx = 0;
        for (const v of ch) mx = Math.max(mx, v);
        if (c.masks.has(name)) assert.ok(mx > 0 && mx <= 1, `${id} ${name} occupancy max ${mx}`);
        else assert.equal(mx, 0, `${id} ${name} absent`);
      });
      // spot-check blocks against the 128³ data directly
      const pdm = c.possibleDoseMask!;
      for (const [i, j, k] of [
        [32, 32, 32],
        [20, 40, 50],
        [40, 30, 20],
        [31, 33, 35],
      ]) {
        let ct = 0;
        let occ = 0;
        let nm = 0;
        let dsum = 0;
        let rx = 0;
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 2; b++)
            for (let d = 0; d < 2; d++) {
              const q = at(2 * i + a, 2 * j + b, 2 * k + d);
              ct += normaliseCtHuOpenKbp(c.ct[q]) / 8;
              occ += (c.masks.get('PTV70')?.[q] ?? 0) / 8;
              rx +=
                ((c.masks.get('PTV70')?.[q] ?? 0) +
                  0.9 * (c.masks.get('PTV63')?.[q] ?? 0) +
                  0.8 * (c.masks.get('PTV56')?.[q] ?? 0)) /
                8;
              if (pdm[q]) {
                nm += 1;
                dsum += c.dose![q] / 70;
              }
            }
        const o = at(i, j, k, 64);
        assert.ok(Math.abs(s.channels[0][o] - ct) < 1e-6);
        assert.ok(Math.abs(s.channels[10][o] - occ) < 1e-6);
        assert.ok(Math.abs(s.channels[11][o] - rx) < 1e-6);
        assert.ok(Math.abs(s.channels[12][o] - nm / 8) < 1e-7);
        assert.equal(s.weight[o], s.channels[12][o]);
        assert.ok(Math.abs(s.target![o] - (nm ? dsum / nm : 0)) < 1e-6);
      }
      // CT normalisation: -1024 HU (no ct.csv row) -> -1.024; 16-bit values clip at 1500 HU -> 1.5
      let ctMax = -Infinity;
      let ctMin = Infinity;
      for (const v of s.channels[0]) {
        ctMax = Math.max(ctMax, v);
        ctMin = Math.min(ctMin, v);
      }
      assert.ok(ctMin >= -1.024 - 1e-6 && ctMax <= 1.5 + 1e-6);
      // PTV-union SDF: negative somewhere (inside the target), in [-1, 1]
      let sdfMin = Infinity;
      for (const v of s.channels[13]) sdfMin = Math.min(sdfMin, v);
      assert.ok(sdfMin < 0 && sdfMin >= -1);
      assert.deepEqual(Array.from(s.constraints.slice(0, 3)), [
        c.masks.has('PTV70') ? 1 : 0,
        c.masks.has('PTV63') ? Math.fround(0.9) : 0,
        c.masks.has('PTV56') ? Math.fround(0.8) : 0,
      ]);
    }
  },
);

test(
  'axis 1 is patient right -> left: LeftParotid lies at larger axis-1 index; the flip pair is the parotids',
  { skip: !available },
  async () => {
    const c = await csvCase('pt_66');
    const centroid1 = (m: Uint8Array) => {
      let s = 0;
      let n = 0;
      for (let i = 0; i < m.length; i++)
        if (m[i]) {
          s += Math.floor(i / 128) % 128;
          n++;
        }
      return s / n;
    };
    assert.ok(centroid1(c.masks.get('LeftParotid')!) > centroid1(c.masks.get('RightParotid')!));
    const [[a, b]] = OPENKBP_LR_CHANNEL_PAIRS;
    assert.deepEqual([OPENKBP_CHANNELS[a], OPENKBP_CHANNELS[b]].sort(), ['LeftParotid', 'RightParotid']);
  },
);

test(
  'CSV patient folder and openkbp npz give identical 64³ samples',
  { skip: !available || !fs.existsSync(path.join(NPZ, 'pt_91.npz')) },
  async () => {
    const a = prepareOpenKbp64(await csvCase('pt_91'));
    const b = prepareOpenKbp64(await loadCase(path.join(NPZ, 'pt_91.npz')));
    a.channels.forEach((ch, k) => assert.deepEqual(ch, b.channels[k], `channel ${OPENKBP_CHANNELS[k]}`));
    assert.deepEqual(a.target, b.target);
    assert.deepEqual(a.weight, b.weight);
  },
);

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
