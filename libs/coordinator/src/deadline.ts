// One round, one deadline: the round timeout bounds the whole round (fit,
// calibration and evaluation together), shared out among its phases, so that a
// hospital that never answers costs a round one timeout, not one per phase.

/** The share of the round the fit phase may take; calibration and evaluation share the rest (and whatever fit leaves unused). */
export const FIT_SHARE = 0.8;

export class RoundDeadline {
  /** When the round must be over (ms since the epoch). */
  readonly at: number;

  constructor(
    readonly startedAt: number,
    readonly timeoutMs: number,
  ) {
    this.at = startedAt + timeoutMs;
  }

  /** How long the fit phase may take from `now`: until FIT_SHARE of the round has passed. */
  fitMs(now = Date.now()): number {
    return Math.max(1, Math.round(this.startedAt + FIT_SHARE * this.timeoutMs - now));
  }

  /** How long the next phase may take from `now`, with `phasesLeft` phases (this one included) still to run: an equal part of the time left. */
  phaseMs(phasesLeft: number, now = Date.now()): number {
    return Math.max(1, Math.round((this.at - now) / Math.max(1, phasesLeft)));
  }
}
