// Shamir's t-out-of-n secret sharing over a prime field.
import { SecureError } from './errors';
import { P256_PLUS, PrimeField } from './field';
import type { RandomSource } from './random';

/** One share: the polynomial's value y at the holder's point x (x ≠ 0). */
export interface Share {
  x: number;
  y: bigint;
}

/** The field every 32-byte secret of the protocol is shared in. */
export const SECRET_FIELD = new PrimeField(P256_PLUS);
/** Bytes of one share's y on the wire. */
export const SHARE_BYTES = SECRET_FIELD.byteLength;

function checkPoints(xs: readonly number[], field: PrimeField): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isSafeInteger(x) || x <= 0 || BigInt(x) >= field.p) {
      throw new SecureError('bad_config', `Expected share points in 1..${field.p - 1n}, got ${x}`);
    }
    if (seen.has(x)) throw new SecureError('bad_config', `Share point ${x} appears twice`);
    seen.add(x);
  }
}

/**
 * Shares of f(x) = secret + c₁x + … + c_{t−1}x^{t−1} at the points xs, for given
 * coefficients (t − 1 of them). `splitSecret` draws them at random; this form
 * exists for published test vectors.
 */
export function shareWithCoefficients(secret: bigint, coefficients: readonly bigint[], xs: readonly number[], field: PrimeField): Share[] {
  if (secret < 0n || secret >= field.p) throw new SecureError('bad_config', `Expected a secret in [0, ${field.p}), got ${secret}`);
  checkPoints(xs, field);
  return xs.map((x) => {
    const bx = BigInt(x);
    let y = 0n;
    for (let k = coefficients.length - 1; k >= 0; k--) y = field.add(field.mul(y, bx), field.mod(coefficients[k]));
    return { x, y: field.add(field.mul(y, bx), secret) };
  });
}

/** Splits `secret` into shares at `xs`, any `threshold` of which reconstruct it and fewer reveal nothing. */
export function splitSecret(secret: bigint, threshold: number, xs: readonly number[], field: PrimeField, random: RandomSource): Share[] {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new SecureError('bad_config', `Expected a threshold in 1..${xs.length} (the number of shares), got ${threshold}`);
  }
  const coefficients = Array.from({ length: threshold - 1 }, () => field.random(random));
  return shareWithCoefficients(secret, coefficients, xs, field);
}

/** f(0) from `threshold` shares by Lagrange interpolation (the first `threshold` are used). */
export function reconstructSecret(shares: readonly Share[], threshold: number, field: PrimeField): bigint {
  if (shares.length < threshold) {
    throw new SecureError('too_few_survivors', `Expected at least ${threshold} shares to reconstruct a secret, got ${shares.length}`);
  }
  const used = shares.slice(0, threshold);
  checkPoints(
    used.map((s) => s.x),
    field,
  );
  let secret = 0n;
  for (let i = 0; i < used.length; i++) {
    let num = 1n;
    let den = 1n;
    const xi = BigInt(used[i].x);
    for (let j = 0; j < used.length; j++) {
      if (j === i) continue;
      const xj = BigInt(used[j].x);
      num = field.mul(num, xj);
      den = field.mul(den, field.sub(xj, xi));
    }
    secret = field.add(secret, field.mul(field.mod(used[i].y), field.mul(num, field.inv(den))));
  }
  return secret;
}

/** Shares of a 32-byte secret in the protocol's field. */
export function splitBytes(secret: Uint8Array, threshold: number, xs: readonly number[], random: RandomSource): Share[] {
  if (secret.length !== 32) throw new SecureError('wrong_length', `Expected a 32-byte secret, got ${secret.length} bytes`);
  return splitSecret(SECRET_FIELD.fromBytes(secret), threshold, xs, SECRET_FIELD, random);
}

/** The 32-byte secret behind `threshold` shares; refuses a result that does not fit 32 bytes (inconsistent shares). */
export function reconstructBytes(shares: readonly Share[], threshold: number): Uint8Array {
  const v = reconstructSecret(shares, threshold, SECRET_FIELD);
  if (v >= 1n << 256n) throw new SecureError('bad_share', 'Shares reconstruct to a value wider than 32 bytes: at least one share is wrong');
  return SECRET_FIELD.toBytes(v, 32);
}

/** A share's y as SHARE_BYTES big-endian bytes, and back (refusing values ≥ p). */
export function encodeShare(y: bigint): Uint8Array {
  return SECRET_FIELD.toBytes(y);
}

export function decodeShare(bytes: Uint8Array): bigint {
  if (bytes.length !== SHARE_BYTES) throw new SecureError('wrong_length', `Expected a share of ${SHARE_BYTES} bytes, got ${bytes.length}`);
  const y = SECRET_FIELD.fromBytes(bytes);
  if (y >= SECRET_FIELD.p) throw new SecureError('bad_share', 'A share value lies outside the field');
  return y;
}
