/**
 * Encoding of naturalized DICOM datasets (dcmjs's keyword -> value form) as Part 10 files in
 * explicit VR little endian, through dcmjs (DicomMetaDictionary.denaturalizeDataset +
 * DicomDict.write); nothing here encodes bytes by hand. Also the value formatting dcmjs leaves
 * to the caller: decimal strings (DS) of at most 16 characters, DICOM dates and times.
 */
import { writeFileAtomic } from '../../core/atomic';

/** a dataset in dcmjs's naturalized form: keyword -> value (sequences are arrays of datasets) */
export type DicomDataset = Record<string, unknown>;

interface DcmjsData {
  DicomMetaDictionary: { denaturalizeDataset(ds: DicomDataset): Record<string, unknown> };
  DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
}

// dcmjs ships no type declarations; this is the slice of its API the writers use
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dcmjsData = (require('dcmjs') as { data: DcmjsData }).data;

/** Transfer syntax UID of every file vmat-lab writes (explicit VR little endian). */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** implementation identity written in every file's meta header (a fixed 2.25 UID) */
export const IMPLEMENTATION_CLASS_UID = '2.25.246152419811541006935391052870467830533';
/** Implementation version name of the file meta header. */
export const IMPLEMENTATION_VERSION_NAME = 'VMATLAB_1';

/** SOP classes written by vmat-lab */
export const SOP_CLASS = {
  ct: '1.2.840.10008.5.1.4.1.1.2',
  rtDose: '1.2.840.10008.5.1.4.1.1.481.2',
  rtStruct: '1.2.840.10008.5.1.4.1.1.481.3',
  rtPlan: '1.2.840.10008.5.1.4.1.1.481.5',
  /** Detached Study Management (retired), what RTReferencedStudySequence items name by convention */
  study: '1.2.840.10008.3.1.2.3.1',
} as const;

/**
 * A number as a DICOM decimal string (DS): the shortest exact form when it fits in 16
 * characters, else rounded to as many significant digits as fit. Throws on NaN/Infinity.
 */
export function ds(v: number): string {
  if (!Number.isFinite(v))
    throw new Error(`ds: a DICOM DS value must be finite, got ${v} (writers are given validated geometry and dose)`);
  if (Object.is(v, -0)) v = 0;
  const s = String(v);
  if (s.length <= 16 && !s.includes('e')) return s;
  for (let p = 15; p >= 1; p--) {
    const t = v.toPrecision(p);
    // toPrecision may give "1.5e-8"; normalise "e-8" -> "e-08" is not required by DS
    const clean = t.includes('e') ? t.replace(/\.?0+e/, 'e') : t.includes('.') ? t.replace(/\.?0+$/, '') : t;
    if (clean.length <= 16) return clean;
  }
  throw new Error(`ds: ${v} has no 16-character DS form (unreachable: 1 significant digit always fits)`);
}

/** the number a DS string stands for (what a reader will see) */
export function dsValue(v: number): number {
  return Number(ds(v));
}

/** DICOM DA (YYYYMMDD) and TM (HHMMSS) of a date, in UTC */
export function dicomDateTime(d: Date): { date: string; time: string } {
  const iso = d.toISOString();
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}

/**
 * Part 10 bytes of a dataset: 128-byte preamble, "DICM", file meta group (media storage SOP
 * class/instance from the dataset, explicit VR little endian), then the dataset. The dataset must
 * carry SOPClassUID and SOPInstanceUID. Binary values (PixelData) are ArrayBuffers with their VR
 * in `_vrMap`.
 */
export function encodePart10(dataset: DicomDataset): Uint8Array {
  const sopClass = dataset.SOPClassUID;
  const sopInstance = dataset.SOPInstanceUID;
  if (typeof sopClass !== 'string' || typeof sopInstance !== 'string') {
    throw new Error(
      'encodePart10: the dataset needs SOPClassUID and SOPInstanceUID (every writer in lib/dicom/write sets both)',
    );
  }
  const meta: DicomDataset = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const dict = new dcmjsData.DicomDict(dcmjsData.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjsData.DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}

/** Writes a dataset as a Part 10 file atomically (temp file + rename). */
export async function writeDicomFile(file: string, dataset: DicomDataset): Promise<void> {
  await writeFileAtomic(file, encodePart10(dataset));
}

/** little-endian bytes of a typed array as a fresh ArrayBuffer (PixelData) */
export function pixelBytes(a: Int16Array | Uint16Array | Uint32Array): ArrayBuffer {
  const out = new ArrayBuffer(a.byteLength);
  const view = new DataView(out);
  if (a instanceof Uint32Array) for (let i = 0; i < a.length; i++) view.setUint32(4 * i, a[i], true);
  else if (a instanceof Int16Array) for (let i = 0; i < a.length; i++) view.setInt16(2 * i, a[i], true);
  else for (let i = 0; i < a.length; i++) view.setUint16(2 * i, a[i], true);
  return out;
}
