import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { io as connect, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { HospitalRegistry } from './registry';
import { RunStore } from './store';
import { config, fakeHospital, honest, runToEnd } from './testing';

/** Resolves with the first arguments of a socket.io client event. */
function next(socket: Socket, event: string): Promise<unknown> {
  return new Promise((resolve) => socket.once(event, (value: unknown) => resolve(value)));
}

/** The handshake refusal a token gets now (its code and message). */
function refusal(url: string, token: string): Promise<{ code: string; message: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(url, { transports: ['websocket'], auth: { token, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
    s.on('connect', () => {
      s.disconnect();
      reject(new Error('connected, but should have been refused'));
    });
    s.on('connect_error', (err: Error & { data?: { code: string; message: string } }) => {
      s.disconnect();
      resolve(err.data!);
    });
  });
}

/** A quick run that never waits on a silent hospital for anything but the fit deadline (far beyond the test's timeout). */
const quick = () => config({ rounds: 2, minAvailable: 1, minFit: 1, maxFailures: 0, roundTimeoutMs: 600_000, batchNormCalibration: { enabled: false }, staticTokens: {} });

// reliability: revoking a hospital while it is connected and training | it is disconnected at once, its job fails as revoked, the round is redone without it and it is never sampled again | no | the coordinator logs "hospital expelled … revoked"; the hospital's reconnection is refused with "revoked"
test('a hospital revoked by another process while it trains is disconnected at once and never sampled again', { timeout: 60_000 }, async () => {
  // prepare: the registry is changed through its own database connection, as `fedxray coordinator remove-hospital` does
  const cfg = quick();
  const c = await Coordinator.start(cfg);
  const cli = new RunStore(cfg.dataDir);
  const registry = new HospitalRegistry(cli);
  const tokenA = registry.add('a');
  const tokenB = registry.add('b');
  const silent = fakeHospital(c.url, tokenB, () => null, { heartbeatMs: 100 });
  const [started] = await once(c, 'roundStart');
  assert.deepEqual(started.hospitals, ['b']);

  // execute
  const gone = next(silent.socket, 'disconnect');
  registry.remove('b');
  const reason = await gone;
  const a = fakeHospital(c.url, tokenA, honest);
  const result = await runToEnd(c, a);
  cli.close();

  // assert
  assert.equal(reason, 'io server disconnect');
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(
    result.rounds.map((r) => r.fit.hospitals),
    [['a'], ['a']],
  );
  const store = new RunStore(cfg.dataDir);
  const failed = store.failedJobs(c.runId).map(({ hospital, round, attempt, error }) => ({ hospital, round, attempt, error }));
  const expelled = store.events(c.runId).filter((e) => e.type === 'hospital_expelled').map((e) => e.data);
  store.close();
  assert.deepEqual(failed, [{ hospital: 'b', round: 1, attempt: 1, error: 'This hospital credential was revoked (hospital b)' }]);
  assert.deepEqual(expelled, [{ hospital: 'b', reason: 'revoked', message: 'This hospital credential was revoked (hospital b)' }]);
});

// reliability: a revoked or rotated token reconnecting | refused at the handshake, before any message, naming which | no | "revoked: This hospital token was revoked" or "rotated: This hospital token was replaced by a newer one (rotated): use the new token"
test('a token revoked in the running coordinator is refused at once as revoked, and a rotated one as rotated', { timeout: 60_000 }, async () => {
  // prepare
  const c = await Coordinator.start({ ...quick(), rounds: 1, minAvailable: 5 });
  const revoked = c.registry.add('st-marys');
  const first = c.registry.add('county');
  const connected = fakeHospital(c.url, first, () => null, { heartbeatMs: 100 });
  await next(connected.socket, 'connect');

  // execute: rotating the connected hospital's token disconnects it too
  const gone = next(connected.socket, 'disconnect');
  c.registry.remove('st-marys');
  const second = c.registry.add('county', { rotate: true });
  await gone;

  // assert
  try {
    assert.deepEqual(await refusal(c.url, revoked), { code: 'revoked', message: 'This hospital token was revoked' });
    assert.deepEqual(await refusal(c.url, first), { code: 'rotated', message: 'This hospital token was replaced by a newer one (rotated): use the new token' });
    const again = fakeHospital(c.url, second, () => null);
    await next(again.socket, 'connect');
    again.socket.disconnect();
  } finally {
    await c.stop();
  }
});

// reliability: a hospital is revoked after its update arrived, before the round aggregates | the round is redone without it: a revoked hospital's update never shapes the model | no | round failed: b lost its credential after sending an update; the round is redone without it
test('an update that arrived before its hospital was revoked does not count: the round is redone without it', { timeout: 60_000 }, async () => {
  const cfg = config({ rounds: 1, minAvailable: 2, minFit: 2, maxFailures: 1, maxRoundAttempts: 3, roundTimeoutMs: 3000, batchNormCalibration: { enabled: false }, staticTokens: {} });
  const c = await Coordinator.start(cfg);
  const cli = new RunStore(cfg.dataDir);
  const registry = new HospitalRegistry(cli);
  const tokens = { a: registry.add('a'), b: registry.add('b'), c: registry.add('c') };
  // a stays silent in the first attempt (its deadline keeps the round open), then trains
  let asked = 0;
  const a = fakeHospital(c.url, tokens.a, (round, fit) => (asked++ === 0 ? null : honest(round, fit)), { heartbeatMs: 100 });
  const b = fakeHospital(c.url, tokens.b, honest);
  while (b.acks.length === 0) await new Promise((r) => setTimeout(r, 20));
  assert.ok(b.acks[0].ok, "b's update was accepted");
  registry.remove('b');
  const late = fakeHospital(c.url, tokens.c, honest);
  const result = await c.done;
  const failedRounds = c.store.events(c.runId).filter((e) => e.type === 'round_failed').map((e) => e.data.reason);
  await c.close();
  cli.close();
  for (const h of [a, b, late]) h.socket.disconnect();
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(result.rounds[0].fit.hospitals, ['a', 'c'], 'the model comes from the hospitals that still hold a credential');
  assert.deepEqual(failedRounds, ['b lost its credential after sending an update; the round is redone without it']);
});
