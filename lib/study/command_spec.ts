/**
 * The study checks its `vmat train` / `vmat infer` flags against the commands' own option lists
 * (given by the CLI face as a CommandSpec, since lib/study sits below lib/cli), and turns the study
 * file's settings objects ({"patch-size": 32, "augmentation": false}) into argv lists.
 */

/** one long option of a command */
export interface OptionSpec {
  /** '--patch-size' */
  long: string;
  /** takes a value (`--patch-size <n>`) */
  takesValue: boolean;
  /** a `--no-x` negation */
  negate: boolean;
}

/** what the study needs to know about a command of the CLI */
export interface CommandSpec {
  name: string;
  options: OptionSpec[];
  /** parses an argv list with the command's own parser (values included); throws with the parser's message */
  parse(argv: string[]): void;
}

export interface CommandSpecs {
  train: CommandSpec;
  infer: CommandSpec;
}

/** flags a study sets itself for every run: a study file may not give them */
export const STUDY_MANAGED_TRAIN_FLAGS = ['--data-dir', '--exp-name', '--runs-dir', '--seed', '--resume', '--json'];
/** flags a study sets itself for every inference: a study file may not give them */
export const STUDY_MANAGED_INFER_FLAGS = [
  '--checkpoint',
  '--distance-baseline',
  '--train-dir',
  '--input-dir',
  '--output-dir',
  '--cases-from',
  '--compute-metrics',
  '--json',
];

/** thrown by the helpers below; the loader turns it into a DataError with the key path */
export class FlagError extends Error {
  constructor(
    readonly index: number | null,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`expected ${expected}, found ${found}`);
  }
}

function kebab(key: string): string {
  return key
    .replace(/^--/, '')
    .replace(/_/g, '-')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

function optionList(spec: CommandSpec): string {
  return spec.options
    .map((o) => o.long)
    .filter((l) => l !== '--help')
    .join(' ');
}

/**
 * Checks an argv list against the command: every token is a known long option (or `--opt=value`),
 * options that take a value are followed by one, nothing positional, no study-managed flag; then the
 * command's own parser checks the values. Throws FlagError naming the offending item.
 */
export function checkArgv(spec: CommandSpec, argv: string[], managed: string[]): void {
  const byLong = new Map(spec.options.map((o) => [o.long, o]));
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (typeof tok !== 'string' || !tok.startsWith('--'))
      throw new FlagError(i, `a \`vmat ${spec.name}\` flag starting with --`, JSON.stringify(tok));
    const name = tok.includes('=') ? tok.slice(0, tok.indexOf('=')) : tok;
    if (managed.includes(name))
      throw new FlagError(i, `a flag the study does not set itself (${managed.join(' ')} are set per run)`, name);
    const opt = byLong.get(name);
    if (!opt)
      throw new FlagError(i, `a flag of \`vmat ${spec.name}\` (one of: ${optionList(spec)})`, `unknown flag ${name}`);
    if (opt.takesValue && !tok.includes('=')) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--'))
        throw new FlagError(i, `a value after ${name}`, i + 1 >= argv.length ? 'the end of the list' : argv[i + 1]);
      i++;
    } else if (!opt.takesValue && tok.includes('='))
      throw new FlagError(i, `${name} without a value (it is a switch)`, tok);
  }
  try {
    spec.parse(argv);
  } catch (e) {
    throw new FlagError(null, `values \`vmat ${spec.name}\` accepts`, (e as Error).message.replace(/^error: /, ''));
  }
}

/**
 * Settings object -> argv. Keys are flag names in kebab-case ("patch-size"), snake_case or camelCase;
 * values: numbers and strings become the flag's value; true adds a switch; false adds `--no-<key>` when
 * the command has that negation and leaves a plain switch off. An argv list is returned as it is.
 * `reserved` keys are skipped (e.g. evaluation.checkpoint). Throws FlagError with the key.
 */
export function settingsToArgv(
  spec: CommandSpec,
  settings: Record<string, string | number | boolean> | string[],
  reserved: string[] = [],
): { argv: string[]; keyOf: (argIndex: number) => string } {
  if (Array.isArray(settings)) return { argv: settings.slice(), keyOf: (i) => `[${i}]` };
  const byLong = new Map(spec.options.map((o) => [o.long, o]));
  const argv: string[] = [];
  const keys: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (reserved.includes(key)) continue;
    const long = `--${kebab(key)}`;
    const opt = byLong.get(long);
    const neg = byLong.get(`--no-${kebab(key)}`);
    const push = (...t: string[]) => {
      argv.push(...t);
      for (let k = 0; k < t.length; k++) keys.push(key);
    };
    if (typeof value === 'boolean') {
      if (opt && !opt.takesValue && !opt.negate) {
        if (value) push(long);
      } else if (neg && neg.negate) {
        if (!value) push(neg.long);
      } else if (opt && opt.takesValue) {
        throw new FlagError(null, `a value for ${long} (it is not a switch)`, `${key}: ${value}`);
      } else
        throw new FlagError(
          null,
          `a flag of \`vmat ${spec.name}\` (one of: ${optionList(spec)})`,
          `unknown key "${key}"`,
        );
    } else {
      if (!opt)
        throw new FlagError(
          null,
          `a flag of \`vmat ${spec.name}\` (one of: ${optionList(spec)})`,
          neg ? `"${key}" with a value (use true/false)` : `unknown key "${key}"`,
        );
      if (!opt.takesValue)
        throw new FlagError(null, `true or false for the switch ${long}`, `${key}: ${JSON.stringify(value)}`);
      push(long, String(value));
    }
  }
  return { argv, keyOf: (i) => keys[i] ?? '' };
}
