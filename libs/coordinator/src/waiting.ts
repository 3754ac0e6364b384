// What the coordinator says while a round waits for hospitals to connect:
// how many more it needs, and which registered hospitals are not there.
import { plural } from '@fedxray/runtime';
import type { Logger } from './log';

/** `waiting for 2 of 3 hospitals: h1, h3`, naming the registered hospitals not connected. */
export function waitingSentence(needed: number, connected: readonly string[], registered: readonly string[]): string {
  const missing = needed - connected.length;
  const here = new Set(connected);
  const absent = [...new Set(registered)].filter((n) => !here.has(n)).sort();
  const head = `waiting for ${missing} of ${plural(needed, 'hospital')}`;
  if (absent.length === 0) return `${head}; no other hospital is registered (fedxray coordinator add-hospital <name>)`;
  if (absent.length < missing) return `${head}: ${absent.join(', ')}, but only ${absent.length} more ${absent.length === 1 ? 'is' : 'are'} registered (fedxray coordinator add-hospital <name>)`;
  return `${head}${absent.length > missing ? ', any of' : ''}: ${absent.join(', ')}`;
}

/**
 * Says that the run is waiting for hospitals when it starts to, whenever who is
 * connected changes, and again every `repeatMs` while nothing changes.
 */
export class WaitingReporter {
  private last: string | null = null;
  private at = 0;

  constructor(
    private readonly logger: Logger,
    private readonly registered: () => string[],
    private readonly repeatMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called while waiting for `needed` hospitals with `connected` ready. */
  update(needed: number, connected: readonly string[]): void {
    const key = `${needed}|${[...connected].sort().join(',')}`;
    if (key === this.last && this.now() - this.at < this.repeatMs) return;
    this.last = key;
    this.at = this.now();
    this.logger.log('info', waitingSentence(needed, connected, this.registered()), { connected: [...connected].sort() });
  }

  /** The wait is over; the next one is reported afresh. */
  done(): void {
    this.last = null;
  }
}
