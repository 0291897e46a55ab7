/**
 * `vmat bench train-step`: one Adam step of a 3-D U-Net on the engine, timed, against the
 * identical model in PyTorch (bench/peers/pytorch_train_step.py, Debian python3-torch) run in the
 * same invocation with the same thread count. `--forward-only` times inference instead (voxels/s).
 *
 * U-Net (must match the PyTorch peer): widths base*2^i for i < levels; level 0 = two 3x3x3 convs;
 * level i>0 = 3x3x3 stride-2 conv then a 3x3x3 conv; every conv bias-free + GroupNorm(min(8,C)) +
 * ReLU/SiLU; decoder = transposed conv k2 s2 + GN + act, concat skip, two 3x3x3 convs; 1x1x1
 * conv with bias to 1 channel; MSE; Adam(1e-3) (the engine's fused Adam, same arithmetic as tf.train.adam). (Stride-2 'same' padding is TF's, PyTorch's is
 * symmetric: same shapes and FLOPs, different voxel alignment; irrelevant for timing.)
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNativeAddon } from '../lib/engine/native_addon';
import {
  tf,
  initEngine,
  conv3d,
  convTranspose3d2x,
  groupNormAct,
  concatChannels,
  engineMemory,
  adam,
  type Activation,
} from '../lib/engine';
import { UsageError } from '../lib/core/errors';
import { printJson } from '../lib/cli/json';
import { PROJECT_ROOT, VMAT_BIN } from '../lib/core/project';
import { createProgress } from '../lib/core/progress';
import { createModel } from '../lib/models';
import { AdamW } from '../lib/train/adamw';
import { optimisationStep } from '../lib/train/step';

export interface UNetSpec {
  inChannels: number;
  base: number;
  levels: number;
  act: Activation;
}

type Params = Map<string, tf.Variable>;

function heNormal(shape: number[], fanIn: number, seed: number): tf.Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), Math.sqrt(2 / fanIn));
}

/** Parameters of the bench U-Net (names are stable; counts match the PyTorch peer). */
export function buildUNetParams(spec: UNetSpec): Params {
  const p: Params = new Map();
  let seed = 1;
  // a variable shares its initial tensor's data; the initial tensor itself is then disposed
  const add = (name: string, init: tf.Tensor) => {
    p.set(name, tf.variable(init, true, name));
    init.dispose();
  };
  const conv = (name: string, k: number, cin: number, cout: number) =>
    add(
      name,
      tf.tidy(() => heNormal([k, k, k, cin, cout], k * k * k * cin, seed++)),
    );
  const gn = (name: string, c: number) => {
    add(`${name}.gamma`, tf.ones([c]));
    add(`${name}.beta`, tf.zeros([c]));
  };
  const ch = Array.from({ length: spec.levels }, (_, i) => spec.base * 2 ** i);
  ch.forEach((c, i) => {
    conv(`enc${i}.a`, 3, i === 0 ? spec.inChannels : ch[i - 1], c);
    gn(`enc${i}.a.gn`, c);
    conv(`enc${i}.b`, 3, c, c);
    gn(`enc${i}.b.gn`, c);
  });
  for (let i = spec.levels - 2; i >= 0; i--) {
    add(
      `up${i}`,
      tf.tidy(() => heNormal([2, 2, 2, ch[i + 1], ch[i]], 8 * ch[i + 1], seed++)),
    );
    gn(`up${i}.gn`, ch[i]);
    conv(`dec${i}.a`, 3, 2 * ch[i], ch[i]);
    gn(`dec${i}.a.gn`, ch[i]);
    conv(`dec${i}.b`, 3, ch[i], ch[i]);
    gn(`dec${i}.b.gn`, ch[i]);
  }
  conv('out', 1, ch[0], 1);
  add('out.bias', tf.zeros([1]));
  return p;
}

