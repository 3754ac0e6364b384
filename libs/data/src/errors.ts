/** A data set or image that cannot be used: says what was expected and what arrived. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/** One image could not be read; the reason is short enough to list in a report. */
export class UnreadableImageError extends DataError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'UnreadableImageError';
  }
}
