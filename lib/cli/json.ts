/** Prints one JSON object (numbers as plain JSON; NaN/Infinity become null) for `--json` output. */
export function printJson(value: unknown): void {
  process.stdout.write(
    JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
}
