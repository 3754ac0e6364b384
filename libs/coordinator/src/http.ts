import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { callerOf } from './caller';
import type { CoordinatorView } from './view';
import { prometheusText } from './metrics';
import { MODEL_ARCHIVE_PATH, sendModelArchive } from './model-download';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
  '.ico': 'image/x-icon',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

function sendFile(res: ServerResponse, path: string): void {
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-length': statSync(path).size });
  createReadStream(path).pipe(res);
}

/** A URL path with a bad %-escape (`%E0%A4%A`): the client's mistake, answered 400. */
class BadEscape extends Error {}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BadEscape(`bad %-escape in the URL path: ${s.slice(0, 200)}`);
  }
}

/** A path inside `root`, or null if the request tries to leave it. */
function inside(root: string, urlPath: string): string | null {
  const p = resolve(root, `.${normalize(decode(urlPath))}`);
  return p === resolve(root) || p.startsWith(resolve(root) + sep) ? p : null;
}

/**
 * The read-only HTTP API: run state, runs, rounds, hospitals, events, failed jobs,
 * Prometheus metrics, the latest global model (tfjs format, loadable with
 * `tf.loadLayersModel('<url>/model/model.json')`, and as one archive at
 * `/model.tar`) and the dashboard files.
 * Local readers (this machine, no proxy, no other site: see access.ts) are
 * trusted; others need `Authorization: Bearer <dashboard token>`. HEAD is
 * answered exactly as GET, without the body; a bad %-escape is a 400.
 */
export async function handleHttp(c: CoordinatorView, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, { error: `read-only API: GET or HEAD only, not ${req.method}` });
  }
  try {
    await route(c, req, res);
  } catch (err) {
    if (!(err instanceof BadEscape)) throw err;
    send(res, 400, { error: err.message });
  }
}

async function route(c: CoordinatorView, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://x');
  } catch {
    return send(res, 400, { error: 'bad request URL' });
  }
  const path = url.pathname;
  if (path === '/api/health') return send(res, 200, { ok: true, runId: c.runId });
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? url.searchParams.get('token');
  const caller = callerOf(req.socket.remoteAddress, req.headers, c.config.trustProxy);
  const wait = bearer ? (c.readers?.waitOf(caller.address) ?? 0) : 0;
  if (wait > 0) {
    res.setHeader('retry-after', String(Math.ceil(wait / 1000)));
    return send(res, 429, { error: `too many wrong dashboard tokens from ${caller.address}; try again in ${Math.ceil(wait / 1000)} s` });
  }
  if (!c.mayRead(caller, bearer)) {
    if (bearer) c.readers?.readerRefused(caller.address);
    return send(res, 401, { error: 'open this from the coordinator machine itself (no proxy, no other site), or give the dashboard token' });
  }
  if (bearer) c.readers?.authenticated(caller.address);

  if (path === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(prometheusText(c));
    return;
  }
  if (path === '/api/state') return send(res, 200, c.state());
  if (path === '/api/hospitals') return send(res, 200, { hospitals: c.state().hospitals, registered: c.registry.list() });
  if (path === '/api/runs') return send(res, 200, { runs: c.store.runs().map(({ config: _c, ...r }) => r) });
  const m = /^\/api\/runs\/([^/]+)(\/rounds|\/events|\/sites|\/failures)?$/.exec(path);
  if (m) {
    const id = decode(m[1]);
    const run = c.store.run(id);
    if (!run) return send(res, 404, { error: `no run ${id}` });
    if (m[2] === '/rounds') return send(res, 200, { rounds: c.store.rounds(id) });
    if (m[2] === '/sites') return send(res, 200, { sites: c.store.siteMetrics(id).map(({ metrics: { summary: _s, ...rest }, ...r }) => ({ ...r, metrics: rest })) });
    if (m[2] === '/failures') return send(res, 200, { failures: c.store.failedJobs(id) });
    if (m[2] === '/events') return send(res, 200, { events: c.store.events(id, Number(url.searchParams.get('after') ?? 0)) });
    return send(res, 200, { run, rounds: c.store.rounds(id) });
  }
  if (path === MODEL_ARCHIVE_PATH) return sendModelArchive(c, res);
  if (path.startsWith('/model/')) {
    const dir = c.modelDir();
    if (!dir) return send(res, 404, { error: 'no global model yet' });
    const file = inside(dir, path.slice('/model'.length));
    if (!file || !existsSync(file) || statSync(file).isDirectory()) return send(res, 404, { error: 'not found' });
    return sendFile(res, file);
  }
  const dash = c.config.dashboardDir;
  if (dash && existsSync(dash)) {
    const file = inside(dash, path === '/' ? '/index.html' : path);
    if (file && existsSync(file) && !statSync(file).isDirectory()) return sendFile(res, file);
    if (!extname(path)) return sendFile(res, join(dash, 'index.html'));
  } else if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`fedxray coordinator, run ${c.runId}. JSON API: /api/state, /api/runs, /api/hospitals, /metrics\n`);
    return;
  }
  send(res, 404, { error: `not found: ${path}` });
}
