import { createHash, timingSafeEqual } from 'node:crypto';
import type { Caller } from './caller';

/** A loopback address (or the name localhost): this machine. */
export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === 'localhost' || address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || address.startsWith('127.'));
}

/** The host name of a Host header (`[::1]:8080` → `::1`, `localhost:80` → `localhost`). */
function hostName(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:]+)(?::\d+)?$/.exec(host);
  return m ? m[1].toLowerCase() : '';
}

/** An Origin that is not the page's own host (a cross-site page), or `null` (a sandboxed one). */
function foreignOrigin(origin: string | undefined, host: string): boolean {
  if (origin === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() !== host.toLowerCase();
  } catch {
    return true;
  }
}

/**
 * This machine asking for itself: a loopback peer, no proxy in between, a
 * loopback Host (not a DNS-rebound name) and no foreign Origin (not a
 * cross-site page in a local browser).
 */
export function isLocalCaller(c: Caller): boolean {
  return isLoopback(c.address) && !c.forwarded && !!c.host && isLoopback(hostName(c.host)) && !foreignOrigin(c.origin, c.host);
}

/** Local callers are trusted; anyone else needs the dashboard token. */
export function mayRead(dashboardToken: string | undefined, caller: Caller, token: unknown): boolean {
  if (isLocalCaller(caller)) return true;
  if (typeof token !== 'string' || !dashboardToken) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(token), digest(dashboardToken));
}
