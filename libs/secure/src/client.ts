// One hospital's side of a secure sum: four stages, each a method that checks
// what the coordinator relayed and returns what to send back.
import {
  SecAggPublicKeysSchema,
  SecAggRelayedSharesSchema,
  SecAggSetupSchema,
  SecAggUnmaskRequestSchema,
  describeZodError,
  type SecAggAdvertise,
  type SecAggMaskedInput,
  type SecAggShares,
  type SecAggSetup,
  type SecAggUnmaskResponse,
} from '@fedxray/protocol';
import type { z } from 'zod';
import { SecureError } from './errors';
import { maskSign, pairMaskKey, seedCommitment, selfMaskKey, shareAad, shareBoxKey } from './derive';
import { applyMasks, type Mask } from './keystream';
import { capitalised, checkDistinct, parseMessage } from './parse';
import { openGcm, sealGcm, x25519Agree, x25519FromPrivate, type X25519KeyPair } from './primitives';
import { cryptoRandom, randomBytes, type RandomSource } from './random';
import { checkRoundConfig } from './round-config';
import { SHARE_BYTES, decodeShare, encodeShare, splitBytes } from './shamir';
import { bytesOf, checkLittleEndian, equalBytes } from './words';

export type SecAggClientStage = 'new' | 'advertised' | 'shared' | 'ready' | 'masked' | 'done';

export interface SecAggClientOptions {
  /** Where keys, seeds and nonces come from. @default node:crypto */
  random?: RandomSource;
}

interface Peer {
  maskKey: Uint8Array;
  shareKey: Uint8Array;
}

/** The shares of a neighbour's two secrets that this hospital holds. */
interface HeldShares {
  maskKey: bigint;
  seed: bigint;
}

/**
 * A hospital in one secure sum. Drive it with the coordinator's messages in
 * order: `advertise()`, `receivePublicKeys()`, `receiveShares()`, `mask()`,
 * `receiveUnmaskRequest()`. Every method refuses (SecureError) a message that
 * is malformed, for another session, out of stage, or that would reveal more
 * than the sum; after a refusal the hospital should leave the round, which the
 * protocol treats as a dropout.
 */
export class SecAggClient {
  readonly setup: SecAggSetup;
  private stageNow: SecAggClientStage = 'new';
  private readonly random: RandomSource;
  private readonly neighbours: ReadonlySet<number>;
  private maskPair?: X25519KeyPair;
  private sharePair?: X25519KeyPair;
  private seed?: Uint8Array;
  /** Neighbours that advertised keys (this hospital included). */
  private readonly peers = new Map<number, Peer>();
  /** Shares this hospital holds, by the neighbour they belong to (its own included); their keys are the neighbours that shared. */
  private readonly held = new Map<number, HeldShares>();

  constructor(setup: unknown, options: SecAggClientOptions = {}) {
    const parsed = SecAggSetupSchema.safeParse(setup);
    if (!parsed.success) throw new SecureError('bad_message', `Malformed secure-aggregation setup: ${describeZodError(parsed.error)}`);
    this.setup = parsed.data;
    const map = checkRoundConfig(this.setup);
    const mine = map.get(this.setup.index);
    if (!mine) throw new SecureError('bad_message', `Setup for participant ${this.setup.index}, who is not among [${this.setup.participants.join(', ')}]`);
    this.neighbours = new Set(mine);
    this.random = options.random ?? cryptoRandom();
    checkLittleEndian();
  }

  get stage(): SecAggClientStage {
    return this.stageNow;
  }

  get index(): number {
    return this.setup.index;
  }

  /** A coordinator message for this stage: the stage, then the schema and session. */
  private entry<S extends z.ZodType<{ session: string }>>(stage: SecAggClientStage, schema: S, what: string, msg: unknown): z.infer<S> {
    this.expectStage(stage, capitalised(what));
    return parseMessage(schema, msg, what, this.setup.session);
  }

