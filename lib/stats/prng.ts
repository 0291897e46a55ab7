/**
 * Seeded random numbers compatible with numpy's legacy `np.random.RandomState(seed)`:
 * MT19937 with `init_genrand` seeding, and `randint(low, high)` by masked rejection sampling on
 * 32-bit draws (numpy `random_bounded_uint64_fill` with use_masked=True, ranges < 2^32).
 * Using the same generator as the reference's `bootstrap_ci` (RandomState(42).randint(0, n, n)
 * per resample) makes its confidence intervals reproducible here to the last digit.
 * Hand-written: no npm package offers numpy-compatible streams.
 */
export class RandomState {
  private mt = new Uint32Array(624);
  private mti = 625;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`seed must be an integer in [0, 2^32), found ${seed}`);
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing bits in double arithmetic
      mt[i] = (((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i) >>> 0;
    }
    this.mti = 624;
  }

  /** next 32-bit output (genrand_int32) */
  nextUint32(): number {
    const mt = this.mt;
    if (this.mti >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** integers in [low, high) like RandomState.randint(low, high, size) (high - low <= 2^32) */
  randint(low: number, high: number, size: number): Int32Array | Float64Array {
    const rng = high - low - 1;
    if (rng < 0) throw new RangeError(`randint: low >= high (${low}, ${high})`);
    const out = Math.abs(low) < 2 ** 31 && Math.abs(high) < 2 ** 31 ? new Int32Array(size) : new Float64Array(size);
    if (rng === 0) {
      out.fill(low);
      return out;
    }
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (let i = 0; i < size; i++) {
      let v: number;
      if (rng === 0xffffffff) v = this.nextUint32();
      else {
        do v = (this.nextUint32() & mask) >>> 0;
        while (v > rng);
      }
      out[i] = low + v;
    }
    return out;
  }
}
