/** A mistake in how the command was called: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseIntOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`Expected ${name} to be an integer ≥ ${min}, but got ${value}`);
    return n;
  };
}

export function parseFloatOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new UsageError(`Expected ${name} to be a number, but got ${value}`);
    return n;
  };
}
