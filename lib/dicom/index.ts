/**
 * Clinical DICOM-RT in: the public API of lib/dicom (reading with dcmjs, the reference
 * preprocessing). Everything else in the folder is internal.
 *
 * Batch (what `vmat preprocess` runs):
 *   const report = await preprocessBatch(inputDir, outputDir, { layout: 'v2.4' });
 * One case, or single objects of a case folder (for QA tools, export, notebooks):
 *   const files = selectCaseFiles(caseDir);              // spec 2.2 file selection
 *   const ct = loadCtSeries(files.ct, caseDir);            // sorted, checked series (HU on demand)
 *   const plan = files.rtplan ? readDicomFile(files.rtplan) : null;
 *   const rx = readPrescription(plan);                     // Gy, fractions, source
 *   const ss = readStructureSet(readDicomFile(files.rtstruct!));
 *   const match = matchRois(ss, loadOarMapping());         // matched / unmatched ROIs per channel
 *   const grid = readDoseGrid(readDicomFile(files.rtdose!), ct.frameOfReferenceUid, ct.slices[0].file);
 * Errors on bad input are DataError (lib/core/errors) naming the file and the tag.
 */
export { preprocessBatch, listCaseDirs, type BatchOptions, type BatchReport, type CaseFailure } from './batch';
export { preprocessCase, type PreprocessOptions, type CaseResult, type DebugSlices } from './preprocess_case';
export { selectCaseFiles, type CaseFiles } from './files';
export { readDicomFile, type DicomFile, type Dataset, tagLabel, transferSyntaxName } from './dicom_file';
export { decodePixelData, requireUncompressed } from './pixel_data';
export {
  loadCtSeries,
  ctHuVolume,
  inPlaneSpacing,
  type CtSeries,
  type CtSlice,
  type PixelSpacingOrder,
} from './ct_series';
export {
  readPrescription,
  readBeamGeometry,
  defaultPrescription,
  type PrescriptionInfo,
  type BeamGeometry,
} from './rtplan';
export {
  readStructureSet,
  matchRois,
  rasteriseChannels,
  checkStructureFrame,
  type StructureSet,
  type StructureRoi,
  type RoiMatch,
  type SparseMask,
} from './rtstruct';
export { readDoseGrid, type DoseGrid } from './rtdose';
export {
  loadOarMapping,
  normaliseRoiName,
  DEFAULT_MAPPING_FILE,
  type OarMapping,
  type MappingChannel,
} from './roi_mapping';
export { bsplineCoefficients, resampleBSpline, type Axis } from './bspline_resample';
export { computeCropBox, type CropBox } from './crop';
export { debugPanelFigure } from './debug_panel';
