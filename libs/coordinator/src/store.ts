import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialStore } from './credential-store';

export type RunStatus = 'running' | 'complete' | 'failed' | 'stopped';
export type RoundStatus = 'fitting' | 'aggregated' | 'complete' | 'failed';

export interface RunRow {
  id: string;
  createdAt: number;
  updatedAt: number;
  status: RunStatus;
  config: Record<string, unknown>;
  completedRounds: number;
  checkpoint: string | null;
  summary: Record<string, unknown> | null;
  error: string | null;
}

export interface RoundRow {
  runId: string;
  round: number;
  attempt: number;
  status: RoundStatus;
  startedAt: number;
  finishedAt: number | null;
  fit: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
}

export interface SiteMetricRow {
  runId: string;
  round: number;
  hospital: string;
  phase: string;
  examples: number;
  metrics: Record<string, unknown>;
}

/** A hospital's job that failed, as the store keeps it. */
export interface JobFailureRow {
  runId: string;
  round: number;
  attempt: number;
  hospital: string;
  phase: 'fit' | 'calibrate' | 'evaluate';
  error: string;
  ts: number;
}

export interface EventRow {
  id: number;
  runId: string | null;
  ts: number;
  level: 'info' | 'warn' | 'error';
  type: string;
  data: Record<string, unknown>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hospitals (
  name TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  config TEXT NOT NULL,
  completed_rounds INTEGER NOT NULL DEFAULT 0,
  checkpoint TEXT,
  summary TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS rounds (
  run_id TEXT NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  fit TEXT,
  metrics TEXT,
  PRIMARY KEY (run_id, round)
);
CREATE TABLE IF NOT EXISTS site_metrics (
  run_id TEXT NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  hospital TEXT NOT NULL,
  phase TEXT NOT NULL,
  examples INTEGER NOT NULL,
  metrics TEXT NOT NULL,
  PRIMARY KEY (run_id, round, hospital, phase)
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT,
  ts INTEGER NOT NULL,
  level TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, id);
CREATE TABLE IF NOT EXISTS job_failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  hospital TEXT NOT NULL,
  phase TEXT NOT NULL,
  error TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_failures_run ON job_failures(run_id, round, id);
`;

/** The run store's file in the data directory. */
export const DB_FILE = 'fedxray.db';

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/**
 * The run store: runs, rounds, per-hospital metrics, events and the hospital
 * registry in one SQLite file (WAL mode, synchronous FULL, so a committed
 * round survives a crash of the process or the machine).
 */
export class RunStore {
  readonly db: Database.Database;
  /** Hospitals and their credentials (the registry's tables). */
  readonly credentials: CredentialStore;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, DB_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.credentials = new CredentialStore(this.db);
  }

  close(): void {
    this.db.close();
  }

  // ---- runs ------------------------------------------------------------
  createRun(id: string, config: Record<string, unknown>): RunRow {
    const now = Date.now();
    this.db
      .prepare('INSERT INTO runs (id, created_at, updated_at, status, config, completed_rounds) VALUES (?, ?, ?, ?, ?, 0)')
      .run(id, now, now, 'running', JSON.stringify(config));
    return this.run(id)!;
  }

  run(id: string): RunRow | null {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as any;
    return r ? this.toRun(r) : null;
  }

  runs(): RunRow[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY created_at DESC').all() as any[]).map((r) => this.toRun(r));
  }

  /** The most recent run that did not finish, if any: what a restarted coordinator resumes. */
  unfinishedRun(): RunRow | null {
    const r = this.db.prepare("SELECT * FROM runs WHERE status IN ('running', 'stopped') ORDER BY created_at DESC LIMIT 1").get() as any;
    return r ? this.toRun(r) : null;
  }

  setRunStatus(id: string, status: RunStatus, extra: { summary?: unknown; error?: string } = {}): void {
    this.db
      .prepare('UPDATE runs SET status = ?, updated_at = ?, summary = COALESCE(?, summary), error = ? WHERE id = ?')
      .run(status, Date.now(), json(extra.summary), extra.error ?? null, id);
  }

  private toRun(r: any): RunRow {
    return {
      id: r.id,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      status: r.status,
      config: JSON.parse(r.config),
      completedRounds: r.completed_rounds,
      checkpoint: r.checkpoint,
      summary: parse(r.summary),
      error: r.error,
    };
  }

  // ---- rounds ----------------------------------------------------------
  startRound(runId: string, round: number): number {
    const prev = this.db.prepare('SELECT attempt FROM rounds WHERE run_id = ? AND round = ?').get(runId, round) as any;
    const attempt = prev ? prev.attempt + 1 : 1;
    this.db
      .prepare(
        `INSERT INTO rounds (run_id, round, attempt, status, started_at) VALUES (?, ?, ?, 'fitting', ?)
         ON CONFLICT(run_id, round) DO UPDATE SET attempt = excluded.attempt, status = 'fitting', started_at = excluded.started_at, finished_at = NULL, fit = NULL, metrics = NULL`,
      )
      .run(runId, round, attempt, Date.now());
    return attempt;
  }

  failRound(runId: string, round: number, fit: Record<string, unknown>): void {
    this.db
      .prepare("UPDATE rounds SET status = 'failed', finished_at = ?, fit = ? WHERE run_id = ? AND round = ?")
      .run(Date.now(), json(fit), runId, round);
  }

  /**
   * Commits an aggregated round: the checkpoint is already on disk (renamed
   * into place), so the round and the run's pointer move in one transaction.
   */
  commitRound(runId: string, round: number, checkpoint: string, fit: Record<string, unknown>): void {
    const tx = this.db.transaction(() => {
      this.db
        .prepare("UPDATE rounds SET status = 'aggregated', finished_at = ?, fit = ? WHERE run_id = ? AND round = ?")
        .run(Date.now(), json(fit), runId, round);
      const changes = this.db
        .prepare('UPDATE runs SET completed_rounds = ?, checkpoint = ?, updated_at = ? WHERE id = ? AND completed_rounds = ?')
        .run(round, checkpoint, Date.now(), runId, round - 1).changes;
      if (changes !== 1) throw new Error(`Round ${round} of run ${runId} does not follow the last completed round`);
    });
    tx();
  }

  /**
   * Moves a run back to round `round` (its checkpoint `checkpoint`, null for
   * the initial model) when later checkpoints turn out damaged: the later
   * rounds are marked failed, so they are run again (as their next attempt)
   * and nothing of theirs counts twice.
   */
  rewindRun(runId: string, round: number, checkpoint: string | null): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE runs SET completed_rounds = ?, checkpoint = ?, updated_at = ? WHERE id = ?').run(round, checkpoint, Date.now(), runId);
      this.db.prepare("UPDATE rounds SET status = 'failed' WHERE run_id = ? AND round > ?").run(runId, round);
    })();
  }

  completeRound(runId: string, round: number, metrics: Record<string, unknown>): void {
    this.db
      .prepare("UPDATE rounds SET status = 'complete', metrics = ?, finished_at = ? WHERE run_id = ? AND round = ?")
      .run(json(metrics), Date.now(), runId, round);
  }

  rounds(runId: string): RoundRow[] {
    return (this.db.prepare('SELECT * FROM rounds WHERE run_id = ? ORDER BY round').all(runId) as any[]).map((r) => ({
      runId: r.run_id,
      round: r.round,
      attempt: r.attempt,
      status: r.status,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      fit: parse(r.fit),
      metrics: parse(r.metrics),
    }));
  }

  // ---- per-hospital metrics -------------------------------------------
  recordSiteMetrics(row: SiteMetricRow): void {
    this.db
      .prepare(
        `INSERT INTO site_metrics (run_id, round, hospital, phase, examples, metrics) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(run_id, round, hospital, phase) DO UPDATE SET examples = excluded.examples, metrics = excluded.metrics`,
      )
      .run(row.runId, row.round, row.hospital, row.phase, row.examples, JSON.stringify(row.metrics));
  }

  siteMetrics(runId: string, round?: number): SiteMetricRow[] {
    const rows = (
      round === undefined
        ? this.db.prepare('SELECT * FROM site_metrics WHERE run_id = ? ORDER BY round, hospital, phase').all(runId)
        : this.db.prepare('SELECT * FROM site_metrics WHERE run_id = ? AND round = ? ORDER BY hospital, phase').all(runId, round)
    ) as any[];
    return rows.map((r) => ({
      runId: r.run_id,
      round: r.round,
      hospital: r.hospital,
      phase: r.phase,
      examples: r.examples,
      metrics: JSON.parse(r.metrics),
    }));
  }

  // ---- failed jobs -----------------------------------------------------
  recordJobFailure(row: Omit<JobFailureRow, 'ts'>): void {
    this.db
      .prepare('INSERT INTO job_failures (run_id, round, attempt, hospital, phase, error, ts) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(row.runId, row.round, row.attempt, row.hospital, row.phase, row.error, Date.now());
  }

  /** A run's failed jobs in the order they failed; of one round (and attempt) when given. */
  failedJobs(runId: string, round?: number, attempt?: number): JobFailureRow[] {
    const rows = this.db
      .prepare('SELECT * FROM job_failures WHERE run_id = ? AND (? IS NULL OR round = ?) AND (? IS NULL OR attempt = ?) ORDER BY id')
      .all(runId, round ?? null, round ?? null, attempt ?? null, attempt ?? null) as any[];
    return rows.map((r) => ({ runId: r.run_id, round: r.round, attempt: r.attempt, hospital: r.hospital, phase: r.phase, error: r.error, ts: r.ts }));
  }

  /** Forgets a run (a start that failed before its first round): its rounds, metrics, failed jobs, events and row. */
  deleteRun(id: string): void {
    this.db.transaction(() => {
      for (const table of ['rounds', 'site_metrics', 'job_failures', 'events']) this.db.prepare(`DELETE FROM ${table} WHERE run_id = ?`).run(id);
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
    })();
  }

  // ---- events ----------------------------------------------------------
  addEvent(runId: string | null, level: EventRow['level'], type: string, data: Record<string, unknown> = {}): EventRow {
    const ts = Date.now();
    const info = this.db.prepare('INSERT INTO events (run_id, ts, level, type, data) VALUES (?, ?, ?, ?, ?)').run(runId, ts, level, type, JSON.stringify(data));
    return { id: Number(info.lastInsertRowid), runId, ts, level, type, data };
  }

  events(runId: string, afterId = 0, limit = 500): EventRow[] {
    return (this.db.prepare('SELECT * FROM events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?').all(runId, afterId, limit) as any[]).map((r) => ({
      id: r.id,
      runId: r.run_id,
      ts: r.ts,
      level: r.level,
      type: r.type,
      data: JSON.parse(r.data),
    }));
  }
}
