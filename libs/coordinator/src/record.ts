import type { EventEmitter } from 'node:events';
import type { WireError } from '@fedxray/protocol';
import { isDiskFull } from '@fedxray/runtime';
import type { CoordinatorEvents } from './events';
import type { JobKind } from './jobs';
import type { Logger } from './log';
import { REFUSAL_EVENTS, RefusalCounts } from './refusals';
import type { EventRow, RunStore } from './store';

/** A coordinator event and its payload, as `emit` takes them. */
export type EmittedEvent = { [K in keyof CoordinatorEvents]: [K, ...CoordinatorEvents[K]] }[keyof CoordinatorEvents];

/** A hospital's job that failed; `refusal` when a check refused its answer (what the hospital was told). */
export interface JobFailure {
  round: number;
  attempt: number;
  hospital: string;
  phase: JobKind;
  error: string;
  refusal?: WireError;
}

/**
 * Where what happens in a run is written down, once: an event row in the run
 * store, a log line, and (when given) the event for the coordinator's
 * listeners, followed by a `state` change for the dashboard.
 */
export class Recorder {
  /** Refused answers since the coordinator started, by phase and reason. */
  readonly refusals = new RefusalCounts();
  /** The refused answers of each round attempt not yet written into its round record (`round/attempt` → `hospital/phase`). */
  private readonly refusedJobs = new Map<string, Set<string>>();

  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
    readonly logger: Logger,
    readonly events: EventEmitter<CoordinatorEvents>,
  ) {}

  /** `type` names the store event (`round_started`); the log line says it in words (`round started`). */
  record(level: EventRow['level'], type: string, data: Record<string, unknown>, emit?: EmittedEvent): void {
    try {
      this.store.addEvent(this.runId, level, type, data);
    } catch (err) {
      // A full disk costs the event's store row, never the coordinator: the log line below still says it.
      if (!isDiskFull(err)) throw err;
      this.logger.log('error', 'disk full: event not stored, only logged', { type, error: err instanceof Error ? err.message : String(err) });
    }
    this.logger.log(level, type.replace(/_/g, ' '), data);
    if (emit) this.emit(emit);
    this.events.emit('state');
  }

  /**
   * A failed job, written down: its job failure row; for a refused answer, the
   * refusal event of its phase (`update_refused`, `calibration_refused`,
   * `evaluation_refused`) naming the hospital, counted by reason; then the
   * `<phase>_failed` event and the events for listeners.
   */
  jobFailed({ round, attempt, hospital, phase, error, refusal }: JobFailure): void {
    try {
      this.store.recordJobFailure({ runId: this.runId, round, attempt, hospital, phase, error });
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.logger.log('error', 'disk full: failed job not stored, only logged', { hospital, round, phase, error: String(err) });
    }
    if (refusal) {
      this.refusals.add(phase, refusal.code);
      const key = `${round}/${attempt}`;
      this.refusedJobs.set(key, (this.refusedJobs.get(key) ?? new Set()).add(`${hospital}/${phase}`));
      const refused = { round, hospital, code: refusal.code, message: refusal.message };
      this.record('warn', REFUSAL_EVENTS[phase], { ...refused, attempt }, phase === 'fit' ? ['updateRefused', refused] : undefined);
    }
    this.record('warn', `${phase}_failed`, { hospital, round, attempt, error, refused: refusal !== undefined }, ['jobFailed', { round, attempt, hospital, phase, error }]);
    if (phase === 'fit') this.emit(['fitResult', { round, hospital, ok: false, error }]);
  }

  /** Whether a check refused the answer of this job (rather than it failing some other way). */
  wasRefused(round: number, attempt: number, hospital: string, phase: JobKind): boolean {
    return this.refusedJobs.get(`${round}/${attempt}`)?.has(`${hospital}/${phase}`) ?? false;
  }

  /** Forgets a round attempt's refusals (its record is written). */
  forgetRefusals(round: number, attempt: number): void {
    this.refusedJobs.delete(`${round}/${attempt}`);
  }

  /** An event for listeners only (nothing stored or logged). */
  emit(event: EmittedEvent): void {
    (this.events.emit as (...args: EmittedEvent) => boolean)(...event);
  }
}
