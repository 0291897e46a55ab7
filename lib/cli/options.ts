/** Parsing and checking of command-line option values: bad values are UsageErrors naming the flag. */
import { UsageError } from '../core/errors';

/** "1,2.5,3" -> numbers; every item must be a finite number */
export function parseNumberList(option: string, text: string | undefined, expectedCount?: number): number[] {
  if (text === undefined || text.trim() === '')
    throw new UsageError(`${option}: expected a comma-separated list of numbers, found nothing`);
  const parts = text.split(',').map((s) => s.trim());
  const vals = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(vals[i]));
  if (bad >= 0) throw new UsageError(`${option}: item ${bad + 1} '${parts[bad]}' is not a number`);
  if (expectedCount !== undefined && vals.length !== expectedCount) {
    throw new UsageError(
      `${option}: expected ${expectedCount} values (array axis order), found ${vals.length} (${text})`,
    );
  }
  return vals;
}

/** Parses `--spacing-mm a,b,c`: three positive voxel sizes in mm, in array axis order (Y, X, Z). */
export function parseSpacing(text: string | undefined): [number, number, number] {
  const v = parseNumberList('--spacing-mm', text, 3);
  if (v.some((x) => !(x > 0))) throw new UsageError(`--spacing-mm: spacing must be positive mm, found ${text}`);
  return v as [number, number, number];
}

/** Parses an optional numeric option; `fallback` when absent, a UsageError naming `option` when not a number or `check` fails. */
export function parseNumber(
  option: string,
  text: string | undefined,
  fallback: number,
  check?: (x: number) => boolean,
  what = 'a number',
): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (check && !check(v)))
    throw new UsageError(`${option}: expected ${what}, found '${text}'`);
  return v;
}

/** Parses an optional option restricted to `allowed`; `fallback` when absent, else a UsageError naming `option`. */
export function oneOf<T extends string>(
  option: string,
  text: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`${option}: expected one of ${allowed.join(' | ')}, found '${text}'`);
  return text as T;
}

/** A commander parser for an integer option >= `min`; bad values are UsageErrors naming `flag`. */
export function intOpt(flag: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, found '${v}'`);
    return n;
  };
}

/** A commander parser for a finite number option >= `min`; bad values are UsageErrors naming `flag`. */
export function numOpt(flag: string, min = -Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min)
      throw new UsageError(`${flag}: expected a number${min > -Infinity ? ` >= ${min}` : ''}, found '${v}'`);
    return n;
  };
}

/** A commander parser for an option restricted to `choices`; other values are UsageErrors naming `flag`. */
export function choiceOpt<T extends string>(flag: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!choices.includes(v as T)) throw new UsageError(`${flag}: expected one of ${choices.join('|')}, found '${v}'`);
    return v as T;
  };
}
