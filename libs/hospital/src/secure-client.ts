// A hospital's part in the summed rounds of a run: the four stages of each
// secure sum (one SecAggClient per session, answered through socket.io
// acknowledgements), and the fit's answer: the update as a delta from the
// global model, clipped (or privatised for DP), packed into fixed point and,
// with secure aggregation, masked. Nothing else of the update leaves.
import type { Socket } from 'socket.io-client';
import type { HospitalToServerEvents, NamedWeights, SecAggMaskedInput, SecAggReply, ServerToHospitalEvents, SumCalibrate, SumFit, SumJob } from '@fedxray/protocol';
import { HEAD_STAT_NAMES, batchNormChannels, headReference, headStatsFromNamed } from '@fedxray/model';
import { SecAggClient, SecureError, SumLayout, clipL2, cryptoRandom, seededRandom, packCalibration, packEvaluation, packHeadStats, packFitContribution, privatiseUpdate, type RandomSource, type SummarySums } from '@fedxray/secure';

/** Sessions kept at once (a round's attempt opens one; older ones are forgotten). */
const MAX_SESSIONS = 4;

/** What a hospital reports of a summed fit to its own operator (never sent). */
export interface SumFitOutcome {
  input: SecAggMaskedInput;
  /** ‖update‖₂ before clipping. */
  norm: number;
  clipped: boolean;
}

function answer(ack: unknown, fn: () => unknown): void {
  const reply = typeof ack === 'function' ? (ack as (a: SecAggReply) => void) : () => {};
  try {
    reply({ ok: true, reply: fn() ?? null });
  } catch (err) {
    const code = err instanceof SecureError ? err.code : 'internal';
    reply({ ok: false, error: { code, message: (err instanceof Error ? err.message : String(err)).slice(0, 4000) } });
  }
}

/** The aggregated tensors' values minus the global model's, in the global model's order (FedBN's local tensors left out). */
export function updateDelta(global: NamedWeights, trained: NamedWeights, keepLocal: readonly string[]): Float32Array {
  const local = new Set(keepLocal);
  const byName = new Map(trained.map((t) => [t.name, t]));
  const kept = global.filter((t) => !local.has(t.name));
  const out = new Float32Array(kept.reduce((s, t) => s + t.values.length, 0));
  let at = 0;
  for (const g of kept) {
    const t = byName.get(g.name);
    if (!t || t.values.length !== g.values.length) throw new SecureError('wrong_length', `The trained model has no tensor ${g.name} of ${g.values.length} values`);
    for (let i = 0; i < g.values.length; i++) out[at + i] = t.values[i] - g.values[i];
    at += g.values.length;
  }
  return out;
}

export class SecureParticipant {
  private readonly clients = new Map<string, SecAggClient>();

  /**
   * `random` makes the keys; `roundingSeed` (simulations only) seeds the
   * stochastic rounding of each sum's input, so a seeded run repeats itself.
   */
  constructor(
    private readonly random: () => RandomSource = cryptoRandom,
    private readonly roundingSeed?: string,
  ) {}

  /** The random source of one sum's rounding: seeded by the session less its first part (the run id), so two runs with one seed round alike. */
  private rounding(session: string): RandomSource {
    return this.roundingSeed === undefined ? this.random() : seededRandom(`${this.roundingSeed}\0${session.slice(session.indexOf('/') + 1)}`);
  }

  /** Answers the coordinator's secure-aggregation stages on this socket. */
  attach(socket: Socket<ServerToHospitalEvents, HospitalToServerEvents>): void {
    socket.on('secAggSetup', (msg, ack) =>
      answer(ack, () => {
        const client = new SecAggClient(msg, { random: this.random() });
        this.clients.set(client.setup.session, client);
        while (this.clients.size > MAX_SESSIONS) this.clients.delete(this.clients.keys().next().value as string);
        return client.advertise();
      }),
    );
    socket.on('secAggKeys', (msg, ack) => answer(ack, () => this.client(msg).receivePublicKeys(msg)));
    socket.on('secAggRelayed', (msg, ack) => answer(ack, () => void this.client(msg).receiveShares(msg)));
    socket.on('secAggUnmask', (msg, ack) =>
      answer(ack, () => {
        const client = this.client(msg);
        const reply = client.receiveUnmaskRequest(msg);
        this.clients.delete(client.setup.session);
        return reply;
      }),
    );
  }

