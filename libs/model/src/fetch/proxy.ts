/** The environment variables that choose a proxy (either case, as curl and wget read them). */
export type ProxyEnv = Partial<Record<'HTTPS_PROXY' | 'https_proxy' | 'HTTP_PROXY' | 'http_proxy' | 'NO_PROXY' | 'no_proxy', string>>;

function read(env: ProxyEnv, name: 'HTTPS_PROXY' | 'HTTP_PROXY' | 'NO_PROXY'): string {
  return (env[name.toLowerCase() as keyof ProxyEnv] ?? env[name] ?? '').trim();
}

/** Whether NO_PROXY excludes `url`: `*`, host names (a leading `.` or `*.` matches subdomains), optional `:port`. */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[|\](?=:|$)/g, ''))!;
    const name = m[1].replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * The proxy to reach `url` through: HTTPS_PROXY for https, HTTP_PROXY for http
 * (HTTPS_PROXY falls back to HTTP_PROXY), none when NO_PROXY excludes the host.
 */
export function proxyFor(url: URL, env: ProxyEnv): string | null {
  if (bypassesProxy(url, read(env, 'NO_PROXY'))) return null;
  const http = read(env, 'HTTP_PROXY');
  const proxy = url.protocol === 'https:' ? read(env, 'HTTPS_PROXY') || http : http;
  return proxy || null;
}
