/**
 * DICOM UIDs under the 2.25 root (ISO/IEC 9834-8: a UUID written as one decimal integer), so no
 * registered organisation root is needed. Deterministic ones (a hash of a seed string) keep the
 * synthetic DICOM cohort byte-reproducible; random ones are for new objects such as an exported
 * predicted dose.
 */
import { createHash, randomBytes } from 'node:crypto';

function uidFrom128Bits(bytes: Uint8Array): string {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(bytes[i]);
  // at most 39 digits: "2.25." + 39 = 44 characters, within the 64 a UI value allows
  return `2.25.${v.toString(10)}`;
}

/** Deterministic UID from a seed string (SHA-256, first 128 bits): same seed -> same UID. */
export function uidFromSeed(seed: string): string {
  return uidFrom128Bits(createHash('sha256').update(`vmat-lab-uid:${seed}`).digest());
}

/** A new random UID (128 random bits). */
export function newUid(): string {
  return uidFrom128Bits(randomBytes(16));
}
