// A whole secure sum in one process: a coordinator and n hospitals passing
// messages by function call, with hospitals that go silent at a chosen stage.
// The tests and the benchmark drive the real state machines through it.
import { SecAggClient } from './client';
import { SecAggServer, type SecAggResult } from './server';
import type { RandomSource } from './random';
import type { SecAggRoundConfig } from './round-config';
import { timed, type Timing } from './timing';
import { wireBytes } from './wire-size';

/** The stage at which a hospital goes silent: it sends nothing from then on. */
export type DropStage = 'advertise' | 'share' | 'mask' | 'unmask';

export interface InMemoryOptions {
  config: SecAggRoundConfig;
  /** Each participant's input (vectorLength words), asked for when it masks. */
  input: (index: number) => Uint32Array;
  /** Hospitals that drop, and where. */
  drops?: ReadonlyMap<number, DropStage>;
  /** Random source of a hospital (default node:crypto). */
  random?: (index: number) => RandomSource;
  /** Sees every message the coordinator receives, as it arrives. */
  onReceive?: (from: number, msg: unknown) => void;
}

export interface InMemoryRun {
  result: SecAggResult;
  /** Bytes each hospital sent and received, by stage message. */
  bytes: Map<number, { sent: number; received: number; maskedInput: number }>;
  /** Time each hospital spent in mask(). */
  maskTime: Map<number, Timing>;
  /** Time the coordinator spent in finish() (reconstruction and unmasking). */
  unmaskTime: Timing;
}

function silentAt(drops: ReadonlyMap<number, DropStage> | undefined, index: number, stage: DropStage): boolean {
  const order: DropStage[] = ['advertise', 'share', 'mask', 'unmask'];
  const at = drops?.get(index);
  return at !== undefined && order.indexOf(stage) >= order.indexOf(at);
}

/** Runs one secure sum to the end; throws the coordinator's SecureError when it fails. */
export function runInMemory(options: InMemoryOptions): InMemoryRun {
  const { config, input, drops } = options;
  const server = new SecAggServer(config);
  const bytes = new Map(config.participants.map((p) => [p, { sent: 0, received: 0, maskedInput: 0 }]));
  const send = (from: number, msg: unknown): unknown => {
    bytes.get(from)!.sent += wireBytes(msg);
    options.onReceive?.(from, msg);
    return msg;
  };
  const deliver = <T>(to: number, msg: T): T => ((bytes.get(to)!.received += wireBytes(msg)), msg);
  const clients = new Map(config.participants.map((p) => [p, new SecAggClient(deliver(p, server.setupFor(p)), { random: options.random?.(p) })]));
  const active = (stage: DropStage) => [...clients.values()].filter((c) => !silentAt(drops, c.index, stage));

  for (const c of active('advertise')) server.receiveAdvertise(c.index, send(c.index, c.advertise()));
  const keys = server.closeAdvertise();
  for (const c of active('share')) {
    const msg = keys.get(c.index);
    if (msg) server.receiveShares(c.index, send(c.index, c.receivePublicKeys(deliver(c.index, msg))));
  }
  const relayed = server.closeShares();
  const maskTime = new Map<number, Timing>();
  for (const c of active('mask')) {
    const msg = relayed.get(c.index);
    if (!msg) continue;
    c.receiveShares(deliver(c.index, msg));
    const x = input(c.index);
    const { value: masked, time } = timed(() => c.mask(x));
    maskTime.set(c.index, time);
    bytes.get(c.index)!.maskedInput = wireBytes(masked);
    server.receiveMaskedInput(c.index, send(c.index, masked));
  }
  const requests = server.closeCollection();
  for (const c of active('unmask')) {
    const msg = requests.get(c.index);
    if (msg) server.receiveUnmaskResponse(c.index, send(c.index, c.receiveUnmaskRequest(deliver(c.index, msg))));
  }
  const { value: result, time: unmaskTime } = timed(() => server.finish());
  return { result, bytes, maskTime, unmaskTime };
}
