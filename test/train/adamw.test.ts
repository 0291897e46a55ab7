/** AdamW with decoupled weight decay, gradient-norm clipping and the cosine schedule (lib/train/adamw.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initEngine, tf } from '../../lib/engine';
import { AdamW, clipGradNorm, cosineLr } from '../../lib/train/adamw';

test('AdamW: hand-computed first step with decoupled decay; clipping; cosine schedule', async () => {
  await initEngine({ quiet: true });
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = new AdamW([{ params: new Map([['p', p]]), weightDecay: 0.1 }]);
  opt.apply(new Map([['p', tf.tensor1d([0.5, -0.25])]]), 0.01);
  // step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) = ±lr; decay p·(1 − lr·wd)
  const v = p.dataSync();
  assert.ok(Math.abs(v[0] - (1 * (1 - 0.001) - 0.01)) < 1e-6);
  assert.ok(Math.abs(v[1] - (-2 * (1 - 0.001) + 0.01)) < 1e-6);
  const g = new Map([['a', tf.tensor1d([3, 4])]]);
  assert.equal(clipGradNorm(g, 1), 5);
  const c = g.get('a')!.dataSync();
  assert.ok(Math.abs(c[0] - 0.6) < 1e-5 && Math.abs(c[1] - 0.8) < 1e-5);
  assert.equal(cosineLr(0, 1e-4, 10), 1e-4);
  assert.ok(Math.abs(cosineLr(10, 1e-4, 10) - 1e-6) < 1e-15);
  assert.ok(Math.abs(cosineLr(5, 1e-4, 10) - (1e-6 + (1e-4 - 1e-6) / 2)) < 1e-15);
  opt.dispose();
});

test('AdamW + clip_grad_norm_ follow the torch peer over 5 steps', async () => {
  await initEngine({ quiet: true });
  const peer = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'train', 'adamw_peer.json'), 'utf8'));
  const p = tf.variable(tf.tensor1d(peer.p0, 'float32'));
  const opt = new AdamW([{ params: new Map([['p', p]]), weightDecay: 0.01 }]);
  peer.grads.forEach((g: number[], k: number) => {
    const gm = new Map([['p', tf.tensor1d(g, 'float32')]]);
    clipGradNorm(gm, 1.0);
    opt.apply(gm, peer.lrs[k]);
    const got = p.dataSync();
    peer.trajectory[k].forEach((want: number, i: number) =>
      assert.ok(Math.abs(got[i] - want) < 2e-6, `step ${k} [${i}] ${got[i]} vs ${want}`),
    );
  });
  opt.dispose();
});
