/**
 * mulberry32's raw stream: 32-bit unsigned integers, same seed, same sequence.
 * Small, fast and good enough for splits, sampling, initial weights and test data.
 */
export function mulberry32Bits(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * mulberry32: a seeded uniform generator in [0, 1), the one every fedxray
 * library uses where a run must repeat itself: same seed, same sequence.
 */
export function mulberry32(seed: number): () => number {
  const bits = mulberry32Bits(seed);
  return () => bits() / 4294967296;
}

/**
 * Runs `fn` with Math.random replaced by mulberry32, so what a library draws
 * without a seed (tfjs' dropout masks) repeats run to run. The seed is first
 * spread by Knuth's multiplicative hash, so neighbouring seeds give unrelated
 * streams. Math.random is restored when `fn` settles, also when it throws.
 * Math.random is per thread: run concurrent seeded work in separate worker threads.
 */
export async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = mulberry32((seed * 2654435761) >>> 0);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
