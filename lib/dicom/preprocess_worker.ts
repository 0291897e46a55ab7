/**
 * Worker-thread side of preprocessBatch: preprocesses one case per message, so cases run in
 * parallel (each case is independent and deterministic on its own).
 */
import { serveJobs } from '../core/workers';
import { runCaseJob } from './case_job';

/** serves preprocessing jobs (lib/dicom/case_job.ts) in a worker thread */
export function runPreprocessWorker(): void {
  serveJobs('runPreprocessWorker', runCaseJob);
}
