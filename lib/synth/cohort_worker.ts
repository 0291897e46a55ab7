/**
 * Worker-thread side of generateCohort: builds and writes one case per message, so both cores
 * work on different cases (each case is deterministic on its own, so the result does not depend
 * on which worker made it).
 */
import { parentPort } from 'node:worker_threads';
import { VmatError } from '../core/errors';
import { type CaseJob, runCaseJob } from './cohort_job';

/** Worker-thread entry of generateCohort: runs each posted CaseJob and posts its result or error back. */
export function runCohortWorker(): void {
  const port = parentPort;
  if (!port)
    throw new Error(
      'runCohortWorker must run in a worker thread (started by generateCohort through lib/core/workers.ts)',
    );
  port.on('message', (job: CaseJob) => {
    runCaseJob(job).then(
      (r) => port.postMessage({ ok: true, result: r }),
      // user-facing errors keep their message only; anything else is a bug and keeps its stack
      (e: unknown) =>
        port.postMessage({
          ok: false,
          userError: e instanceof VmatError,
          error: e instanceof VmatError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e),
        }),
    );
  });
}
