import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { PROTOCOL_VERSION, encodeWeights, type NamedWeights } from '@fedxray/protocol';
import { createSummary } from '@fedxray/evaluation';
import { Hospital, type ConnectFailure, type HospitalEvents } from './session';
import type { LocalTrainer } from './trainer';

const LOOPBACK = { cert: readFileSync(new URL('./fixtures/loopback-cert.pem', import.meta.url)), key: readFileSync(new URL('./fixtures/loopback-key.pem', import.meta.url)) };
const TOKEN = 'token-session-test-0000000';
const CLASSES = ['left', 'right'];
const WEIGHTS: NamedWeights = [{ name: 'dense/kernel', shape: [2], values: new Float32Array([0.5, -0.5]) }];

/** A trainer that computes nothing: fit waits until the test lets it finish, so the test decides what happens meanwhile. */
function heldTrainer(): LocalTrainer & { release: () => void } {
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  return {
    release: () => release(),
    facts: () => ({ classes: CLASSES, withImages: CLASSES, examples: { train: 8, val: 2, test: 2 }, skipped: 0 }),
    backend: () => 'none',
    setup: async () => {},
    fit: async () => {
      await held;
      return { weights: WEIGHTS, examples: 8, metrics: { loss: 0.5, accuracy: 0.75 } };
    },
    evaluate: async () => createSummary(CLASSES),
    calibrate: async () => ({ stats: [], examples: 0 }),
    abort: () => {},
    close: async () => {},
  };
}

