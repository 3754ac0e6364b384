import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RunStore } from './store';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh hospital token: 256 random bits, URL-safe. Shown once, stored only as a hash. */
export function newToken(): string {
  return `fx_${randomBytes(32).toString('base64url')}`;
}

export function checkHospitalName(name: string): void {
  if (!NAME.test(name)) {
    throw new Error(`Expected a hospital name of letters, digits, '.', '_' or '-' (1–64, starting with a letter or digit), but got ${JSON.stringify(name)}`);
  }
}

/**
 * Hospital identities. Tokens are stored as SHA-256 hashes (they are random,
 * so no slow KDF is needed) and compared in constant time.
 */
export class HospitalRegistry {
  private readonly statics: { name: string; hash: Buffer }[];

  constructor(
    private readonly store: RunStore,
    staticTokens: Record<string, string> = {},
  ) {
    this.statics = Object.entries(staticTokens).map(([name, token]) => ({ name, hash: Buffer.from(hashToken(token), 'hex') }));
  }

  add(name: string): string {
    checkHospitalName(name);
    const token = newToken();
    this.store.addHospital(name, hashToken(token));
    return token;
  }

  remove(name: string): boolean {
    return this.store.revokeHospital(name);
  }

  /** The hospital a token belongs to, or why it is refused. Every stored hash is compared. */
  verify(token: string): { ok: true; name: string } | { ok: false; reason: 'unauthorized' | 'revoked' } {
    const presented = Buffer.from(hashToken(token), 'hex');
    let match: { name: string; revoked: boolean } | null = null;
    for (const s of this.statics) {
      if (timingSafeEqual(s.hash, presented) && !match) match = { name: s.name, revoked: false };
    }
    for (const h of this.store.hospitals()) {
      if (timingSafeEqual(Buffer.from(h.tokenHash, 'hex'), presented) && !match) match = { name: h.name, revoked: h.revokedAt !== null };
    }
    if (!match) return { ok: false, reason: 'unauthorized' };
    if (match.revoked) return { ok: false, reason: 'revoked' };
    return { ok: true, name: match.name };
  }

  list(): { name: string; createdAt: number; revokedAt: number | null }[] {
    return this.store.hospitals().map(({ name, createdAt, revokedAt }) => ({ name, createdAt, revokedAt }));
  }
}