  /** Refuses a masked job whose secure sum this hospital has not been set up for (before the work, not after). */
  checkReady(sum: SumFit | SumJob): void {
    if ('masked' in sum && !sum.masked) return;
    const client = this.clients.get(sum.session);
    if (!client || client.stage !== 'ready' || client.index !== sum.index) {
      throw new SecureError('wrong_stage', `Fit for secure sum "${sum.session}" as participant ${sum.index}, but this hospital ${client ? `is in stage "${client.stage}" as ${client.index}` : 'holds no such session'}`);
    }
  }

  /** The fit's answer: delta, clip or DP, pack, mask. */
  contribution(sum: SumFit, global: NamedWeights, trained: NamedWeights, keepLocal: readonly string[], fit: { examples: number; loss: number; accuracy: number }): SumFitOutcome {
    const layout = SumLayout.fromWire(sum.layout);
    const delta = updateDelta(global, trained, keepLocal);
    let norm: number;
    let clipped: boolean;
    let indicator: number | undefined;
    if (sum.dp) {
      // DP's noise always comes from node:crypto, never from a seed.
      ({ norm, clipped, indicator } = privatiseUpdate(delta, fit.examples, sum.dp, this.random()));
    } else {
      const c = clipL2(delta, sum.clip ?? Infinity);
      norm = c.norm;
      clipped = c.factor < 1;
    }
    const words = packFitContribution(layout, { update: delta, examples: fit.examples, loss: fit.loss, accuracy: fit.accuracy, indicator }, this.rounding(sum.session));
    if (!sum.masked) return { input: { session: sum.session, from: sum.index, masked: new Uint8Array(words.buffer, words.byteOffset, words.byteLength) }, norm, clipped };
    this.checkReady(sum);
    return { input: this.clients.get(sum.session)!.mask(words), norm, clipped };
  }

  /** A summed calibration's answer: the BatchNorm statistics of `sum.means`' layers, relative to the global model's, packed and masked. */
  calibration(sum: SumCalibrate, global: NamedWeights, report: { examples: number; stats: NamedWeights }): SecAggMaskedInput {
    this.checkReady(sum);
    if (!sum.means) throw new SecureError('bad_message', 'A summed BatchNorm calibration must name the layers to pack');
    const layout = SumLayout.fromWire(sum.layout);
    const reference = batchNormChannels(global, sum.means);
    const own = batchNormChannels(report.stats, sum.means);
    return this.clients.get(sum.session)!.mask(packCalibration(layout, reference, { ...own, examples: report.examples }, this.rounding(sum.session)));
  }

  /** A summed head calibration's answer: the class statistics of the last layer's input, relative to the head BatchNorm's β and |γ|, packed and masked. */
  headStatistics(sum: SumJob, global: NamedWeights, report: { examples: number; stats: NamedWeights }): SecAggMaskedInput {
    this.checkReady(sum);
    const layout = SumLayout.fromWire(sum.layout);
    const counts = report.stats.find((t) => t.name === HEAD_STAT_NAMES.counts);
    const sums = report.stats.find((t) => t.name === HEAD_STAT_NAMES.sum);
    if (!counts || !sums || sums.shape.length !== 2) throw new SecureError('bad_message', 'Expected head statistics to pack');
    const stats = headStatsFromNamed(report.stats, counts.values.length, sums.shape[1], report.examples);
    return this.clients.get(sum.session)!.mask(packHeadStats(layout, headReference(global, stats.features), stats, this.rounding(sum.session)));
  }

  /** A summed evaluation's answer: the summary, packed and masked. */
  evaluation(sum: SumJob, summary: SummarySums): SecAggMaskedInput {
    this.checkReady(sum);
    return this.clients.get(sum.session)!.mask(packEvaluation(SumLayout.fromWire(sum.layout), summary, this.rounding(sum.session)));
  }

  private client(msg: unknown): SecAggClient {
    const session = (msg as { session?: unknown } | null)?.session;
    const client = typeof session === 'string' ? this.clients.get(session) : undefined;
    if (!client) throw new SecureError('wrong_stage', `No secure sum "${String(session)}" was set up at this hospital`);
    return client;
  }
}

