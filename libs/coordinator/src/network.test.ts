// A stranger on the network: what an unauthenticated socket may cost the
// coordinator, over real loopback sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { UNAUTHENTICATED_MAX_BYTES } from './door';
import { createLogger } from './log';
import { TOKENS, config } from './testing';
import { rawWebSocket } from './testing-ws';

/** Resolves true when `p` settles within `ms`, false otherwise. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** A hospital socket's first outcome: connected, or the refusal (code, or the HTTP status of a refused upgrade). */
function attempt(url: string, token: string): Promise<{ connected: Socket } | { refused: string }> {
  const s = connect(url, { transports: ['websocket'], auth: { token, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
  return new Promise((resolve) => {
    s.once('connect', () => resolve({ connected: s }));
    s.once('connect_error', (err: Error & { data?: { code?: string }; description?: { message?: string } }) => {
      s.disconnect();
      const status = /Unexpected server response: (\d+)/.exec(String(err.description?.message ?? ''))?.[1];
      resolve({ refused: err.data?.code ?? (status ? `http ${status}` : err.message) });
    });
  });
}

// reliability: a 250 MB websocket frame from a socket that never authenticated | the coordinator cuts the connection after 64 KiB; nothing of the frame is buffered | no | log line "connection refused" with code too_large
test('a socket that has not authenticated may send only a small amount before the coordinator cuts it', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1 }));
  try {
    const ws = await rawWebSocket(c.url);
    assert.equal(ws.status, 101);
    ws.sendFrameHeader(250 * 1024 * 1024);
    const chunk = Buffer.alloc(1024 * 1024);
    let sent = 0;
    for (let i = 0; i < 32 && !ws.isClosed(); i++) if (await ws.write(chunk)) sent += chunk.length;
    assert.ok(await within(ws.closed, 10_000), `the connection is still open after ${sent} bytes of a 250 MB frame`);
    assert.ok(sent < 32 * chunk.length, `all ${sent} bytes were taken`);
    assert.ok(UNAUTHENTICATED_MAX_BYTES <= 64 * 1024);
  } finally {
    await c.stop();
  }
});

// reliability: a socket that connects and never authenticates, or authenticates and never says hello | closed after helloTimeoutMs (10 s by default, was 45 s) | no | log line "connection refused" with code hello_timeout
test('a connection that does not authenticate and say hello in time is closed', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, helloTimeoutMs: 300 }));
  try {
    const silent = await rawWebSocket(c.url);
    assert.equal(silent.status, 101);
    const mute = await attempt(c.url, TOKENS.good);
    assert.ok('connected' in mute, 'refused' in mute ? mute.refused : '');
    const gone = new Promise<string>((resolve) => mute.connected.once('disconnect', (reason) => resolve(reason)));
    assert.ok(await within(silent.closed, 10_000), 'a silent socket is still open after 10 s');
    assert.ok(await within(gone, 10_000), 'an authenticated socket that never said hello is still open after 10 s');
    mute.connected.disconnect();
  } finally {
    await c.stop();
  }
});

// reliability: wrong tokens again and again (many handshakes on one websocket, then new connections) | one refusal per connection, then the address gets HTTP 429 for a growing interval | no | one "connection refused" line, then one "connections refused" line per address per minute with a count
test('failed authentications close the socket, throttle the address, and are logged once with a count', { timeout: 60_000 }, async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('json', (l) => lines.push(JSON.parse(l)));
  const c = await Coordinator.start(config({ rounds: 1, authFailureLimit: 3, authBlockMs: 400 }), { logger });
  let stopped = false;
  try {
    // one websocket, fifty handshakes with a wrong token
    const ws = await rawWebSocket(c.url);
    assert.equal(ws.status, 101);
    for (let i = 0; i < 50 && !ws.isClosed(); i++) ws.sendText(`40${JSON.stringify({ token: `wrong-token-${i}-0123456789`, protocolVersion: PROTOCOL_VERSION })}`);
    assert.ok(await within(ws.closed, 10_000), 'the socket stays open after a refused handshake');
    const refusals = ws.texts.filter((t) => t.startsWith('44'));
    assert.equal(refusals.length, 1, ws.texts.join('\n'));

    // new connections: after the limit, the address is refused at the upgrade, whatever its token
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await attempt(c.url, `wrong-token-again-${i}-0123456789`);
      outcomes.push('refused' in r ? r.refused : 'connected');
    }
    assert.deepEqual(outcomes, ['unauthorized', 'unauthorized', 'http 429', 'http 429']);
    const honest = await attempt(c.url, TOKENS.good);
    assert.deepEqual(honest, { refused: 'http 429' });
    const blocked = await rawWebSocket(c.url);
    assert.equal(blocked.status, 429);
    assert.match(blocked.head, /\r\nRetry-After: \d+\r\n/i);

    // the wait ends (bounded retries), and the honest token gets in
    let admitted: Socket | null = null;
    for (let i = 0; i < 50 && !admitted; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await attempt(c.url, TOKENS.good);
      if ('connected' in r) admitted = r.connected;
    }
    assert.ok(admitted, 'the honest token was never let in again');
    admitted.disconnect();
    await c.stop();
    stopped = true;

    const refused = lines.filter((l) => l.msg === 'connection refused' && l.address === '127.0.0.1');
    const summaries = lines.filter((l) => l.msg === 'connections refused' && l.address === '127.0.0.1');
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.equal(summaries.length, 1, JSON.stringify(lines));
    assert.ok(Number(summaries[0].count) >= 5, JSON.stringify(summaries));
  } finally {
    if (!stopped) await c.stop();
  }
});
