// A round that failed for a full disk: said in the log at once, written to the
// store when it has room, and tried again after a wait; the last good state
// (global model, strategy state, committed rounds) is what the next try uses.
import type { Recorder } from './record';
import type { RunStore } from './store';

export interface DiskFullContext {
  runId: string;
  store: RunStore;
  recorder: Recorder;
  retryMs: number;
}

/** `ms` in words: "50 ms", "30 s". */
export function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/**
 * Logs the failed round as "disk full", and records it (failRound, a
 * `round_failed` event) as far as the store has room. A round already
 * committed (its checkpoint and store row written) is not failed: only its
 * evaluation and record are tried again.
 */
export function recordDiskFull(ctx: DiskFullContext, round: number, attempt: number | null, committed: boolean, err: unknown): void {
  const error = err instanceof Error ? err.message : String(err);
  const reason = `disk full: ${error}`;
  const retry = duration(ctx.retryMs);
  const what = committed
    ? `disk full: round ${round} was committed, but its evaluation could not be recorded; it is evaluated again in ${retry}`
    : `disk full: round ${round} failed; the last good state is kept and the round is tried again in ${retry}`;
  ctx.recorder.logger.log('error', what, { round, attempt, error });
  try {
    if (attempt !== null && !committed) ctx.store.failRound(ctx.runId, round, { reason });
  } catch {
    // no room for the round's row either: the log line above says it, and the next attempt rewrites the row
  }
  ctx.recorder.record('error', 'round_failed', { round, attempt, reason }, ['roundFailed', { round, attempt: attempt ?? 0, reason }]);
}
