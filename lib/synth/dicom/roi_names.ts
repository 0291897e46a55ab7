/**
 * Clinical-style ROI names for the synthetic DICOM cohort, drawn per case from the ROI-name
 * mapping's variations (spec 1.6, lib/dicom/roi_mapping.ts), so `vmat preprocess` meets the
 * spellings real RTSTRUCTs use ("PTV 7000", "Rectum", "Femur_Head_L", "Sigmoid", ...).
 */
import type { Rng } from '../../core/rng';
import { type OarMapping, normaliseRoiName } from '../../dicom/roi_mapping';

/** channel indices whose variations match `name` after normalisation */
export function matchingChannels(mapping: OarMapping, name: string): number[] {
  const n = normaliseRoiName(name);
  return mapping.channels.filter((c) => c.normalised.has(n)).map((c) => c.index);
}

/**
 * The variations of channel `channel` that look like what a planner types (a capital letter, at
 * most 24 characters, not an optimisation helper) and match that channel only.
 */
export function clinicalSpellings(mapping: OarMapping, channel: number): string[] {
  const e = mapping.channels[channel];
  if (!e) return [];
  return e.variations.filter((v) => {
    // optimisation helpers (Resd_*, *_AP_CS70_*, *_EN_AP) are real ROI names but not the contour a planner draws
    if (!/[A-Z]/.test(v) || v.length > 24 || /^(z|Resd|Spl|Opt|opt)|_AP|_EN|_2-27|hernia/.test(v)) return false;
    // a PTV spelled as a PTV (the mapping also lists e.g. CTV_7000 under ptv70)
    if (e.name.startsWith('ptv') && !/ptv/i.test(v)) return false;
    const m = matchingChannels(mapping, v);
    return m.length === 1 && m[0] === channel;
  });
}

/**
 * One clinical spelling per structure: structure name (e.g. 'PTV70') -> ROI name, for the
 * structures of `channels` (structure name -> mapping channel index). A channel without a usable
 * spelling keeps the structure name.
 */
export function drawRoiNames(mapping: OarMapping, channels: Record<string, number>, rng: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [structure, ch] of Object.entries(channels)) {
    const options = clinicalSpellings(mapping, ch);
    out[structure] = options.length ? options[rng.int(0, options.length)] : structure;
  }
  return out;
}
