/**
 * Reading one DICOM Part-10 file with dcmjs (never a hand-written parser) into a naturalized
 * dataset (attributes by keyword), plus typed accessors whose errors name the file and the tag.
 *
 * dcmjs ships no TypeScript types; the few calls used here are typed locally (`DcmjsData`), so no
 * ambient `declare module 'dcmjs'` is needed (another module may declare its own).
 */
import * as fs from 'node:fs';
import { DataError } from '../core/errors';

/** a naturalized DICOM dataset: keyword → value (numbers for numeric VRs, arrays for VM > 1, sequences as arrays of datasets) */
export type Dataset = Record<string, unknown>;

interface DcmjsDicomDict {
  meta: Record<string, unknown>;
  dict: Record<string, unknown>;
}
interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DcmjsDicomDict };
  DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): Dataset };
}
interface DcmjsModule {
  data: DcmjsData;
  log?: { setLevel?(level: string): void; getLogger?(name: string): { setLevel?(level: string): void } };
}

let dcmjsModule: DcmjsModule | null = null;
function dcmjs(): DcmjsModule {
  if (!dcmjsModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    dcmjsModule = require('dcmjs') as DcmjsModule;
    // dcmjs logs VR fix-ups of implicit-VR files ("Invalid vr type ox - using OW") through loglevel;
    // they are harmless, and stderr is kept for vmat's own messages
    dcmjsModule.log?.setLevel?.('error');
    dcmjsModule.log?.getLogger?.('validation.dcmjs')?.setLevel?.('silent');
  }
  return dcmjsModule;
}

/** Transfer syntaxes whose pixel data is stored uncompressed (native), by UID. */
export const UNCOMPRESSED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
};

/** Names of common compressed (encapsulated) transfer syntaxes, for error messages. */
const COMPRESSED_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, First-Order Prediction (Process 14 SV1)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

/** "JPEG Baseline (Process 1) (1.2.840.10008.1.2.4.50)" */
export function transferSyntaxName(uid: string): string {
  const n = UNCOMPRESSED_TRANSFER_SYNTAXES[uid] ?? COMPRESSED_NAMES[uid];
  return n ? `${n} (${uid})` : uid;
}

/** Tags (group,element) of the attributes vmat names in error messages. */
export const TAGS: Readonly<Record<string, string>> = {
  TransferSyntaxUID: '(0002,0010)',
  SpecificCharacterSet: '(0008,0005)',
  Modality: '(0008,0060)',
  SeriesInstanceUID: '(0020,000E)',
  FrameOfReferenceUID: '(0020,0052)',
  ImagePositionPatient: '(0020,0032)',
  ImageOrientationPatient: '(0020,0037)',
  PatientPosition: '(0018,5100)',
  PixelSpacing: '(0028,0030)',
  Rows: '(0028,0010)',
  Columns: '(0028,0011)',
  NumberOfFrames: '(0028,0008)',
  BitsAllocated: '(0028,0100)',
  PixelRepresentation: '(0028,0103)',
  SamplesPerPixel: '(0028,0002)',
  RescaleSlope: '(0028,1053)',
  RescaleIntercept: '(0028,1052)',
  PixelData: '(7FE0,0010)',
  DoseGridScaling: '(3004,000E)',
  GridFrameOffsetVector: '(3004,000C)',
  ReferencedFrameOfReferenceSequence: '(3006,0010)',
  StructureSetROISequence: '(3006,0020)',
  ROINumber: '(3006,0022)',
  ReferencedFrameOfReferenceUID: '(3006,0024)',
  ROIName: '(3006,0026)',
  ROIContourSequence: '(3006,0039)',
  ContourSequence: '(3006,0040)',
  ContourData: '(3006,0050)',
  ReferencedROINumber: '(3006,0084)',
  DoseReferenceSequence: '(300A,0010)',
  TargetPrescriptionDose: '(300A,0026)',
  FractionGroupSequence: '(300A,0070)',
  BeamSequence: '(300A,00B0)',
  ControlPointSequence: '(300A,0111)',
};

/** "DoseGridScaling (3004,000E)" */
export function tagLabel(keyword: string): string {
  const t = TAGS[keyword];
  return t ? `${keyword} ${t}` : keyword;
}

