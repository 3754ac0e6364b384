// The hospital registry's tables: hospitals (one row a name) and every credential
// each was ever given (tokens by SHA-256, certificates by SHA-256 fingerprint).
// A credential is never deleted: a replaced one is kept as 'rotated', a revoked
// hospital's as 'revoked', so that a refusal can say which.
import type Database from 'better-sqlite3';

export type CredentialKind = 'token' | 'certificate';
export type RetiredWhy = 'rotated' | 'revoked';

export interface CredentialRow {
  /** SHA-256 of the token, or of the certificate's DER bytes (its fingerprint), lowercase hex. */
  hash: string;
  kind: CredentialKind;
  name: string;
  createdAt: number;
  retiredAt: number | null;
  retiredWhy: RetiredWhy | null;
}

export interface HospitalRow {
  name: string;
  /** The hash of the hospital's current credential (token or certificate). */
  tokenHash: string;
  createdAt: number;
  revokedAt: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS credentials (
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER,
  retired_why TEXT
);
CREATE INDEX IF NOT EXISTS credentials_name ON credentials(name);
INSERT OR IGNORE INTO credentials (hash, kind, name, created_at, retired_at, retired_why)
  SELECT token_hash, 'token', name, created_at, revoked_at, CASE WHEN revoked_at IS NULL THEN NULL ELSE 'revoked' END FROM hospitals;
`;

const toHospital = (r: any): HospitalRow => ({ name: r.name, tokenHash: r.token_hash, createdAt: r.created_at, revokedAt: r.revoked_at });
const toCredential = (r: any): CredentialRow => ({ hash: r.hash, kind: r.kind, name: r.name, createdAt: r.created_at, retiredAt: r.retired_at, retiredWhy: r.retired_why });

/** Credential rows over the run store's database (the `hospitals` table is created by the store). */
export class CredentialStore {
  constructor(private readonly db: Database.Database) {
    // Stores written before credentials had their own table: their tokens move over once.
    db.exec(SCHEMA);
  }

  hospital(name: string): HospitalRow | null {
    const r = this.db.prepare('SELECT * FROM hospitals WHERE name = ?').get(name) as any;
    return r ? toHospital(r) : null;
  }

  hospitals(): HospitalRow[] {
    return (this.db.prepare('SELECT * FROM hospitals ORDER BY name').all() as any[]).map(toHospital);
  }

  /**
   * Gives `name` a new credential in one transaction: the hospital row is made
   * (or made active again), and every credential it held before is retired as
   * 'rotated' (a revoked one stays 'revoked').
   */
  issue(name: string, kind: CredentialKind, hash: string): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO hospitals (name, token_hash, created_at, revoked_at) VALUES (?, ?, ?, NULL)
           ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at, revoked_at = NULL`,
        )
        .run(name, hash, now);
      this.db.prepare("UPDATE credentials SET retired_at = ?, retired_why = 'rotated' WHERE name = ? AND retired_at IS NULL").run(now, name);
      this.db.prepare('INSERT INTO credentials (hash, kind, name, created_at) VALUES (?, ?, ?, ?)').run(hash, kind, name, now);
    })();
  }

  /** Revokes a hospital and every credential it holds. False when there is no active hospital of that name. */
  revoke(name: string): boolean {
    const now = Date.now();
    return this.db.transaction(() => {
      const changed = this.db.prepare('UPDATE hospitals SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now, name).changes > 0;
      if (changed) this.db.prepare("UPDATE credentials SET retired_at = ?, retired_why = 'revoked' WHERE name = ? AND retired_at IS NULL").run(now, name);
      return changed;
    })();
  }

  credentials(kind?: CredentialKind): CredentialRow[] {
    const rows = (kind ? this.db.prepare('SELECT * FROM credentials WHERE kind = ?').all(kind) : this.db.prepare('SELECT * FROM credentials').all()) as any[];
    return rows.map(toCredential);
  }

  credential(hash: string): CredentialRow | null {
    const r = this.db.prepare('SELECT * FROM credentials WHERE hash = ?').get(hash) as any;
    return r ? toCredential(r) : null;
  }

  /**
   * A number that changes whenever another connection (another process, such as
   * `fedxray coordinator remove-hospital`) commits to the database: SQLite's
   * `PRAGMA data_version`. Cheap enough to read every second.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
