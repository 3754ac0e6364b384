import { z } from 'zod';

/**
 * Secure aggregation (SecAgg, Bonawitz et al. 2017; SecAgg+, Bell et al. 2020)
 * on the wire. The coordinator relays these between hospitals and learns only
 * the sum of their vectors; @fedxray/secure holds the state machines that make
 * and check them. Participants are numbered 1..n within a round (the Shamir
 * points of their shares); `session` names one secure sum (run, round and what
 * is summed) and binds every key and ciphertext to it.
 */

/** Raw X25519 public keys and seed commitments. */
export const SECAGG_KEY_BYTES = 32;
/** One Shamir share of a 32-byte secret: an element of GF(2²⁵⁶ + 297), big-endian. */
export const SECAGG_SHARE_BYTES = 33;
/** The two shares a hospital sends a neighbour, sealed with AES-256-GCM: nonce (12) ‖ 2 shares ‖ tag (16). */
export const SECAGG_SEALED_SHARES_BYTES = 12 + 2 * SECAGG_SHARE_BYTES + 16;
/** Most participants in one secure sum. */
export const SECAGG_MAX_PARTICIPANTS = 10_000;
/** Longest vector one secure sum carries (uint32 words): 2²⁸, 1 GiB. */
export const SECAGG_MAX_VECTOR_LENGTH = 2 ** 28;

const index = z.number().int().min(1).max(SECAGG_MAX_PARTICIPANTS);
const indices = z.array(index).max(SECAGG_MAX_PARTICIPANTS);
const session = z.string().min(1).max(256);

function bytes(length: number) {
  return z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === length, { message: `Expected ${length} bytes (Uint8Array)` });
}
const binary = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'Expected binary data (Uint8Array)' });

/** Who shares with whom: everyone (SecAgg), or a random k-regular graph chosen from a seed (SecAgg+). */
export const SecAggGraphSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('full') }),
  z.object({
    kind: z.literal('sparse'),
    /** Neighbours per participant (even). */
    degree: z.number().int().min(2).max(SECAGG_MAX_PARTICIPANTS),
    /** Seed of the permutation that places participants on the ring of the Harary graph. */
    seed: z.string().min(1).max(128),
  }),
]);
export type SecAggGraph = z.infer<typeof SecAggGraphSchema>;

/** Coordinator → hospital: the round's parameters; `index` is the recipient's own number. */
export const SecAggSetupSchema = z.object({
  session,
  index,
  participants: indices.min(2),
  /** Shares needed to reconstruct a secret (out of a closed neighbourhood: the neighbours and oneself). */
  threshold: z.number().int().min(2).max(SECAGG_MAX_PARTICIPANTS),
  graph: SecAggGraphSchema,
  /** Words (uint32) in the summed vector. */
  vectorLength: z.number().int().min(1).max(SECAGG_MAX_VECTOR_LENGTH),
});
export type SecAggSetup = z.infer<typeof SecAggSetupSchema>;

const segmentName = z.string().min(1).max(512);
const segmentLength = z.number().int().min(0).max(SECAGG_MAX_VECTOR_LENGTH);

/** A named run of words in the summed vector: reals in fixed point (clipped to ±range), or whole counts up to max. */
export const SecAggSegmentSchema = z.discriminatedUnion('kind', [
  z.object({ name: segmentName, kind: z.literal('real'), length: segmentLength, range: z.number().finite().positive() }),
  z.object({ name: segmentName, kind: z.literal('count'), length: segmentLength, max: z.number().int().min(0).max(2 ** 32 - 1) }),
]);
export type SecAggSegment = z.infer<typeof SecAggSegmentSchema>;

