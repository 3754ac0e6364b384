/** A data set or image that cannot be used: says what was expected and what arrived. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

