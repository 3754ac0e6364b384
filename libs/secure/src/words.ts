// Word vectors on the wire: little-endian uint32. Typed arrays use the
// machine's byte order, little-endian on x86 and ARM; a big-endian machine is refused.
import { endianness } from 'node:os';
import { SecureError } from './errors';

/** Refuses to run where typed arrays are big-endian (the wire format is little-endian). */
export function checkLittleEndian(order: 'LE' | 'BE' = endianness()): void {
  if (order !== 'LE') throw new SecureError('bad_config', 'Secure aggregation sends little-endian words; this machine is big-endian, which is not supported');
}

/** A Uint32Array over the little-endian words of `bytes` (viewed when aligned, copied otherwise). */
export function wordsOf(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Uint32Array(new Uint8Array(bytes).buffer, 0, Math.floor(bytes.length / 4)); // a copy (Buffer.slice would be a view)
}

/** The bytes of a word vector, without a copy. */
export function bytesOf(words: Uint32Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Whether two byte strings are equal (keys, commitments: public values, so no constant-time need). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
