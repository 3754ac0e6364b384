/** Runs `fn` over `xs` with at most `limit` calls in flight; results keep the input order. */
export async function mapPool<T, R>(xs: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, xs.length)) }, worker));
  return out;
}

/** A counting semaphore: `run` waits for a free slot, so many producers share one concurrency budget. */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(slots: number) {
    this.free = Math.max(1, slots);
  }

  async run<R>(fn: () => Promise<R>): Promise<R> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const w = this.waiting.shift();
      if (w) w();
      else this.free++;
    }
  }
}
