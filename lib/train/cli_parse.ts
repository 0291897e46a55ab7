/** Option parsers for the train/infer/calibrate commands: bad values are UsageErrors naming the flag. */
import { UsageError } from '../cli/errors';

export function intOpt(flag: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, found '${v}'`);
    return n;
  };
}

export function numOpt(flag: string, min = -Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min)
      throw new UsageError(`${flag}: expected a number${min > -Infinity ? ` >= ${min}` : ''}, found '${v}'`);
    return n;
  };
}

export function choiceOpt<T extends string>(flag: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!choices.includes(v as T)) throw new UsageError(`${flag}: expected one of ${choices.join('|')}, found '${v}'`);
    return v as T;
  };
}