/** One parsed file: its path, the file meta information and the naturalized dataset. */
export interface DicomFile {
  file: string;
  transferSyntaxUid: string;
  ds: Dataset;
  /** set when the file ends inside the PixelData value (dcmjs zero-fills a short value silently) */
  truncatedPixelData?: { declared: number; available: number };
  /** notes about the reading (e.g. a multi-valued SpecificCharacterSet read with its first value) */
  warnings: string[];
}

/**
 * Where the native PixelData value of `expected` bytes ends up short: dcmjs reads a PixelData
 * value that runs past the end of the file without complaint (zero-filled), so a truncated slice
 * would pass as an image with a black lower half. This looks for the element header
 * (7FE0,0010) — first where a complete file has it, then backwards — and compares its declared
 * length with the bytes left in the file. Not a parser: one element's length, read where dcmjs
 * found the element.
 */
function pixelDataShortfall(
  buf: Buffer,
  expected: number,
  bigEndian: boolean,
): { declared: number; available: number } | null {
  const t = bigEndian ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00];
  const u32 = (at: number) => (bigEndian ? buf.readUInt32BE(at) : buf.readUInt32LE(at));
  const headerAt = (i: number): { len: number; valueAt: number } | null => {
    if (
      i < 132 ||
      i + 8 > buf.length ||
      buf[i] !== t[0] ||
      buf[i + 1] !== t[1] ||
      buf[i + 2] !== t[2] ||
      buf[i + 3] !== t[3]
    )
      return null;
    const vr = buf.toString('latin1', i + 4, i + 6);
    if (['OW', 'OB', 'UN', 'OF', 'OD', 'OL', 'OV'].includes(vr) && buf[i + 6] === 0 && buf[i + 7] === 0) {
      return i + 12 <= buf.length ? { len: u32(i + 8), valueAt: i + 12 } : null;
    }
    return { len: u32(i + 4), valueAt: i + 8 };
  };
  const fits = (h: { len: number }) => h.len === expected || h.len === expected + 1;
  // complete file, PixelData last: the header sits just before the last `expected` (+1 pad) bytes
  for (const pad of [0, 1]) {
    for (const hl of [12, 8]) {
      const h = headerAt(buf.length - expected - pad - hl);
      if (h && fits(h) && h.valueAt + h.len <= buf.length) return null;
    }
  }
  for (let i = buf.length - 8; i >= 132; i--) {
    const h = headerAt(i);
    if (!h || !fits(h)) continue;
    const available = buf.length - h.valueAt;
    return available < h.len ? { declared: h.len, available } : null;
  }
  return null;
}

/**
 * Parses a DICOM Part-10 file with dcmjs. A file that does not parse (no 'DICM' prefix, truncated,
 * not DICOM) is a DataError naming the file and dcmjs's reason.
 */
