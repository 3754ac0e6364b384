// AES-256-CTR as a pseudorandom generator: the mask generator of secure
// aggregation and the seeded path of every random draw in this lib.
import { createCipheriv, type Cipher } from 'node:crypto';
import { KEY_BYTES } from './primitives';
import { SecureError } from './errors';
import { wordsOf } from './words';

/** Bytes of keystream made per call into OpenSSL: large enough to amortise the call, small enough to stay in cache. */
const CHUNK_BYTES = 256 * 1024;
const ZEROS = new Uint8Array(CHUNK_BYTES);
const ZERO_IV = new Uint8Array(16);

/**
 * The AES-256-CTR keystream of a 32-byte key (counter starting at zero). Each
 * key is used for one stream only, so the fixed IV is safe: keys come out of
 * HKDF with a context unique to the stream. Words are little-endian.
 */
export class Keystream {
  private readonly cipher: Cipher;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new SecureError('wrong_length', `Expected a ${KEY_BYTES}-byte keystream key, got ${key.length}`);
    this.cipher = createCipheriv('aes-256-ctr', key, ZERO_IV);
  }

  /** The next `n` bytes of the stream. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += CHUNK_BYTES) {
      const len = Math.min(CHUNK_BYTES, n - off);
      out.set(this.cipher.update(len === CHUNK_BYTES ? ZEROS : ZEROS.subarray(0, len)), off);
    }
    return out;
  }

  /** The next chunk of `words` words (at most a chunk), viewed as words. */
  nextWords(words: number): Uint32Array {
    return wordsOf(this.cipher.update(words === CHUNK_BYTES >>> 2 ? ZEROS : ZEROS.subarray(0, words * 4)));
  }

  /** Fills `out` with the next out.length words. */
  fillWords(out: Uint32Array): void {
    const perChunk = CHUNK_BYTES >>> 2;
    for (let base = 0; base < out.length; base += perChunk) {
      const n = Math.min(perChunk, out.length - base);
      out.set(wordsOf(this.cipher.update(n === perChunk ? ZEROS : ZEROS.subarray(0, n * 4))), base);
    }
  }
}

/** A mask: the keystream of `key`, added (+1) or subtracted (−1). */
export interface Mask {
  key: Uint8Array;
  sign: 1 | -1;
}

/**
 * acc ← acc + Σ sign·keystream(key) mod 2³², all masks in one pass over acc:
 * each cache-sized chunk of acc takes every mask before the next chunk is
 * touched, so acc crosses memory once however many masks there are.
 */
export function applyMasks(acc: Uint32Array, masks: readonly Mask[]): void {
  const streams = masks.map((m) => ({ stream: new Keystream(m.key), sign: m.sign }));
  const perChunk = CHUNK_BYTES >>> 2;
  for (let base = 0; base < acc.length; base += perChunk) {
    const n = Math.min(perChunk, acc.length - base);
    const chunk = acc.subarray(base, base + n);
    for (const { stream, sign } of streams) {
      const w = stream.nextWords(n);
      if (sign === 1) {
        for (let i = 0; i < n; i++) chunk[i] += w[i];
      } else {
        for (let i = 0; i < n; i++) chunk[i] -= w[i];
      }
    }
  }
}
