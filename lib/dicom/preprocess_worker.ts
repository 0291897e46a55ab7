/**
 * Worker-thread side of preprocessBatch: preprocesses one case per message, so cases run in
 * parallel (each case is independent and deterministic on its own).
 */
import { parentPort } from 'node:worker_threads';
import { VmatError } from '../core/errors';
import { type CaseJob, runCaseJob } from './case_job';

export function runPreprocessWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runPreprocessWorker must run in a worker thread');
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
