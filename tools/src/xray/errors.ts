/** A demo-data request that cannot be met: what was expected and what arrived. */
export class DemoDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoDataError';
  }
}
