import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { Server } from 'socket.io';
import { diagnoseConnectError, probeTls, type ConnectionDiagnosis } from './connection';
import { hospitalSocketOptions } from './transport';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const LOOPBACK = { cert: fixture('loopback-cert.pem'), key: fixture('loopback-key.pem') };
const ELSEWHERE = { cert: fixture('elsewhere-cert.pem'), key: fixture('elsewhere-key.pem') };

async function listen(server: HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port where nothing listens: bound on port 0, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** One connection attempt as a hospital makes it (its transport, no retries); the diagnosis of its failure. */
async function attempt(url: string, extra: Record<string, unknown> = {}): Promise<ConnectionDiagnosis> {
  const socket = io(url, { ...hospitalSocketOptions(false), reconnection: false, timeout: 5000, ...extra } as any);
  try {
    const err = await new Promise<any>((resolve, reject) => {
      socket.on('connect_error', resolve);
      socket.on('connect', () => reject(new Error(`connected to ${url}, but a failure was expected`)));
    });
    const speaksTls = url.startsWith('http:') ? await probeTls(url, 2000) : undefined;
    return diagnoseConnectError(err, url, speaksTls);
  } finally {
    socket.close();
  }
}

// reliability: a hospital pointed at a wrong port, https:// against plain HTTP, http:// against TLS, a self-signed certificate without --ca, a wrong path, a web server that is not a coordinator | the cause is named with a suggestion instead of a bare websocket error | no | one line such as "connection refused by host:port: nothing listens there" or "TLS: unknown CA"
test('each way of failing to reach a coordinator is named, with a suggestion, over real sockets', { timeout: 60_000 }, async (t) => {
  // Prepare: one server per failure, each on a port of its own on loopback.
  const servers: HttpServer[] = [];
  const serve = async (server: HttpServer, withSocketIo = false) => {
    if (withSocketIo) new Server(server);
    servers.push(server);
    return listen(server);
  };
  const plainIo = await serve(createServer(), true);
  const tlsIo = await serve(createHttpsServer(LOOPBACK), true);
  const elsewhereIo = await serve(createHttpsServer(ELSEWHERE), true);
  const notFound = await serve(createServer((_req, res) => res.writeHead(404).end('no such page')));
  const badGateway = await serve(createServer((_req, res) => res.writeHead(502).end('bad gateway')));
  const refused = await closedPort();
  t.after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  // Execute and assert, one failure at a time.
  const cases: { what: string; url: string; extra?: Record<string, unknown>; kind: string; retry: string; cause: RegExp; suggestion: RegExp }[] = [
    { what: 'wrong port', url: `http://127.0.0.1:${refused}`, kind: 'refused', retry: 'retry', cause: /connection refused by 127\.0\.0\.1:\d+/, suggestion: /may not be up yet.*host and port/ },
    { what: 'https:// against plain HTTP', url: `https://127.0.0.1:${plainIo}`, kind: 'protocol-mismatch', retry: 'bounded', cause: /protocol mismatch: .* plain HTTP, not TLS/, suggestion: /use http:\/\/127\.0\.0\.1/ },
    { what: 'http:// against TLS', url: `http://127.0.0.1:${tlsIo}`, kind: 'protocol-mismatch', retry: 'bounded', cause: /protocol mismatch: .* speaks TLS, but the URL says http:\/\//, suggestion: /use https:\/\/127\.0\.0\.1/ },
    { what: 'self-signed certificate without --ca', url: `https://127.0.0.1:${tlsIo}`, kind: 'tls-unknown-ca', retry: 'bounded', cause: /^TLS: unknown CA: .*self-signed/, suggestion: /--ca <file>/ },
    { what: 'certificate for another host', url: `https://127.0.0.1:${elsewhereIo}`, extra: { ca: ELSEWHERE.cert }, kind: 'tls-hostname', retry: 'bounded', cause: /certificate does not name 127\.0\.0\.1/, suggestion: /host name the certificate names/ },
    { what: 'a web server that is not a coordinator', url: `http://127.0.0.1:${notFound}`, kind: 'http-status', retry: 'bounded', cause: /HTTP 404 .*not a fedxray coordinator/, suggestion: /forward \/socket\.io\// },
    { what: 'a proxy whose coordinator is down', url: `http://127.0.0.1:${badGateway}`, kind: 'http-status', retry: 'retry', cause: /HTTP 502 .*proxy/, suggestion: /retrying/ },
    { what: 'a path in the URL', url: `http://127.0.0.1:${plainIo}/fedxray`, kind: 'bad-path', retry: 'bounded', cause: /nothing at the path \/fedxray/, suggestion: new RegExp(`without a path: http://127\\.0\\.0\\.1:${plainIo}$`) },
  ];
  for (const c of cases) {
    const d = await attempt(c.url, c.extra);
    assert.equal(d.kind, c.kind, `${c.what}: ${d.cause}`);
    assert.equal(d.retry, c.retry, c.what);
    assert.match(d.cause, c.cause, c.what);
    assert.match(d.suggestion, c.suggestion, c.what);
    assert.ok(!d.cause.includes('\n'), `${c.what}: the cause is one line`);
  }
  // The same TLS coordinator is reached once its certificate is trusted: the failures above are the URL's and the trust's, not the servers'.
  const ok = io(`https://127.0.0.1:${tlsIo}`, { ...hospitalSocketOptions(false), reconnection: false, ca: LOOPBACK.cert } as any);
  await new Promise<void>((resolve, reject) => {
    ok.on('connect', resolve);
    ok.on('connect_error', reject);
  });
  ok.close();
});

// reliability: a hospital with a bad or revoked token, or another protocol version | it stops at once instead of retrying forever; a second connection with a token already in use is retried | no | "refused by the coordinator (unauthorized): …"
test('refusals by the coordinator: bad tokens and versions are final, a second connection is retried', () => {
  const url = 'https://coordinator.example.org:8443';
  const unauthorized = diagnoseConnectError({ message: 'unknown token', data: { code: 'unauthorized', message: 'unknown token' } }, url);
  assert.equal(unauthorized.retry, 'fatal');
  assert.match(unauthorized.cause, /refused by the coordinator \(unauthorized\): unknown token/);
  assert.match(unauthorized.suggestion, /new token/);
  assert.equal(diagnoseConnectError({ data: { code: 'bad_version', message: 'v2' } }, url).retry, 'fatal');
  assert.equal(diagnoseConnectError({ data: { code: 'already_connected', message: 'h1 is connected' } }, url).retry, 'retry');
});

// reliability: a hospital whose coordinator host is unknown, whose certificate expired, or that cannot reach the network | the cause is named; unknown hosts and expired certificates are given up on after --give-up-after | no | "host <name> not found (DNS)", "TLS: the coordinator's certificate has expired", "host:port is unreachable"
test('causes that need no server to show: DNS, expiry, unreachable', () => {
  const url = 'https://coordinator.example.org:8443';
  const ws = (code: string, message: string) => ({ message: 'websocket error', description: { message, error: { code, message } } });
  const dns = diagnoseConnectError(ws('ENOTFOUND', 'getaddrinfo ENOTFOUND coordinator.example.org'), url);
  assert.deepEqual([dns.kind, dns.retry], ['dns', 'bounded']);
  assert.match(dns.cause, /host coordinator\.example\.org not found/);
  const expired = diagnoseConnectError(ws('CERT_HAS_EXPIRED', 'certificate has expired'), url);
  assert.deepEqual([expired.kind, expired.retry], ['tls-expired', 'bounded']);
  assert.match(expired.suggestion, /clock/);
  const timeout = diagnoseConnectError(ws('ETIMEDOUT', 'connect ETIMEDOUT'), url);
  assert.deepEqual([timeout.kind, timeout.retry], ['unreachable', 'retry']);
  assert.match(timeout.cause, /coordinator\.example\.org:8443 is unreachable/);
  // A temporary DNS failure may clear by itself.
  assert.equal(diagnoseConnectError(ws('EAI_AGAIN', 'getaddrinfo EAI_AGAIN'), url).retry, 'retry');
});
