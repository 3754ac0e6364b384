// Property-based fuzzing of the wire: random and mutated protocol messages,
// built from libs/protocol's zod schemas, sent to a real coordinator on
// loopback. It must answer each with a well-formed acknowledgement or
// nothing, stay up, and then run a round with honest hospitals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { io as connect, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import {
  ERROR_CODES,
  PROTOCOL_VERSION,
  CalibrateResultSchema,
  EvaluateResultSchema,
  FailureSchema,
  FitResultSchema,
  HandshakeAuthSchema,
  HeartbeatSchema,
  HelloSchema,
  ProgressSchema,
} from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { CLASSES, TOKENS, config, fakeHospital, honest } from './testing';
import { messages } from './testing-fuzz';
import { rawWebSocket } from './testing-ws';

/** Cases per kind; their sum (450) is the count docs/FEDERATION.md states. */
const CASES = { events: 300, handshakes: 50, rawFrames: 100 };
const SEED = 20_261_204;

/** Hospital → coordinator events, each with its schema and whether the coordinator acknowledges it. */
const EVENTS: [name: string, schema: z.ZodType, acked: boolean][] = [
  ['hello', HelloSchema, true],
  ['fitResult', FitResultSchema, true],
  ['evaluateResult', EvaluateResultSchema, true],
  ['calibrateResult', CalibrateResultSchema, true],
  ['heartbeat', HeartbeatSchema, false],
  ['progress', ProgressSchema, false],
  ['failure', FailureSchema, false],
];

/** A hello the coordinator would accept would make the fuzzer a hospital of the run: those are left out. */
const joinsTheRun = (event: string, msg: unknown) =>
  event === 'hello' && HelloSchema.safeParse(msg).success && [...(msg as { classes: string[] }).classes].sort().join() === [...CLASSES].sort().join();

const event = fc.oneof(
  ...EVENTS.map(([name, schema, acked]) => messages(schema).map((msg) => ({ name, msg, acked }))),
  fc.record({ name: fc.string({ maxLength: 12 }), msg: fc.jsonValue({ maxDepth: 2 }), acked: fc.constant(false) }),
);

function isAck(a: unknown): boolean {
  if (!a || typeof a !== 'object') return false;
  const ack = a as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  if (ack.ok === true) return true;
  return ack.ok === false && (ERROR_CODES as readonly unknown[]).includes(ack.error?.code) && typeof ack.error?.message === 'string';
}

async function healthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/api/health`);
  return res.status === 200 && (await res.json()).ok === true;
}

function authenticated(url: string): Promise<Socket> {
  const s = connect(url, { transports: ['websocket'], auth: { token: TOKENS.other, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

// reliability: 450 random and mutated protocol messages (built from the zod schemas) as handshakes, events of an authenticated socket, and raw websocket frames | each is refused or answered with an error code; the coordinator stays up and runs the next round with honest hospitals | no | acks with bad_message or stale_round; "connection refused" log lines
test('fuzzed handshakes, events and raw frames leave the coordinator up and serving honest hospitals', { timeout: 180_000 }, async () => {
  // Throttling is tested on its own (network.test.ts); here every handshake must reach the checks.
  const c = await Coordinator.start(config({ rounds: 2, minAvailable: 2, minFit: 2, authFailureLimit: 1_000_000 }));
  const first = fakeHospital(c.url, TOKENS.good, honest);
  let second: ReturnType<typeof fakeHospital> | null = null;
  let attacker: Socket | null = null;
  try {
    await new Promise<void>((r) => first.socket.once('welcome', () => r()));

    await fc.assert(
      fc.asyncProperty(messages(HandshakeAuthSchema), async (auth) => {
        const s = connect(c.url, { transports: ['websocket'], auth: auth as object, reconnection: false });
        const outcome = await new Promise<string>((resolve) => {
          const t = setTimeout(() => resolve('no answer in 5 s'), 5000);
          const settle = (o: string) => {
            clearTimeout(t);
            resolve(o);
          };
          s.once('connect', () => settle('connected'));
          s.once('connect_error', (err: Error & { data?: { code?: string } }) => settle(err.data?.code ?? err.message));
          // An auth that is not an object breaks socket.io's packet format: the server drops the connection.
          s.io.once('close', () => settle('closed'));
        });
        s.disconnect();
        const valid = HandshakeAuthSchema.safeParse(auth);
        if (!valid.success) assert.ok(['bad_message', 'closed'].includes(outcome), outcome);
        else assert.ok(['unauthorized', 'bad_version', 'closed'].includes(outcome), outcome);
        assert.ok(await healthy(c.url));
      }),
      { numRuns: CASES.handshakes, seed: SEED },
    );

    await fc.assert(
      fc.asyncProperty(event, async ({ name, msg, acked }) => {
        if (joinsTheRun(name, msg)) return;
        if (!attacker?.connected) attacker = await authenticated(c.url);
        if (acked) {
          // Every message of an acknowledged event is answered: accepted, or refused with a code and why.
          const socket: Socket = attacker;
          let onCut = () => {};
          const cut = new Promise<'cut'>((resolve) => socket.once('disconnect', (onCut = () => resolve('cut'))));
          const ack = await Promise.race([socket.timeout(5000).emitWithAck(name, msg).catch((err: Error) => err), cut]);
          socket.off('disconnect', onCut);
          // A socket that has not said hello may send only 64 KiB and stay only helloTimeoutMs: the gate cuts it.
          if (ack === 'cut') return;
          assert.ok(isAck(ack), `${name}: ${ack instanceof Error ? ack.message : JSON.stringify(ack)}`);
        } else {
          attacker.emit(name, msg);
        }
        assert.ok(await healthy(c.url));
      }),
      { numRuns: CASES.events, seed: SEED },
    );
    (attacker as Socket | null)?.disconnect();

    const packet = fc.oneof(
      fc.string({ maxLength: 64 }),
      fc.constantFrom('0', '1', '2', '3', '4', '40', '41', '42', '43', '44', '45', '46', '4x', '42[', '42["hello",{}]', '451-["fitResult",{"_placeholder":true,"num":0}]', '40/dashboard,{}'),
      fc.tuple(fc.constantFrom('40', '42', '43', '45', '40/', '42/dashboard,'), fc.jsonValue({ maxDepth: 3 })).map(([p, v]) => `${p}${JSON.stringify(v)}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 3 }), async (packets) => {
        const ws = await rawWebSocket(c.url);
        for (const p of packets) ws.sendText(p);
        await new Promise((r) => setTimeout(r, 5));
        ws.socket.destroy();
        assert.ok(await healthy(c.url));
      }),
      { numRuns: CASES.rawFrames, seed: SEED },
    );

    // The first hospital stayed connected through it all; with a second, the round runs.
    assert.ok(first.socket.connected, 'the honest hospital lost its connection during the fuzzing');
    const ended = new Promise<{ round: number; fit: { hospitals: string[] } }>((resolve) => c.once('roundEnd', resolve));
    second = fakeHospital(c.url, TOKENS.bad, honest);
    const round = await ended;
    assert.equal(round.round, 1);
    assert.deepEqual(round.fit.hospitals, ['bad', 'good']);
    assert.ok(first.acks.length > 0 && first.acks.every((a) => a.ok), JSON.stringify(first.acks));
  } finally {
    first.socket.disconnect();
    second?.socket.disconnect();
    await c.stop();
  }
});
