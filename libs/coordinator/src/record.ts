import type { EventEmitter } from 'node:events';
import { isDiskFull } from '@fedxray/runtime';
import type { CoordinatorEvents } from './events';
import type { Logger } from './log';
import type { EventRow, RunStore } from './store';

/** A coordinator event and its payload, as `emit` takes them. */
export type EmittedEvent = { [K in keyof CoordinatorEvents]: [K, ...CoordinatorEvents[K]] }[keyof CoordinatorEvents];

/**
 * Where what happens in a run is written down, once: an event row in the run
 * store, a log line, and (when given) the event for the coordinator's
 * listeners, followed by a `state` change for the dashboard.
 */
export class Recorder {
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

  /** An event for listeners only (nothing stored or logged). */
  emit(event: EmittedEvent): void {
    (this.events.emit as (...args: EmittedEvent) => boolean)(...event);
  }
}
