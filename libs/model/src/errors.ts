/** What a ModelError is about, for callers that map it to their own error codes. */
export type ModelErrorCode =
  /** anything not named below */
  | 'invalid'
  // BatchNorm statistics reports (checkBatchNormReport):
  | 'bad_examples'
  | 'missing_stat'
  | 'unknown_stat'
  | 'shape_mismatch'
  | 'not_finite'
  | 'negative_variance';

/** A model spec, weight list or saved model that does not fit what was expected. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly code: ModelErrorCode = 'invalid',
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** A compute backend that was asked for and could not be started, or that died. */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly tried: { name: string; error?: string }[] = [],
  ) {
    super(message);
    this.name = 'BackendError';
  }
}
