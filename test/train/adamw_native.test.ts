/**
 * The fused native AdamW update (native/src/adam.cc through lib/train/adamw.ts) against the tfjs
 * float32 ops it replaces: bit-identical parameters and moments after several steps, with and
 * without weight decay, on 1 and 2 threads. Skips when the addon is not built.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../lib/engine';
import { loadNativeAddon } from '../../lib/engine/native_addon';
import { AdamW, adamwUsesNative } from '../../lib/train/adamw';
import { Rng } from '../../lib/core/rng';

const addon = loadNativeAddon().addon;
const skip = addon ? false : 'native addon not built';

before(async () => {
  await initEngine({ quiet: true });
});
after(() => {
  delete process.env.VMAT_ADAMW_JS;
});

/** 3 AdamW steps on fixed parameters and gradients; returns every parameter and moment after them */
function run(js: boolean, weightDecay: number): Float32Array[] {
  if (js) process.env.VMAT_ADAMW_JS = '1';
  else delete process.env.VMAT_ADAMW_JS;
  const rng = Rng.fromSeed(4);
  const shapes = [[3, 3, 3, 4, 8], [8], [70001]];
  const params = new Map<string, tf.Variable>();
  shapes.forEach((s, i) => {
    const n = s.reduce((a, b) => a * b, 1);
    params.set(
      `p${i}`,
      tf.variable(
        tf.tensor(
          Float32Array.from({ length: n }, () => rng.normal()),
          s,
        ),
        true,
        `adamw-test-${js}-${weightDecay}-${i}-${Math.random()}`,
      ),
    );
  });
  const opt = new AdamW([{ params, weightDecay }]);
  const p0 = params.get('p0') as tf.Variable;
  assert.equal(adamwUsesNative(p0, p0), !js, js ? 'JS path expected' : 'native path expected');
  for (let step = 0; step < 3; step++) {
    const grads = new Map<string, tf.Tensor>();
    for (const [k, p] of params)
      grads.set(
        k,
        tf.tensor(
          Float32Array.from({ length: p.size }, () => 0.1 * rng.normal()),
          p.shape,
        ),
      );
    opt.apply(grads, 1e-3 * (step + 1));
    tf.dispose([...grads.values()]);
  }
  const st = opt.getState();
  const out = [...params.values()].map((p) => Float32Array.from(p.dataSync()));
  for (const k of params.keys()) out.push(Float32Array.from(st.m.get(k)!), Float32Array.from(st.v.get(k)!));
  opt.dispose();
  tf.dispose([...params.values()]);
  return out;
}

for (const wd of [0, 0.01]) {
  test(`native AdamW equals the tfjs update bit for bit (weight decay ${wd}, 1 and 2 threads)`, { skip }, () => {
    const js = run(true, wd);
    for (const threads of [1, 2]) {
      addon!.setThreads(threads);
      const nat = run(false, wd);
      assert.equal(nat.length, js.length);
      nat.forEach((a, i) => {
        const b = js[i];
        assert.equal(a.length, b.length);
        for (let k = 0; k < a.length; k++)
          if (!Object.is(a[k], b[k])) assert.fail(`array ${i} element ${k}: ${a[k]} vs ${b[k]} (${threads} threads)`);
      });
    }
    addon!.setThreads(2);
  });
}
