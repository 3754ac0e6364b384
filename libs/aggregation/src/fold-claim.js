// Shared by the main thread (fold-helper.ts) and the helper (fold-worker.js):
// plain JavaScript so that the worker starts without a TypeScript loader.

/**
 * Claims an item of the range in `control[word]` (next in the low 16 bits, end
 * in the high 16 bits): its first (`front`) or its last; -1 if the range is empty.
 * @param {Int32Array} control
 * @param {number} word
 * @param {boolean} front
 * @returns {number}
 */
export function claim(control, word, front) {
  for (;;) {
    const w = Atomics.load(control, word);
    const next = w & 0xffff;
    const end = w >>> 16;
    if (next >= end) return -1;
    const taken = front ? next : end - 1;
    const left = front ? (next + 1) | (end << 16) : next | ((end - 1) << 16);
    if (Atomics.compareExchange(control, word, w, left) === w) return taken;
  }
}
