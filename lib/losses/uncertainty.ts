/**
 * Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla 2018), spec 5.7:
 *   L = Σ_i [ L_i / (2 σ_i²) + s_i ],   s_i = log σ_i learnable,  σ_i = max(exp(s_i), 1e-4)
 * One s_i per active component, in the order base, gradient, dvh, structure, asymmetric. The
 * negative-dose penalty (0.1·neg) is added outside by the caller, as in the reference. Initial s_i
 * come from the calibration JSON (`recommended_initial_log_sigma`) when given, else 0.
 */
import { UW_COMPONENT_ORDER, type LossComponent } from './config';

export { UW_COMPONENT_ORDER, type LossComponent };
import { tf } from '../engine';
import { makeVariable } from '../models';

/** Parameter-name prefix of the learnable log σ (stored with the model's extra parameters). */
export const LOG_SIGMA_PREFIX = 'uncertainty_loss.log_sigmas.';

/** Learnable log σ per active loss component (Kendall et al. 2018); `combine` gives Σ L_i/(2σ_i²) + log σ_i. */
export class UncertaintyWeighting {
  readonly logSigmas = new Map<string, tf.Variable>();

  constructor(
    readonly names: LossComponent[],
    initial: Partial<Record<string, number>> = {},
  ) {
    for (const n of names)
      this.logSigmas.set(
        `${LOG_SIGMA_PREFIX}${n}`,
        makeVariable(`${LOG_SIGMA_PREFIX}${n}`, Float32Array.of(initial[n] ?? 0), []),
      );
  }

  /** Σ L_i/(2σ_i²) + s_i over the components given (all must be active names) */
  combine(components: Partial<Record<LossComponent, tf.Scalar>>): tf.Scalar {
    return tf.tidy(() => {
      const parts: tf.Scalar[] = [];
      for (const n of this.names) {
        const L = components[n];
        if (!L)
          throw new Error(
            `UncertaintyWeighting.combine: no loss for component '${n}' (componentLosses computes every active component)`,
          );
        const s = this.logSigmas.get(`${LOG_SIGMA_PREFIX}${n}`)!;
        const sigma = tf.maximum(tf.exp(s), 1e-4);
        parts.push(tf.add(tf.div(L, tf.mul(tf.square(sigma), 2)), s) as tf.Scalar);
      }
      return tf.addN(parts) as tf.Scalar;
    });
  }

  sigmas(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.names)
      out[n] = Math.max(Math.exp(this.logSigmas.get(`${LOG_SIGMA_PREFIX}${n}`)!.dataSync()[0]), 1e-4);
    return out;
  }

  /** loads values (e.g. from a checkpoint's extra params) by full parameter name */
  assign(values: Map<string, tf.Tensor>): void {
    for (const [k, v] of this.logSigmas) {
      const src = values.get(k);
      if (src) v.assign(src);
    }
  }

  dispose(): void {
    for (const v of this.logSigmas.values()) v.dispose();
  }
}
