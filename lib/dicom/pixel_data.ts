/**
 * Native (uncompressed) pixel data of a parsed DICOM file as a typed array, as pydicom's
 * `pixel_array` gives it: integer samples by BitsAllocated and PixelRepresentation, frames in
 * file order, rows then columns. Compressed (encapsulated) transfer syntaxes are a DataError that
 * names the file and the syntax; vmat does not decode JPEG/RLE.
 */
import { DataError } from '../core/errors';
import {
  type DicomFile,
  UNCOMPRESSED_TRANSFER_SYNTAXES,
  numberOf,
  requireNumber,
  tagLabel,
  transferSyntaxName,
} from './dicom_file';

export type PixelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** Rows, columns and frames of the image. */
export interface PixelGeometry {
  rows: number;
  columns: number;
  frames: number;
}

/** DataError unless the file's transfer syntax stores pixel data uncompressed. */
export function requireUncompressed(f: DicomFile): void {
  if (!UNCOMPRESSED_TRANSFER_SYNTAXES[f.transferSyntaxUid]) {
    throw new DataError(
      f.file,
      tagLabel('TransferSyntaxUID'),
      `an uncompressed transfer syntax (${Object.entries(UNCOMPRESSED_TRANSFER_SYNTAXES)
        .map(([u, n]) => `${n} ${u}`)
        .join(', ')})`,
      `${transferSyntaxName(f.transferSyntaxUid)}: compressed pixel data is not supported; decompress first (e.g. dcmdjpeg / gdcmconv --raw)`,
    );
  }
}

/**
 * Decodes PixelData to a typed array of rows × columns × frames samples (C order: frame, row,
 * column). Checks SamplesPerPixel 1, BitsAllocated 8/16/32 and that the element holds every
 * sample (a short element is a truncated file). Big-endian data is swapped to native order.
 * Bits above BitsStored are kept as stored (pydicom does the same for valid files).
 */
export function decodePixelData(f: DicomFile): { pixels: PixelArray; geometry: PixelGeometry } {
  requireUncompressed(f);
  if (f.truncatedPixelData) {
    const t = f.truncatedPixelData;
    throw new DataError(
      f.file,
      tagLabel('PixelData'),
      `${t.declared} bytes of pixel data`,
      `${t.available} bytes before the end of the file (truncated file)`,
    );
  }
  const rows = requireNumber(f, 'Rows', 'image rows');
  const columns = requireNumber(f, 'Columns', 'image columns');
  const framesRaw = numberOf(f.ds, 'NumberOfFrames');
  const frames = framesRaw === null ? 1 : framesRaw;
  if (!(Number.isInteger(frames) && frames >= 1))
    throw new DataError(f.file, tagLabel('NumberOfFrames'), 'a positive integer', String(framesRaw));
  const spp = numberOf(f.ds, 'SamplesPerPixel') ?? 1;
  if (spp !== 1) throw new DataError(f.file, tagLabel('SamplesPerPixel'), '1 (greyscale)', String(spp));
  const bits = requireNumber(f, 'BitsAllocated', 'bits allocated');
  const signed = (numberOf(f.ds, 'PixelRepresentation') ?? 0) === 1;
  if (![8, 16, 32].includes(bits)) throw new DataError(f.file, tagLabel('BitsAllocated'), '8, 16 or 32', String(bits));
  const pd = f.ds.PixelData;
  const parts: ArrayBuffer[] = Array.isArray(pd)
    ? (pd.filter((x) => x instanceof ArrayBuffer) as ArrayBuffer[])
    : pd instanceof ArrayBuffer
      ? [pd]
      : [];
  if (!parts.length) throw new DataError(f.file, tagLabel('PixelData'), 'pixel data', 'missing');
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const n = rows * columns * frames;
  const bytesPer = bits / 8;
  if (total < n * bytesPer) {
    throw new DataError(
      f.file,
      tagLabel('PixelData'),
      `${n * bytesPer} bytes (${rows} x ${columns} x ${frames} frames x ${bytesPer} bytes)`,
      `${total} bytes (truncated file?)`,
    );
  }
  const raw = new Uint8Array(n * bytesPer);
  let off = 0;
  for (const p of parts) {
    const take = Math.min(p.byteLength, raw.length - off);
    raw.set(new Uint8Array(p, 0, take), off);
    off += take;
    if (off >= raw.length) break;
  }
  if (f.transferSyntaxUid === '1.2.840.10008.1.2.2' && bytesPer > 1) {
    // Explicit VR Big Endian: dcmjs hands over the bytes as stored
    for (let i = 0; i < raw.length; i += bytesPer) raw.subarray(i, i + bytesPer).reverse();
  }
  const buf = raw.buffer;
  let pixels: PixelArray;
  if (bits === 8) pixels = signed ? new Int8Array(buf) : raw;
  else if (bits === 16) pixels = signed ? new Int16Array(buf) : new Uint16Array(buf);
  else pixels = signed ? new Int32Array(buf) : new Uint32Array(buf);
  return { pixels, geometry: { rows, columns, frames } };
}
