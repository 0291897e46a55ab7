/**
 * Stop requests for a running training: SIGTERM (SLURM's requeue and time limit), SIGUSR1 (SLURM's
 * `--signal` warning before the time limit) and SIGINT (Ctrl-C) set a flag that the engine checks
 * after every optimisation step; it then saves a resumable checkpoint and stops with exit code 75
 * (EX_TEMPFAIL). A second Ctrl-C exits at once.
 */
import { VmatError } from '../core/errors';

/** thrown by the engine after saving its checkpoint; the CLI exits with 75 */
export class TrainingInterrupted extends VmatError {
  override exitCode = 75;
}

export interface StopFlag {
  /** the signal that asked to stop, or null */
  readonly requested: string | null;
  /** removes the handlers */
  release(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGUSR1', 'SIGINT'];

/** installs the handlers for the duration of a run */
export function watchStopSignals(onFirst?: (signal: string) => void): StopFlag {
  let requested: string | null = null;
  const handler = (sig: NodeJS.Signals) => {
    if (requested && sig === 'SIGINT') process.exit(130);
    if (!requested) onFirst?.(sig);
    requested ??= sig;
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    get requested() {
      return requested;
    },
    release() {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}

/** a flag that never fires (runs from notebooks and tests) */
export const NO_STOP: StopFlag = { requested: null, release: () => {} };
