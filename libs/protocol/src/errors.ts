/** Error codes a peer may answer with. Every refusal names one. */
export const ERROR_CODES = [
  'bad_message',
  'bad_version',
  'unauthorized',
  'already_connected',
  'revoked',
  'rotated',
  'bad_weights',
  'too_large',
  'not_finite',
  'shape_mismatch',
  'norm_exceeded',
  'checksum_mismatch',
  'stale_round',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A protocol-level failure: what was expected and what arrived. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
