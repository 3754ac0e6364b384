// The coordinator's last step: reconstruct the secrets behind the masks and
// subtract the masks from the sum of masked inputs.
import { SecureError } from './errors';
import { maskSign, pairMaskKey, seedCommitment, selfMaskKey } from './derive';
import { applyMasks, type Mask } from './keystream';
import { x25519Agree, x25519FromPrivate } from './primitives';
import { reconstructBytes, type Share } from './shamir';
import { equalBytes } from './words';

/** What unmasking needs to know about the round. */
export interface UnmaskContext {
  session: string;
  threshold: number;
  /** Participants whose masked input is in the sum. */
  survivors: number[];
  /** Participants that shared secrets but sent no input. */
  dropped: number[];
  /** A participant's neighbours among those that shared secrets. */
  neighbours: (v: number) => number[];
  /** A participant's advertised public mask key. */
  maskKey: (v: number) => Uint8Array;
  commitment: (v: number) => Uint8Array;
  seedShares: (v: number) => Share[];
  keyShares: (v: number) => Share[];
}

/**
 * sum ← sum − Σ_survivors selfMask − Σ_dropped Σ_{surviving neighbours} (their
 * sign)·pairMask, leaving Σ_survivors input. Every reconstructed secret is
 * checked first (seed against its commitment, mask key against its public key),
 * so wrong shares fail with bad_share instead of a silently wrong sum.
 */
export function removeMasks(sum: Uint32Array, ctx: UnmaskContext): void {
  const { session, threshold } = ctx;
  const survivorSet = new Set(ctx.survivors);
  const seeds = ctx.survivors.map((u) => {
    const seed = reconstructBytes(ctx.seedShares(u), threshold);
    if (!equalBytes(seedCommitment(session, u, seed), ctx.commitment(u))) {
      throw new SecureError('bad_share', `Participant ${u}'s self-mask seed, reconstructed from shares, does not match its commitment: a share is wrong`);
    }
    return { u, seed };
  });
  const keys = ctx.dropped
    .filter((v) => ctx.neighbours(v).some((u) => survivorSet.has(u)))
    .map((v) => {
      const pair = x25519FromPrivate(reconstructBytes(ctx.keyShares(v), threshold));
      if (!equalBytes(pair.publicRaw, ctx.maskKey(v))) {
        throw new SecureError('bad_share', `Participant ${v}'s mask key, reconstructed from shares, does not match its public key: a share is wrong`);
      }
      return { v, pair };
    });
  const masks: Mask[] = seeds.map(({ u, seed }) => ({ key: selfMaskKey(seed, session, u), sign: -1 }));
  for (const { v, pair } of keys) {
    for (const u of ctx.neighbours(v)) {
      if (!survivorSet.has(u)) continue;
      const shared = x25519Agree(pair.privateKey, ctx.maskKey(u));
      masks.push({ key: pairMaskKey(shared, session, u, v), sign: maskSign(u, v) === 1 ? -1 : 1 });
    }
  }
  applyMasks(sum, masks);
}
