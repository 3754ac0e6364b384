// Who the coordinator trusts without the dashboard token: this machine asking
// for itself, and nobody a proxy or another site sends, over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { io as connect } from 'socket.io-client';
import { callerOf } from './caller';
import { Coordinator } from './coordinator';
import { config } from './testing';

const DASHBOARD_TOKEN = 'dashboard-token-0123456789';

/** GET or HEAD with any headers (Host included, which fetch would not let us set): the status. */
function status(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a dashboard socket gets: the state, or the refusal's code. */
function dashboard(url: string, opts: { origin?: string; token?: string }): Promise<string> {
  const s = connect(`${url}/dashboard`, {
    transports: ['websocket'],
    reconnection: false,
    auth: opts.token ? { token: opts.token } : {},
    extraHeaders: opts.origin ? { origin: opts.origin } : {},
  });
  return new Promise<string>((resolve) => {
    s.once('state', () => resolve('state'));
    s.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
  }).finally(() => s.disconnect());
}

// reliability: a cross-site page (Origin evil.example) opens the dashboard websocket from a local browser | refused unauthorized; no state is sent | no | the page gets connect_error unauthorized
// reliability: a browser behind a TLS proxy on the same machine (X-Forwarded-For, or a foreign Host) reads the API and /model/ | 401 unless it gives the dashboard token | no | HTTP 401 "give the dashboard token"
test('only this machine asking for itself is trusted: a foreign Origin, a foreign Host or an unvouched proxy needs the token', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, dashboardToken: DASHBOARD_TOKEN }));
  try {
    assert.equal(await dashboard(c.url, {}), 'state');
    assert.equal(await dashboard(c.url, { origin: c.url }), 'state');
    assert.equal(await dashboard(c.url, { origin: 'http://evil.example' }), 'unauthorized');
    assert.equal(await dashboard(c.url, { origin: 'null' }), 'unauthorized');
    assert.equal(await dashboard(c.url, { origin: 'http://evil.example', token: DASHBOARD_TOKEN }), 'state');

    assert.equal(await status(c.url, '/api/state'), 200);
    assert.equal(await status(c.url, '/api/state', { origin: 'http://evil.example' }), 401);
    assert.equal(await status(c.url, '/api/state', { host: 'evil.example' }), 401, 'a DNS-rebound name is not this machine');
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '203.0.113.9' }), 401);
    assert.equal(await status(c.url, '/model/model.json', { 'x-forwarded-for': '203.0.113.9' }), 401);
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '127.0.0.1' }), 401, 'a proxy nobody vouched for');
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '203.0.113.9', authorization: `Bearer ${DASHBOARD_TOKEN}` }), 200);
  } finally {
    await c.stop();
  }
});

// reliability: a client behind --trust-proxy writes its own X-Forwarded-For to look local | only the trusted proxy's own hop is believed; it still needs the token | no | HTTP 401 "give the dashboard token"
test('with trustProxy, X-Forwarded-For is believed only for the trusted hops', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, dashboardToken: DASHBOARD_TOKEN, trustProxy: ['127.0.0.1'] }));
  try {
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '127.0.0.1' }), 200, 'a browser on the proxy machine itself');
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '203.0.113.9' }), 401);
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '127.0.0.1, 203.0.113.9' }), 401, 'the client wrote 127.0.0.1 itself');
    assert.equal(await status(c.url, '/api/state', { 'x-forwarded-for': '203.0.113.9', authorization: `Bearer ${DASHBOARD_TOKEN}` }), 200);
  } finally {
    await c.stop();
  }
  assert.equal(callerOf('10.0.0.2', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.0.0.1' }, ['10.0.0.2', '10.0.0.1']).address, '203.0.113.9');
  assert.equal(callerOf('198.51.100.7', { 'x-forwarded-for': '127.0.0.1' }, ['10.0.0.2']).address, '198.51.100.7', 'a peer that is no trusted proxy');
  assert.equal(callerOf('::ffff:127.0.0.1', {}, []).address, '127.0.0.1');
});

/** GET with headers: the status and the Retry-After header. */
function answer(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

// reliability: a stranger guesses the dashboard token over HTTP (wrong Bearer tokens in a row) | after authFailureLimit wrong tokens its address gets 429 with Retry-After, the right token included, until the block ends; requests without a token (this machine's own browser) are not throttled | no | HTTP 429 "too many wrong dashboard tokens"; the refusals summarised in the log per address
test('wrong dashboard tokens over HTTP are throttled per address, as hospitals’ wrong tokens are', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, dashboardToken: DASHBOARD_TOKEN, authFailureLimit: 2, authBlockMs: 1500 }));
  const stranger = (token: string) => answer(c.url, '/api/state', { host: 'dashboard.example', authorization: `Bearer ${token}` });
  try {
    assert.equal((await stranger(DASHBOARD_TOKEN)).status, 200);
    assert.equal((await stranger('guess-1')).status, 401);
    assert.equal((await stranger('guess-2')).status, 401);
    const blocked = await stranger(DASHBOARD_TOKEN);
    assert.equal(blocked.status, 429, 'blocked, even with the right token');
    assert.ok(Number(blocked.retryAfter) >= 1, `Retry-After ${blocked.retryAfter}`);
    assert.equal(await status(c.url, '/api/state'), 200, 'this machine asking for itself, without a token, is not throttled');
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await stranger(DASHBOARD_TOKEN)).status, 200, 'the block ends');
    assert.equal((await stranger('guess-3')).status, 401, 'a success forgave the earlier failures');
  } finally {
    await c.stop();
  }
});

test('wrong dashboard tokens on the dashboard socket count against the address too', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, dashboardToken: DASHBOARD_TOKEN, authFailureLimit: 2, authBlockMs: 5000 }));
  try {
    assert.equal(await dashboard(c.url, { origin: 'http://evil.example', token: 'guess-1' }), 'unauthorized');
    assert.equal(await dashboard(c.url, { origin: 'http://evil.example', token: 'guess-2' }), 'unauthorized');
    const blocked = await answer(c.url, '/model/model.json', { host: 'dashboard.example', authorization: `Bearer ${DASHBOARD_TOKEN}` });
    assert.equal(blocked.status, 429, 'the address is blocked for the API and /model/ as well');
    assert.notEqual(await dashboard(c.url, { origin: 'http://evil.example', token: DASHBOARD_TOKEN }), 'state', 'and for the dashboard socket');
  } finally {
    await c.stop();
  }
});
