/** OpenKBP 64³ network inputs (lib/inputs/openkbp64.ts): channels, CT normalisation, L/R axis, CSV = npz. */
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

const ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'openkbp');
const CSV = path.join(ROOT, 'csv', 'train-pats');
const NPZ = path.join(ROOT, 'npz', 'train');
const IDS = ['pt_143', 'pt_170', 'pt_66', 'pt_91'];
const available = fs.existsSync(CSV);

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
