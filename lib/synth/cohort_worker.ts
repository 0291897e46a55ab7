/**
 * Worker-thread side of generateCohort: builds and writes one case per message, so both cores
 * work on different cases (each case is deterministic on its own, so the result does not depend
 * on which worker made it).
 */
import { serveJobs } from '../core/workers';
import { runCaseJob } from './cohort_job';

/** serves synthetic-case jobs (lib/synth/cohort_job.ts) in a worker thread */
export function runCohortWorker(): void {
  serveJobs('runCohortWorker', runCaseJob);
}
