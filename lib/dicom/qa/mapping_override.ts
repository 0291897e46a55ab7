/**
 * Mapping overrides from a QA review: a copy of the ROI-name mapping (oar_mapping.json format,
 * spec 1.6) with clinic-specific ROI names added to the variations of the chosen channels, for
 * `vmat preprocess --mapping-file`. The base mapping is never modified.
 */
import { writeJsonAtomic } from '../../core/atomic';
import { UsageError } from '../../core/errors';
import { type OarMapping, normaliseRoiName } from '../roi_mapping';
import { channelNames } from './review_case';

/** ROI name -> channel (the channel's profile name, e.g. 'Rectum', or its index) */
export type MappingAdditions = Record<string, string | number>;

/** the mapping file content (plain JSON) of `base` with `additions` added to the variations */
export function mappingWithAdditions(
  base: OarMapping,
  additions: MappingAdditions,
): Record<string, { name: string; variations: string[] }> {
  const names = channelNames(base);
  const out: Record<string, { name: string; variations: string[] }> = {};
  for (const c of base.channels) out[String(c.index)] = { name: c.name, variations: [...c.variations] };
  for (const [roi, ch] of Object.entries(additions)) {
    const idx =
      typeof ch === 'number'
        ? ch
        : names.findIndex(
            (n) => n.toLowerCase() === ch.toLowerCase() || base.channels[names.indexOf(n)]?.name === ch.toLowerCase(),
          );
    if (!(idx >= 0 && idx < base.channels.length))
      throw new UsageError(
        `mapping override: unknown channel "${ch}" for ROI "${roi}" (channels: ${names.join(', ')})`,
      );
    const other = base.channels.find((c) => c.index !== idx && c.normalised.has(normaliseRoiName(roi)));
    if (other)
      throw new UsageError(
        `mapping override: ROI "${roi}" already matches channel ${names[other.index]}; adding it to ${names[idx]} would union it into both`,
      );
    if (!out[String(idx)].variations.includes(roi)) out[String(idx)].variations.push(roi);
  }
  return out;
}

/** Writes the override mapping file (atomic) and returns its content. */
export async function writeMappingOverride(
  file: string,
  base: OarMapping,
  additions: MappingAdditions,
): Promise<Record<string, { name: string; variations: string[] }>> {
  const m = mappingWithAdditions(base, additions);
  await writeJsonAtomic(file, m);
  return m;
}
