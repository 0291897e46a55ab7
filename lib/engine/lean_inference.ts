/**
 * Inference with PyTorch-like memory: every intermediate tensor is freed right after its last use,
 * without changing the model code. `tf.tidy` keeps all intermediates of a forward pass alive until
 * it ends (a base-48 U-Net at 128³ holds ~13 GB that way; PyTorch under no_grad frees each
 * activation once its consumers ran, ~2-3 GB).
 *
 * How: the forward is first run once on a tiny input (a trace). Two engine hooks record, in
 * creation order, every tensor the forward creates and, per data buffer, the creation count at its
 * last read (every cpu-backend kernel and dataSync reads through backend.data.get). The program is
 * the same for any spatial size, so the real run creates the same tensors in the same order; each
 * is disposed as soon as the creation count passes its last read. A Float32Array an op obtained
 * before the disposal stays valid (JS memory is freed by GC only once unreferenced), so a late
 * disposal can never corrupt a running op. Safety checks: every created tensor's dtype and rank
 * must match the trace; on the first mismatch the run stops disposing and finishes like a plain
 * tidy. Only tensors created inside the forward (not inputs, parameters or the result) are freed.
 *
 * Written by hand: tfjs has no consumer reference counting. Works on backends whose kernels read
 * through `backend.data.get` (the cpu backend the native engine uses); elsewhere `leanApply` is a
 * plain tidy.
 */
import * as tf from '@tensorflow/tfjs';

interface TensorLike {
  dataId: object;
  dtype: string;
  rank: number;
  isDisposed: boolean;
  dispose(): void;
}

interface Plan {
  /** per created tensor (creation order): dtype:rank signature */
  sig: string[];
  /** per created tensor: dispose once the creation count exceeds this (-1: never) */
  lastRead: Int32Array;
}

interface EngineInternals {
  trackTensor(a: TensorLike, backend: unknown): void;
}
interface BackendInternals {
  data?: { get(dataId: object): unknown };
}

const plans = new WeakMap<object, Map<string, Plan>>();

/** installs the two hooks for the duration of fn; onCreate / onRead see every event */
function withHooks<T>(onCreate: (t: TensorLike) => void, onRead: (dataId: object) => void, fn: () => T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  const backend = tf.backend() as unknown as BackendInternals;
  const data = backend.data;
  const origTrack = engine.trackTensor;
  const origGet = data!.get;
  engine.trackTensor = function (this: EngineInternals, a: TensorLike, b: unknown) {
    origTrack.call(this, a, b);
    if (!(a instanceof tf.Variable)) onCreate(a);
  };
  data!.get = function (this: unknown, dataId: object) {
    onRead(dataId);
    return origGet.call(this, dataId);
  };
  try {
    return fn();
  } finally {
    engine.trackTensor = origTrack;
    data!.get = origGet;
  }
}

function supported(): boolean {
  const b = tf.backend() as unknown as BackendInternals;
  return tf.getBackend() === 'cpu' && !!b.data && typeof b.data.get === 'function';
}

function trace(fn: (...inputs: tf.Tensor[]) => tf.Tensor, makeInputs: () => tf.Tensor[]): Plan {
  const created: TensorLike[] = [];
  const lastReadOf = new Map<object, number>();
  let result: tf.Tensor | null = null;
  tf.tidy(() => {
    // inputs are created before the hooks, as the real run's inputs exist before it
    const inputs = makeInputs();
    withHooks(
      (t) => created.push(t),
      (id) => lastReadOf.set(id, created.length),
      () => {
        result = fn(...inputs);
      },
    );
    return undefined;
  });
  const keepIds = new Set<object>([(result as unknown as TensorLike).dataId]);
  const lastRead = new Int32Array(created.length);
  created.forEach((t, i) => {
    lastRead[i] = keepIds.has(t.dataId) ? -1 : Math.max(i + 1, lastReadOf.get(t.dataId) ?? 0);
  });
  return { sig: created.map((t) => `${t.dtype}:${t.rank}`), lastRead };
}

/**
 * fn(...inputs) (a forward pass returning one tensor) inside a tidy, freeing each intermediate tensor
 * after its last use. `key` + `variant` identify the program (e.g. the model and the batch size);
 * `traceInputs` makes tiny inputs of the same ranks for the one trace run per program. The result
 * is kept; the inputs are the caller's.
 */
export function leanApply(
  key: object,
  variant: string,
  fn: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  traceInputs: () => tf.Tensor[],
): tf.Tensor {
  if (!supported()) return tf.tidy(() => fn(...inputs));
  let byVariant = plans.get(key);
  if (!byVariant) {
    byVariant = new Map();
    plans.set(key, byVariant);
  }
  let plan = byVariant.get(variant);
  if (!plan) {
    plan = trace(fn, traceInputs);
    byVariant.set(variant, plan);
  }
  const p = plan;
  const created: TensorLike[] = [];
  // tensors waiting for their last read, bucketed by the creation index that frees them
  const due = new Map<number, TensorLike[]>();
  let valid = true;
  return tf.tidy(() =>
    withHooks(
      (t) => {
        const i = created.length;
        created.push(t);
        if (!valid) return;
        if (i >= p.sig.length || p.sig[i] !== `${t.dtype}:${t.rank}`) {
          valid = false; // the program differs from the trace: stop freeing, finish as a plain tidy
          return;
        }
        const at = p.lastRead[i];
        if (at >= 0) {
          const list = due.get(at);
          if (list) list.push(t);
          else due.set(at, [t]);
        }
        // creating tensor i means every read counted at <= i has happened
        const ready = due.get(i);
        if (!ready) return;
        due.delete(i);
        for (const r of ready) if (r !== t && !r.isDisposed) r.dispose();
      },
      () => undefined,
      () => fn(...inputs),
    ),
  );
}
