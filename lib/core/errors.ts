/**
 * User-facing errors. Anything thrown as a VmatError prints its message (no stack);
 * anything else is a bug and prints the stack.
 */
export class VmatError extends Error {
  /** process exit code used by the CLI */
  exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad or unreadable input data. Message names the file, the key and what was expected vs found. */
export class DataError extends VmatError {
  constructor(
    readonly file: string,
    readonly key: string | null,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${file}${key ? ` [${key}]` : ''}: expected ${expected}, found ${found}`);
  }
}

/** Bad command-line usage (missing or malformed option). */
export class UsageError extends VmatError {}

/** The CLI's one-line report of a thrown value: a VmatError's message, anything else as an internal error with its stack. */
export function formatError(err: unknown): string {
  if (err instanceof VmatError) return `vmat: ${err.message}`;
  if (err instanceof Error) return `vmat: internal error: ${err.stack ?? err.message}`;
  return `vmat: ${String(err)}`;
}
