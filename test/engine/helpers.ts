/** Shared helpers for the engine tests: seeded inputs, relative error, the op sets available here. */
import { tf, referenceOps, type EngineOps } from '../../lib/engine';
import { loadNativeAddon } from '../../lib/engine/native_addon';
import { makeNativeOps } from '../../lib/engine/ops_native';

export const TOL = 1e-4;

export function relErr(a: tf.Tensor | Float32Array, b: tf.Tensor | Float32Array): number {
  const x = a instanceof Float32Array ? a : (a.dataSync() as Float32Array);
  const y = b instanceof Float32Array ? b : (b.dataSync() as Float32Array);
  if (x.length !== y.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - y[i]) ** 2;
    den += y[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

let seed = 1000;
export function rand(shape: number[], scale = 1, shift = 0): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale), shift));
}

/** Forward value and gradients of sum(f(inputs) * r) with respect to every input. */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], r: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = f(...xs);
    const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs);
    return [y, ...g].map((t) => Float32Array.from(t.dataSync()));
  });
}

/** Fast op sets present on this machine (reference is the comparison, not listed). */
export function fastOpSets(): Array<{ name: string; ops: EngineOps | null; skip: string | false }> {
  const { addon, reason } = loadNativeAddon();
  return [
    {
      name: 'native',
      ops: addon ? makeNativeOps(addon) : null,
      skip: addon ? false : `native addon absent: ${reason}`,
    },
  ];
}

export { referenceOps };
