/**
 * Checkpoint folders. One folder per checkpoint, written atomically (filled in a temporary folder,
 * then renamed into place), holding:
 *   config.json      architecture, model config, input recipe, parameter count
 *   weights.json/.bin  float32 little-endian tensors by reference state-dict name
 *                    (model params plus loss params such as uncertainty_loss.log_sigmas.base)
 *   optimizer.json/.bin  AdamW step and moments (training checkpoints only)
 *   state.json       epoch, RNG state, best metric, early-stopping counters (training checkpoints only)
 * `loadCheckpoint(dir)` returns a ready model, usable from notebooks for inference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { tf } from '../engine';
import { withAtomicDir, toJson } from '../core/atomic';
import { DataError } from '../core/errors';
import { type ModelConfig, modelConfig } from './config';
import { type DoseModel, modelFromParams, makeVariable } from './index';
import { parameterSpecs } from './param_specs';
import type { InputRecipe } from '../inputs/recipe';

/** `format` of a checkpoint's config.json. */
export const CHECKPOINT_FORMAT = 'vmat-lab-checkpoint';
/** `formatVersion` this code writes. */
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  className: string;
  model: ModelConfig;
  numParameters: number;
  input: InputRecipe | null;
  /** free-form extra context (e.g. experiment name) */
  meta?: Record<string, unknown>;
}

interface BundleEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  /** byte offset into the .bin file */
  offset: number;
  length: number;
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface OptimizerSnapshot {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export interface SaveCheckpointOptions {
  model: DoseModel;
  input: InputRecipe | null;
  /** non-model trainable tensors saved alongside (e.g. Kendall log-sigmas) */
  extraParams?: Map<string, tf.Tensor>;
  optimizer?: OptimizerSnapshot;
  state?: Record<string, unknown>;
  meta?: Record<string, unknown>;
  /** further JSON files written into the folder in the same atomic step (e.g. manifest.json) */
  extraJson?: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  dir: string;
  config: CheckpointConfig;
  model: DoseModel;
  extraParams: Map<string, tf.Variable>;
  optimizer: OptimizerSnapshot | null;
  state: Record<string, unknown> | null;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

function writeBundle(dir: string, base: string, arrays: NamedArray[]): void {
  const entries: BundleEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    entries.push({ name: a.name, shape: a.shape, dtype: 'float32', offset, length: a.data.length });
    offset += a.data.length * 4;
  }
  const buf = Buffer.alloc(offset);
  for (let i = 0; i < arrays.length; i++) {
    const d = arrays[i].data;
    if (LITTLE_ENDIAN) Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(buf, entries[i].offset);
    else for (let j = 0; j < d.length; j++) buf.writeFloatLE(d[j], entries[i].offset + 4 * j);
  }
  fs.writeFileSync(path.join(dir, `${base}.bin`), buf);
  fs.writeFileSync(path.join(dir, `${base}.json`), toJson({ dtype: 'float32', byteOrder: 'little', entries }));
}

function readBundle(dir: string, base: string): NamedArray[] {
  const jsonFile = path.join(dir, `${base}.json`);
  const binFile = path.join(dir, `${base}.bin`);
  if (!fs.existsSync(jsonFile) || !fs.existsSync(binFile)) throw new DataError(dir, `${base}.json/.bin`, 'a checkpoint tensor bundle', 'missing files');
  const manifest = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { entries: BundleEntry[] };
  const buf = fs.readFileSync(binFile);
  return manifest.entries.map((e) => {
    if (e.offset + 4 * e.length > buf.length) throw new DataError(binFile, e.name, `${e.length} float32 values at byte ${e.offset}`, `file of ${buf.length} bytes`);
    const data = new Float32Array(e.length);
    if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(buf.subarray(e.offset, e.offset + 4 * e.length));
    else for (let j = 0; j < e.length; j++) data[j] = buf.readFloatLE(e.offset + 4 * j);
    return { name: e.name, shape: e.shape, data };
  });
}

/** Writes a checkpoint folder atomically: config.json, float32 weights, and the optimizer/state/JSON extras given. */
export async function saveCheckpoint(dir: string, o: SaveCheckpointOptions): Promise<void> {
  const config: CheckpointConfig = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    className: o.model.className,
    model: o.model.config,
    numParameters: o.model.numParameters(),
    input: o.input,
    meta: o.meta,
  };
  const weights: NamedArray[] = [];
  for (const [name, v] of o.model.params) weights.push({ name, shape: v.shape, data: v.dataSync() as Float32Array });
  for (const [name, v] of o.extraParams ?? []) weights.push({ name, shape: v.shape, data: v.dataSync() as Float32Array });
  await withAtomicDir(dir, async (tmp) => {
    fs.writeFileSync(path.join(tmp, 'config.json'), toJson(config));
    writeBundle(tmp, 'weights', weights);
    if (o.optimizer) {
      const shapes = new Map(weights.map((w) => [w.name, w.shape]));
      const arrays: NamedArray[] = [];
      for (const [name, d] of o.optimizer.m) arrays.push({ name: `m/${name}`, shape: shapes.get(name) ?? [d.length], data: d });
      for (const [name, d] of o.optimizer.v) arrays.push({ name: `v/${name}`, shape: shapes.get(name) ?? [d.length], data: d });
      writeBundle(tmp, 'optimizer', arrays);
      fs.writeFileSync(path.join(tmp, 'optimizer_step.json'), toJson({ step: o.optimizer.step }));
    }
    if (o.state) fs.writeFileSync(path.join(tmp, 'state.json'), toJson(o.state));
    for (const [name, value] of Object.entries(o.extraJson ?? {})) fs.writeFileSync(path.join(tmp, name), toJson(value));
  });
}

