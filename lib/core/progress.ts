/**
 * Progress reporting for long work. On a terminal: a cli-progress bar on stderr. Elsewhere
 * (CI logs, notebooks): one line every ~10% / 5 s so logs stay readable. A notebook can pass
 * its own `onUpdate` to drive a live display instead.
 */
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  tick(n?: number, info?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** notebook / programmatic hook; when given, nothing is printed */
  onUpdate?: (done: number, total: number, info: string) => void;
  quiet?: boolean;
}

/** A progress reporter: `onUpdate` when given, else a bar on a TTY, else a line every ~10% / 5 s on stderr; silent with `quiet`. */
export function createProgress(opts: ProgressOptions): Progress {
  let done = 0;
  if (opts.onUpdate) {
    const cb = opts.onUpdate;
    return {
      tick(n = 1, info = '') {
        done += n;
        cb(done, opts.total, info);
      },
      stop() {},
    };
  }
  if (opts.quiet) return { tick() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        format: `${opts.label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {info}`,
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(opts.total, 0, { info: '' });
    return {
      tick(n = 1, info = '') {
        done += n;
        bar.update(done, { info });
      },
      stop() {
        bar.stop();
      },
    };
  }
  const start = Date.now();
  let lastPrint = 0;
  let lastFrac = -1;
  return {
    tick(n = 1, info = '') {
      done += n;
      const frac = opts.total > 0 ? done / opts.total : 1;
      const now = Date.now();
      if (frac - lastFrac >= 0.1 || now - lastPrint > 5000 || done >= opts.total) {
        lastFrac = frac;
        lastPrint = now;
        const el = (now - start) / 1000;
        const eta = frac > 0 ? el / frac - el : 0;
        process.stderr.write(
          `${opts.label}: ${done}/${opts.total} (${(100 * frac).toFixed(0)}%) ${el.toFixed(0)}s elapsed, eta ${eta.toFixed(0)}s ${info}\n`,
        );
      }
    },
    stop() {},
  };
}
