// Refusals, logged once per address per interval: the first one as it
// happens, the rest as one summary line with a count when the interval ends.
import type { Logger } from './log';

interface Pending {
  count: number;
  codes: Map<string, number>;
}

export class RefusalLog {
  private readonly quiet = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** A refusal of `address` with a code: logged now if it is the first of its interval, else counted. */
  refused(address: string, code: string, fields: Record<string, unknown>): void {
    const pending = this.quiet.get(address);
    if (!pending) {
      this.logger.log('warn', 'connection refused', { code, address, ...fields });
      this.quiet.set(address, { count: 0, codes: new Map() });
      this.timer ??= setInterval(() => this.flush(), this.intervalMs).unref();
      return;
    }
    pending.count++;
    pending.codes.set(code, (pending.codes.get(code) ?? 0) + 1);
  }

  /** Writes one summary line per address refused again since its first line, and starts a new interval. */
  flush(): void {
    for (const [address, p] of this.quiet) {
      if (p.count > 0) {
        this.logger.log('warn', 'connections refused', { address, count: p.count, seconds: Math.round(this.intervalMs / 1000), codes: Object.fromEntries(p.codes) });
      }
    }
    this.quiet.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.flush();
  }
}
