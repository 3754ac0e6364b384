// A scripted hospital that takes part in secure aggregation by the protocol
// (libs/secure's client), with an update the test chooses, and that records
// every message it sends to the coordinator: what the privacy audit inspects.
import { io as connect, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, decodeWeights, type Calibrate, type Evaluate, type Fit, type SecAggReply, type WeightsPayload } from '@fedxray/protocol';
import { SecAggClient, SumLayout, packCalibration, packEvaluation, packFitContribution, packHeadStats, seededRandom } from '@fedxray/secure';
import { addFeatures, batchNormChannels, emptyHeadStats, headReference, type HeadStats } from '@fedxray/model';
import { mulberry32 } from '@fedxray/runtime';
import { CLASSES, twoPredictions } from './testing';

export type SecureDrop = 'none' | 'fail-fit' | 'skip-unmask';

export interface SecureFake {
  socket: Socket;
  /** Every message it sent the coordinator, by event. */
  sent: { event: string; msg: unknown }[];
  /** Per round: the packed (unmasked) words and the masked bytes it sent. */
  inputs: { round: number; plain: Uint32Array; masked: Uint8Array }[];
}

/**
 * `update(n)` gives its delta (n values) for a round; it declares `train`
 * images and reports `train` examples. `drop` makes it fail its training
 * (after the key exchange) or go silent at the unmasking stage.
 */
/** Per channel of the named BatchNorm layers (moving-mean names, in order): the means and variances a fake reports. */
export type ChannelStatsOf = (channels: number) => { mean: Float64Array; variance: Float64Array; examples: number };

/** A fake's class statistics for head calibration (C classes × F features). */
export type HeadStatsOf = (classes: number, features: number) => HeadStats;

/** Two rows per class, class c's centred on 1 in feature c mod F, with seeded noise. */
export function fakeHeadStats(seed: number): HeadStatsOf {
  return (classes, features) => {
    const rand = mulberry32(seed);
    const s = emptyHeadStats(classes, features);
    for (let c = 0; c < classes; c++) {
      const rows = Float64Array.from({ length: 2 * features }, (_, i) => (i % features === c % features ? 1 : 0) + rand() - 0.5);
      addFeatures(s, rows, [c, c]);
    }
    return s;
  };
}

export function secureFake(
  url: string,
  token: string,
  o: { train: number; update: (n: number) => Float64Array; drop?: SecureDrop; seed: number; calibration?: ChannelStatsOf; head?: HeadStatsOf; declared?: { train?: number; test?: number } },
): SecureFake {
  const socket = connect(url, { transports: ['websocket'], auth: { token, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
  const sent: SecureFake['sent'] = [];
  const inputs: SecureFake['inputs'] = [];
  const clients = new Map<string, SecAggClient>();
  const random = seededRandom(o.seed);
  const reply = (event: string, ack: (a: SecAggReply) => void, fn: () => unknown) => {
    let a: SecAggReply;
    try {
      a = { ok: true, reply: fn() ?? null };
    } catch (err) {
      a = { ok: false, error: { code: 'refused', message: String(err) } };
    }
    sent.push({ event, msg: a });
    ack(a);
  };
  socket.on('connect', () => socket.emit('hello', { software: 'test', backend: 'none', classes: CLASSES, examples: { train: o.declared?.train ?? o.train, val: 2, test: o.declared?.test ?? 2 } }, () => {}));
  socket.on('secAggSetup', (msg: { session: string }, ack: (a: SecAggReply) => void) =>
    reply('secAggSetup', ack, () => {
      const c = new SecAggClient(msg, { random });
      clients.set(msg.session, c);
      return c.advertise();
    }),
  );
  socket.on('secAggKeys', (msg: { session: string }, ack: (a: SecAggReply) => void) => reply('secAggKeys', ack, () => clients.get(msg.session)!.receivePublicKeys(msg)));
  socket.on('secAggRelayed', (msg: { session: string }, ack: (a: SecAggReply) => void) => reply('secAggRelayed', ack, () => clients.get(msg.session)!.receiveShares(msg)));
  socket.on('secAggUnmask', (msg: { session: string }, ack: (a: SecAggReply) => void) => {
    if (o.drop === 'skip-unmask') return;
    reply('secAggUnmask', ack, () => clients.get(msg.session)!.receiveUnmaskRequest(msg));
  });
  socket.on('fit', (msg: Fit) => {
    if (o.drop === 'fail-fit') {
      socket.emit('failure', { runId: msg.runId, round: msg.round, phase: 'fit', error: { code: 'internal', message: 'training failed' } });
      return;
    }
    const s = msg.secure!;
    const layout = SumLayout.fromWire(s.layout);
    decodeWeights(msg.weights as WeightsPayload);
    const plain = packFitContribution(layout, { update: o.update(layout.spec('update').length), examples: o.train, loss: 1, accuracy: 0.5 }, random);
    const input = s.masked ? clients.get(s.session)!.mask(plain) : { session: s.session, from: s.index, masked: new Uint8Array(plain.buffer.slice(0)) };
    inputs.push({ round: msg.round, plain, masked: input.masked });
    const result = { runId: msg.runId, round: msg.round, durationMs: 1, input };
    sent.push({ event: 'fitResult', msg: result });
    socket.emit('fitResult', result, () => {});
  });
  const answer = (event: string, result: unknown) => {
    sent.push({ event, msg: result });
    socket.emit(event as 'evaluateResult', result as never, () => {});
  };
  socket.on('evaluate', (msg: Evaluate) => {
    if (!msg.secure) return answer('evaluateResult', { runId: msg.runId, round: msg.round, split: msg.split, summary: twoPredictions(), durationMs: 1 });
    const input = clients.get(msg.secure.session)!.mask(packEvaluation(SumLayout.fromWire(msg.secure.layout), twoPredictions(), random));
    answer('evaluateResult', { runId: msg.runId, round: msg.round, split: msg.split, durationMs: 1, input });
  });
  socket.on('calibrate', (msg: Calibrate) => {
    if (msg.target === 'head' && msg.secure) {
      const layout = SumLayout.fromWire(msg.secure.layout);
      const classes = layout.spec('counts').length;
      const features = layout.spec('sum').length / classes;
      const stats = (o.head ?? fakeHeadStats(o.seed))(classes, features);
      const reference = headReference(decodeWeights(msg.weights as WeightsPayload), features);
      const input = clients.get(msg.secure.session)!.mask(packHeadStats(layout, reference, stats, random));
      return answer('calibrateResult', { runId: msg.runId, round: msg.round, durationMs: 1, input });
    }
    if (!msg.secure || !msg.secure.means || !o.calibration) return;
    const s = { ...msg.secure, means: msg.secure.means };
    const layout = SumLayout.fromWire(s.layout);
    const own = o.calibration(layout.spec('shift').length);
    const reference = batchNormChannels(decodeWeights(msg.weights as WeightsPayload), s.means);
    const input = clients.get(s.session)!.mask(packCalibration(layout, reference, own, random));
    answer('calibrateResult', { runId: msg.runId, round: msg.round, durationMs: 1, input });
  });
  return { socket, sent, inputs };
}
