/** A summary or a prediction batch that cannot be used: says what was expected and what arrived. */
export class EvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationError';
  }
}