export function readDicomFile(file: string): DicomFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(file, null, 'a readable DICOM file', (e as Error).message);
  }
  if (buf.length < 132 || buf.toString('latin1', 128, 132) !== 'DICM') {
    throw new DataError(
      file,
      null,
      "a DICOM Part-10 file (128-byte preamble + 'DICM' + file meta information)",
      buf.length < 132
        ? `${buf.length} bytes (truncated or not DICOM)`
        : "no 'DICM' prefix at byte 128 (not a DICOM file, or a raw dataset without file meta information)",
    );
  }
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const api = dcmjs().data;
  const warnings: string[] = [];
  let dict: DcmjsDicomDict;
  const fail = (e: unknown): never => {
    const msg = (e as Error).message ?? String(e);
    const hint = /more than currently allocated|out of bounds|offset|beyond/i.test(msg) ? ' (file truncated?)' : '';
    throw new DataError(file, null, 'a DICOM file that parses', `dcmjs: ${msg}${hint}`);
  };
  try {
    dict = api.DicomMessage.readFile(ab);
  } catch (e) {
    // dcmjs refuses multi-valued or unknown character sets (ISO 2022 code extensions, common in
    // Japanese and Korean exports); read again keeping the first value, and say so
    if (!/character set/i.test((e as Error).message ?? '')) fail(e);
    try {
      dict = api.DicomMessage.readFile(ab, {
        ignoreErrors: true,
        untilTag: null,
        includeUntilTagValue: false,
        noCopy: false,
        forceStoreRaw: false,
      });
    } catch (e2) {
      return fail(e2);
    }
    warnings.push(
      `${file}: ${tagLabel('SpecificCharacterSet')}: ${(e as Error).message}; text read with the first character set`,
    );
  }
  const meta = api.DicomMetaDictionary.naturalizeDataset(dict.meta);
  const ts = typeof meta.TransferSyntaxUID === 'string' ? meta.TransferSyntaxUID : '';
  if (!ts)
    throw new DataError(file, tagLabel('TransferSyntaxUID'), 'a transfer syntax in the file meta information', 'none');
  let ds: Dataset;
  try {
    ds = api.DicomMetaDictionary.naturalizeDataset(dict.dict);
  } catch (e) {
    throw new DataError(file, null, 'a DICOM dataset that parses', `dcmjs: ${(e as Error).message}`);
  }
  const out: DicomFile = { file, transferSyntaxUid: ts, ds, warnings };
  if (ds.PixelData !== undefined && UNCOMPRESSED_TRANSFER_SYNTAXES[ts]) {
    const rows = numberOf(ds, 'Rows');
    const cols = numberOf(ds, 'Columns');
    const bits = numberOf(ds, 'BitsAllocated');
    const frames = numberOf(ds, 'NumberOfFrames') ?? 1;
    if (rows && cols && bits && bits % 8 === 0) {
      const short = pixelDataShortfall(buf, rows * cols * frames * (bits / 8), ts === '1.2.840.10008.1.2.2');
      if (short) out.truncatedPixelData = short;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// typed accessors (pydicom-like: `has` = present with a value)

/** true when the attribute is present with a non-empty value (pydicom's `hasattr` on a filled element) */
export function has(ds: Dataset, key: string): boolean {
  const v = ds[key];
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v) && v.length === 0) return false;
  return true;
}

/** all numeric values of an attribute (scalar → [x]); null when absent */
export function numbersOf(ds: Dataset, key: string): number[] | null {
  const v = ds[key];
  if (v === undefined || v === null || v === '') return null;
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : NaN));
}

/** the first numeric value or null when absent */
export function numberOf(ds: Dataset, key: string): number | null {
  const v = numbersOf(ds, key);
  return v && v.length ? v[0] : null;
}

/** a string attribute (first value of a multi-valued one), null when absent */
export function stringOf(ds: Dataset, key: string): string | null {
  const v = ds[key];
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.length ? String(v[0]) : null;
  if (typeof v === 'object') {
    // person names come as {Alphabetic: ...}
    const alpha = (v as Record<string, unknown>).Alphabetic;
    return typeof alpha === 'string' ? alpha : null;
  }
  return String(v);
}

/** the items of a sequence attribute ([] when absent) */
export function sequenceOf(ds: Dataset, key: string): Dataset[] {
  const v = ds[key];
  if (!Array.isArray(v)) return v && typeof v === 'object' ? [v as Dataset] : [];
  return v.filter((x): x is Dataset => !!x && typeof x === 'object');
}

/** a required number: DataError naming file and tag when missing or not finite */
export function requireNumber(f: DicomFile, key: string, what = 'a number'): number {
  const v = numberOf(f.ds, key);
  if (v === null) throw new DataError(f.file, tagLabel(key), what, 'missing');
  if (!Number.isFinite(v)) throw new DataError(f.file, tagLabel(key), what, String(f.ds[key]));
  return v;
}

/** a required list of `n` finite numbers (e.g. ImagePositionPatient: 3) */
export function requireNumbers(f: DicomFile, key: string, n: number): number[] {
  const v = numbersOf(f.ds, key);
  if (!v) throw new DataError(f.file, tagLabel(key), `${n} numbers`, 'missing');
  if (v.length !== n || v.some((x) => !Number.isFinite(x)))
    throw new DataError(f.file, tagLabel(key), `${n} numbers`, JSON.stringify(f.ds[key]));
  return v;
}