async function listen(server: HttpServer, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

/** Records every event a hospital emits, in order. */
function record(h: Hospital): { name: keyof HospitalEvents; data: any }[] {
  const seen: { name: keyof HospitalEvents; data: any }[] = [];
  for (const name of ['connected', 'welcome', 'disconnected', 'connectFailed', 'refused', 'fitDone', 'evaluateDone', 'finished', 'error'] as const) {
    h.on(name, (data: any) => seen.push({ name, data }));
  }
  return seen;
}

const FAST = { reconnectDelayMs: 20, reconnectDelayMaxMs: 60 };

// reliability: a hospital that retries a cause retrying cannot fix (an untrusted certificate) | reported once, then it gives up after --give-up-after | no | "Gave up connecting to <url> after N s and M attempts: <cause>; <suggestion>"
test('a cause retrying cannot fix (an untrusted certificate) is reported once, then the hospital gives up within the bound', { timeout: 30_000 }, async () => {
  const server = createHttpsServer(LOOPBACK);
  new Server(server);
  const port = await listen(server);
  const trainer = heldTrainer();
  const h = await Hospital.start({ coordinator: `https://127.0.0.1:${port}`, token: TOKEN, trainer: { data: { dir: '/unused' } }, giveUpAfterMs: 500, ...FAST }, { trainer });
  const seen = record(h);
  try {
    await assert.rejects(h.done, /^Error: Gave up connecting to https:\/\/127\.0\.0\.1:\d+ after \d+ s and (\d+) attempts: TLS: unknown CA: .*; get the coordinator's CA certificate .* --ca <file>$/);
    const reports = seen.filter((e) => e.name === 'connectFailed').map((e) => e.data as ConnectFailure);
    assert.equal(reports.length, 1, 'the same cause is reported once, not at every attempt');
    assert.equal(reports[0].kind, 'tls-unknown-ca');
    assert.ok(reports[0].giveUpInMs !== undefined && reports[0].giveUpInMs <= 500, `giveUpInMs ${reports[0].giveUpInMs}`);
    const attempts = Number(/and (\d+) attempts/.exec(seen.find((e) => e.name === 'refused')!.data.message)![1]);
    assert.ok(attempts >= 2, `retried before giving up (${attempts} attempts)`);
  } finally {
    await h.close();
    await closeServer(server);
  }
});

// reliability: a hospital started before its coordinator | it keeps retrying past --give-up-after (nothing listens yet is worth waiting for) and joins once the coordinator listens | no | "connection refused by host:port: nothing listens there", once per cause
test('a coordinator not up yet is waited for past the give-up bound, and joined once it listens', { timeout: 30_000 }, async () => {
  const probe = createServer();
  const port = await listen(probe);
  await closeServer(probe);
  const trainer = heldTrainer();
  const h = await Hospital.start({ coordinator: `http://127.0.0.1:${port}`, token: TOKEN, trainer: { data: { dir: '/unused' } }, giveUpAfterMs: 100, ...FAST }, { trainer });
  const seen = record(h);
  let gaveUp = false;
  h.done.catch(() => (gaveUp = true));
  const server = createServer();
  try {
    const first = await new Promise<ConnectFailure>((resolve) => h.once('connectFailed', resolve));
    assert.equal(first.kind, 'refused');
    assert.equal(first.giveUpInMs, undefined, 'a refused connection is retried without end');
    // Three times the give-up bound passes before the coordinator starts.
    await new Promise((r) => setTimeout(r, 300));
    const io = new Server(server);
    io.on('connection', (socket) => socket.on('hello', (_msg: unknown, ack: (a: unknown) => void) => ack({ ok: true })));
    const connected = new Promise((resolve) => h.once('connected', resolve));
    await listen(server, port);
    await connected;
    assert.equal(gaveUp, false);
    assert.equal(seen.filter((e) => e.name === 'connectFailed').length, 1);
  } finally {
    await h.close();
    await closeServer(server);
  }
});

test('what the hospital says matches what happens: a lost connection mid-training, a result not sent, the split evaluated, the end of the run', { timeout: 30_000 }, async () => {
  // Prepare: a coordinator that welcomes the hospital, asks it to train, and lets the test drive the rest.
  const server = createServer();
  const io = new Server(server, { maxHttpBufferSize: 1e7 });
  const connections: Socket[] = [];
  const results: string[] = [];
  io.on('connection', (socket) => {
    connections.push(socket);
    socket.on('hello', (_m: unknown, ack: (a: unknown) => void) => {
      ack({ ok: true });
      socket.emit('welcome', { protocolVersion: PROTOCOL_VERSION, runId: 'run-1', hospitalId: 'h1', hospitalName: 'h1', heartbeatIntervalMs: 1000, maxPayloadBytes: 1e7, model: {}, classes: CLASSES });
    });
    for (const event of ['fitResult', 'evaluateResult']) {
      socket.on(event, (_m: unknown, ack: (a: unknown) => void) => {
        results.push(event);
        ack({ ok: true });
      });
    }
  });
  const port = await listen(server);
  const trainer = heldTrainer();
  const h = await Hospital.start({ coordinator: `http://127.0.0.1:${port}`, token: TOKEN, trainer: { data: { dir: '/unused' } }, ...FAST }, { trainer });
  const seen = record(h);
  const next = <K extends keyof HospitalEvents>(name: K) => new Promise<HospitalEvents[K][0]>((resolve) => h.once(name, ((d: HospitalEvents[K][0]) => resolve(d)) as any));
  try {
    await next('welcome');
    const training = next('fitStart');
    connections[0].emit('fit', { runId: 'run-1', round: 1, config: { localEpochs: 1, batchSize: 4 }, weights: encodeWeights(WEIGHTS) });
    await training;

    // Execute: the coordinator's connection dies mid-training (as when it is killed), then training ends.
    const dropped = next('disconnected');
    const rejoined = next('welcome');
    connections[0].conn.close();
    const lost = await dropped;
    trainer.release();
    const fit = await next('fitDone');
    await rejoined;
    // Back with a coordinator: it asks for an evaluation on the validation split, then ends the run.
    const evaluated = next('evaluateDone');
    connections[1].emit('evaluate', { runId: 'run-1', round: 1, split: 'val', weights: encodeWeights(WEIGHTS) });
    const evaluation = await evaluated;
    connections[1].emit('bye', { reason: 'run complete', finished: true });
    const end = await h.done;

    // Assert
    assert.equal(lost.reason, 'transport close');
    assert.match(lost.explanation, /the coordinator stopped, or the network dropped it/);
    assert.equal(fit.delivery, 'not-sent');
    assert.equal(fit.accepted, false);
    assert.match(fit.error ?? '', /no connection to the coordinator when the result was ready/);
    assert.deepEqual([evaluation.split, evaluation.delivery], ['val', 'accepted']);
    assert.deepEqual(results, ['evaluateResult'], 'the stale update was not sent after reconnecting');
    assert.deepEqual(end, { reason: 'run complete', finished: true });
    const names = seen.map((e) => e.name);
    assert.equal(names[names.length - 1], 'finished', `nothing after the end of the run: ${names.join(', ')}`);
    assert.equal(names.filter((n) => n === 'disconnected').length, 1, 'leaving is not reported as a lost connection');
  } finally {
    trainer.release();
    await h.close();
    io.close();
    await closeServer(server);
  }
});

/** A trainer whose fit reports progress with a running loss, then returns at once. */
function talkativeTrainer(): LocalTrainer {
  return {
    ...heldTrainer(),
    fit: async (_w, _c, onProgress) => {
      onProgress?.({ epoch: 1, epochs: 1, done: 4, total: 8, loss: 0.61 });
      onProgress?.({ epoch: 1, epochs: 1, done: 8, total: 8, loss: 0.52 });
      return { weights: WEIGHTS, examples: 8, metrics: { loss: 0.5, accuracy: 0.75 } };
    },
  };
}

// reliability: a hospital's privacy officer wants no training numbers to leave | --withhold-metrics: neither the update nor the progress of training carries loss or accuracy; a summed round never does | no | —
test('training loss and accuracy leave a hospital only when it shares them, and never in a summed round, not even in progress', { timeout: 30_000 }, async () => {
  const { fitSumLayout } = await import('@fedxray/secure');
  const server = createServer();
  const io = new Server(server, { maxHttpBufferSize: 1e7 });
  const seen: { event: string; msg: Record<string, unknown> }[] = [];
  io.on('connection', (socket) => {
    socket.on('hello', (_m: unknown, ack: (a: unknown) => void) => {
      ack({ ok: true });
      socket.emit('welcome', { protocolVersion: PROTOCOL_VERSION, runId: 'run-1', hospitalId: 'h1', hospitalName: 'h1', heartbeatIntervalMs: 1000, maxPayloadBytes: 1e7, model: {}, classes: CLASSES });
    });
    socket.on('progress', (msg: Record<string, unknown>) => seen.push({ event: 'progress', msg }));
    socket.on('fitResult', (msg: Record<string, unknown>, ack: (a: unknown) => void) => {
      seen.push({ event: 'fitResult', msg });
      ack({ ok: true });
    });
  });
  const port = await listen(server);
  const layout = fitSumLayout({ length: 2, range: 1, maxWeight: 8, maxSummands: 3, dp: false }).toWire();
  const round = async (withholdMetrics: boolean, summed: boolean) => {
    seen.length = 0;
    const h = await Hospital.start({ coordinator: `http://127.0.0.1:${port}`, token: TOKEN, trainer: { data: { dir: '/unused' } }, withholdMetrics, ...FAST }, { trainer: talkativeTrainer() });
    try {
      await new Promise((r) => h.once('welcome', r));
      const done = new Promise((r) => h.once('fitDone', r));
      const secure = summed ? { secure: { session: 'run-1/r1/a1/fit', index: 1, masked: false, layout } } : {};
      for (const s of io.sockets.sockets.values()) s.emit('fit', { runId: 'run-1', round: 1, config: { localEpochs: 1, batchSize: 4 }, weights: encodeWeights(WEIGHTS), ...secure });
      await done;
      return { progress: seen.filter((e) => e.event === 'progress').map((e) => e.msg), result: seen.find((e) => e.event === 'fitResult')!.msg };
    } finally {
      await h.close();
    }
  };
  try {
    const shared = await round(false, false);
    assert.deepEqual(shared.progress.map((p) => p.loss), [0.61, 0.52], 'by default the running loss is in progress');
    assert.deepEqual(shared.result.metrics, { loss: 0.5, accuracy: 0.75 });

    const withheld = await round(true, false);
    assert.equal(withheld.progress.length, 2, 'progress is still reported');
    assert.ok(withheld.progress.every((p) => !('loss' in p)), 'without its loss');
    assert.ok(!('metrics' in withheld.result), 'the update carries no metrics');

    const summed = await round(false, true);
    assert.ok(summed.progress.every((p) => !('loss' in p)), 'a summed round sends no running loss');
    assert.deepEqual(Object.keys(summed.result).sort(), ['durationMs', 'input', 'round', 'runId']);
  } finally {
    io.close();
    await closeServer(server);
  }
});
