/**
 * Worker threads that run a module of vmat-lab: the code given to `new Worker(code, { eval: true })`
 * loads the compiled module when running from the build (dist/), else the TypeScript source through
 * tsx's CommonJS hook (tests, notebooks, the sources).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort, Worker } from 'node:worker_threads';
import { VmatError } from './errors';

/** worker code that calls `fn()` exported by module `name` of folder `dir` (the caller's __dirname) */
export function workerSource(dir: string, name: string, fn: string): string {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return `require(${JSON.stringify(js)}).${fn}();`;
  const tsxApi = require.resolve('tsx/cjs/api');
  const ts = path.join(dir, `${name}.ts`);
  return `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(ts)}).${fn}();`;
}

/** what a worker answers for one job */
export interface WorkerReply<R> {
  ok: boolean;
  result?: R;
  /** the error was a user-facing VmatError (its message only; anything else keeps its stack) */
  userError?: boolean;
  error?: string;
}

/**
 * The worker-thread side of a job pool: runs `handle` for every message and posts a WorkerReply
 * back, one job at a time. `name` is the caller, for the error when called outside a worker.
 */
export function serveJobs<J, R>(name: string, handle: (job: J) => Promise<R>): void {
  const port = parentPort;
  if (!port) throw new Error(`${name} must run in a worker thread (started by runJobPool through workerSource)`);
  port.on('message', (job: J) => {
    handle(job).then(
      (result) => port.postMessage({ ok: true, result } satisfies WorkerReply<R>),
      (e: unknown) =>
        port.postMessage({
          ok: false,
          userError: e instanceof VmatError,
          error: e instanceof VmatError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e),
        } satisfies WorkerReply<R>),
    );
  });
}

/**
 * The parent side: runs `jobs` on `threads` worker threads (the code of `workerCode`, which calls
 * serveJobs), feeding each worker its next job when it answers. `onReply(k, reply)` gets every
 * answer in completion order; returning false stops the pool (no further jobs). A worker that
 * crashes rejects the pool. Resolves when every job fed has answered.
 */
export function runJobPool<J, R>(
  jobs: J[],
  threads: number,
  workerCode: string,
  onReply: (k: number, reply: WorkerReply<R>) => boolean | void,
): Promise<void> {
  let next = 0;
  return new Promise((resolve, reject) => {
    let active = 0;
    let stopped = false;
    const workers: Worker[] = [];
    const finish = () => {
      for (const w of workers) void w.terminate();
    };
    const feed = (w: Worker) => {
      if (stopped) return;
      if (next >= jobs.length) {
        if (active === 0) {
          stopped = true;
          finish();
          resolve();
        }
        return;
      }
      const k = next++;
      active++;
      w.once('message', (m: WorkerReply<R>) => {
        active--;
        if (onReply(k, m) === false) {
          stopped = true;
          finish();
          resolve();
          return;
        }
        feed(w);
      });
      w.postMessage(jobs[k]);
    };
    for (let t = 0; t < Math.max(1, threads); t++) {
      const w = new Worker(workerCode, { eval: true });
      w.on('error', (e) => {
        if (stopped) return;
        stopped = true;
        finish();
        reject(e);
      });
      workers.push(w);
    }
    for (const w of workers) feed(w);
  });
}
