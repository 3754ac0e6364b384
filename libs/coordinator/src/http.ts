import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
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

/** A path inside `root`, or null if the request tries to leave it. */
function inside(root: string, urlPath: string): string | null {
  const p = resolve(root, `.${normalize(decodeURIComponent(urlPath))}`);
  return p === resolve(root) || p.startsWith(resolve(root) + sep) ? p : null;
}

/**
 * The read-only HTTP API: run state, runs, rounds, hospitals, events, failed jobs,
 * Prometheus metrics, the latest global model (tfjs format, loadable with
 * `tf.loadLayersModel('<url>/model/model.json')`, and as one archive at
 * `/model.tar`) and the dashboard files.
 * Loopback readers are trusted; others need `Authorization: Bearer <dashboard token>`.
 */
export async function handleHttp(c: CoordinatorView, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'read-only API: GET only' });
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  if (path === '/api/health') return send(res, 200, { ok: true, runId: c.runId });
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? url.searchParams.get('token');
  if (!c.mayRead(req.socket.remoteAddress, bearer)) return send(res, 401, { error: 'loopback only, or give the dashboard token' });

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
    const id = decodeURIComponent(m[1]);
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