export function unetForward(p: Params, spec: UNetSpec, x: tf.Tensor5D, inference = false): tf.Tensor5D {
  const get = (n: string) => {
    const v = p.get(n);
    if (!v) throw new Error(`bench U-Net: no parameter ${n}`);
    return v;
  };
  // Each intermediate is disposed after its last use in the forward pass (tf.tidy would hold all
  // of them to the end). Under a gradient tape that is safe: the ops keep what their gradients
  // need (as saved clones, or as a recipe to rebuild it: lib/engine/ops_native.ts), so disposing
  // frees only what nothing needs. Convolution outputs feeding GroupNorm are the one exception
  // in training: they are GroupNorm's saved input and the leaves of the recipes of its output.
  const free = (t: tf.Tensor) => t.dispose();
  const freeGnInput = (t: tf.Tensor) => {
    if (inference) t.dispose();
  };
  const block = (h: tf.Tensor5D, name: string, stride: 1 | 2) => {
    const c = conv3d(h, get(name) as tf.Tensor5D, stride);
    const y = groupNormAct(
      c,
      get(`${name}.gn.gamma`) as tf.Tensor1D,
      get(`${name}.gn.beta`) as tf.Tensor1D,
      Math.min(8, c.shape[4]),
      spec.act,
    );
    freeGnInput(c);
    return y;
  };
  const skips: tf.Tensor5D[] = [];
  let h = x;
  for (let i = 0; i < spec.levels; i++) {
    const a = block(h, `enc${i}.a`, i === 0 ? 1 : 2); // h stays alive: it is the previous skip
    h = block(a, `enc${i}.b`, 1);
    free(a);
    skips.push(h);
  }
  h = skips.pop() as tf.Tensor5D;
  for (let i = spec.levels - 2; i >= 0; i--) {
    const u0 = convTranspose3d2x(h, get(`up${i}`) as tf.Tensor5D);
    free(h);
    const u = groupNormAct(
      u0,
      get(`up${i}.gn.gamma`) as tf.Tensor1D,
      get(`up${i}.gn.beta`) as tf.Tensor1D,
      Math.min(8, u0.shape[4]),
      spec.act,
    );
    freeGnInput(u0);
    const skip = skips.pop() as tf.Tensor5D;
    const cat = concatChannels([u, skip]);
    free(u);
    free(skip);
    const a = block(cat, `dec${i}.a`, 1);
    free(cat);
    h = block(a, `dec${i}.b`, 1);
    free(a);
  }
  const o = conv3d(h, get('out') as tf.Tensor5D, 1);
  free(h);
  const y = tf.add(o, get('out.bias')) as tf.Tensor5D;
  free(o);
  return y;
}

/**
 * Convolution FLOPs (2 per multiply-add) of one forward pass of the bench U-Net on a batch of
 * `batch` cubes of edge `patch`: 3x3x3 convs, stride-2 convs, k2 s2 transposed convs, the 1x1x1
 * output conv. GroupNorm, activations, concat and the loss are not counted (a few % of the work).
 */
export function unetForwardFlops(spec: UNetSpec, patch: number, batch: number): { forward: number; firstConv: number } {
  const ch = Array.from({ length: spec.levels }, (_, i) => spec.base * 2 ** i);
  const vox = (level: number) => batch * (patch / 2 ** level) ** 3;
  const conv = (k: number, cin: number, cout: number, outVox: number) => 2 * k ** 3 * cin * cout * outVox;
  let f = 0;
  const firstConv = conv(3, spec.inChannels, ch[0], vox(0));
  ch.forEach((c, i) => {
    f += conv(3, i === 0 ? spec.inChannels : ch[i - 1], c, vox(i)); // level i>0: stride 2, output at level i
    f += conv(3, c, c, vox(i));
  });
  for (let i = spec.levels - 2; i >= 0; i--) {
    f += 2 * ch[i + 1] * ch[i] * vox(i); // transposed conv k2 s2: each output voxel gets cin MACs per cout
    f += conv(3, 2 * ch[i], ch[i], vox(i));
    f += conv(3, ch[i], ch[i], vox(i));
  }
  f += conv(1, ch[0], 1, vox(0));
  return { forward: f, firstConv };
}

