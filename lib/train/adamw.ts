/**
 * AdamW with decoupled weight decay, matching torch.optim.AdamW (amsgrad=False): tfjs has no
 * AdamW, and its Adam couples L2 into the gradient, so this is written out here. Also the
 * global-norm gradient clipping of torch.nn.utils.clip_grad_norm_ (what Lightning's
 * gradient_clip_val uses).
 *
 * On the cpu backend with the native addon, each variable's update is one fused OpenMP loop
 * (native/src/adam.cc) instead of ~10 full-size tfjs kernels: the same float32 operations in the
 * same order, so the same bits (test/train/adamw_native.test.ts).
 */
import { VmatError } from '../core/errors';
import { tf } from '../engine';
import { loadNativeAddon, type NativeAddon } from '../engine/native_addon';

/** whether AdamW.apply updates this variable with the fused native loop (cpu backend, float32, addon built) */
export function adamwUsesNative(p: tf.Tensor, grad: tf.Tensor): boolean {
  return fusedUpdate(p, grad) !== null;
}

/** the addon when the fused update can run on these tensors (cpu backend, float32) */
function fusedUpdate(p: tf.Tensor, grad: tf.Tensor): NativeAddon | null {
  if (process.env.VMAT_ADAMW_JS === '1') return null;
  if (tf.getBackend() !== 'cpu' || p.dtype !== 'float32' || grad.dtype !== 'float32') return null;
  const { addon } = loadNativeAddon();
  return addon && typeof addon.adamUpdate === 'function' ? addon : null;
}

export interface ParamGroup {
  params: Map<string, tf.Variable>;
  weightDecay: number;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** serialisable optimizer state: step count and the first/second moments by parameter name */
export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** AdamW with decoupled weight decay per parameter group (torch.optim.AdamW semantics); state saved with checkpoints. */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  step = 0;
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();

  constructor(
    readonly groups: ParamGroup[],
    opts: AdamWOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
  }

  /**
   * One update with learning rate `lr` (torch order: p ← p·(1 − lr·wd), then the Adam step
   * p ← p − (lr / bc1) · m / (√v / √bc2 + eps)).
   */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** t);
    for (const g of this.groups) {
      for (const [name, p] of g.params) {
        const grad = grads.get(name);
        if (!grad) continue;
        const addon = fusedUpdate(p, grad);
        if (addon) {
          // the tfjs ops below, as float32 constants and one loop (bit-identical)
          const n = p.size;
          const m0 = this.m.get(name);
          const v0 = this.v.get(name);
          const zeros = m0 && v0 ? null : new Float32Array(n);
          const p1 = new Float32Array(n);
          const m1 = new Float32Array(n);
          const v1 = new Float32Array(n);
          const c = Float32Array.of(
            this.beta1,
            1 - this.beta1,
            this.beta2,
            1 - this.beta2,
            g.weightDecay !== 0 ? 1 - lr * g.weightDecay : 1,
            bc2Sqrt,
            this.eps,
            lr / bc1,
          );
          addon.adamUpdate(
            1,
            p.dataSync() as Float32Array,
            grad.dataSync() as Float32Array,
            m0 ? (m0.dataSync() as Float32Array) : (zeros as Float32Array),
            v0 ? (v0.dataSync() as Float32Array) : (zeros as Float32Array),
            p1,
            m1,
            v1,
            c,
          );
          tf.tidy(() => p.assign(tf.tensor(p1, p.shape, 'float32')));
          m0?.dispose();
          v0?.dispose();
          this.m.set(name, tf.tensor(m1, p.shape, 'float32'));
          this.v.set(name, tf.tensor(v1, p.shape, 'float32'));
          continue;
        }
        const [m, v] = tf.tidy(() => {
          const m0 = this.m.get(name) ?? tf.zerosLike(p);
          const v0 = this.v.get(name) ?? tf.zerosLike(p);
          const m1 = tf.add(tf.mul(m0, this.beta1), tf.mul(grad, 1 - this.beta1));
          const v1 = tf.add(tf.mul(v0, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2));
          const decayed = g.weightDecay !== 0 ? tf.mul(p, 1 - lr * g.weightDecay) : p;
          const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), this.eps);
          p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1)));
          return [m1, v1];
        });
        this.m.get(name)?.dispose();
        this.v.get(name)?.dispose();
        this.m.set(name, m);
        this.v.set(name, v);
      }
    }
  }

  getState(): AdamWState {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [k, t] of this.m) m.set(k, t.dataSync() as Float32Array);
    for (const [k, t] of this.v) v.set(k, t.dataSync() as Float32Array);
    return { step: this.step, m, v };
  }

  setState(s: AdamWState): void {
    this.dispose();
    this.step = s.step;
    const shapes = new Map<string, number[]>();
    for (const g of this.groups) for (const [k, p] of g.params) shapes.set(k, p.shape);
    for (const [k, a] of s.m) {
      const shape = shapes.get(k);
      if (!shape)
        throw new VmatError(
          `optimizer state: moments for parameter '${k}', which this model does not have (a checkpoint of another model or loss configuration?)`,
        );
      this.m.set(k, tf.tensor(a, shape, 'float32'));
    }
    for (const [k, a] of s.v) {
      const shape = shapes.get(k);
      if (!shape)
        throw new VmatError(
          `optimizer state: moments for parameter '${k}', which this model does not have (a checkpoint of another model or loss configuration?)`,
        );
      this.v.set(k, tf.tensor(a, shape, 'float32'));
    }
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * Scales all gradients in place so their global L2 norm is at most `maxNorm`
 * (torch clip_grad_norm_: coef = maxNorm / (norm + 1e-6), applied when < 1). Returns the norm before clipping.
 */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const sq = tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt(sq.dataSync()[0]);
  sq.dispose();
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const [k, g] of grads) {
      grads.set(k, tf.mul(g, coef));
      g.dispose();
    }
  }
  return norm;
}

/** CosineAnnealingLR stepped per epoch: lr(e) = eta_min + (lr0 − eta_min)(1 + cos(π e / T_max)) / 2 */
export function cosineLr(epoch: number, lr0: number, tMax: number, etaMin = 1e-6): number {
  if (tMax <= 0) return lr0;
  return etaMin + ((lr0 - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2;
}
