import { EventEmitter } from 'node:events';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialKind, CredentialRow } from './credential-store';
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

/** Why a credential is refused: never seen, its hospital revoked, or replaced by a newer one. */
export type Refusal = 'unauthorized' | 'revoked' | 'rotated';

/** Who a credential belongs to (`credential` identifies it, for isActive), or why it is refused. */
export type Identity = { ok: true; name: string; credential: string } | { ok: false; reason: Refusal };

/** A registration the registry refuses (a name already taken without rotate, nothing to rotate, a bad name). */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface IssueOptions {
  /** Replace the credential of a hospital already registered (or revoked); the old one is then refused as 'rotated'. @default false */
  rotate?: boolean;
}

const STATIC = 'static:';

function refusalOf(row: CredentialRow): Identity {
  if (row.retiredWhy === 'rotated') return { ok: false, reason: 'rotated' };
  if (row.retiredWhy === 'revoked' || row.retiredAt !== null) return { ok: false, reason: 'revoked' };
  return { ok: true, name: row.name, credential: row.hash };
}

/**
 * Hospital identities: a token or a client certificate each. Tokens are stored
 * as SHA-256 hashes (they are random, so no slow KDF is needed) and compared in
 * constant time; certificates by their SHA-256 fingerprint. Every credential
 * ever issued is kept, so a replaced one is refused as 'rotated' and a revoked
 * hospital's as 'revoked'. `changes` fires on every change made through this
 * registry (another process's changes are found with the store's dataVersion).
 */
export class HospitalRegistry {
  readonly changes = new EventEmitter<{ change: [] }>();
  private readonly statics: { name: string; hash: Buffer }[];

  constructor(
    private readonly store: RunStore,
    staticTokens: Record<string, string> = {},
  ) {
    this.statics = Object.entries(staticTokens).map(([name, token]) => ({ name, hash: Buffer.from(hashToken(token), 'hex') }));
  }

  /** Registers `name` (or, with rotate, gives it a new token) and returns the token, which is not stored. */
  add(name: string, options: IssueOptions = {}): string {
    const token = newToken();
    this.issue(name, 'token', hashToken(token), options);
    return token;
  }

  /** Registers `name` (or, with rotate, re-registers it) with a client certificate, by its SHA-256 fingerprint (hex, colons allowed). */
  addCertificate(name: string, fingerprint: string, options: IssueOptions = {}): void {
    this.issue(name, 'certificate', normalFingerprint(fingerprint), options);
  }

  /** Throws RegistryError unless `name` may be given a new credential. */
  checkIssue(name: string, kind: CredentialKind, options: IssueOptions = {}): void {
    checkHospitalName(name);
    const existing = this.store.credentials.hospital(name);
    if (existing && !options.rotate) {
      const state = existing.revokedAt === null ? `registered since ${new Date(existing.createdAt).toISOString()}` : `revoked (${new Date(existing.revokedAt).toISOString()})`;
      throw new RegistryError(`Hospital ${name} is already ${state}; give --rotate to issue it a new ${kind} (its old credential is then refused as rotated)`);
    }
    if (!existing && options.rotate) throw new RegistryError(`No hospital named ${name} to rotate; leave out --rotate to register it`);
  }

  private issue(name: string, kind: CredentialKind, hash: string, options: IssueOptions): void {
    this.checkIssue(name, kind, options);
    this.store.credentials.issue(name, kind, hash);
    this.changes.emit('change');
  }

  /** Revokes a hospital and all its credentials; false when no active hospital has that name. */
  remove(name: string): boolean {
    const removed = this.store.credentials.revoke(name);
    if (removed) this.changes.emit('change');
    return removed;
  }

  /** The hospital a token belongs to, or why it is refused. Every stored token hash is compared. */
  verify(token: string): Identity {
    const presented = Buffer.from(hashToken(token), 'hex');
    let match: Identity | null = null;
    for (const s of this.statics) {
      if (timingSafeEqual(s.hash, presented) && !match) match = { ok: true, name: s.name, credential: `${STATIC}${s.name}` };
    }
    for (const row of this.store.credentials.credentials('token')) {
      if (timingSafeEqual(Buffer.from(row.hash, 'hex'), presented) && !match) match = refusalOf(row);
    }
    return match ?? { ok: false, reason: 'unauthorized' };
  }

  /** The hospital a client certificate (by SHA-256 fingerprint) was issued to, or why it is refused. */
  verifyCertificate(fingerprint: string): Identity {
    const row = this.store.credentials.credential(normalFingerprint(fingerprint));
    return row && row.kind === 'certificate' ? refusalOf(row) : { ok: false, reason: 'unauthorized' };
  }

  /** What became of a credential that was accepted (Identity.credential): still active, rotated or revoked. */
  credentialState(credential: string): 'active' | 'rotated' | 'revoked' {
    if (credential.startsWith(STATIC)) return 'active';
    const row = this.store.credentials.credential(credential);
    if (!row) return 'revoked';
    const who = refusalOf(row);
    return who.ok ? 'active' : who.reason === 'rotated' ? 'rotated' : 'revoked';
  }

  /** Changes whenever another process commits to the store (see CredentialStore.dataVersion). */
  storeVersion(): number {
    return this.store.credentials.dataVersion();
  }

  list(): { name: string; createdAt: number; revokedAt: number | null; credential: CredentialKind | null }[] {
    const current = new Map(this.store.credentials.credentials().filter((c) => c.retiredAt === null).map((c) => [c.name, c.kind]));
    return this.store.credentials.hospitals().map(({ name, createdAt, revokedAt }) => ({ name, createdAt, revokedAt, credential: current.get(name) ?? null }));
  }
}

/** A SHA-256 fingerprint as stored: lowercase hex without colons. */
export function normalFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(':', '').toLowerCase();
}
