/**
 * Recycles the large float32 buffers of the tfjs `cpu` backend (native path only).
 *
 * Why: a 64³ U-Net step allocates ~0.7 GB of Float32Arrays and frees them again. Each fresh
 * allocation is zero-filled by V8, page-faulted in by the kernel on first touch, and only returned
 * by a garbage collection that the external-memory pressure triggers: ~1 ms per 16 MB, about a
 * fifth of the step's CPU time when measured (bench/README.md). Reusing the buffers of tensors the
 * backend has released avoids all three and lowers peak memory (a freed buffer is reused at once
 * instead of waiting for a GC).
 *
 * Safety rule: a buffer returns to the pool only when (1) the pool allocated it, (2) the backend
 * deleted the last data entry that used it (an ArrayBuffer shared by several entries, e.g. a
 * zero-copy slice, counts each), and (3) it was never handed to user code: `readSync` — the path of
 * `dataSync()`, `data()`, `array()`, `bufferSync()` — marks it exposed and it is then left to the
 * garbage collector as before, so `const v = t.dataSync(); t.dispose(); use(v)` stays correct.
 * Engine code reads tensor values through `backend.data.get(...)` (which does not expose) and must
 * not keep them past the op. Buffers from the pool are NOT zeroed: callers overwrite every element.
 *
 * Memory kept: free buffers up to VMAT_POOL_MB (default 1024 MB); beyond that, and whenever an
 * allocation of at least 64 MB finds no free buffer of its length, free buffers are released at
 * once (detached through the addon, so their memory does not wait for a garbage collection): at
 * the reference training size (800 MB activations) a stale free buffer would otherwise add to the
 * peak.
 *
 * Written by hand: tfjs has no allocator hook.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNativeAddon } from './native_addon';

/** Arrays shorter than this (elements) are plain allocations: cheap, and not worth tracking. */
export const MIN_POOLED_ELEMENTS = 1 << 16;

interface Meta {
  /** backend data entries whose values view this buffer */
  live: number;
  /** returned by readSync at least once: never recycled */
  exposed: boolean;
}

interface BackendEntry {
  values?: unknown;
}
interface DataStorageLike {
  data: WeakMap<object, BackendEntry>;
  set(dataId: object, value: BackendEntry): void;
  delete(dataId: object): boolean;
}
interface CpuBackendLike {
  data: DataStorageLike;
  readSync(dataId: object): unknown;
}

const meta = new WeakMap<ArrayBuffer, Meta>();
const free = new Map<number, Float32Array[]>();
let freeBytes = 0;
let capBytes = defaultCapBytes();
const counters = { allocated: 0, reused: 0, recycled: 0, dropped: 0 };
/** an allocation at least this large (bytes) that misses the pool first releases every free buffer */
const EVICT_ON_MISS_BYTES = 64 * 2 ** 20;

/** frees a buffer nothing references any more: now through the addon, else at the next GC */
function drop(a: Float32Array): void {
  counters.dropped++;
  const { addon } = loadNativeAddon();
  if (addon && typeof addon.detach === 'function') addon.detach(a.buffer as ArrayBuffer);
}

function defaultCapBytes(): number {
  const mb = Number(process.env.VMAT_POOL_MB);
  return (Number.isFinite(mb) && mb >= 0 ? mb : 1024) * 2 ** 20;
}

/**
 * A Float32Array of n elements, from the pool when a released one of that length is there.
 * Its contents are arbitrary: the caller must write every element.
 */
export function allocF32(n: number): Float32Array {
  if (n < MIN_POOLED_ELEMENTS) return new Float32Array(n);
  const list = free.get(n);
  const reused = list?.pop();
  if (reused) {
    freeBytes -= reused.byteLength;
    meta.set(reused.buffer as ArrayBuffer, { live: 0, exposed: false });
    counters.reused++;
    return reused;
  }
  if (n * 4 >= EVICT_ON_MISS_BYTES && freeBytes > 0) trimBufferPool();
  const a = new Float32Array(n);
  meta.set(a.buffer as ArrayBuffer, { live: 0, exposed: false });
  counters.allocated++;
  return a;
}

/**
 * Gives back a buffer from allocF32 that never became tensor data (a temporary of an op) and that
 * nothing references any more.
 */
export function releaseF32(a: Float32Array): void {
  const m = meta.get(a.buffer as ArrayBuffer);
  if (!m || m.live > 0 || m.exposed) return;
  recycle(a);
}

function recycle(a: Float32Array): void {
  const whole = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : new Float32Array(a.buffer);
  meta.delete(whole.buffer as ArrayBuffer);
  if (freeBytes + whole.byteLength > capBytes) {
    drop(whole);
    return;
  }
  const list = free.get(whole.length);
  if (list) list.push(whole);
  else free.set(whole.length, [whole]);
  freeBytes += whole.byteLength;
  counters.recycled++;
}

const pooledMeta = (v: unknown): Meta | undefined =>
  v instanceof Float32Array ? meta.get(v.buffer as ArrayBuffer) : undefined;

let hooked: {
  backend: CpuBackendLike;
  set: DataStorageLike['set'];
  del: DataStorageLike['delete'];
  read: CpuBackendLike['readSync'];
} | null = null;

/**
 * Hooks the cpu backend so released pooled buffers come back (idempotent). Without the hooks
 * allocF32 still works; its buffers are then simply left to the garbage collector.
 */
export function installBufferPool(): void {
  if (hooked) return;
  const backend = tf.findBackend('cpu') as unknown as CpuBackendLike | null;
  if (!backend || !backend.data || !(backend.data.data instanceof WeakMap)) return;
  const data = backend.data;
  const set = data.set;
  const del = data.delete;
  const read = backend.readSync;
  data.set = function (this: DataStorageLike, dataId: object, value: BackendEntry) {
    const old = this.data.get(dataId);
    if (old) untrack(old);
    const m = pooledMeta(value?.values);
    if (m) m.live++;
    set.call(this, dataId, value);
  };
  data.delete = function (this: DataStorageLike, dataId: object) {
    const old = this.data.get(dataId);
    const r = del.call(this, dataId);
    if (old) untrack(old);
    return r;
  };
  backend.readSync = function (this: CpuBackendLike, dataId: object) {
    const m = pooledMeta(this.data.data.get(dataId)?.values);
    if (m) m.exposed = true;
    return read.call(this, dataId);
  };
  hooked = { backend, set, del, read };
}

function untrack(entry: BackendEntry): void {
  const v = entry.values;
  const m = pooledMeta(v);
  if (!m) return;
  m.live--;
  if (m.live <= 0 && !m.exposed) recycle(v as Float32Array);
}

/** Removes the hooks and empties the pool (resetEngine, tests). */
export function uninstallBufferPool(): void {
  if (hooked) {
    hooked.backend.data.set = hooked.set;
    hooked.backend.data.delete = hooked.del;
    hooked.backend.readSync = hooked.read;
    hooked = null;
  }
  trimBufferPool();
}

/** Releases every free buffer. */
export function trimBufferPool(): void {
  for (const list of free.values()) for (const a of list) drop(a);
  free.clear();
  freeBytes = 0;
}

/** Sets the most bytes kept free for reuse (default VMAT_POOL_MB or 1024 MB); trims to it. */
export function setBufferPoolCap(bytes: number): void {
  capBytes = Math.max(0, bytes);
  if (freeBytes > capBytes) trimBufferPool();
}

/** Counters since start, and the bytes currently kept free. */
export function bufferPoolStats(): { installed: boolean; freeBytes: number } & typeof counters {
  return { installed: hooked !== null, freeBytes, ...counters };
}
