import type { Caller } from './caller';
import type { AggregationRecord } from './events';
import type { HospitalRegistry } from './registry';
import type { RunState } from './state';
import type { RunStore } from './store';

/** The coordinator's running totals since it started. */
export interface CoordinatorCounts {
  updatesAccepted: number;
  updatesRefused: number;
  bytesReceived: number;
  bytesSent: number;
  connected: number;
}

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
}
