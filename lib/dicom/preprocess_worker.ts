/**
 * Worker-thread side of preprocessBatch: preprocesses one case per message, so cases run in
 * parallel (each case is independent and deterministic on its own).
 */
import { parentPort } from 'node:worker_threads';
import { VmatError } from '../core/errors';
import { type CaseJob, runCaseJob } from './case_job';

/** Worker-thread entry of preprocessBatch: runs each posted CaseJob and posts its result or error back. */
export function runPreprocessWorker(): void {
  const port = parentPort;
  if (!port)
    throw new Error(
      'runPreprocessWorker must run in a worker thread (started by preprocessBatch through lib/core/workers.ts)',
    );
  port.on('message', (job: CaseJob) => {
    runCaseJob(job).then(
      (r) => port.postMessage({ ok: true, result: r }),
      (e: unknown) =>
        port.postMessage({
          ok: false,
          userError: e instanceof VmatError,
          // bad input keeps its message only; anything else is a bug and keeps its stack
          error: e instanceof VmatError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e),
        }),
    );
  });
}
