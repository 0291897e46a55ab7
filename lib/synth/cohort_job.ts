/**
 * One unit of cohort generation (synthesise a case and write its reference npz), shared by the
 * in-process path and the worker threads of generateCohort.
 */
import * as path from 'node:path';
import type { Shape3 } from '../data/case';
import type { ReferenceLayout } from '../data/prostate_plan';
import { writeReferenceNpz } from '../data/reference_npz';
import type { PlanType } from './anatomy';
import { writeSynthCaseDicom } from './dicom/export_case';
import type { OarMapping } from '../dicom/roi_mapping';
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
  /** 'npz' (default): `file` is the reference npz; 'dicom': a DICOM-RT folder `<dir of file>/<id>/` */
  format?: 'npz' | 'dicom';
  /** ROI-name mapping for the clinical names of the DICOM RTSTRUCT (format 'dicom') */
  mapping?: OarMapping;
}

export interface CaseJobResult {
  id: string;
  file: string;
  planType: PlanType;
  ptv70Cc: number;
  /** e.g. PTV70_D95, PTV56_D95, Rectum_V70, Bladder_V70 */
  dvh: Record<string, number>;
  /** format 'dicom': structure name -> ROI name written in the RTSTRUCT */
  roiNames?: Record<string, string>;
}

/** Synthesises one case and writes it (reference npz, or DICOM-RT with the ROI-name mapping); returns its DVH numbers. */
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
  let roiNames: Record<string, string> | undefined;
  if (job.format === 'dicom') {
    if (!job.mapping)
      throw new Error(
        `runCaseJob ${job.id}: format 'dicom' needs the ROI-name mapping (generateCohort loads it for --format dicom)`,
      );
    roiNames = (await writeSynthCaseDicom(r.case, path.dirname(job.file), { mapping: job.mapping })).roiNames;
  } else {
    await writeReferenceNpz(job.file, r.case, { layout: job.layout });
  }
  const vcc = (job.spacingMm[0] * job.spacingMm[1] * job.spacingMm[2]) / 1000;
  return {
    id: job.id,
    file: job.file,
    planType: job.planType,
    ptv70Cc: count(r.case.masks.get('PTV70')!) * vcc,
    dvh: r.dvh,
    ...(roiNames ? { roiNames } : {}),
  };
}