/** Reads and checks a checkpoint's config.json (DataError when missing or of another format). */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new DataError(dir, 'config.json', 'a vmat-lab checkpoint folder', 'no config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointConfig;
  if (cfg.format !== CHECKPOINT_FORMAT) throw new DataError(file, 'format', `'${CHECKPOINT_FORMAT}'`, String(cfg.format));
  return cfg;
}

/** loads a checkpoint folder: model (ready for apply), extra params, optimizer and training state */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const config = readCheckpointConfig(dir);
  let mc: ModelConfig;
  try {
    mc = modelConfig(config.model);
  } catch (e) {
    throw new DataError(path.join(dir, 'config.json'), 'model', 'a valid model configuration', (e as Error).message);
  }
  const modelNames = new Set(parameterSpecs(mc).map((s) => s.name));
  const params = new Map<string, tf.Variable>();
  const extraParams = new Map<string, tf.Variable>();
  for (const a of readBundle(dir, 'weights')) {
    const v = makeVariable(a.name, a.data, a.shape);
    (modelNames.has(a.name) ? params : extraParams).set(a.name, v);
  }
  const model = modelFromParams(mc, params, path.join(dir, 'weights.json'));
  let optimizer: OptimizerSnapshot | null = null;
  if (fs.existsSync(path.join(dir, 'optimizer.json'))) {
    const step = (JSON.parse(fs.readFileSync(path.join(dir, 'optimizer_step.json'), 'utf8')) as { step: number }).step;
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const a of readBundle(dir, 'optimizer')) {
      if (a.name.startsWith('m/')) m.set(a.name.slice(2), a.data);
      else if (a.name.startsWith('v/')) v.set(a.name.slice(2), a.data);
    }
    optimizer = { step, m, v };
  }
  const stateFile = path.join(dir, 'state.json');
  const state = fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>) : null;
  return { dir, config, model, extraParams, optimizer, state };
}

/**
 * Copies a loaded checkpoint's weights into a model's variables (used to resume training); a
 * missing parameter or a shape from a different configuration is a DataError naming the folder.
 */
export function restoreParams(target: Map<string, tf.Variable>, source: Map<string, tf.Tensor>, dir: string): void {
  for (const [k, v] of target) {
    const src = source.get(k);
    if (!src) throw new DataError(dir, k, 'the parameter in the checkpoint', 'missing');
    if (src.shape.join(',') !== v.shape.join(',')) throw new DataError(dir, k, `shape [${v.shape}] (same --base-channels/--levels as the run)`, `[${src.shape}]`);
    v.assign(src);
  }
}
