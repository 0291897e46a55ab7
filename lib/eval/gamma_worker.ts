/**
 * Worker-thread side of gammaIndex (gamma.ts). A worker stays alive between jobs (a pool, so the
 * start-up cost is paid once per process); each job message carries shared arrays, and the worker
 * pulls chunks of reference points from an atomic counter until none are left.
 */
import { parentPort } from 'node:worker_threads';
import { gammaAtPoints, shellCacheFor, type GammaKernelParams } from './gamma_kernel';

export interface GammaJob {
  params: GammaKernelParams;
  ref: Float64Array;
  ev: Float64Array;
  cellMin: Float64Array;
  cellMax: Float64Array;
  points: Int32Array;
  gamma: Float64Array;
  counter: Int32Array;
  chunk: number;
}

/** Pulls chunks until the shared counter passes the end (used by workers and the main thread alike). */
export function runGammaChunks(job: GammaJob): void {
  const cache = shellCacheFor(job.params);
  const arrays = { ref: job.ref, ev: job.ev, cellMin: job.cellMin, cellMax: job.cellMax };
  for (;;) {
    const from = Atomics.add(job.counter, 0, job.chunk);
    if (from >= job.points.length) break;
    gammaAtPoints(
      job.params,
      arrays,
      cache,
      job.points,
      from,
      Math.min(from + job.chunk, job.points.length),
      job.gamma,
    );
  }
}

/** serves chunks of gamma points in a worker thread (lib/eval/gamma.ts's pool) */
export function runGammaWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runGammaWorker must run in a worker thread');
  port.on('message', (job: GammaJob) => {
    try {
      runGammaChunks(job);
      port.postMessage({ ok: true });
    } catch (e) {
      port.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
}
