// What the coordinator refuses of a hospital's answers, by phase and reason:
// every refusal is a store event naming the hospital and one increment of
// fedxray_updates_refused_total{phase, reason}.
import type { ErrorCode, WireError } from '@fedxray/protocol';
import type { JobKind } from './jobs';

/**
 * The reasons a check of a hospital's answer refuses it with (the wire code
 * sent back in the acknowledgement): a message that breaks the schema or the
 * declared counts, weights or statistics that cannot be decoded or do not fit
 * the model, a broken checksum, a value that is not finite, an update too far
 * from the global model.
 */
export const REFUSAL_CODES = ['bad_message', 'bad_weights', 'checksum_mismatch', 'shape_mismatch', 'not_finite', 'norm_exceeded'] as const satisfies readonly ErrorCode[];

/** The store event a refused answer of each phase is written down as. */
export const REFUSAL_EVENTS: Record<JobKind, string> = { fit: 'update_refused', calibrate: 'calibration_refused', evaluate: 'evaluation_refused' };

const PHASES: JobKind[] = ['fit', 'calibrate', 'evaluate'];

/** One refused answer. */
export interface Refusal {
  round: number;
  attempt: number;
  hospital: string;
  phase: JobKind;
  error: WireError;
}

/** Refusals counted by phase and reason since the coordinator started. */
export class RefusalCounts {
  private readonly counts = new Map<string, number>();

  add(phase: JobKind, reason: string): void {
    const key = `${phase}\u0000${reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** How many answers of `phase` (every phase without it) were refused. */
  total(phase?: JobKind): number {
    let n = 0;
    for (const [key, count] of this.counts) if (!phase || key.startsWith(`${phase}\u0000`)) n += count;
    return n;
  }

  /** One sample per phase and reason: every known reason (0 when none happened), and any other reason seen. */
  samples(): { phase: JobKind; reason: string; count: number }[] {
    const out: { phase: JobKind; reason: string; count: number }[] = [];
    for (const phase of PHASES) {
      const seen = [...this.counts.keys()].filter((k) => k.startsWith(`${phase}\u0000`)).map((k) => k.slice(phase.length + 1));
      const reasons = [...new Set<string>([...REFUSAL_CODES, ...seen])];
      for (const reason of reasons) out.push({ phase, reason, count: this.counts.get(`${phase}\u0000${reason}`) ?? 0 });
    }
    return out;
  }
}
