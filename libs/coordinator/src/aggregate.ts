// The round's aggregation: the strategy's finish, with the updates it refused
// there (a value that is not finite, found while folding) written down as
// failed jobs of their hospitals, as if a check had refused them on arrival.
import type { NamedWeights } from '@fedxray/protocol';
import { AggregationError, type Strategy } from '@fedxray/aggregation';
import type { Hub } from './hub';
import { wireError } from './intake';
import type { JobOutcome } from './jobs';
import type { Recorder } from './record';

export interface Aggregated {
  weights: NamedWeights;
  used: string[];
  recycled: boolean;
  /** Hospitals whose updates the strategy refused at finish (now failed jobs). */
  refused: string[];
}

/**
 * Finishes the strategy's round. Each update it refused becomes its
 * hospital's failed fit job (recorded, counted, refused in `results`, never
 * credited). A round the strategy refuses altogether (every update refused,
 * too few for its rule) gives `{ error }`: the round fails, and is tried again.
 */
export function finishRound(
  p: { strategy: Strategy; recorder: Recorder; hub: Hub },
  round: number,
  attempt: number,
  results: Map<string, JobOutcome<unknown>>,
  recycle: NamedWeights | undefined,
): Aggregated | { error: string } {
  let result;
  try {
    result = p.strategy.finish({ recycle });
  } catch (err) {
    if (err instanceof AggregationError) return { error: `the strategy refused the round (${err.code}): ${err.message}` };
    throw err;
  }
  for (const r of result.refused) {
    const refusal = wireError(new AggregationError(r.code, r.message), 'bad_weights');
    const error = `${refusal.code}: ${refusal.message}`;
    results.set(r.hospitalId, { ok: false, error });
    p.hub.hospital(r.hospitalId).failures++;
    p.recorder.jobFailed({ round, attempt, hospital: r.hospitalId, phase: 'fit', error, refusal });
  }
  return { weights: result.weights, used: result.used, recycled: result.recycled, refused: result.refused.map((r) => r.hospitalId) };
}
