import { createHash } from 'node:crypto';
import { mulberry32 } from '@fedxray/runtime';

/** A seeded uniform generator in [0, 1) (mulberry32): same seed, same sequence. */
export type Rng = () => number;

export { mulberry32 };

/** Mixes several integers into one 32-bit seed (splitmix-style), so (seed, epoch, index) streams stay independent. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h ^= Math.imul((p | 0) ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + 0x9e3779b9) | 0;
  }
  return h >>> 0;
}

/** A uniform number in [0, 1) fixed by a string key (and a seed): the same key always maps to the same point. */
export function hashUniform(key: string, seed = 0): number {
  const d = createHash('sha256').update(`${seed}:${key}`).digest();
  // 48 bits are plenty and stay exact in a double.
  return (d.readUInt32BE(0) * 65536 + d.readUInt16BE(4)) / 2 ** 48;
}

/** Fisher–Yates in place with the given generator. */
export function shuffleInPlace<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** A standard normal draw (Box–Muller). */
export function normal(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(shape, 1) by Marsaglia–Tsang (with the boost for shape < 1). */
export function gamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng();
    return gamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A draw from the symmetric Dirichlet(alpha) over k categories. */
export function dirichlet(alpha: number, k: number, rng: Rng): number[] {
  const g = Array.from({ length: k }, () => gamma(alpha, rng));
  let s = g.reduce((a, b) => a + b, 0);
  if (s === 0) {
    // All draws underflowed (tiny alpha): put all mass on one category, which is the limit.
    g[Math.floor(rng() * k)] = 1;
    s = 1;
  }
  return g.map((x) => x / s);
}
