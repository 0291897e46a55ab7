/**
 * Small edits of existing DICOM files through dcmjs (read naturalized, change, re-encode in
 * explicit VR little endian): renaming RTSTRUCT ROIs, as a QA session does to try a mapping or
 * to reproduce a clinic's local ROI names.
 */
import { DataError } from '../../core/errors';
import { readDicomFile } from '../dicom_file';
import { type DicomDataset, writeDicomFile } from './dataset';

/**
 * Renames ROIs of an RTSTRUCT file in place (atomic): `renames` maps old ROI name -> new name.
 * Every old name must exist. Returns the number of ROIs renamed.
 */
export async function renameRois(file: string, renames: Record<string, string>, outFile = file): Promise<number> {
  const f = readDicomFile(file);
  const seq = f.ds.StructureSetROISequence;
  if (!Array.isArray(seq))
    throw new DataError(file, 'StructureSetROISequence (3006,0020)', 'an RTSTRUCT with ROIs', 'none');
  let n = 0;
  const seen = new Set<string>();
  for (const item of seq as DicomDataset[]) {
    const name = String(item.ROIName ?? '');
    if (name in renames) {
      item.ROIName = renames[name];
      seen.add(name);
      n++;
    }
  }
  const absent = Object.keys(renames).filter((k) => !seen.has(k));
  if (absent.length)
    throw new DataError(
      file,
      'ROIName (3006,0026)',
      `ROIs named ${absent.join(', ')}`,
      `ROIs ${(seq as DicomDataset[]).map((i) => String(i.ROIName)).join(', ')}`,
    );
  await writeDicomFile(outFile, f.ds);
  return n;
}
