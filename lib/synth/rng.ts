/**
 * Seeded random numbers for the synthetic cohort. Everything random in lib/synth goes through
 * this (never Math.random or the clock), so the same seed gives byte-identical cases.
 * The generator is seedrandom's Alea (a well-tested, portable 32-bit PRNG); the distributions
 * on top of it (uniform ranges, Box-Muller normals, Fisher-Yates shuffle) are the textbook ones.
 */
import seedrandom from 'seedrandom';

export class Rng {
  private readonly next: () => number;
  private spareNormal: number | null = null;

  /** `key` names the stream, e.g. `cohort:42` or `case:42:7:anatomy` */
  constructor(readonly key: string) {
    this.next = seedrandom.alea(key);
  }

  /** uniform in [0, 1) */
  random(): number {
    return this.next();
  }

  /** uniform in [a, b) */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** integer in [a, b] inclusive */
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }

  /** standard normal (Box-Muller, both values used) */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u <= 1e-300) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** normal with mean and sd, clamped to [lo, hi] (keeps anatomy parameters plausible) */
  normalClamped(mean: number, sd: number, lo: number, hi: number): number {
    return Math.min(hi, Math.max(lo, mean + sd * this.normal()));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** in-place Fisher-Yates shuffle */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
