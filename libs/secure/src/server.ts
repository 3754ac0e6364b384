// The coordinator's side of a secure sum: it relays keys and sealed shares,
// adds masked inputs as they arrive, and removes the masks at the end. It
// never holds one hospital's input in the clear.
import {
  SecAggAdvertiseSchema,
  SecAggMaskedInputSchema,
  SecAggSharesSchema,
  SecAggUnmaskResponseSchema,
  type SecAggPublicKeys,
  type SecAggRelayedShares,
  type SecAggSetup,
  type SecAggUnmaskRequest,
} from '@fedxray/protocol';
import type { z } from 'zod';
import { SecureError } from './errors';
import { capitalised, checkDistinct, parseMessage } from './parse';
import { checkRoundConfig, setupMessage, type SecAggRoundConfig } from './round-config';
import { decodeShare, type Share } from './shamir';
import { checkLittleEndian, wordsOf } from './words';
import { removeMasks } from './unmask';

export type SecAggServerStage = 'advertise' | 'share' | 'collect' | 'unmask' | 'done' | 'failed';

/** The outcome of a secure sum. */
export interface SecAggResult {
  /** Σ inputs of the survivors, mod 2³². */
  sum: Uint32Array;
  /** Participants whose input is in the sum. */
  survivors: number[];
  /** Participants that shared secrets but sent no input (their masks were removed). */
  dropped: number[];
  /** Participants that left before sharing secrets (they were never part of the sum). */
  absent: number[];
}

interface Advertised {
  maskKey: Uint8Array;
  shareKey: Uint8Array;
}

/**
 * The coordinator in one secure sum. For each stage: `receive…(from, msg)` for
 * every message as it arrives (`from` is the sender the transport
 * authenticated), then `close…()` when all have answered or the stage's wait
 * is over; it returns the messages to send, by recipient. Refused with a
 * SecureError: malformed, duplicated, out-of-stage or wrong-length messages,
 * senders that are not (or no longer) participants. A stage that closes with
 * too few participants fails the round with `too_few_survivors`.
 */
export class SecAggServer {
  private stageNow: SecAggServerStage = 'advertise';
  /** Why the round failed, once it has. */
  failure?: string;
  private readonly neighbours: Map<number, number[]>;
  private readonly participantSet: ReadonlySet<number>;
  private readonly advertised = new Map<number, Advertised>();
  /** U1: advertised, with enough advertising neighbours. */
  private keyed = new Set<number>();
  /** Sealed shares by sender, then recipient. */
  private readonly sealed = new Map<number, Map<number, Uint8Array>>();
  private readonly commitments = new Map<number, Uint8Array>();
  /** U2: shared secrets. */
  private shared = new Set<number>();
  private readonly inputs = new Set<number>();
  /** U3: sent a masked input (fixed when collection closes). */
  private survivorSet = new Set<number>();
  private readonly sum: Uint32Array;
  private readonly responded = new Set<number>();
  private readonly seedShares = new Map<number, Share[]>();
  private readonly keyShares = new Map<number, Share[]>();

  constructor(readonly config: SecAggRoundConfig) {
    this.neighbours = checkRoundConfig(config);
    this.participantSet = new Set(config.participants);
    this.sum = new Uint32Array(config.vectorLength);
    checkLittleEndian();
  }

  get stage(): SecAggServerStage {
    return this.stageNow;
  }

  /** The setup message for participant `index`. */
  setupFor(index: number): SecAggSetup {
    this.checkParticipant(index);
    return setupMessage(this.config, index);
  }

  /** Stage 1: a participant's public keys. */
  receiveAdvertise(from: number, msg: unknown): void {
    const m = this.entry('advertise', SecAggAdvertiseSchema, 'advertised keys', from, msg, {
      members: this.participantSet,
      notMember: `is not among [${this.config.participants.join(', ')}]`,
      done: this.advertised,
      again: 'already advertised keys',
    });
    this.advertised.set(from, { maskKey: m.maskKey, shareKey: m.shareKey });
  }

  /** Ends stage 1: each participant that advertised gets its neighbours' keys. */
  closeAdvertise(): Map<number, SecAggPublicKeys> {
    this.expect('advertise', 'closeAdvertise()');
    this.keyed = this.prune(new Set(this.advertised.keys()), 'advertised keys');
    const out = new Map<number, SecAggPublicKeys>();
    for (const u of this.keyed) {
      const keys = this.closedNeighbourhood(u, this.keyed).map((index) => ({ index, ...this.advertised.get(index)! }));
      out.set(u, { session: this.config.session, keys });
    }
    this.stageNow = 'share';
    return out;
  }

  /** Stage 2: a participant's sealed shares, exactly one box per neighbour it was given keys of. */
  receiveShares(from: number, msg: unknown): void {
    const m = this.entry('share', SecAggSharesSchema, 'shares', from, msg, {
      members: this.keyed,
      notMember: 'was not given keys in this session',
      done: this.sealed,
      again: 'already sent its shares',
    });
    const recipients = m.shares.map((s) => s.to);
    checkDistinct(recipients, `Shares of participant ${from}`);
    const expected = this.closedNeighbourhood(from, this.keyed).filter((v) => v !== from);
    if ([...recipients].sort((a, b) => a - b).join(',') !== expected.join(',')) {
      throw new SecureError('bad_message', `Participant ${from} must send one box to each of [${expected.join(', ')}], got [${recipients.join(', ')}]`);
    }
    this.sealed.set(from, new Map(m.shares.map((s) => [s.to, s.sealed])));
    this.commitments.set(from, m.seedCommitment);
  }

