import type { Caller } from './caller';
import type { AggregationRecord } from './events';
import type { HospitalRegistry } from './registry';
import type { RunState } from './state';
import type { RunStore } from './store';

/** The coordinator's running totals since it started. */
export interface CoordinatorCounts {
  updatesAccepted: number;
  /** Updates (fit answers) refused by a check. */
  updatesRefused: number;
  /** Every refused answer, by phase and reason (the wire code), with a zero for each known reason. */
  refused: { phase: 'fit' | 'calibrate' | 'evaluate'; reason: string; count: number }[];
  bytesReceived: number;
  bytesSent: number;
  connected: number;
}

/** The totals the round's phases add to themselves (refusals are counted where they are recorded). */
export type PhaseCounters = Omit<CoordinatorCounts, 'connected' | 'updatesRefused' | 'refused'>;

/**
 * What the HTTP API and /metrics may see of a coordinator: read-only queries,
 * nothing that changes a run. The Coordinator is one; tests may pass another.
 */
export interface CoordinatorView {
  readonly runId: string;
  readonly store: Pick<RunStore, 'runs' | 'run' | 'rounds' | 'siteMetrics' | 'events' | 'failedJobs'>;
  readonly registry: Pick<HospitalRegistry, 'list'>;
  readonly config: { readonly dashboardDir?: string; readonly trustProxy?: readonly string[] };
  state(): RunState;
  counts(): CoordinatorCounts;
  lastAggregation(): AggregationRecord | null;
  /** The directory of the latest global model (final or last checkpoint), or null before the first. */
  modelDir(): string | null;
  /** Local callers (loopback, no proxy, loopback Host, no foreign Origin) are trusted; anyone else needs the dashboard token. */
  mayRead(caller: Caller, token: unknown): boolean;
  /** Failed dashboard tokens, throttled per address as hospitals' are (absent: no throttle). */
  readonly readers?: ReaderThrottle;
}

/** What the HTTP API needs of the throttle of failed authentications (the hub's door). */
export interface ReaderThrottle {
  /** Milliseconds the address must wait (0: it may ask). */
  waitOf(address: string): number;
  readerRefused(address: string): void;
  authenticated(address: string): void;
}
