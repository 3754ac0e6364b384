// Where randomness comes from: node:crypto in production, a seeded AES-CTR
// stream in tests and reproducible simulations. Both are cryptographically strong;
// the seeded one is predictable to whoever knows the seed.
import { createHash, randomFillSync } from 'node:crypto';
import { Keystream } from './keystream';

/** A source of uniformly random bytes. */
export interface RandomSource {
  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void;
  /** Fills `out` with random 32-bit words. */
  fillWords(out: Uint32Array): void;
}

/** node:crypto's CSPRNG: what production uses. */
export function cryptoRandom(): RandomSource {
  return {
    fill: (out) => void randomFillSync(out),
    fillWords: (out) => void randomFillSync(out),
  };
}

/** A reproducible source: the AES-256-CTR stream keyed by SHA-256 of the seed. */
export function seededRandom(seed: string | number): RandomSource {
  const key = createHash('sha256').update(`fedxray seeded random\0${typeof seed}\0${seed}`).digest();
  const stream = new Keystream(key);
  return {
    fill: (out) => out.set(stream.bytes(out.length)),
    fillWords: (out) => stream.fillWords(out),
  };
}

/** `n` random bytes from `source`. */
export function randomBytes(source: RandomSource, n: number): Uint8Array {
  const out = new Uint8Array(n);
  source.fill(out);
  return out;
}

const TWO_POW_53 = 2 ** 53;

/** A uniform double in (0, 1) from two words (53 random bits), never exactly 0. */
function uniformOpen(hi: number, lo: number): number {
  return ((hi >>> 5) * 67108864 + (lo >>> 6) + 0.5) / TWO_POW_53;
}

/**
 * out[i] += N(0, sigma²) for every i (Box–Muller on 53-bit uniforms). With
 * sigma = 0 nothing is drawn and nothing changes.
 */
export function addGaussian(out: Float32Array | Float64Array, sigma: number, source: RandomSource): void {
  if (sigma === 0) return;
  const block = 1 << 14;
  const w = new Uint32Array(block * 2);
  for (let base = 0; base < out.length; base += block) {
    const n = Math.min(block, out.length - base);
    source.fillWords(w.subarray(0, ((n + 1) >>> 1) * 4));
    for (let i = 0; i < n; i += 2) {
      const j = i * 2;
      const r = sigma * Math.sqrt(-2 * Math.log(uniformOpen(w[j], w[j + 1])));
      const theta = 2 * Math.PI * uniformOpen(w[j + 2], w[j + 3]);
      out[base + i] += r * Math.cos(theta);
      if (i + 1 < n) out[base + i + 1] += r * Math.sin(theta);
    }
  }
}

/** One draw of N(0, sigma²). */
export function gaussian(sigma: number, source: RandomSource): number {
  const one = new Float64Array(1);
  addGaussian(one, sigma, source);
  return one[0];
}