/**
 * Useful FLOPs of one training step: forward + backward-data + backward-weights of every conv
 * (backward = 2x forward), less the input gradient of the first conv (nobody needs it).
 */
export function trainStepFlops(spec: UNetSpec, patch: number, batch: number): number {
  const { forward, firstConv } = unetForwardFlops(spec, patch, batch);
  return 3 * forward - firstConv;
}

interface BenchOptions {
  patch: number;
  inChannels: number;
  baseChannels: number;
  levels: number;
  steps: number;
  warmup: number;
  threads?: number;
  act: string;
  batch: number;
  forwardOnly: boolean;
  peer: boolean;
  json: boolean;
  rounds: number;
  memoryReference: boolean;
  productModel: boolean;
}

export interface StepResult {
  backend: string;
  ops_path: string;
  threads: number;
  mode: 'train-step' | 'forward-only';
  ms_per_step_median: number;
  ms_per_step_all: number[];
  cpu_ms_per_step: number;
  rss_peak_mb: number;
  params: number;
  voxels_per_s: number;
  /** convolution FLOPs of the timed work (train step or forward) per second */
  gflops: number;
  tensors_before: number;
  tensors_after: number;
}

const median = (a: number[]) => {
  const s = a.slice().sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function runEngine(o: BenchOptions, quiet: boolean): Promise<StepResult> {
  const info = await initEngine({ threads: o.threads, quiet });
  const spec: UNetSpec = { inChannels: o.inChannels, base: o.baseChannels, levels: o.levels, act: o.act as Activation };
  const params = buildUNetParams(spec);
  const nParams = [...params.values()].reduce((a, v) => a + v.size, 0);
  const shape: [number, number, number, number, number] = [o.batch, o.patch, o.patch, o.patch, o.inChannels];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7) as tf.Tensor5D;
  const target = tf.randomNormal([o.batch, o.patch, o.patch, o.patch, 1], 0, 1, 'float32', 8) as tf.Tensor5D;
  const opt = adam(1e-3);
  const vars = [...params.values()];
  const step = () => {
    if (o.forwardOnly) {
      const y = unetForward(params, spec, x, true);
      y.dataSync();
      y.dispose();
      return;
    }
    const loss = opt.minimize(
      () => tf.mean(tf.squaredDifference(unetForward(params, spec, x), target)) as tf.Scalar,
      true,
      vars,
    );
    loss?.dataSync();
    loss?.dispose();
  };
  const progress = createProgress({
    label: `bench ${o.forwardOnly ? 'forward' : 'train-step'} (${info.opsPath})`,
    total: o.warmup + o.steps,
    quiet,
  });
  for (let i = 0; i < o.warmup; i++) {
    step();
    progress.tick(1, 'warm-up');
  }
  const before = tf.memory().numTensors;
  const walls: number[] = [];
  let cpu = 0;
  for (let i = 0; i < o.steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1000;
    progress.tick(1, `${walls[walls.length - 1].toFixed(0)} ms`);
  }
  progress.stop();
  const after = engineMemory().numTensors;
  const med = median(walls);
  const res: StepResult = {
    backend: info.backend,
    ops_path: info.opsPath,
    threads: info.threads,
    mode: o.forwardOnly ? 'forward-only' : 'train-step',
    ms_per_step_median: med,
    ms_per_step_all: walls,
    cpu_ms_per_step: cpu / o.steps,
    rss_peak_mb: process.resourceUsage().maxRSS / 1024,
    params: nParams,
    voxels_per_s: (o.batch * o.patch ** 3) / (med / 1000),
    gflops:
      (o.forwardOnly ? unetForwardFlops(spec, o.patch, o.batch).forward : trainStepFlops(spec, o.patch, o.batch)) /
      (med / 1000) /
      1e9,
    tensors_before: before,
    tensors_after: after,
  };
  tf.dispose([x, target, ...vars]);
  opt.dispose();
  return res;
}

