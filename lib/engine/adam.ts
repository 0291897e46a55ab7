/**
 * Adam with the whole update of one variable in a single loop: the same arithmetic, in the same
 * float32 rounding order, as tfjs' AdamOptimizer.applyGradients (tfjs-core 4.22), which runs ~12
 * separate elementwise kernels per variable (each allocating a full-size tensor). Same class, same
 * state (m/v slot variables, accBeta1/2), so getWeights/setWeights/serialization are unchanged.
 * Used for float32 variables on the cpu backend; anything else goes to the stock update. With the
 * native addon the loop runs there (native/src/adam.cc, OpenMP, same float32 operations, same bits).
 */
import * as tf from '@tensorflow/tfjs';
import { loadNativeAddon } from './native_addon';
import { leanVariableGrads } from './lean_grads';

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

const f = Math.fround;

/** tf.train.adam with one fused update per variable (same results, far fewer kernels on the cpu backend) */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** minimize()'s gradients through the lean backward pass (bit-identical, frees as it goes) */
  override computeGradients(
    f: () => tf.Scalar,
    varList?: tf.Variable[],
  ): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    return leanVariableGrads(f, varList);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const grads: tf.Tensor[] = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.tensor)
      : Object.values(variableGradients);
    if (tf.getBackend() !== 'cpu' || grads.some((g) => g && g.dtype !== 'float32')) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const b1 = f(self.beta1);
    const b2 = f(self.beta2);
    const omb1 = f(1 - self.beta1);
    const omb2 = f(1 - self.beta2);
    const eps = f(self.epsilon);
    const negLr = f(-self.learningRate);
    const omab1 = f(1 - self.accBeta1.dataSync()[0]);
    const omab2 = f(1 - self.accBeta2.dataSync()[0]);
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (!self.accumulatedFirstMoment[i]) {
        self.accumulatedFirstMoment[i] = {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      if (!self.accumulatedSecondMoment[i]) {
        self.accumulatedSecondMoment[i] = {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      const g: tf.Tensor | undefined = Array.isArray(variableGradients)
        ? variableGradients[i].tensor
        : variableGradients[name];
      if (g == null) return;
      const mVar = self.accumulatedFirstMoment[i]!.variable;
      const vVar = self.accumulatedSecondMoment[i]!.variable;
      const gv = g.dataSync() as Float32Array;
      const mv = mVar.dataSync() as Float32Array;
      const vv = vVar.dataSync() as Float32Array;
      const xv = value.dataSync() as Float32Array;
      const n = xv.length;
      const m1 = new Float32Array(n);
      const v1 = new Float32Array(n);
      const x1 = new Float32Array(n);
      const { addon } = loadNativeAddon();
      if (addon && typeof addon.adamUpdate === 'function') {
        // the loop below in the addon (OpenMP, the same float32 operations: same bits)
        addon.adamUpdate(0, xv, gv, mv, vv, x1, m1, v1, Float32Array.of(b1, omb1, b2, omb2, omab1, omab2, eps, negLr));
      } else
        for (let k = 0; k < n; k++) {
          const gk = gv[k];
          const m = f(f(mv[k] * b1) + f(gk * omb1));
          const v = f(f(vv[k] * b2) + f(f(gk * gk) * omb2));
          m1[k] = m;
          v1[k] = v;
          const bm = f(m / omab1);
          const bv = f(v / omab2);
          x1[k] = f(xv[k] + f(f(bm / f(f(Math.sqrt(bv)) + eps)) * negLr));
        }
      tf.tidy(() => {
        mVar.assign(tf.tensor(m1, mVar.shape));
        vVar.assign(tf.tensor(v1, vVar.shape));
        value.assign(tf.tensor(x1, value.shape));
      });
    });
    tf.tidy(() => {
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    this.incrementIterations();
  }
}

/** Drop-in for tf.train.adam (same defaults) with the fused update on the cpu backend. */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
