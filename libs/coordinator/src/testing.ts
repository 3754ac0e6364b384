// Helpers for this lib's tests: a coordinator configuration for a quick run, and
// scripted hospitals that speak the protocol directly.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  decodeWeights,
  encodeWeights,
  type Abort,
  type Ack,
  type Calibrate,
  type Evaluate,
  type Fit,
  type Hello,
  type NamedWeights,
  type WeightsPayload,
} from '@fedxray/protocol';
import { addPredictions, createSummary, type EvaluationSummary } from '@fedxray/evaluation';
import type { CoordinatorConfigInput } from './config';
import type { RunResult } from './events';

export const CLASSES = ['a', 'b', 'c'];
export const TOKENS = { good: 'good-token-0123456789abcdef', bad: 'bad-token-0123456789abcdefg', other: 'other-token-0123456789abcd' };

/** Two rounds of the tiny DenseNet with two hospitals, fast heartbeats, no initial evaluation, no head calibration. */
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
    // on by default in a run; its own tests (head-phase.test.ts, secure-round.test.ts) turn it on
    headCalibration: { enabled: false },
    // McMahan's FedAvg, so that a global model is the mean the scripted hospitals' updates make; a run's
    // default server learning rate (1.5) has its own tests (run-config.test.ts, test/src/federation.test.ts)
    strategy: { name: 'fedavg', serverLearningRate: 1 },
    model: { arch: 'densenet-tiny', imageSize: 16, classes: CLASSES },
    staticTokens: TOKENS,
    ...overrides,
  };
}

/** What a scripted hospital answers to a fit: weights, or null to stay silent. */
export type Behaviour = (round: number, fit: Fit) => WeightsPayload | null;

/** What a scripted hospital answers to an evaluate: a summary, a reported failure, or null to stay silent. */
export type EvaluateBehaviour = (msg: Evaluate) => EvaluationSummary | { failure: string } | null;

/** What a scripted hospital answers to a calibrate: the result's examples and statistics, or null to stay silent. */
export type CalibrateBehaviour = (msg: Calibrate) => { examples: number; stats: WeightsPayload } | null;

export interface FakeHospital {
  socket: Socket;
  acks: Ack[];
  aborts: Abort[];
  /** Acknowledgements of its evaluateResult and calibrateResult messages. */
  resultAcks: Ack[];
}

export interface FakeOptions {
  version?: number;
  heartbeatMs?: number;
  /** Fields added to every fitResult (e.g. `examples`). */
  extra?: Record<string, unknown>;
  /** Client options (TLS). */
  socket?: Partial<ManagerOptions & SocketOptions>;
  /** What it declares in hello. @default { train: 10, val: 2, test: 2 } */
  examples?: Hello['examples'];
  /** @default answers every evaluation with a consistent two-example summary */
  evaluate?: EvaluateBehaviour;
  /** @default stays silent (no calibrate handler) */
  calibrate?: CalibrateBehaviour;
  /** Send updates without training metrics (`fedxray hospital --withhold-metrics`). */
  withholdMetrics?: boolean;
}

/** A consistent summary of two predictions over CLASSES. */
export function twoPredictions(): EvaluationSummary {
  const s = createSummary(CLASSES);
  addPredictions(s, new Float32Array([0.8, 0.1, 0.1, 0.2, 0.7, 0.1]), new Int32Array([0, 1]), 0.5);
  return s;
}

/** A self-consistent summary of `k` × the two predictions: counts far beyond the 2 test images a scripted hospital declares. */
export function inflated(k: number): EvaluationSummary {
  const s = twoPredictions();
  const scale = (a: number[]) => a.map((x) => x * k);
  return {
    ...s,
    count: s.count * k,
    lossSum: s.lossSum * k,
    confusion: s.confusion.map(scale),
    histograms: s.histograms.map((h) => h.map(scale)),
    calibration: { count: scale(s.calibration.count), confidenceSum: scale(s.calibration.confidenceSum), correct: scale(s.calibration.correct) },
  };
}

/**
 * A scripted hospital that speaks the protocol directly, for what a real
 * hospital never sends. With `heartbeatMs` it says it is alive (and training)
 * at that interval.
 */
export function fakeHospital(url: string, token: string, behaviour: Behaviour, opts: FakeOptions = {}): FakeHospital {
  const socket = connect(url, { transports: ['websocket'], auth: { token, protocolVersion: opts.version ?? PROTOCOL_VERSION }, reconnection: false, ...opts.socket });
  const acks: Ack[] = [];
  const aborts: Abort[] = [];
  const resultAcks: Ack[] = [];
  let round = 0;
  const examples = opts.examples ?? { train: 10, val: 2, test: 2 };
  socket.on('connect', () => socket.emit('hello', { software: 'test', backend: 'none', classes: CLASSES, examples }, () => {}));
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
      { runId: msg.runId, round: msg.round, examples: 10, ...(opts.withholdMetrics ? {} : { metrics: { loss: 1, accuracy: 0.5 } }), durationMs: 1, weights, ...opts.extra },
      (a: Ack) => acks.push(a),
    );
  });
  socket.on('abort', (msg: Abort) => aborts.push(msg));
  const evaluate = opts.evaluate ?? (() => twoPredictions());
  socket.on('evaluate', (msg: Evaluate) => {
    const answer = evaluate(msg);
    if (!answer) return;
    if ('failure' in answer) {
      socket.emit('failure', { runId: msg.runId, round: msg.round, phase: 'evaluate', error: { code: 'internal', message: answer.failure } });
      return;
    }
    socket.emit('evaluateResult', { runId: msg.runId, round: msg.round, split: msg.split, summary: answer, durationMs: 1 }, (a: Ack) => resultAcks.push(a));
  });
  const calibrate = opts.calibrate;
  if (calibrate) {
    socket.on('calibrate', (msg: Calibrate) => {
      const answer = calibrate(msg);
      if (!answer) return;
      socket.emit('calibrateResult', { runId: msg.runId, round: msg.round, durationMs: 1, ...answer }, (a: Ack) => resultAcks.push(a));
    });
  }
  return { socket, acks, aborts, resultAcks };
}

/** Trains honestly: every weight moves by 0.001. */
export const honest: Behaviour = (_r, fit) => shifted(0.001)(_r, fit);

/** Every weight moves by `delta`. */
export function shifted(delta: number): Behaviour {
  return (_r, fit) => {
    const w = decodeWeights(fit.weights as WeightsPayload);
    for (const t of w) for (let k = 0; k < t.values.length; k++) t.values[k] += delta;
    return encodeWeights(w);
  };
}

/** Asserts that `global` is `initial` moved as `honest` moves it (+0.001 on every trained weight; BatchNorm moving statistics aside), sampling every 97th value. */
export function assertHonestGlobal(initial: NamedWeights, global: NamedWeights): void {
  for (let t = 0; t < global.length; t++) {
    if (/moving_(mean|variance)$/.test(global[t].name)) continue;
    for (let k = 0; k < global[t].values.length; k += 97) assert.ok(Math.abs(global[t].values[k] - (initial[t].values[k] + 0.001)) < 1e-5, `${global[t].name}[${k}]`);
  }
}

/** Waits for the run to end, then disconnects the scripted hospitals and closes the coordinator. */
export async function runToEnd(c: { done: Promise<RunResult>; close(): Promise<void> }, ...hospitals: FakeHospital[]): Promise<RunResult> {
  const result = await c.done;
  for (const h of hospitals) h.socket.disconnect();
  await c.close();
  return result;
}
