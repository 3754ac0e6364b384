/** Why an aggregation step was refused. */
export const AGGREGATION_ERROR_CODES = [
  'bad_config',
  'bad_update',
  'not_finite',
  'shape_mismatch',
  'duplicate_update',
  'no_updates',
  'too_few_updates',
  'not_begun',
  'helper_failed',
] as const;
export type AggregationErrorCode = (typeof AGGREGATION_ERROR_CODES)[number];

/** A refused strategy call: says what was expected and what arrived. */
export class AggregationError extends Error {
  constructor(
    readonly code: AggregationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AggregationError';
  }
}
