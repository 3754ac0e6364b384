import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { Server } from 'socket.io';
import type { RunState } from '@fedxray/coordinator';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/**
 * Serves the built dashboard and sends it a given run state over its live
 * socket, as the coordinator does: for checking how the page lays out a state
 * chosen by the test (long class names, many hospitals, large losses).
 */
export async function serveDashboard(dist: string): Promise<{ url: string; show: (state: RunState) => void; close: () => Promise<void> }> {
  let state: RunState | null = null;
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/api/runs') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"runs":[]}');
    const file = join(dist, normalize(path === '/' ? '/index.html' : path));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  const io = new Server(http);
  const dashboard = io.of('/dashboard');
  dashboard.on('connection', (socket) => state && socket.emit('state', state));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    show: (s) => {
      state = s;
      dashboard.emit('state', s);
    },
    close: async () => {
      io.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}