  private expectStage(stage: SecAggClientStage, what: string): void {
    if (this.stageNow !== stage) throw new SecureError('wrong_stage', `${what} arrived in stage "${this.stageNow}", expected "${stage}"`);
  }

  /** Stage 1: fresh key pairs for this sum; their public halves go to the coordinator. */
  advertise(): SecAggAdvertise {
    this.expectStage('new', 'advertise()');
    this.maskPair = x25519FromPrivate(randomBytes(this.random, 32));
    this.sharePair = x25519FromPrivate(randomBytes(this.random, 32));
    this.stageNow = 'advertised';
    return { session: this.setup.session, from: this.index, maskKey: this.maskPair.publicRaw, shareKey: this.sharePair.publicRaw };
  }

  /** Stage 2: the neighbours' public keys in; shares of both secrets out, one sealed box per neighbour. */
  receivePublicKeys(msg: unknown): SecAggShares {
    const { keys } = this.entry('advertised', SecAggPublicKeysSchema, 'public keys', msg);
    const { session, threshold } = this.setup;
    checkDistinct(
      keys.map((k) => k.index),
      'Public keys',
    );
    const own = keys.find((k) => k.index === this.index);
    if (!own || !equalBytes(own.maskKey, this.maskPair!.publicRaw) || !equalBytes(own.shareKey, this.sharePair!.publicRaw)) {
      throw new SecureError('bad_message', `Public keys must include participant ${this.index}'s own keys unchanged`);
    }
    for (const k of keys) {
      if (k.index !== this.index && !this.neighbours.has(k.index)) {
        throw new SecureError('unknown_sender', `Public keys include participant ${k.index}, not a neighbour of ${this.index}`);
      }
    }
    if (keys.length < threshold) {
      throw new SecureError('too_few_survivors', `Only ${keys.length} of participant ${this.index}'s neighbourhood advertised keys; the threshold is ${threshold}`);
    }
    for (const k of keys) this.peers.set(k.index, { maskKey: k.maskKey, shareKey: k.shareKey });

    this.seed = randomBytes(this.random, 32);
    const holders = [...this.peers.keys()].sort((a, b) => a - b);
    const keyShares = splitBytes(this.maskPair!.privateRaw, threshold, holders, this.random);
    const seedShares = splitBytes(this.seed, threshold, holders, this.random);
    const shares: SecAggShares['shares'] = [];
    holders.forEach((to, i) => {
      if (to === this.index) {
        this.held.set(to, { maskKey: keyShares[i].y, seed: seedShares[i].y });
        return;
      }
      const plaintext = new Uint8Array(2 * SHARE_BYTES);
      plaintext.set(encodeShare(keyShares[i].y), 0);
      plaintext.set(encodeShare(seedShares[i].y), SHARE_BYTES);
      const box = this.boxKey(to);
      shares.push({ to, sealed: sealGcm(box, randomBytes(this.random, 12), plaintext, shareAad(session, this.index, to)) });
    });
    this.stageNow = 'shared';
    return { session, from: this.index, seedCommitment: seedCommitment(session, this.index, this.seed), shares };
  }

  /** Stage 2 → 3: the sealed shares of the neighbours that shared; they are the ones this hospital's input is masked with. */
  receiveShares(msg: unknown): void {
    const { shares } = this.entry('shared', SecAggRelayedSharesSchema, 'relayed shares', msg);
    const { session, threshold } = this.setup;
    checkDistinct(
      shares.map((s) => s.from),
      'Relayed shares',
    );
    if (shares.length + 1 < threshold) {
      throw new SecureError('too_few_survivors', `Only ${shares.length + 1} of participant ${this.index}'s neighbourhood shared secrets; the threshold is ${threshold}`);
    }
    const opened = new Map<number, HeldShares>();
    for (const { from, sealed } of shares) {
      if (from === this.index || !this.peers.has(from)) {
        throw new SecureError('unknown_sender', `Relayed shares from participant ${from}, who did not advertise keys to ${this.index}`);
      }
      const plain = openGcm(this.boxKey(from), sealed, shareAad(session, from, this.index));
      opened.set(from, { maskKey: decodeShare(plain.subarray(0, SHARE_BYTES)), seed: decodeShare(plain.subarray(SHARE_BYTES)) });
    }
    for (const [from, held] of opened) this.held.set(from, held);
    this.stageNow = 'ready';
  }

