/**
 * One unit of batch preprocessing (a case folder → its npz), shared by the in-process path and
 * the worker threads of preprocessBatch. Jobs carry the mapping file name (not the parsed
 * mapping) so they cross the thread boundary as plain data.
 */
import { type CaseResult, type PreprocessOptions, preprocessCase } from './preprocess_case';
import { loadOarMapping, type OarMapping } from './roi_mapping';

/** A case to preprocess: `PreprocessOptions` without the parsed mapping. */
export interface CaseJob {
  caseDir: string;
  outputDir: string;
  mappingFile: string;
  options: Omit<PreprocessOptions, 'mapping'>;
}

const mappings = new Map<string, OarMapping>();

/** Runs one job (the mapping is parsed once per thread). */
export async function runCaseJob(job: CaseJob): Promise<CaseResult> {
  let mapping = mappings.get(job.mappingFile);
  if (!mapping) {
    mapping = loadOarMapping(job.mappingFile);
    mappings.set(job.mappingFile, mapping);
  }
  return preprocessCase(job.caseDir, job.outputDir, { ...job.options, mapping });
}
