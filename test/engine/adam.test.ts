/** The fused Adam equals tf.train.adam (tfjs-core 4.22) bit for bit over several steps. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, adam } from '../../lib/engine';

before(async () => {
  await tf.setBackend('cpu');
});

function run(make: () => tf.Optimizer, useArrayForm: boolean): Float32Array[] {
  const vars = [
    tf.variable(tf.randomNormal([3, 4], 0, 1, 'float32', 1), true, `w${useArrayForm}${make.name}a`),
    tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2), true, `w${useArrayForm}${make.name}b`),
  ];
  const x = tf.randomNormal([7, 3], 0, 1, 'float32', 3);
  const opt = make();
  for (let s = 0; s < 4; s++) {
    const { grads } = tf.variableGrads(
      () => tf.add(tf.sum(tf.square(tf.matMul(x, vars[0]))), tf.sum(tf.sin(vars[1]))) as tf.Scalar,
      vars,
    );
    if (useArrayForm) opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
    else opt.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const out = vars.map((v) => Float32Array.from(v.dataSync()));
  tf.dispose([x, ...vars]);
  opt.dispose();
  return out;
}

for (const arrayForm of [false, true]) {
  test(`fused adam == tf.train.adam after 4 steps (${arrayForm ? 'NamedTensor[]' : 'map'} gradients)`, () => {
    const stock = run(function stock() {
      return tf.train.adam(0.01, 0.8, 0.95, 1e-6);
    }, arrayForm);
    const fused = run(function fused() {
      return adam(0.01, 0.8, 0.95, 1e-6);
    }, arrayForm);
    stock.forEach((v, i) => assert.deepEqual(Array.from(fused[i]), Array.from(v), `variable ${i}`));
  });
}

test('fused adam state round-trips through getWeights/setWeights like the stock optimizer', async () => {
  const v = tf.variable(tf.ones([4]), true, 'rt');
  const opt = adam(0.1);
  opt.applyGradients([{ name: 'rt', tensor: tf.fill([4], 0.5) }]);
  const w = await opt.getWeights();
  assert.equal(w.length, 3); // iterations, m, v
  assert.deepEqual(Array.from(w[1].tensor.dataSync()), [0.05, 0.05, 0.05, 0.05].map(Math.fround));
  opt.dispose();
  v.dispose();
});
