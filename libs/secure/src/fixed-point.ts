// Reals to fixed point mod 2³² and back, so that a secure sum of words is a
// sum of reals. Values are clipped to [−R, R] and rounded stochastically
// (unbiased); the scale leaves headroom so that the sum of up to N summands
// never wraps.
import { SecureError } from './errors';
import type { RandomSource } from './random';

/** Largest magnitude a signed 32-bit sum may reach. */
const INT32_MAX = 2 ** 31 - 1;
const TWO_POW_32 = 2 ** 32;

export interface FixedPointOptions {
  /** Values are clipped to [−range, range]. */
  range: number;
  /** Most summands the decoded sum may have. */
  maxSummands: number;
}

/**
 * Fixed point with M = ⌊(2³¹ − 1)/N⌋ steps per `range`: scale s = M/R, one step
 * (the quantum) is 1/s = R/M. Each encoded value lies in [−M, M], so a sum of
 * at most N of them lies in [−(2³¹ − 1), 2³¹ − 1] and decodes exactly as a
 * signed 32-bit integer. Bounds:
 * - one value: |decode(encode(v)) − clip(v)| < 1/s, and E[decode(encode(v))] = clip(v)
 *   (to 2⁻³² of a step: the rounding uniforms have 32 bits);
 * - a sum of n ≤ N values: |decoded − Σ clip(vᵢ)| < n/s (so a mean of n: < 1/s).
 * For a given quantum 1/s the bound on n is N ≤ ⌊(2³¹ − 1)/(R·s)⌋: e.g. R = 1,
 * N = 1000 gives a quantum of 4.66e−7; R = 1, N = 10 gives 4.66e−9.
 */
export class FixedPoint {
  readonly range: number;
  readonly maxSummands: number;
  /** M: encoded values lie in [−M, M]. */
  readonly levels: number;
  /** s = M/R: encoded units per 1.0. */
  readonly scale: number;

  constructor(options: FixedPointOptions) {
    const { range, maxSummands } = options;
    if (!(range > 0 && Number.isFinite(range))) throw new SecureError('bad_config', `Expected a finite clipping range > 0, got ${range}`);
    if (!Number.isInteger(maxSummands) || maxSummands < 1 || maxSummands > INT32_MAX) {
      throw new SecureError('bad_config', `Expected maxSummands, a whole number in 1..${INT32_MAX}, got ${maxSummands}`);
    }
    this.range = range;
    this.maxSummands = maxSummands;
    this.levels = Math.floor(INT32_MAX / maxSummands);
    this.scale = this.levels / range;
  }

  /** One step of the grid, 1/s. */
  get quantum(): number {
    return 1 / this.scale;
  }

  /**
   * Writes multiplier·values into out[offset …] (two's complement mod 2³²):
   * clipped to [−R, R], then rounded up with probability equal to the fractional
   * part, with uniforms from `random`. The product is taken in float64, so a
   * weight applied here costs no precision. Returns how many values were
   * clipped. Refuses NaN and ±∞.
   */
  encode(values: ArrayLike<number>, out: Uint32Array, offset: number, random: RandomSource, multiplier = 1): number {
    const n = values.length;
    if (offset < 0 || offset + n > out.length) throw new SecureError('wrong_length', `Expected room for ${n} words at ${offset} in a vector of ${out.length}`);
    const { range, scale } = this;
    const block = 1 << 14;
    const u = new Uint32Array(Math.min(block, n));
    let clipped = 0;
    for (let base = 0; base < n; base += block) {
      const m = Math.min(block, n - base);
      random.fillWords(m === u.length ? u : u.subarray(0, m));
      for (let i = 0; i < m; i++) {
        let v = values[base + i] * multiplier;
        if (!(v <= range && v >= -range)) {
          if (!Number.isFinite(v)) throw new SecureError('not_finite', `Expected finite values, got ${v} at ${base + i}`);
          v = v > 0 ? range : -range;
          clipped++;
        }
        const x = v * scale;
        const f = Math.floor(x);
        // An int32 store wraps negatives to two's complement mod 2³², as a uint32 word.
        out[offset + base + i] = (u[i] < (x - f) * TWO_POW_32 ? f + 1 : f) | 0;
      }
    }
    return clipped;
  }

  /** The real sum of `length` words at offset, read as a signed 32-bit sum of at most maxSummands encoded values. */
  decode(sum: Uint32Array, offset: number, length: number, out: Float64Array = new Float64Array(length)): Float64Array {
    if (offset < 0 || offset + length > sum.length || out.length < length) {
      throw new SecureError('wrong_length', `Expected ${length} words at ${offset} in a vector of ${sum.length}, into at least ${length} values`);
    }
    const q = this.quantum;
    for (let i = 0; i < length; i++) out[i] = (sum[offset + i] | 0) * q;
    return out;
  }

  /** Bound on |decoded sum − Σ clipped values| per coordinate for n summands: n/s. */
  sumErrorBound(summands: number): number {
    this.checkSummands(summands);
    return summands / this.scale;
  }

  /** Refuses a sum of more summands than the headroom allows. */
  checkSummands(summands: number): void {
    if (!Number.isInteger(summands) || summands < 1 || summands > this.maxSummands) {
      throw new SecureError('bad_config', `Expected 1..${this.maxSummands} summands (the headroom of this fixed point), got ${summands}`);
    }
  }
}
