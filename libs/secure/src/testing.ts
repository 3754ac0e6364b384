// Helpers for this lib's tests.
import assert from 'node:assert/strict';
import { SecureError } from './errors';
import { seededRandom } from './random';

/** Asserts that `fn` throws a SecureError with this code (and a message matching `pattern`). */
export function refused(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SecureError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** Deterministic uniform numbers in [0, 1), from the lib's own seeded stream, for test data and choices. */
export function rng(seed: number): () => number {
  const source = seededRandom(`test data ${seed}`);
  const words = new Uint32Array(4096);
  let next = words.length;
  return () => {
    if (next === words.length) {
      source.fillWords(words);
      next = 0;
    }
    return words[next++] / 2 ** 32;
  };
}

/** `k` distinct items of `items`, chosen with `next`. */
export function sample<T>(items: readonly T[], k: number, next: () => number): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}
