// Word vectors on the wire: little-endian uint32, as every platform Node runs on stores them.

/** A Uint32Array over the little-endian words of `bytes` (viewed when aligned, copied otherwise). */
export function wordsOf(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Uint32Array(Uint8Array.from(bytes).buffer, 0, Math.floor(bytes.length / 4));
}

/** The bytes of a word vector, without a copy. */
export function bytesOf(words: Uint32Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}