  /** Ends stage 2: each participant that shared gets the boxes addressed to it. */
  closeShares(): Map<number, SecAggRelayedShares> {
    this.expect('share', 'closeShares()');
    this.shared = this.prune(new Set(this.sealed.keys()), 'shared secrets');
    const out = new Map<number, SecAggRelayedShares>();
    for (const v of this.shared) {
      const shares = this.closedNeighbourhood(v, this.shared)
        .filter((u) => u !== v)
        .map((from) => ({ from, sealed: this.sealed.get(from)!.get(v)! }));
      out.set(v, { session: this.config.session, shares });
    }
    this.stageNow = 'collect';
    return out;
  }

  /** Stage 3: a masked input, added to the running sum at once (memory stays one vector). */
  receiveMaskedInput(from: number, msg: unknown): void {
    const m = this.entry('collect', SecAggMaskedInputSchema, 'masked input', from, msg, {
      members: this.shared,
      notMember: 'did not share secrets in this session',
      done: this.inputs,
      again: 'already sent its masked input',
    });
    const bytes = this.config.vectorLength * 4;
    if (m.masked.length !== bytes) throw new SecureError('wrong_length', `Expected a masked input of ${bytes} bytes (${this.config.vectorLength} words), got ${m.masked.length}`);
    const words = wordsOf(m.masked);
    const sum = this.sum;
    for (let i = 0; i < words.length; i++) sum[i] += words[i];
    this.inputs.add(from);
  }

  /**
   * Ends stage 3: the survivors are fixed, and each of them is asked for shares.
   * Fails when some secret could no longer be reconstructed even if every
   * survivor answers.
   */
  closeCollection(): Map<number, SecAggUnmaskRequest> {
    this.expect('collect', 'closeCollection()');
    this.survivorSet = new Set(this.inputs);
    const { threshold } = this.config;
    if (this.survivorSet.size < threshold) this.fail(`only ${this.survivorSet.size} participants sent masked inputs; the threshold is ${threshold}`);
    for (const u of this.needed()) {
      const holders = this.closedNeighbourhood(u, this.shared).filter((v) => this.survivorSet.has(v)).length;
      if (holders < threshold) this.fail(`participant ${u}'s secret is held by ${holders} survivors; the threshold is ${threshold}`);
    }
    const out = new Map<number, SecAggUnmaskRequest>();
    for (const u of this.survivorSet) {
      const near = this.closedNeighbourhood(u, this.shared);
      out.set(u, {
        session: this.config.session,
        survivors: near.filter((v) => this.survivorSet.has(v)),
        dropped: near.filter((v) => !this.survivorSet.has(v)),
      });
    }
    this.stageNow = 'unmask';
    return out;
  }

  /** Stage 4: a survivor's shares, exactly those it was asked for. */
  receiveUnmaskResponse(from: number, msg: unknown): void {
    const m = this.entry('unmask', SecAggUnmaskResponseSchema, 'unmask response', from, msg, {
      members: this.survivorSet,
      notMember: 'is not a survivor of this session',
      done: this.responded,
      again: 'already answered the unmask request',
    });
    const near = this.closedNeighbourhood(from, this.shared);
    const wantSeeds = near.filter((v) => this.survivorSet.has(v)).join(',');
    const wantKeys = near.filter((v) => !this.survivorSet.has(v)).join(',');
    const gotSeeds = m.seedShares.map((s) => s.of);
    const gotKeys = m.keyShares.map((s) => s.of);
    if ([...gotSeeds].sort((a, b) => a - b).join(',') !== wantSeeds || [...gotKeys].sort((a, b) => a - b).join(',') !== wantKeys) {
      throw new SecureError('bad_message', `Participant ${from} must answer seed shares of [${wantSeeds}] and key shares of [${wantKeys}]`);
    }
    checkDistinct(gotSeeds, `Seed shares of participant ${from}`);
    checkDistinct(gotKeys, `Key shares of participant ${from}`);
    const seeds = m.seedShares.map((s) => ({ of: s.of, y: decodeShare(s.share) }));
    const keys = m.keyShares.map((s) => ({ of: s.of, y: decodeShare(s.share) }));
    for (const s of seeds) push(this.seedShares, s.of, { x: from, y: s.y });
    for (const s of keys) push(this.keyShares, s.of, { x: from, y: s.y });
    this.responded.add(from);
  }

  /** Whether enough shares are in to finish: every needed secret has `threshold` of them. */
  canFinish(): boolean {
    if (this.stageNow !== 'unmask') return false;
    const t = this.config.threshold;
    return this.needed().every((u) => ((this.survivorSet.has(u) ? this.seedShares : this.keyShares).get(u)?.length ?? 0) >= t);
  }