/** What the summed vector holds, in order, and for how many hospitals at most (the fixed point's headroom). */
export const SecAggLayoutSchema = z.object({
  segments: z.array(SecAggSegmentSchema).min(1).max(100_000),
  maxSummands: z.number().int().min(1).max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggLayout = z.infer<typeof SecAggLayoutSchema>;

/** Stage 1, hospital → coordinator: this round's two public keys. */
export const SecAggAdvertiseSchema = z.object({
  session,
  from: index,
  /** X25519 key of the pairwise masks. */
  maskKey: bytes(SECAGG_KEY_BYTES),
  /** X25519 key that encrypts the shares sent to this hospital. */
  shareKey: bytes(SECAGG_KEY_BYTES),
});
export type SecAggAdvertise = z.infer<typeof SecAggAdvertiseSchema>;

/** Stage 1 → 2, coordinator → hospital: the public keys of its neighbours that advertised (its own included). */
export const SecAggPublicKeysSchema = z.object({
  session,
  keys: z
    .array(z.object({ index, maskKey: bytes(SECAGG_KEY_BYTES), shareKey: bytes(SECAGG_KEY_BYTES) }))
    .min(1)
    .max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggPublicKeys = z.infer<typeof SecAggPublicKeysSchema>;

/** Stage 2, hospital → coordinator: its two secrets' shares, one sealed box per neighbour, and a commitment to its self-mask seed. */
export const SecAggSharesSchema = z.object({
  session,
  from: index,
  /** SHA-256 binding the self-mask seed, so the coordinator can check what it reconstructs. */
  seedCommitment: bytes(SECAGG_KEY_BYTES),
  shares: z.array(z.object({ to: index, sealed: bytes(SECAGG_SEALED_SHARES_BYTES) })).max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggShares = z.infer<typeof SecAggSharesSchema>;

/** Stage 2 → 3, coordinator → hospital: the sealed shares its neighbours sent it. */
export const SecAggRelayedSharesSchema = z.object({
  session,
  shares: z.array(z.object({ from: index, sealed: bytes(SECAGG_SEALED_SHARES_BYTES) })).max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggRelayedShares = z.infer<typeof SecAggRelayedSharesSchema>;

/** Stage 3, hospital → coordinator: its vector plus masks, vectorLength little-endian uint32 words. */
export const SecAggMaskedInputSchema = z.object({ session, from: index, masked: binary });
export type SecAggMaskedInput = z.infer<typeof SecAggMaskedInputSchema>;

/**
 * Stage 3 → 4, coordinator → hospital: which of its neighbours sent a masked
 * input (their self-mask seed shares are wanted) and which did not (their mask
 * key shares are wanted). A hospital answers once, and never for both lists at once for the same neighbour.
 */
export const SecAggUnmaskRequestSchema = z.object({ session, survivors: indices, dropped: indices });
export type SecAggUnmaskRequest = z.infer<typeof SecAggUnmaskRequestSchema>;

const shareOf = z.object({ of: index, share: bytes(SECAGG_SHARE_BYTES) });

/** Stage 4, hospital → coordinator: the shares asked for. */
export const SecAggUnmaskResponseSchema = z.object({
  session,
  from: index,
  seedShares: z.array(shareOf).max(SECAGG_MAX_PARTICIPANTS),
  keyShares: z.array(shareOf).max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggUnmaskResponse = z.infer<typeof SecAggUnmaskResponseSchema>;

/** Client-level DP-FedAvg: what every hospital applies to its update in one round. */
export const DpHospitalParamsSchema = z.object({
  /** L2 clip C of the round. */
  clip: z.number().finite().positive(),
  /** Weight = min(examples / weightCap, 1); without a cap every hospital weighs 1. */
  weightCap: z.number().finite().positive().optional(),
  /** Standard deviation of the noise this hospital adds to each value (distributed DP), 0 for central DP. */
  noiseStd: z.number().finite().nonnegative(),
  /** With adaptive clipping: the noise on this hospital's clipping indicator. */
  indicatorNoiseStd: z.number().finite().nonnegative().optional(),
});
export type DpHospitalParamsWire = z.infer<typeof DpHospitalParamsSchema>;

/**
 * What `fit` carries when a round's updates are summed instead of sent one by
 * one: with secure aggregation (masked), or with differential privacy on a
 * trusted coordinator (unmasked, so the coordinator can add the noise).
 */
export const SumFitSchema = z.object({
  session,
  index,
  /** true: mask with the secure sum of `session` (set up before fit); false: send the packed words as they are. */
  masked: z.boolean(),
  layout: SecAggLayoutSchema,
  /** Clip the update's L2 norm to this before packing (the coordinator's maxUpdateNorm), without DP. */
  clip: z.number().finite().positive().optional(),
  dp: DpHospitalParamsSchema.optional(),
});
export type SumFit = z.infer<typeof SumFitSchema>;

/** The answer to a summed `fit`: the packed (and, with secure aggregation, masked) words; no weights, no per-hospital numbers. */
export const SumFitResultSchema = z.strictObject({
  runId: z.string(),
  round: z.number().int().positive(),
  durationMs: z.number().int().nonnegative(),
  input: SecAggMaskedInputSchema,
});
export type SumFitResult = z.infer<typeof SumFitResultSchema>;

/**
 * What `calibrate` and `evaluate` carry under secure aggregation: the session
 * set up for this phase, and the layout of the sum. The hospital answers with
 * its statistics or its evaluation summary packed into that layout and
 * masked, never in the clear.
 */
export const SumJobSchema = z.object({
  session,
  index,
  layout: SecAggLayoutSchema,
});
export type SumJob = z.infer<typeof SumJobSchema>;

/**
 * A summed BatchNorm calibration also names the BatchNorm layers' moving-mean tensors, in the order
 * their channels are packed; a summed head calibration (`target: 'head'`) has none.
 */
export const SumCalibrateSchema = SumJobSchema.extend({
  means: z.array(z.string().min(1).max(512)).min(1).max(100_000).optional(),
});
export type SumCalibrate = z.infer<typeof SumCalibrateSchema>;

/** The answer to a summed `calibrate`: the packed, masked statistics; no per-hospital numbers. */
export const SumCalibrateResultSchema = z.strictObject({
  runId: z.string(),
  round: z.number().int().positive(),
  durationMs: z.number().int().nonnegative(),
  input: SecAggMaskedInputSchema,
});
export type SumCalibrateResult = z.infer<typeof SumCalibrateResultSchema>;

/** The answer to a summed `evaluate`: the packed, masked summary; no per-hospital numbers. */
export const SumEvaluateResultSchema = z.strictObject({
  runId: z.string(),
  round: z.number().int().nonnegative(),
  split: z.enum(['val', 'test']),
  durationMs: z.number().int().nonnegative(),
  input: SecAggMaskedInputSchema,
});
export type SumEvaluateResult = z.infer<typeof SumEvaluateResultSchema>;

/** A hospital's answer to a secure-aggregation stage (the socket.io acknowledgement): its message, or why it refused. */
export const SecAggReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), reply: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string().max(64), message: z.string().max(4096) }) }),
]);
export type SecAggReply = z.infer<typeof SecAggReplySchema>;
