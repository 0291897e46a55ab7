/**
 * Gradients with PyTorch-like memory: `leanVariableGrads` is tf.variableGrads with the same tape,
 * the same gradient functions and the same accumulation order (so bit-identical gradients), but
 * the backward pass frees as it goes:
 *   - the gradient of a tensor is disposed as soon as its producing op has consumed it (tfjs keeps
 *     every gradient until the end of the backward pass),
 *   - an op's saved tensors (its share of the forward activations) are disposed right after its
 *     gradient ran (tfjs keeps them all until the end),
 *   - a gradient added into an accumulated one is disposed after the addition,
 *   - ops that cannot contribute to the gradients (not on a path from the variables to the loss)
 *     release their saved tensors before the backward pass starts.
 * For a U-Net step at 128³ this is the difference between holding every forward and backward
 * intermediate at the end of the step (> 23 GB) and holding the saved activations plus a few
 * gradients in flight.
 *
 * Written by hand: tfjs exposes no hook into its backprop loop; this reproduces tfjs-core 4.22's
 * `Engine.gradients` / `backpropagateGradients` / `getFilteredNodesXToY` on the engine's internal
 * tape (checked at run time; anything unexpected, or a call nested inside another gradient tape,
 * falls back to tf.variableGrads).
 */
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  tidy<T extends tf.TensorContainer>(f: () => T): T;
}

function internals(): EngineInternals | null {
  const e = tf.engine() as unknown as Partial<EngineInternals>;
  const ok =
    e.state &&
    typeof e.scopedRun === 'function' &&
    typeof e.startTape === 'function' &&
    typeof e.endTape === 'function' &&
    typeof e.tidy === 'function' &&
    'activeTape' in e.state &&
    typeof e.state.gradientDepth === 'number';
  return ok ? (e as EngineInternals) : null;
}

/** tfjs-core's getFilteredNodesXToY: the nodes on a path from xs to y, inputs pruned to those from xs. */
function filterTape(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name].id)) {
        for (const o of node.outputs) fromX.add(o.id);
        nodesFromX.add(node.id);
        break;
      }
    }
  }
  const leadToY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => leadToY.has(o.id))) {
      for (const name in node.inputs) {
        leadToY.add(node.inputs[name].id);
        nodesToY.add(node.id);
      }
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) if (fromX.has(node.inputs[name].id)) inputs[name] = node.inputs[name];
    out.push({ ...node, inputs, outputs: node.outputs });
  }
  return out;
}

/**
 * The gradients of y = f() with respect to `xs` (null where y does not depend on one), freeing
 * memory during the backward pass (see the file comment). Same contract as tfjs' engine.gradients
 * with allowNoGradients = true: returns y (kept) and the gradients (new tensors, caller disposes).
 */
export function leanGradients(
  f: () => tf.Tensor,
  xs: tf.Tensor[],
): { value: tf.Tensor; grads: Array<tf.Tensor | null> } {
  const e = internals();
  if (!e || e.state.gradientDepth > 0 || xs.length === 0) {
    const { value, grads } = tf.engine().gradients(f, xs, undefined, true);
    return { value, grads };
  }
  const y = e.scopedRun(
    () => e.startTape(),
    () => e.endTape(),
    () => e.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('leanGradients: f() must return a tensor');
  const tape = e.state.activeTape ?? [];
  const filtered = filterTape(tape, xs, y);
  const onPath = new Set(filtered.map((n) => n.id));
  // saved tensors of ops off the path are never read: free them before the backward pass
  for (const node of tape) if (!onPath.has(node.id)) for (const t of node.saved ?? []) t.dispose();

  let ok = false;
  try {
    const r = e.tidy('backward', () => {
      const xIds = new Set(xs.map((x) => x.id));
      const acc = new Map<number, tf.Tensor>();
      // how many acc entries hold each tensor object (a gradient function may pass one through)
      const holds = new Map<tf.Tensor, number>();
      const hold = (t: tf.Tensor) => holds.set(t, (holds.get(t) ?? 0) + 1);
      const unhold = (t: tf.Tensor) => {
        const n = (holds.get(t) ?? 0) - 1;
        if (n > 0) holds.set(t, n);
        else holds.delete(t);
      };
      const ones = tf.onesLike(y);
      acc.set(y.id, ones);
      hold(ones);
      for (let i = filtered.length - 1; i >= 0; i--) {
        const node = filtered[i];
        const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
        if (!node.gradient)
          throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const inputGradients = node.gradient(dys);
        for (const name in node.inputs) {
          if (!(name in inputGradients)) {
            throw new Error(
              `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`,
            );
          }
          const dx = e.tidy(() => inputGradients[name]());
          if (dx.dtype !== 'float32') {
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
            );
          }
          const x = node.inputs[name];
          if (!tf.util.arraysEqual(dx.shape, x.shape)) {
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
            );
          }
          const cur = acc.get(x.id);
          if (cur === undefined) {
            acc.set(x.id, dx);
            hold(dx);
          } else {
            const sum = tf.add(cur, dx);
            acc.set(x.id, sum);
            hold(sum);
            unhold(cur);
            if (!holds.has(cur)) cur.dispose();
            if (!holds.has(dx) && !dys.includes(dx)) dx.dispose();
          }
        }
        // this op's output gradients and saved activations have no other reader
        node.outputs.forEach((o, k) => {
          const g = dys[k];
          if (!g || xIds.has(o.id)) return;
          acc.delete(o.id);
          unhold(g);
          if (!holds.has(g)) g.dispose();
        });
        for (const t of node.saved ?? []) t.dispose();
      }
      const grads = xs.map((x) => acc.get(x.id) ?? null);
      return { value: y, grads } as unknown as tf.TensorContainer;
    }) as unknown as { value: tf.Tensor; grads: Array<tf.Tensor | null> };
    ok = true;
    return r;
  } finally {
    if (!ok) y.dispose();
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    e.state.activeTape = null;
  }
}

/**
 * tf.variableGrads with the lean backward pass: the loss `f` (a scalar) and its gradients with
 * respect to the trainable variables in `varList` (default: all trainable variables), keyed by
 * variable name (variables the loss does not depend on are left out). Bit-identical to
 * tf.variableGrads.
 */
export function leanVariableGrads(
  f: () => tf.Scalar,
  varList?: tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const all = varList ?? (Object.values(tf.engine().registeredVariables) as tf.Variable[]);
  const vars = all.filter((v) => v.trainable);
  if (vars.length === 0) {
    throw new Error(
      `variableGrads() expects at least one of the input variables to be trainable, but none of the ${all.length} variables is trainable.`,
    );
  }
  const { value, grads } = leanGradients(f, vars);
  const fail = (msg: string) => {
    tf.dispose([value, ...grads.filter((g): g is tf.Tensor => g !== null)]);
    return new Error(msg);
  };
  if (!grads.some((g) => g != null)) {
    throw fail(
      'Cannot find a connection between any variable and the result of the loss function y=f(x). Please make sure the operations that use variables are inside the function f passed to minimize().',
    );
  }
  if (value.rank !== 0) {
    throw fail(`The f passed in variableGrads(f) must return a scalar, but it returned a rank-${value.rank} tensor`);
  }
  const named: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    const g = grads[i];
    if (g != null) named[v.name] = g;
  });
  return { value: value as tf.Scalar, grads: named };
}
