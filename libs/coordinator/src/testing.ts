// Helpers for this lib's tests: a coordinator configuration for a quick run, and
// scripted hospitals that speak the protocol directly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { PROTOCOL_VERSION, decodeWeights, encodeWeights, type Abort, type Ack, type Evaluate, type Fit, type WeightsPayload } from '@fedxray/protocol';
import { addPredictions, createSummary } from '@fedxray/evaluation';
import type { CoordinatorConfigInput } from './config';
import type { RunResult } from './coordinator';

export const CLASSES = ['a', 'b', 'c'];
export const TOKENS = { good: 'good-token-0123456789abcdef', bad: 'bad-token-0123456789abcdefg', other: 'other-token-0123456789abcd' };

/** Two rounds of the tiny DenseNet with two hospitals, fast heartbeats, no initial evaluation. */
export function config(overrides: Partial<CoordinatorConfigInput> = {}): CoordinatorConfigInput {
  return {
    dataDir: mkdtempSync(join(tmpdir(), 'fedxray-coord-')),
    port: 0,
    rounds: 2,
    minAvailable: 2,
    minFit: 2,
    maxFailures: 1,
    heartbeatIntervalMs: 200,
    heartbeatMisses: 5,
    evaluateInitial: false,
    fit: { localEpochs: 1, batchSize: 4 },
    model: { arch: 'densenet-tiny', imageSize: 16, classes: CLASSES },
    staticTokens: TOKENS,
    ...overrides,
  };
}

/** What a scripted hospital answers to a fit: weights, or null to stay silent. */
export type Behaviour = (round: number, fit: Fit) => WeightsPayload | null;

export interface FakeHospital {
  socket: Socket;
  acks: Ack[];
  aborts: Abort[];
}

/**
 * A scripted hospital that speaks the protocol directly, for what a real
 * hospital never sends. With `heartbeatMs` it says it is alive (and training)
 * at that interval; `extra` adds fields to every fitResult; `socket` adds client options (TLS).
 */
export function fakeHospital(
  url: string,
  token: string,
  behaviour: Behaviour,
  opts: { version?: number; heartbeatMs?: number; extra?: Record<string, unknown>; socket?: Partial<ManagerOptions & SocketOptions> } = {},
): FakeHospital {
  const socket = connect(url, { transports: ['websocket'], auth: { token, protocolVersion: opts.version ?? PROTOCOL_VERSION }, reconnection: false, ...opts.socket });
  const acks: Ack[] = [];
  const aborts: Abort[] = [];
  let round = 0;
  socket.on('connect', () => socket.emit('hello', { software: 'test', backend: 'none', classes: CLASSES, examples: { train: 10, val: 2, test: 2 } }, () => {}));
  if (opts.heartbeatMs) {
    const beat = setInterval(() => socket.connected && socket.emit('heartbeat', { round, phase: 'fit' }), opts.heartbeatMs);
    socket.on('disconnect', () => clearInterval(beat));
  }
  socket.on('fit', (msg: Fit) => {
    round = msg.round;
    const weights = behaviour(msg.round, msg);
    if (!weights) return;
    socket.emit(
      'fitResult',
      { runId: msg.runId, round: msg.round, examples: 10, metrics: { loss: 1, accuracy: 0.5 }, durationMs: 1, weights, ...opts.extra },
      (a: Ack) => acks.push(a),
    );
  });
  socket.on('abort', (msg: Abort) => aborts.push(msg));
  socket.on('evaluate', (msg: Evaluate) => {
    const s = createSummary(CLASSES);
    addPredictions(s, new Float32Array([0.8, 0.1, 0.1, 0.2, 0.7, 0.1]), new Int32Array([0, 1]), 0.5);
    socket.emit('evaluateResult', { runId: msg.runId, round: msg.round, split: 'test', summary: s, durationMs: 1 }, () => {});
  });
  return { socket, acks, aborts };
}

/** Trains honestly: every weight moves by 0.001. */
export const honest: Behaviour = (_r, fit) => {
  const w = decodeWeights(fit.weights as WeightsPayload);
  for (const t of w) for (let k = 0; k < t.values.length; k++) t.values[k] += 0.001;
  return encodeWeights(w);
};

/** Waits for the run to end, then disconnects the scripted hospitals and closes the coordinator. */
export async function runToEnd(c: { done: Promise<RunResult>; close(): Promise<void> }, ...hospitals: FakeHospital[]): Promise<RunResult> {
  const result = await c.done;
  for (const h of hospitals) h.socket.disconnect();
  await c.close();
  return result;
}
