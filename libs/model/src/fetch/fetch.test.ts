import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadError, HashMismatchError, downloadVerified } from './download';
import { fetchImagenetWeights, fetchWeightFile, fedxrayCacheDir, imagenetFile, type KerasWeightFile } from './imagenet';
import { bypassesProxy, proxyFor } from './proxy';

const FIXTURE = randomBytes(300_000);
const MD5 = createHash('md5').update(FIXTURE).digest('hex');

interface Served {
  url: string;
  /** The Range header of each request (undefined when none). */
  ranges: (string | undefined)[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Serves `body` at /file.h5 on loopback. `cutFirstAt` ends the first
 * response's connection after that many bytes; `ignoreRange` answers every
 * request with the whole file (200).
 */
async function serve(body: Buffer, o: { cutFirstAt?: number; ignoreRange?: boolean } = {}): Promise<Served> {
  const ranges: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m && !o.ignoreRange ? Number(m[1]) : 0;
    if (start >= body.length && m && !o.ignoreRange) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    const headers: Record<string, string> = { 'content-length': String(body.length - start), 'content-type': 'application/octet-stream' };
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (ranges.length === 1 && o.cutFirstAt !== undefined) {
      res.write(body.subarray(0, o.cutFirstAt), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.end(body.subarray(start));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = await listen(server);
  return { url: `http://${host}/file.h5`, ranges, close: () => closeServer(server, sockets) };
}

/** A CONNECT proxy on loopback that records the hosts it tunnels to. */
async function proxyServer(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
  });
  const host = await listen(server);
  return { url: `http://${host}`, tunnels, close: () => closeServer(server, sockets) };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fedxray-fetch-'));
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('a file with the right hash is downloaded into place', async () => {
  const srv = await serve(FIXTURE);
  const dir = await tempDir();
  try {
    const seen: number[] = [];
    const r = await downloadVerified({ url: srv.url, dest: join(dir, 'w.h5'), md5: MD5, env: {}, onProgress: (p) => seen.push(p.received) });
    assert.equal(r.bytes, FIXTURE.length);
    assert.equal(r.resumedFrom, 0);
    assert.deepEqual(await readFile(join(dir, 'w.h5')), FIXTURE);
    assert.equal(await exists(join(dir, 'w.h5.part')), false);
    assert.equal(seen.at(-1), FIXTURE.length);
    assert.deepEqual(srv.ranges, [undefined]);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file with the wrong hash is refused and nothing is kept', async () => {
  const srv = await serve(FIXTURE);
  const dir = await tempDir();
  try {
    const wrong = 'f'.repeat(32);
    await assert.rejects(downloadVerified({ url: srv.url, dest: join(dir, 'w.h5'), md5: wrong, env: {} }), (e: Error) => {
      return e instanceof HashMismatchError && e.message.includes(`expected md5 ${wrong}, got ${MD5}`);
    });
    assert.equal(await exists(join(dir, 'w.h5')), false);
    assert.equal(await exists(join(dir, 'w.h5.part')), false);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a download cut mid-body keeps its partial file; the next call asks for the rest with Range and completes', async () => {
  const srv = await serve(FIXTURE, { cutFirstAt: 120_000 });
  const dir = await tempDir();
  const dest = join(dir, 'w.h5');
  try {
    await assert.rejects(downloadVerified({ url: srv.url, dest, md5: MD5, env: {} }), (e: Error) => e instanceof DownloadError && /interrupted after 120000 of 300000 bytes.*run the same command again to resume/.test(e.message));
    assert.equal((await stat(`${dest}.part`)).size, 120_000);
    const r = await downloadVerified({ url: srv.url, dest, md5: MD5, env: {} });
    assert.deepEqual(srv.ranges, [undefined, 'bytes=120000-']);
    assert.equal(r.resumedFrom, 120_000);
    assert.deepEqual(await readFile(dest), FIXTURE);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a server that ignores Range makes the download start over cleanly', async () => {
  const srv = await serve(FIXTURE, { ignoreRange: true });
  const dir = await tempDir();
  const dest = join(dir, 'w.h5');
  try {
    await writeFile(`${dest}.part`, FIXTURE.subarray(0, 5000));
    const r = await downloadVerified({ url: srv.url, dest, md5: MD5, env: {} });
    assert.deepEqual(srv.ranges, ['bytes=5000-']);
    assert.equal(r.resumedFrom, 0);
    assert.deepEqual(await readFile(dest), FIXTURE);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('HTTP_PROXY is honoured (the loopback proxy sees the request) and NO_PROXY bypasses it', async () => {
  const srv = await serve(FIXTURE);
  const proxy = await proxyServer();
  const dir = await tempDir();
  try {
    const host = new URL(srv.url).host;
    const r = await downloadVerified({ url: srv.url, dest: join(dir, 'a.h5'), md5: MD5, env: { HTTP_PROXY: proxy.url } });
    assert.equal(r.proxy, proxy.url);
    assert.deepEqual(proxy.tunnels, [host]);
    await downloadVerified({ url: srv.url, dest: join(dir, 'b.h5'), md5: MD5, env: { http_proxy: proxy.url, NO_PROXY: 'example.org,127.0.0.1' } });
    assert.deepEqual(proxy.tunnels, [host], 'NO_PROXY host went through the proxy');
    assert.equal(srv.ranges.length, 2);
  } finally {
    await proxy.close();
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('proxy choice follows HTTPS_PROXY, HTTP_PROXY and NO_PROXY as curl reads them', () => {
  const https = new URL('https://storage.googleapis.com/x.h5');
  assert.equal(proxyFor(https, { HTTPS_PROXY: 'http://p:3128' }), 'http://p:3128');
  assert.equal(proxyFor(https, { HTTP_PROXY: 'http://q:8080' }), 'http://q:8080');
  assert.equal(proxyFor(new URL('http://a.b/x'), { HTTPS_PROXY: 'http://p:3128' }), null);
  assert.equal(proxyFor(https, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '.googleapis.com' }), null);
  assert.equal(bypassesProxy(https, '*'), true);
  assert.equal(bypassesProxy(https, 'googleapis.com:443'), true);
  assert.equal(bypassesProxy(https, 'googleapis.com:80'), false);
  assert.equal(bypassesProxy(https, 'apis.com'), false);
});

test('fetch: cache hit, --from-file (hash checked there too), a mirror URL, and one clear line when offline', async () => {
  const srv = await serve(FIXTURE);
  const dir = await tempDir();
  const fixture: KerasWeightFile = { file: 'fixture_notop.h5', url: 'http://127.0.0.1:9/never', md5: MD5 };
  try {
    const got = await fetchWeightFile(fixture, 'densenet121', { cacheDir: dir, url: srv.url, env: {} });
    assert.equal(got.from, 'download');
    assert.equal(got.path, join(dir, 'models', 'fixture_notop.h5'));
    const again = await fetchWeightFile(fixture, 'densenet121', { cacheDir: dir, url: srv.url, env: {} });
    assert.equal(again.from, 'cache');
    assert.equal(srv.ranges.length, 1);

    const offline = await tempDir();
    const local = join(offline, 'copy.h5');
    await writeFile(local, FIXTURE);
    assert.equal((await fetchWeightFile(fixture, 'densenet121', { cacheDir: offline, fromFile: local })).from, 'file');
    assert.deepEqual(await readFile(join(offline, 'models', 'fixture_notop.h5')), FIXTURE);

    // The real catalogue: a file that is not Keras' is refused, from a file or a mirror, and nothing is cached.
    const empty = await tempDir();
    const real = imagenetFile('densenet121');
    await assert.rejects(fetchImagenetWeights('densenet121', { cacheDir: empty, fromFile: local }), (e: Error) => e instanceof HashMismatchError && e.message.includes(`expected md5 ${real.md5}`));
    await assert.rejects(fetchImagenetWeights('densenet121', { cacheDir: empty, url: srv.url, env: {} }), HashMismatchError);
    assert.equal(await exists(join(empty, 'models', real.file)), false);

    // Nothing listens on the discard port: one line that says how to get the file.
    await assert.rejects(fetchImagenetWeights('densenet121', { cacheDir: empty, url: 'http://127.0.0.1:9/x.h5', env: {} }), (e: Error) => {
      return (
        e instanceof DownloadError &&
        e.offline &&
        !e.message.includes('\n') &&
        e.message.includes(real.url) &&
        e.message.includes(real.md5) &&
        e.message.includes('fedxray model fetch imagenet --arch densenet121 --from-file')
      );
    });
    assert.throws(() => imagenetFile('densenet-tiny'), /ImageNet weights exist for densenet121, densenet169, densenet201, not for densenet-tiny/);
    await rm(offline, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the cache lives under $XDG_CACHE_HOME/fedxray, else ~/.cache/fedxray', () => {
  assert.equal(fedxrayCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }), '/var/cache/me/fedxray');
  assert.match(fedxrayCacheDir({}), /\/\.cache\/fedxray$/);
  assert.match(fedxrayCacheDir({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/fedxray$/);
});
