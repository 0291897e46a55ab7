/**
 * The DICOM modules every object of one patient's set shares (PS3.3 C.7 / C.12): patient,
 * general study, series, frame of reference, general equipment and SOP common, as naturalized
 * dcmjs attributes. A `DicomStudyContext` holds what must be equal across the CT, RTSTRUCT,
 * RTPLAN and RTDOSE of one case (patient, study UID, frame of reference UID).
 */
import type { DicomDataset } from './dataset';

/** Patient module values (PS3.3 C.7.1.1); copied verbatim when exporting into an existing study */
export interface PatientModule {
  PatientName: string;
  PatientID: string;
  PatientBirthDate?: string;
  PatientSex?: string;
}

/** What the objects of one study share. */
export interface DicomStudyContext {
  patient: PatientModule;
  /** patient-level attributes to copy verbatim, overriding `patient` (e.g. from the CT of a clinical export) */
  patientExtra?: DicomDataset;
  studyInstanceUid: string;
  studyDate: string;
  studyTime: string;
  studyId: string;
  studyDescription?: string;
  accessionNumber?: string;
  referringPhysicianName?: string;
  frameOfReferenceUid: string;
  positionReferenceIndicator?: string;
}

/** Manufacturer written in the equipment module. */
export const MANUFACTURER = 'vmat-lab';

/** patient + general study + frame of reference + equipment attributes of a context */
export function studyModules(ctx: DicomStudyContext, softwareVersion: string): DicomDataset {
  return {
    SpecificCharacterSet: 'ISO_IR 100',
    PatientName: ctx.patient.PatientName,
    PatientID: ctx.patient.PatientID,
    PatientBirthDate: ctx.patient.PatientBirthDate ?? '',
    PatientSex: ctx.patient.PatientSex ?? '',
    // verbatim values (e.g. a PN with its component groups) win over the plain strings above
    ...ctx.patientExtra,
    StudyInstanceUID: ctx.studyInstanceUid,
    StudyDate: ctx.studyDate,
    StudyTime: ctx.studyTime,
    StudyID: ctx.studyId,
    AccessionNumber: ctx.accessionNumber ?? '',
    ReferringPhysicianName: ctx.referringPhysicianName ?? '',
    ...(ctx.studyDescription !== undefined ? { StudyDescription: ctx.studyDescription } : {}),
    FrameOfReferenceUID: ctx.frameOfReferenceUid,
    PositionReferenceIndicator: ctx.positionReferenceIndicator ?? '',
    Manufacturer: MANUFACTURER,
    SoftwareVersions: softwareVersion,
  };
}

/** general / RT series attributes */
export function seriesModule(o: {
  modality: 'CT' | 'RTSTRUCT' | 'RTPLAN' | 'RTDOSE';
  seriesInstanceUid: string;
  seriesNumber: number;
  seriesDescription: string;
  date: string;
  time: string;
}): DicomDataset {
  return {
    Modality: o.modality,
    SeriesInstanceUID: o.seriesInstanceUid,
    SeriesNumber: o.seriesNumber,
    SeriesDescription: o.seriesDescription,
    SeriesDate: o.date,
    SeriesTime: o.time,
  };
}

/** SOP common attributes */
export function sopCommon(sopClassUid: string, sopInstanceUid: string, date: string, time: string): DicomDataset {
  return {
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
  };
}
