/** Why a secure-aggregation, privacy or accounting step was refused. */
export const SECURE_ERROR_CODES = [
  /** An option or parameter is out of range. */
  'bad_config',
  /** A message failed its schema, or a field in it is inconsistent with the round. */
  'bad_message',
  /** A message arrived in a stage where it is not expected. */
  'wrong_stage',
  /** A second message of the same kind from the same sender. */
  'duplicate',
  /** A value to be summed is NaN or infinite. */
  'not_finite',
  /** A vector or key of the wrong length. */
  'wrong_length',
  /** A sender that is not a participant, or not a neighbour where one is required. */
  'unknown_sender',
  /** Fewer than the threshold of participants remain: the round cannot complete. */
  'too_few_survivors',
  /** A request a client will not answer, because answering could reveal an input. */
  'refused_request',
  /** A secret could not be reconstructed consistently from its shares. */
  'bad_share',
  /** A ciphertext failed authentication. */
  'decrypt_failed',
  /** One more step would exceed the privacy budget. */
  'budget_exceeded',
] as const;
export type SecureErrorCode = (typeof SECURE_ERROR_CODES)[number];

/** A refused step: says what was expected and what arrived. */
export class SecureError extends Error {
  constructor(
    readonly code: SecureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecureError';
  }
}
