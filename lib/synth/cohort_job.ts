/**
 * One unit of cohort generation (synthesise a case and write its reference npz), shared by the
 * in-process path and the worker threads of generateCohort.
 */
import type { Shape3 } from '../data/case';
import type { ReferenceLayout } from '../data/prostate_plan';
import { writeReferenceNpz } from '../data/reference_npz';
import type { PlanType } from './anatomy';
import type { DoseModelOptions } from './dose';
import { count } from './geometry';
import { synthesizeCase } from './synth_case';

export interface CaseJob {
  id: string;
  file: string;
  seed: number;
  planType: PlanType;
  layout: ReferenceLayout;
  shape: Shape3;
  spacingMm: Shape3;
  dose?: Partial<DoseModelOptions>;
}

export interface CaseJobResult {
  id: string;
  file: string;
  planType: PlanType;
  ptv70Cc: number;
  /** e.g. PTV70_D95, PTV56_D95, Rectum_V70, Bladder_V70 */
  dvh: Record<string, number>;
}

export async function runCaseJob(job: CaseJob): Promise<CaseJobResult> {
  const r = synthesizeCase({
    id: job.id,
    seed: job.seed,
    planType: job.planType,
    layout: job.layout,
    shape: job.shape,
    spacingMm: job.spacingMm,
    dose: job.dose,
  });
  await writeReferenceNpz(job.file, r.case, { layout: job.layout });
  const vcc = (job.spacingMm[0] * job.spacingMm[1] * job.spacingMm[2]) / 1000;
  return {
    id: job.id,
    file: job.file,
    planType: job.planType,
    ptv70Cc: count(r.case.masks.get('PTV70')!) * vcc,
    dvh: r.dvh,
  };
}
