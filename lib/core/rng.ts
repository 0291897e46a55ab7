/**
 * The one seeded random stream of vmat-lab: weight init, patch sampling, augmentation, the
 * synthetic cohort and the locked split all draw from it (never Math.random or the clock), so the
 * same seed gives the same result. Backed by seedrandom's Alea generator (well tested, portable);
 * its state is four numbers, so it is saved in every checkpoint and `--resume` continues the exact
 * same stream. The distributions on top (uniform ranges, Box-Muller normals, Fisher-Yates) are the
 * textbook ones. A string seed names a stream, e.g. `vmat-synth:42:case_0007:anatomy`.
 */
import seedrandom from 'seedrandom';

export type RngState = seedrandom.State.Alea;

/** The seeded generator (seedrandom Alea) with uniform, integer, normal and shuffle draws; its state round-trips through checkpoints. */
export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<RngState>;
  private spareNormal: number | null = null;

  private constructor(prng: seedrandom.StatefulPRNG<RngState>) {
    this.prng = prng;
  }

  static fromSeed(seed: number | string): Rng {
    return new Rng(seedrandom.alea(String(seed), { state: true }));
  }

  static fromState(state: RngState): Rng {
    return new Rng(seedrandom.alea('', { state: { ...state } }));
  }

  /** the state to persist; the cached second Box-Muller normal is dropped so a restore is exact */
  state(): RngState {
    this.spareNormal = null;
    return this.prng.state();
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.prng();
  }

  /** uniform integer in [lo, hi] (both ends included) */
  intInclusive(lo: number, hi: number): number {
    return lo + Math.floor(this.prng() * (hi - lo + 1));
  }

  /** true with probability p */
  bool(p = 0.5): boolean {
    return this.prng() < p;
  }

  /** normal with mean and sd, clamped to [lo, hi] */
  normalClamped(mean: number, sd: number, lo: number, hi: number): number {
    return Math.min(hi, Math.max(lo, mean + sd * this.normal()));
  }

  /** uniform integer in [lo, hi) */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.prng() * (hi - lo));
  }

  /** uniform in [lo, hi) */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.prng();
  }

  /** standard normal (Box-Muller) */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u <= 0) u = this.prng();
    const v = this.prng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** in-place Fisher-Yates shuffle */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  /** an independent child stream (e.g. one per epoch) derived from this stream */
  fork(): Rng {
    return Rng.fromSeed(`${this.prng.int32()}:${this.prng.int32()}`);
  }
}
