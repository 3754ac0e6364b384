import type { EvaluationSummary } from '@fedxray/evaluation';
import type { StartingWeightsRecord } from './starting-weights';
import type { RoundRecord, RoundState, RunState, SiteRoundMetrics } from './state';

/**
 * What the run has done so far, as the dashboard and API see it: the rounds
 * completed, the round in progress, the initial model's metrics, the last
 * confusion matrix, and the run's status.
 */
export class RunLedger {
  history: RoundRecord[] = [];
  initial: { metrics: Record<string, number>; sites: Record<string, SiteRoundMetrics> } | null = null;
  current: RoundState | null = null;
  confusion: RunState['confusion'] = null;
  /** The final global model on every site's validation split, pooled. */
  validation: EvaluationSummary | null = null;
  status: RunState['run']['status'] = 'running';
  error: string | null = null;
  startedAt = Date.now();
  /** Where round 0's global model came from (source, description, hash). */
  startingWeights: StartingWeightsRecord | null = null;

  /** The round in progress moves to `phase`. */
  phase(phase: RoundState['phase']): void {
    if (this.current) this.current = { ...this.current, phase };
  }

  /** A hospital's job of the round in progress ended. */
  jobSettled(name: string, ok: boolean, error?: string): void {
    const j = this.current?.jobs.find((x) => x.name === name);
    if (!j) return;
    j.status = ok ? 'done' : 'failed';
    if (error) j.error = error;
  }

  /** A completed round (replacing an earlier record of the same round). */
  completed(record: RoundRecord): void {
    this.history = this.history.filter((h) => h.round !== record.round).concat(record);
  }

  /** The record of round `round`, if it completed. */
  round(round: number): RoundRecord | undefined {
    return this.history.find((h) => h.round === round);
  }
}
