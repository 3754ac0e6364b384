// Arithmetic modulo a prime, on bigints: the field Shamir's scheme works in.
import { SecureError } from './errors';
import type { RandomSource } from './random';

/**
 * The smallest prime above 2²⁵⁶ (2²⁵⁶ + 297; `openssl prime` confirms it, and
 * field.test.ts checks it with Miller–Rabin), so every 32-byte secret is one
 * field element.
 */
export const P256_PLUS = (1n << 256n) + 297n;

/** GF(p) for a prime p: elements are bigints in [0, p). */
export class PrimeField {
  /** Bytes that hold any element, big-endian. */
  readonly byteLength: number;
  private readonly topMask: number;

  constructor(readonly p: bigint) {
    if (p < 3n) throw new SecureError('bad_config', `Expected a prime field modulus of at least 3, got ${p}`);
    const bits = p.toString(2).length;
    this.byteLength = Math.ceil(bits / 8);
    this.topMask = (1 << (bits - (this.byteLength - 1) * 8)) - 1;
  }

  mod(a: bigint): bigint {
    const r = a % this.p;
    return r < 0n ? r + this.p : r;
  }

  add(a: bigint, b: bigint): bigint {
    const s = a + b;
    return s >= this.p ? s - this.p : s;
  }

  sub(a: bigint, b: bigint): bigint {
    const d = a - b;
    return d < 0n ? d + this.p : d;
  }

  mul(a: bigint, b: bigint): bigint {
    return (a * b) % this.p;
  }

  /** The multiplicative inverse (extended Euclid); 0 has none. */
  inv(a: bigint): bigint {
    let [r0, r1] = [this.mod(a), this.p];
    if (r0 === 0n) throw new SecureError('bad_config', 'Zero has no inverse in a field');
    let [s0, s1] = [1n, 0n];
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1] = [r1, r0 - q * r1];
      [s0, s1] = [s1, s0 - q * s1];
    }
    return this.mod(s0);
  }

  /** A uniformly random element (rejection sampling, no modulo bias). */
  random(source: RandomSource): bigint {
    const buf = new Uint8Array(this.byteLength);
    for (;;) {
      source.fill(buf);
      buf[0] &= this.topMask;
      const v = this.fromBytes(buf);
      if (v < this.p) return v;
    }
  }

  /** Big-endian bytes to a bigint (not reduced: callers check the range). */
  fromBytes(bytes: Uint8Array): bigint {
    let v = 0n;
    for (const b of bytes) v = (v << 8n) | BigInt(b);
    return v;
  }

  /** An element as exactly `length` big-endian bytes (default: byteLength). */
  toBytes(v: bigint, length = this.byteLength): Uint8Array {
    const out = new Uint8Array(length);
    let x = v;
    for (let i = length - 1; i >= 0; i--) {
      out[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    if (x !== 0n) throw new SecureError('wrong_length', `Value does not fit in ${length} bytes`);
    return out;
  }
}