  /** Ends stage 4: removes the masks and returns the sum of the survivors' inputs. */
  finish(): SecAggResult {
    this.expect('unmask', 'finish()');
    const t = this.config.threshold;
    for (const u of this.needed()) {
      const have = ((this.survivorSet.has(u) ? this.seedShares : this.keyShares).get(u) ?? []).length;
      if (have < t) this.fail(`participant ${u}'s ${this.survivorSet.has(u) ? 'self-mask seed' : 'mask key'} has ${have} shares back; the threshold is ${t}`);
    }
    const survivors = [...this.survivorSet].sort((a, b) => a - b);
    const dropped = [...this.shared].filter((v) => !this.survivorSet.has(v)).sort((a, b) => a - b);
    try {
      removeMasks(this.sum, {
        session: this.config.session,
        threshold: t,
        survivors,
        dropped,
        neighbours: (v) => this.closedNeighbourhood(v, this.shared).filter((u) => u !== v),
        maskKey: (v) => this.advertised.get(v)!.maskKey,
        commitment: (v) => this.commitments.get(v)!,
        seedShares: (v) => this.seedShares.get(v)!,
        keyShares: (v) => this.keyShares.get(v)!,
      });
    } catch (e) {
      this.stageNow = 'failed';
      throw e;
    }
    this.stageNow = 'done';
    const absent = this.config.participants.filter((p) => !this.shared.has(p)).sort((a, b) => a - b);
    return { sum: this.sum, survivors, dropped, absent };
  }

  /** Ends the round without a result (e.g. the coordinator gave up). */
  abort(reason: string): void {
    if (this.stageNow === 'done' || this.stageNow === 'failed') return;
    this.stageNow = 'failed';
    this.failure = reason;
  }

  /** Secrets to reconstruct: every survivor's seed, and the mask key of every dropped participant with a surviving neighbour. */
  private needed(): number[] {
    const out: number[] = [];
    for (const v of this.shared) {
      if (this.survivorSet.has(v) || this.closedNeighbourhood(v, this.shared).some((u) => this.survivorSet.has(u))) out.push(v);
    }
    return out;
  }

  private fail(reason: string): never {
    this.stageNow = 'failed';
    this.failure = reason;
    throw new SecureError('too_few_survivors', `Secure sum "${this.config.session}" failed: ${reason}`);
  }

  /** Members of `within` in u's closed neighbourhood (u itself included when in `within`), sorted. */
  private closedNeighbourhood(u: number, within: ReadonlySet<number>): number[] {
    return [u, ...this.neighbours.get(u)!].filter((v) => within.has(v)).sort((a, b) => a - b);
  }

  /**
   * Drops participants whose closed neighbourhood within `set` is smaller than
   * the threshold (their secrets could not be reconstructed), until none is;
   * fails when fewer than the threshold remain.
   */
  private prune(set: Set<number>, what: string): Set<number> {
    const t = this.config.threshold;
    let changed = true;
    while (changed) {
      changed = false;
      for (const u of set) {
        if (this.closedNeighbourhood(u, set).length < t) {
          set.delete(u);
          changed = true;
        }
      }
    }
    if (set.size < t) this.fail(`only ${set.size} participants ${what} with enough neighbours; the threshold is ${t}`);
    return set;
  }

  /**
   * What every stage's message goes through: the stage, the schema and session,
   * the sender's identity, membership of the stage's senders, and being the
   * first of its kind.
   */
  private entry<S extends z.ZodType<{ session: string; from: number }>>(
    stage: SecAggServerStage,
    schema: S,
    what: string,
    from: number,
    msg: unknown,
    rule: { members: ReadonlySet<number>; notMember: string; done: { has(v: number): boolean }; again: string },
  ): z.infer<S> {
    this.expect(stage, capitalised(what), from);
    const m = parseMessage(schema, msg, what, this.config.session);
    this.checkFrom(from, m.from);
    if (!rule.members.has(from)) throw new SecureError('unknown_sender', `Participant ${from} ${rule.notMember}`);
    if (rule.done.has(from)) throw new SecureError('duplicate', `Participant ${from} ${rule.again}`);
    return m;
  }

  private expect(stage: SecAggServerStage, what: string, from?: number): void {
    if (this.stageNow !== stage) {
      const who = from === undefined ? '' : ` from participant ${from}`;
      throw new SecureError('wrong_stage', `${what}${who} arrived in stage "${this.stageNow}", expected "${stage}"`);
    }
  }

  private checkParticipant(index: number): void {
    if (!this.neighbours.has(index)) throw new SecureError('unknown_sender', `Participant ${index} is not among [${this.config.participants.join(', ')}]`);
  }

  private checkFrom(from: number, claimed: number): void {
    this.checkParticipant(from);
    if (claimed !== from) throw new SecureError('bad_message', `Message from participant ${from} claims to be from ${claimed}`);
  }
}

function push(map: Map<number, Share[]>, key: number, share: Share): void {
  const list = map.get(key);
  if (list) list.push(share);
  else map.set(key, [share]);
}
