/**
 * The ROI-name mapping `oar_mapping.json` (spec 1.6): `{"<channel>": {"name": ..., "variations":
 * [ROI names]}}`. A clinical ROI belongs to a channel when its normalised name equals a
 * normalised variation; every matching ROI is unioned into the channel. vmat ships a copy of the
 * reference's mapping (`lib/dicom/oar_mapping.json`) as the default.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DataError } from '../core/errors';

/** the mapping shipped with vmat-lab (a copy of the reference's, 9 channels) */
export const DEFAULT_MAPPING_FILE = path.join(__dirname, 'oar_mapping.json');

/** One channel of the mapping. */
export interface MappingChannel {
  index: number;
  /** lower-case canonical name of the mapping (e.g. 'ptv70') */
  name: string;
  variations: string[];
  /** normalised variations (normaliseRoiName) */
  normalised: Set<string>;
}

/** A loaded mapping: channels 0..C-1 in index order. */
export interface OarMapping {
  file: string;
  channels: MappingChannel[];
}

const schema = z.record(
  z.string().regex(/^\d+$/, 'channel keys are integers as strings ("0", "1", ...)'),
  z.object({ name: z.string(), variations: z.array(z.string()) }),
);

/**
 * The reference's normalisation: lower-case, then delete `_`, space, `gy` and `-`, in that order
 * (so "PTV_70-Gy" → "ptv70", and "G-y" keeps its "gy": the `-` goes after the `gy` step).
 */
export function normaliseRoiName(name: string): string {
  return name.toLowerCase().split('_').join('').split(' ').join('').split('gy').join('').split('-').join('');
}

/**
 * Loads and checks a mapping file (default: the shipped copy). Channels must be 0..C-1 with
 * C = 8 (v2.3) or 9 (v2.4) — the number of mask channels is the number of entries (spec 1.6).
 */
export function loadOarMapping(file: string = DEFAULT_MAPPING_FILE): OarMapping {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(file, null, 'a readable JSON ROI mapping (oar_mapping.json format)', (e as Error).message);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(
      file,
      issue.path.join('.') || null,
      '{"<channel>": {"name": str, "variations": [str, ...]}, ...}',
      issue.message,
    );
  }
  const entries = Object.entries(parsed.data).map(([k, v]) => ({ index: Number(k), ...v }));
  entries.sort((a, b) => a.index - b.index);
  const C = entries.length;
  if (C !== 8 && C !== 9) throw new DataError(file, null, '8 (v2.3) or 9 (v2.4) channels', `${C} channels`);
  entries.forEach((e, i) => {
    if (e.index !== i)
      throw new DataError(
        file,
        String(e.index),
        `channels numbered 0..${C - 1}`,
        `channel ${e.index} at position ${i}`,
      );
  });
  return {
    file,
    channels: entries.map((e) => ({ ...e, normalised: new Set(e.variations.map(normaliseRoiName)) })),
  };
}
