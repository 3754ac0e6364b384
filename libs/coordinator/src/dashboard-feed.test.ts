import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import { Coordinator } from './coordinator';
import { TOKENS, config, fakeHospital, honest } from './testing';

/** Opens a dashboard socket: the socket once it has the state, or the refusal's code. */
function open(url: string): Promise<{ socket: Socket; states: number } | string> {
  const s = connect(`${url}/dashboard`, { transports: ['websocket'], reconnection: false });
  return new Promise((resolve) => {
    const got = { socket: s, states: 0 };
    s.on('state', () => {
      if (got.states++ === 0) resolve(got);
    });
    s.once('connect_error', (err: Error & { data?: { code?: string } }) => {
      s.disconnect();
      resolve(err.data?.code ?? err.message);
    });
  });
}

// reliability: hundreds of dashboard sockets from loopback while rounds run | at most maxDashboardConnections (32) are let in; the state goes out at most twice a second | no | the extra dashboards get connect_error too_many_connections
test('dashboard sockets are capped, and the state they get is coalesced while a run goes on', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 2, maxDashboardConnections: 3 }));
  const opened = await Promise.all(Array.from({ length: 5 }, () => open(c.url)));
  const admitted = opened.filter((o) => typeof o !== 'string');
  const refused = opened.filter((o) => typeof o === 'string');
  assert.equal(admitted.length, 3);
  assert.deepEqual(refused, ['too_many_connections', 'too_many_connections']);
  admitted[0].socket.disconnect();
  const again = await open(c.url);
  assert.notEqual(typeof again, 'string', `a freed place is taken again: ${String(again)}`);

  let changes = 0;
  c.on('state', () => changes++);
  const a = fakeHospital(c.url, TOKENS.good, honest);
  const b = fakeHospital(c.url, TOKENS.bad, honest);
  const round = await new Promise<{ round: number }>((resolve) => c.once('roundEnd', resolve));
  await new Promise((r) => setTimeout(r, 700));
  a.socket.disconnect();
  b.socket.disconnect();
  await c.stop();
  assert.equal(round.round, 1);
  const watcher = admitted[1];
  assert.ok(watcher.states >= 2, 'the dashboard saw the run move');
  assert.ok(watcher.states < changes, `${watcher.states} broadcasts for ${changes} state changes: not coalesced`);
  for (const o of [...admitted, again]) if (typeof o !== 'string') o.socket.disconnect();
});