  /**
   * Stage 3: input + self mask + Σ ±pairwise masks (mod 2³²), as little-endian
   * bytes. `input` (vectorLength words) is left unchanged.
   */
  mask(input: Uint32Array): SecAggMaskedInput {
    this.expectStage('ready', 'mask()');
    const { session, vectorLength } = this.setup;
    if (!(input instanceof Uint32Array) || input.length !== vectorLength) {
      throw new SecureError('wrong_length', `Expected an input of ${vectorLength} uint32 words, got ${input instanceof Uint32Array ? input.length : typeof input}`);
    }
    const masks: Mask[] = [{ key: selfMaskKey(this.seed!, session, this.index), sign: 1 }];
    for (const v of this.held.keys()) {
      if (v === this.index) continue;
      const shared = x25519Agree(this.maskPair!.privateKey, this.peers.get(v)!.maskKey);
      masks.push({ key: pairMaskKey(shared, session, this.index, v), sign: maskSign(this.index, v) });
    }
    const masked = input.slice();
    applyMasks(masked, masks);
    this.stageNow = 'masked';
    return { session, from: this.index, masked: bytesOf(masked) };
  }

  /**
   * Stage 4: shares of survivors' seeds and of dropped neighbours' mask keys.
   * Refused: a second request, a neighbour in both lists, lists that do not
   * cover exactly the neighbours that shared, a request that calls this
   * hospital dropped, or fewer survivors than the threshold.
   */
  receiveUnmaskRequest(msg: unknown): SecAggUnmaskResponse {
    const { session, threshold } = this.setup;
    if (this.stageNow === 'done') throw new SecureError('refused_request', `Participant ${this.index} already answered an unmask request in session "${session}"`);
    const { survivors, dropped } = this.entry('masked', SecAggUnmaskRequestSchema, 'unmask request', msg);
    checkDistinct(survivors, 'Unmask request (survivors)');
    checkDistinct(dropped, 'Unmask request (dropped)');
    const both = survivors.filter((s) => dropped.includes(s));
    if (both.length > 0) {
      throw new SecureError('refused_request', `Unmask request asks for both secrets of participant(s) ${both.join(', ')}; that would reveal their inputs`);
    }
    if (!survivors.includes(this.index)) throw new SecureError('refused_request', `Unmask request does not count participant ${this.index}, who sent its masked input, among the survivors`);
    const asked = [...survivors, ...dropped].sort((a, b) => a - b);
    const sharedWith = [...this.held.keys()].sort((a, b) => a - b);
    if (asked.join(',') !== sharedWith.join(',')) {
      throw new SecureError('refused_request', `Unmask request must cover exactly the neighbours that shared [${sharedWith.join(', ')}], got [${asked.join(', ')}]`);
    }
    if (survivors.length < threshold) {
      throw new SecureError('refused_request', `Unmask request names ${survivors.length} survivors in participant ${this.index}'s neighbourhood; the threshold is ${threshold}`);
    }
    this.stageNow = 'done';
    return {
      session,
      from: this.index,
      seedShares: survivors.map((of) => ({ of, share: encodeShare(this.held.get(of)!.seed) })),
      keyShares: dropped.map((of) => ({ of, share: encodeShare(this.held.get(of)!.maskKey) })),
    };
  }

  private boxKey(peer: number): Uint8Array {
    const shared = x25519Agree(this.sharePair!.privateKey, this.peers.get(peer)!.shareKey);
    return shareBoxKey(shared, this.setup.session, this.index, peer);
  }
}
