/** A model spec, weight list or saved model that does not fit what was expected. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** A compute backend that was asked for and could not be started. */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly tried: { name: string; error?: string }[] = [],
  ) {
    super(message);
    this.name = 'BackendError';
  }
}
