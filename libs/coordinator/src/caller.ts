// Who is asking: the client's address (through the proxies we were told to
// believe), and what its request says of where it came from (Host, Origin).
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

export interface Caller {
  /** The client's address: the socket's peer, or the first untrusted X-Forwarded-For hop behind trusted proxies. */
  address: string;
  /** The Host header, as sent. */
  host?: string;
  /** The Origin header, as sent (browsers send it on websockets and cross-site requests). */
  origin?: string;
  /** The request carries forwarding headers that no trusted proxy vouches for: some proxy stands between. */
  forwarded: boolean;
}

const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const;

/** `::ffff:127.0.0.1` → `127.0.0.1`; anything else as is (trimmed). */
export function plainAddress(address: string): string {
  const a = address.trim();
  return a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * The caller of a request. X-Forwarded-For is believed only when the socket's
 * peer is one of `trustProxy`, and only as far as its hops are trusted proxies
 * too: walking the list from the right (the hop our proxy added), the first
 * address that is not a trusted proxy is the client. Anything left of it was
 * written by the client itself and is ignored.
 */
export function callerOf(peer: string | undefined, headers: IncomingHttpHeaders, trustProxy: readonly string[] = []): Caller {
  const trusted = new Set(trustProxy.map(plainAddress));
  let address = plainAddress(peer ?? '');
  let forwarded = FORWARDING_HEADERS.some((h) => headers[h] !== undefined);
  if (trusted.has(address)) {
    const hops = (header(headers, 'x-forwarded-for') ?? '')
      .split(',')
      .map((h) => plainAddress(h))
      .filter(Boolean);
    while (hops.length && trusted.has(address)) address = hops.pop()!;
    forwarded = false;
  }
  return { address, host: header(headers, 'host'), origin: header(headers, 'origin'), forwarded };
}