const PEER_SCRIPT = path.join(PROJECT_ROOT, 'bench', 'peers', 'pytorch_train_step.py');
const PEER_BASELINE = path.join(PROJECT_ROOT, 'bench', 'peers', 'pytorch_train_baseline.py');
/** Debian's python3 (python3-torch lives there); VMAT_TORCH_PYTHON overrides */
const PEER_PYTHON = process.env.VMAT_TORCH_PYTHON ?? '/usr/bin/python3';

/** Runs the PyTorch peer; returns its JSON or why it is not available. */
function runPeer(o: BenchOptions, threads: number): { result: Record<string, unknown> | null; status: string } {
  if (!fs.existsSync(PEER_PYTHON)) return { result: null, status: `peer not available: ${PEER_PYTHON} missing` };
  const probe = spawnSync(PEER_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return { result: null, status: 'peer not available: python3-torch not installed (apt-get install python3-torch)' };
  const args = [
    PEER_SCRIPT,
    '--patch',
    String(o.patch),
    '--in-channels',
    String(o.inChannels),
    '--base-channels',
    String(o.baseChannels),
    '--levels',
    String(o.levels),
    '--steps',
    String(o.steps),
    '--warmup',
    String(o.warmup),
    '--threads',
    String(threads),
    '--act',
    o.act,
    '--batch',
    String(o.batch),
    ...(o.forwardOnly ? ['--forward-only'] : []),
  ];
  const r = spawnSync(PEER_PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0)
    return { result: null, status: `peer failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { result: JSON.parse(line) as Record<string, unknown>, status: `pytorch ${probe.stdout.trim()}` };
}

/** the reference training configuration whose peak memory the bench reports (spec: base 48, 128³, batch 2) */
const MEMORY_REFERENCE = { patch: 128, baseChannels: 48, batch: 2, inChannels: 9, levels: 4 };

interface ProductStepResult {
  model: string;
  params: number;
  ms_per_step: number;
  rss_peak_mb: number;
  loss: number;
}

/**
 * One training step of the product model (BaselineUNet3D, 5 levels, as `vmat train` builds it)
 * through the training engine's optimisationStep (lean backward pass, AdamW lr 1e-3, weight decay
 * 1e-4, gradient clipping at norm 1) on an MSE loss of a random batch: its time and peak RSS.
 */
async function runProductStep(o: BenchOptions): Promise<ProductStepResult> {
  await initEngine({ threads: o.threads, quiet: true });
  const model = createModel({ baseChannels: o.baseChannels, levels: 5, inChannels: o.inChannels }, { seed: 1 });
  const p = o.patch;
  const x = tf.randomNormal([o.batch, p, p, p, o.inChannels], 0, 1, 'float32', 1) as tf.Tensor5D;
  const c = tf.randomUniform([o.batch, 13], 0, 1, 'float32', 2) as tf.Tensor2D;
  const y = tf.randomUniform([o.batch, p, p, p, 1], 0, 1, 'float32', 3) as tf.Tensor5D;
  const optimizer = new AdamW([{ params: model.params, weightDecay: 1e-4 }]);
  const t0 = performance.now();
  const loss = optimisationStep({
    trainable: model.params,
    optimizer,
    lr: 1e-3,
    gradClip: 1,
    where: 'bench train-step --product-model',
    loss: () => tf.mean(tf.squaredDifference(model.apply(x, c), y)) as tf.Scalar,
  });
  const ms = performance.now() - t0;
  const res = {
    model: model.className,
    params: model.numParameters(),
    ms_per_step: ms,
    rss_peak_mb: process.resourceUsage().maxRSS / 1024,
    loss,
  };
  optimizer.dispose();
  model.dispose();
  tf.dispose([x, c, y]);
  return res;
}

interface MemoryPair {
  config: string;
  engine_rss_peak_mb: number | null;
  pytorch_rss_peak_mb: number | null;
  engine_ms_per_step: number | null;
  pytorch_ms_per_step: number | null;
  note?: string;
}

/** runs a child (engine or peer) that prints one JSON line; null and why when it fails */
function runChild(cmd: string, args: string[], free: number): { json: Record<string, unknown> | null; why: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status === 0) {
    // the engine prints one (indented) JSON object, the peers one JSON line after any other output
    const out = r.stdout.trim();
    const text = out.startsWith('{') ? out : (out.split('\n').pop() ?? '');
    return { json: JSON.parse(text) as Record<string, unknown>, why: '' };
  }
  if (r.signal === 'SIGKILL')
    return { json: null, why: `killed (SIGKILL: out of memory with ${free.toFixed(0)} MB free at the start)` };
  return { json: null, why: `failed: ${(r.stderr || '').trim().slice(-300)}` };
}

/**
 * Peak resident memory of one training step at the reference configuration (base 48, 128³ × 9 ch,
 * batch 2), engine and PyTorch, each in its own process (so the peak is that run's alone), one
 * after the other: the bench U-Net (the same model as the timed bench) and the product model
 * (BaselineUNet3D through optimisationStep vs bench/peers/pytorch_train_baseline.py).
 */
function memoryReference(o: BenchOptions): { benchUNet: MemoryPair; product: MemoryPair } {
  const m = MEMORY_REFERENCE;
  const shape = `${m.patch}^3 x ${m.inChannels} ch, batch ${m.batch}, base ${m.baseChannels}, 1 step`;
  const configs = {
    benchUNet: `bench U-Net ${m.levels} levels, ${shape}`,
    product: `BaselineUNet3D (5 levels, FiLM, residuals) through optimisationStep with AdamW, ${shape}`,
  };
  const free = os.freemem() / 2 ** 20;
  if (free < 20000) {
    const skipped = (config: string): MemoryPair => ({
      config,
      engine_rss_peak_mb: null,
      pytorch_rss_peak_mb: null,
      engine_ms_per_step: null,
      pytorch_ms_per_step: null,
      note: `skipped: ${free.toFixed(0)} MB free, each run needs up to ~20 GB`,
    });
    return { benchUNet: skipped(configs.benchUNet), product: skipped(configs.product) };
  }
  const common = [
    '--patch',
    String(m.patch),
    '--base-channels',
    String(m.baseChannels),
    '--batch',
    String(m.batch),
    '--in-channels',
    String(m.inChannels),
    ...(o.threads ? ['--threads', String(o.threads)] : []),
  ];
  // bench U-Net
  const eng = runChild(
    process.execPath,
    [
      VMAT_BIN,
      'bench',
      'train-step',
      ...common,
      '--levels',
      String(m.levels),
      '--steps',
      '1',
      '--warmup',
      '0',
      '--no-peer',
      '--json',
    ],
    free,
  );
  const ej = eng.json as unknown as StepResult | null;
  const threads = ej?.threads ?? o.threads ?? 2;
  const pr = runPeer({ ...o, ...m, steps: 1, warmup: 0, forwardOnly: false }, threads);
  const benchUNet: MemoryPair = {
    config: configs.benchUNet,
    engine_rss_peak_mb: ej ? ej.rss_peak_mb : null,
    pytorch_rss_peak_mb: pr.result ? Number(pr.result.rss_peak_mb) : null,
    engine_ms_per_step: ej ? ej.ms_per_step_median : null,
    pytorch_ms_per_step: pr.result ? Number(pr.result.ms_per_step_median) : null,
    note: ej ? (pr.result ? undefined : pr.status) : `engine run ${eng.why}`,
  };
  // the product model
  const pe = runChild(process.execPath, [VMAT_BIN, 'bench', 'train-step', ...common, '--product-model'], free);
  const pp = fs.existsSync(PEER_PYTHON)
    ? runChild(
        PEER_PYTHON,
        [
          PEER_BASELINE,
          '--patch',
          String(m.patch),
          '--batch',
          String(m.batch),
          '--base',
          String(m.baseChannels),
          '--in-channels',
          String(m.inChannels),
          '--threads',
          String(threads),
        ],
        free,
      )
    : { json: null, why: `not available: ${PEER_PYTHON} missing` };
  const product: MemoryPair = {
    config: configs.product,
    engine_rss_peak_mb: pe.json ? Number(pe.json.rss_peak_mb) : null,
    pytorch_rss_peak_mb: pp.json ? Number(pp.json.rss_peak_mb) : null,
    engine_ms_per_step: pe.json ? Number(pe.json.ms_per_step) : null,
    pytorch_ms_per_step: pp.json ? Number(pp.json.ms_per_step_median) : null,
    note: pe.json ? (pp.json ? undefined : `peer ${pp.why}`) : `engine run ${pe.why}`,
  };
  return { benchUNet, product };
}

function nonNegativeInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected an integer >= 0, found '${v}'`);
    return n;
  };
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: expected a positive integer, found '${v}'`);
    return n;
  };
}

export function registerBench(group: Command): void {
  group
    .command('train-step')
    .description(
      'time one Adam step of a 3-D U-Net on the engine vs the same model in PyTorch (same run, same threads)',
    )
    .option('--patch <n>', 'cubic patch edge (voxels)', positiveInt('patch'), 64)
    .option('--in-channels <n>', 'input channels', positiveInt('in-channels'), 9)
    .option('--base-channels <n>', 'channels at full resolution', positiveInt('base-channels'), 16)
    .option('--levels <n>', 'U-Net levels', positiveInt('levels'), 4)
    .option('--steps <n>', 'timed steps', positiveInt('steps'), 5)
    .option('--warmup <n>', 'untimed warm-up steps', nonNegativeInt('warmup'), 1)
    .option(
      '--threads <n>',
      'threads for the engine and the peer (default VMAT_THREADS or cores)',
      positiveInt('threads'),
    )
    .option('--act <name>', 'activation: relu | silu', 'relu')
    .option('--batch <n>', 'batch size', positiveInt('batch'), 1)
    .option(
      '--rounds <n>',
      'alternate engine and peer this many times (the machine may be shared); reports every round',
      positiveInt('rounds'),
      1,
    )
    .option('--forward-only', 'time inference (forward pass) instead of a training step; reports voxels/s')
    .option('--no-peer', 'skip the PyTorch peer')
    .option(
      '--memory-reference',
      'also measure peak resident memory of one training step at the reference configuration (base 48, 128^3, batch 2), engine and PyTorch, each in its own process, for the bench U-Net and for the product model (BaselineUNet3D through the training engine) (minutes; needs ~20 GB free)',
    )
    .option(
      '--product-model',
      'time one training step of the product model (BaselineUNet3D, 5 levels, through optimisationStep) at --patch/--batch/--base-channels/--in-channels instead; prints JSON (used by --memory-reference)',
    )
    .option('--json', 'print one JSON object')
    .action(async (raw: Partial<BenchOptions>) => {
      const o = {
        forwardOnly: false,
        peer: true,
        json: false,
        memoryReference: false,
        productModel: false,
        ...raw,
      } as BenchOptions;
      if (o.productModel) {
        printJson(await runProductStep(o));
        return;
      }
      if (o.act !== 'relu' && o.act !== 'silu') throw new UsageError(`--act: expected relu or silu, found '${o.act}'`);
      if (o.patch % 2 ** (o.levels - 1) !== 0) {
        throw new UsageError(`--patch: expected a multiple of 2^(levels-1) = ${2 ** (o.levels - 1)}, found ${o.patch}`);
      }
      // engine and peer alternate round by round so both see similar load on a shared machine;
      // the headline numbers are each side's best round, the paired ratios are reported too
      const rounds: Array<{ ours: StepResult; peer: Record<string, unknown> | null; peakGflops: number | null }> = [];
      let peerStatus = o.peer ? '' : 'peer skipped (--no-peer)';
      const { addon } = loadNativeAddon();
      for (let r = 0; r < o.rounds; r++) {
        const ours = await runEngine(o, o.json || r > 0);
        // the machine's fp32 peak as oneDNN's sgemm reaches it, same threads, right after our round
        const peakGflops = addon ? addon.sgemmGflops(1024, 1.0, ours.threads) : null;
        let peerResult: Record<string, unknown> | null = null;
        if (o.peer) {
          const pr = runPeer(o, ours.threads);
          peerResult = pr.result;
          peerStatus = pr.status;
        }
        rounds.push({ ours, peer: peerResult, peakGflops });
      }
      const best = rounds.reduce((a, b) => (b.ours.ms_per_step_median < a.ours.ms_per_step_median ? b : a)).ours;
      const peerRounds = rounds.map((r) => r.peer).filter((p): p is Record<string, unknown> => p !== null);
      const peerBest = peerRounds.length
        ? peerRounds.reduce((a, b) => (Number(b.ms_per_step_median) < Number(a.ms_per_step_median) ? b : a))
        : null;
      const paired = rounds
        .filter((r) => r.peer)
        .map((r) => r.ours.ms_per_step_median / Number(r.peer!.ms_per_step_median));
      const ours = { ...best, rss_peak_mb: Math.max(...rounds.map((r) => r.ours.rss_peak_mb)) };
      const peer = { result: peerBest, status: peerStatus };
      const peerMs = peer.result ? Number(peer.result.ms_per_step_median) : null;
      const peaks = rounds.map((r) => r.peakGflops).filter((x): x is number => x !== null);
      const peakGflops = peaks.length ? Math.max(...peaks) : null;
      const memRef = o.memoryReference ? memoryReference(o) : null;
      const out = {
        bench: 'train-step',
        config: {
          patch: o.patch,
          in_channels: o.inChannels,
          base_channels: o.baseChannels,
          levels: o.levels,
          act: o.act,
          batch: o.batch,
          steps: o.steps,
          warmup: o.warmup,
          rounds: o.rounds,
        },
        ...ours,
        rounds_ms_per_step: rounds.map((r) => r.ours.ms_per_step_median),
        // the first optimizer step creates Adam's slot variables, so stability needs a warm-up step
        tensors_stable:
          o.warmup > 0 && !o.forwardOnly ? rounds.every((r) => r.ours.tensors_after === r.ours.tensors_before) : null,
        peer_status: peer.status,
        pytorch: peer.result,
        pytorch_rounds_ms_per_step: peerRounds.map((p) => Number(p.ms_per_step_median)),
        ratio_vs_pytorch: peerMs ? ours.ms_per_step_median / peerMs : null,
        ratio_vs_pytorch_paired_rounds: paired,
        // achieved convolution GFLOP/s against the machine's fp32 peak (oneDNN sgemm, same threads, same run)
        peak_gflops_sgemm: peakGflops,
        peak_gflops_rounds: peaks,
        fraction_of_peak: peakGflops ? ours.gflops / peakGflops : null,
        // FLOPs per CPU-second of the step against the sgemm rounds' per-thread figure (on a loaded
        // machine the sgemm rounds are depressed as well, so neither fraction is then reliable)
        gflops_per_cpu_second: (ours.gflops * ours.ms_per_step_median) / ours.cpu_ms_per_step,
        fraction_of_peak_cpu_time: peakGflops
          ? (ours.gflops * ours.ms_per_step_median) / ours.cpu_ms_per_step / (peakGflops / ours.threads)
          : null,
        fraction_of_peak_paired_rounds: rounds.map((r) => (r.peakGflops ? r.ours.gflops / r.peakGflops : null)),
        pytorch_gflops: peakGflops && peerMs ? (ours.gflops * ours.ms_per_step_median) / peerMs : null,
        memory_reference: memRef,
      };
      if (o.json) {
        printJson(out);
        return;
      }
      const f = (n: number) => n.toFixed(0);
      console.log(
        `${out.mode} ${o.patch}^3 x ${o.inChannels}ch, base ${o.baseChannels}, ${o.levels} levels, ${ours.params} params`,
      );
      console.log(
        `  engine  backend=${ours.backend} ops=${ours.ops_path} threads=${ours.threads}: ${f(ours.ms_per_step_median)} ms/step median (cpu ${f(ours.cpu_ms_per_step)} ms), rss peak ${f(ours.rss_peak_mb)} MB, ${(ours.voxels_per_s / 1e6).toFixed(3)} Mvoxel/s`,
      );
      if (peer.result) {
        console.log(
          `  pytorch threads=${String(peer.result.threads)}: ${f(peerMs as number)} ms/step median (cpu ${f(Number(peer.result.cpu_ms_per_step))} ms), rss peak ${f(Number(peer.result.rss_peak_mb))} MB`,
        );
        console.log(`  ratio engine/pytorch (wall, best rounds): ${(out.ratio_vs_pytorch as number).toFixed(2)}`);
        if (o.rounds > 1) {
          console.log(
            `  per round: engine ${out.rounds_ms_per_step.map(f).join(' ')} ms; pytorch ${out.pytorch_rounds_ms_per_step.map(f).join(' ')} ms; paired ratios ${paired.map((x) => x.toFixed(2)).join(' ')}`,
          );
        }
      } else {
        console.log(`  ${peer.status}`);
      }
      if (peakGflops)
        console.log(
          `  achieved ${ours.gflops.toFixed(1)} GFLOP/s (convolutions) = ${(100 * (out.fraction_of_peak as number)).toFixed(1)} % of this machine's fp32 peak ${peakGflops.toFixed(1)} GFLOP/s (oneDNN sgemm 1024^3, ${ours.threads} threads, best of ${peaks.length} rounds: ${peaks.map((x) => x.toFixed(0)).join(' ')})` +
            (out.pytorch_gflops ? `; PyTorch ${(out.pytorch_gflops as number).toFixed(1)} GFLOP/s` : ''),
        );
      if (peakGflops)
        console.log(
          `  per CPU-second: ${out.gflops_per_cpu_second.toFixed(1)} GFLOP/s = ${(100 * (out.fraction_of_peak_cpu_time as number)).toFixed(1)} % of the per-thread sgemm figure (${(peakGflops / ours.threads).toFixed(1)} GFLOP/s)`,
        );
      if (memRef)
        for (const r of [memRef.benchUNet, memRef.product])
          console.log(
            `  peak RSS of training at the reference configuration (${r.config}): engine ${r.engine_rss_peak_mb?.toFixed(0) ?? 'n/a'} MB, PyTorch ${r.pytorch_rss_peak_mb?.toFixed(0) ?? 'n/a'} MB` +
              (r.engine_rss_peak_mb && r.pytorch_rss_peak_mb
                ? ` (ratio ${(r.engine_rss_peak_mb / r.pytorch_rss_peak_mb).toFixed(2)}; step ${((r.engine_ms_per_step ?? 0) / 1000).toFixed(1)} s vs ${((r.pytorch_ms_per_step ?? 0) / 1000).toFixed(1)} s)`
                : '') +
              (r.note ? ` (${r.note})` : ''),
          );
      if (!o.forwardOnly)
        console.log(`  tensors before/after timed steps: ${ours.tensors_before}/${ours.tensors_after}`);
    });
}
