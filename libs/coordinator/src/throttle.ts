// Authentication failures per address: after `limit` wrong tokens an address
// is refused for a while, and each further failure doubles the wait.

export interface ThrottleOptions {
  /** Failures an address may make before it is refused. */
  limit: number;
  /** The first refusal period; each later failure doubles it, up to maxBlockMs. */
  blockMs: number;
  maxBlockMs: number;
  /** A quiet address (no failure for this long) starts afresh. */
  forgetMs: number;
  now?: () => number;
}

interface AddressRecord {
  failures: number;
  lastFailure: number;
  blockedUntil: number;
  blockMs: number;
}

export class AuthThrottle {
  private readonly seen = new Map<string, AddressRecord>();
  private readonly now: () => number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds this address must still wait before it may try again (0: it may). */
  waitOf(address: string): number {
    const r = this.current(address);
    return r ? Math.max(0, r.blockedUntil - this.now()) : 0;
  }

  /** A failed authentication: returns the wait it earned (0 while under the limit). */
  failed(address: string): number {
    const now = this.now();
    const r = this.current(address) ?? { failures: 0, lastFailure: now, blockedUntil: 0, blockMs: 0 };
    r.failures++;
    r.lastFailure = now;
    if (r.failures >= this.options.limit) {
      r.blockMs = r.blockMs ? Math.min(r.blockMs * 2, this.options.maxBlockMs) : this.options.blockMs;
      r.blockedUntil = now + r.blockMs;
    }
    this.seen.set(address, r);
    this.prune(now);
    return Math.max(0, r.blockedUntil - now);
  }

  /** A successful authentication clears the address's record. */
  succeeded(address: string): void {
    this.seen.delete(address);
  }

  private current(address: string): AddressRecord | undefined {
    const r = this.seen.get(address);
    if (r && this.now() - r.lastFailure > this.options.forgetMs && r.blockedUntil <= this.now()) {
      this.seen.delete(address);
      return undefined;
    }
    return r;
  }

  /** Keeps the table bounded: addresses forgotten by now are dropped once it grows. */
  private prune(now: number): void {
    if (this.seen.size < 10_000) return;
    for (const [a, r] of this.seen) if (now - r.lastFailure > this.options.forgetMs && r.blockedUntil <= now) this.seen.delete(a);
  }
}
