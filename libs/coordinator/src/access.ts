/** A loopback address (or the name localhost): this machine. */
export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === 'localhost' || address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || address.startsWith('127.'));
}

/** Loopback readers are trusted; anyone else needs the dashboard token. */
export function mayRead(dashboardToken: string | undefined, address: string | undefined, token: unknown): boolean {
  if (isLoopback(address)) return true;
  return typeof token === 'string' && !!dashboardToken && token === dashboardToken;
}
