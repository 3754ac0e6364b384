import { z } from 'zod';
import { ERROR_CODES } from './errors';
import { DEFAULT_LOCAL_LOSS, LocalLossSchema } from './local-loss';
import { SumCalibrateSchema, SumFitSchema, SumJobSchema, type SecAggPublicKeys, type SecAggRelayedShares, type SecAggReply, type SecAggSetup, type SecAggUnmaskRequest, type SumCalibrateResult, type SumEvaluateResult, type SumFitResult } from './secure';

/**
 * Wire messages between a coordinator and its hospitals. These zod schemas
 * are the single source of truth: the TypeScript types are inferred from them
 * and every message is `safeParse`d where it enters.
 */
export const PROTOCOL_VERSION = 1;

/** Default ceiling for one message (weights included): DenseNet121 in float32 is 30.3 MB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

const finite = z.number().finite();
const count = z.number().int().nonnegative();
const name = z.string().min(1).max(512);

export const TensorSpecSchema = z.object({
  name,
  shape: z.array(z.number().int().nonnegative()).max(8),
  dtype: z.enum(['float32', 'float16']),
});

export const WeightsPayloadSchema = z.object({
  manifest: z.array(TensorSpecSchema).min(1).max(100_000),
  byteLength: count,
  checksum: z.number().int().nonnegative().max(0xffffffff),
  data: z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'Expected binary data (Uint8Array)' }),
});

export const ErrorSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string().max(4096) });
export type WireError = z.infer<typeof ErrorSchema>;

/**
 * Sent in the socket.io handshake (`auth`), checked before a connection is
 * accepted. Without a token, the hospital is identified by the client
 * certificate of its TLS connection.
 */
export const HandshakeAuthSchema = z.object({
  protocolVersion: z.number().int(),
  token: z.string().min(1).max(512).optional(),
});
export type HandshakeAuth = z.infer<typeof HandshakeAuthSchema>;

/** Aggregate facts a hospital may share about itself: counts only, never file names. */
export const HelloSchema = z.object({
  software: z.string().max(128),
  backend: z.string().max(64),
  /** The run's classes this hospital has images of: any non-empty subset (a children's hospital may have no TB at all). */
  classes: z.array(name).min(1).max(1000),
  examples: z.object({ train: count, val: count, test: count }),
});
export type Hello = z.infer<typeof HelloSchema>;

export const WelcomeSchema = z.object({
  protocolVersion: z.number().int(),
  runId: z.string().min(1).max(128),
  hospitalId: z.string().min(1).max(128),
  hospitalName: name,
  heartbeatIntervalMs: z.number().int().positive(),
  maxPayloadBytes: z.number().int().positive(),
  /** The model every hospital builds; opaque to the protocol, validated by the model lib. */
  model: z.record(z.string(), z.unknown()),
  classes: z.array(name).min(2).max(1000),
});
export type Welcome = z.infer<typeof WelcomeSchema>;

/**
 * Epochs each hospital trains a round when a coordinator config or `simulate` names none: 2 since 2026-12-05 (1 before).
 * With K hospitals each takes about 1/K of the optimizer steps a centralized epoch takes; on the
 * demo X-rays under label skew two local epochs came closer to centralized training of as many
 * epochs (docs/EXPERIMENTS.md, "Two local epochs as the default").
 */
export const DEFAULT_LOCAL_EPOCHS = 2;

export const FitConfigSchema = z.object({
  localEpochs: z.number().int().positive().max(1000),
  batchSize: z.number().int().positive().max(4096),
  learningRate: finite.positive().optional(),
  /** FedProx proximal term μ; 0 turns it off. */
  proximalMu: finite.nonnegative().default(0),
  /** Names of tensors the hospital keeps local (FedBN); they are not sent back. */
  keepLocal: z.array(name).default([]),
  weightsDtype: z.enum(['float32', 'float16']).default('float32'),
  /** Cap on training examples per epoch, for quick rounds; 0 means the whole split. */
  maxExamplesPerEpoch: count.default(0),
  seed: z.number().int().default(0),
  /** The loss local training minimises (local-loss.ts); evaluation always uses the model's own outputs. */
  localLoss: LocalLossSchema.default(DEFAULT_LOCAL_LOSS),
  /**
   * What trains this round: `all`, `head` or `from:<keras layer name>`. The
   * hospital sends back only the tensors that trained (and the moving
   * statistics of trained BatchNorm layers). Absent: the model as built.
   */
  trainable: z.string().min(1).max(600).optional(),
});
export type FitConfig = z.infer<typeof FitConfigSchema>;

export const FitSchema = z.object({
  runId: z.string(),
  round: z.number().int().positive(),
  config: FitConfigSchema,
  weights: WeightsPayloadSchema,
  /** Present when the round's updates are summed (secure aggregation or differential privacy): answer with a SumFitResult. */
  secure: SumFitSchema.optional(),
});
export type Fit = z.infer<typeof FitSchema>;

export const TrainMetricsSchema = z.object({ loss: finite, accuracy: finite.min(0).max(1) });

export const FitResultSchema = z.object({
  runId: z.string(),
  round: z.number().int().positive(),
  examples: z.number().int().positive(),
  /** The hospital's training loss and accuracy; absent when it withholds them (`fedxray hospital --withhold-metrics`). */
  metrics: TrainMetricsSchema.optional(),
  durationMs: count,
  weights: WeightsPayloadSchema,
});
export type FitResult = z.infer<typeof FitResultSchema>;

export const EvaluateSchema = z.object({
  runId: z.string(),
  round: z.number().int().nonnegative(),
  split: z.enum(['val', 'test']),
  weights: WeightsPayloadSchema,
  /** Present under secure aggregation: answer with a SumEvaluateResult (the summary packed and masked). */
  secure: SumJobSchema.optional(),
});
export type Evaluate = z.infer<typeof EvaluateSchema>;

/**
 * A mergeable evaluation summary: sums only, so summaries from hospitals add
 * up to the pooled one without any single prediction leaving a hospital.
 * histograms[c][t][b]: examples whose true-class-is-c flag is t (0 or 1) and
 * whose score for class c falls in bin b of `bins` bins over [0, 1]; the bin
 * edges are @fedxray/evaluation's binEdges(bins) (equal steps in a log-logit
 * scale, so scores piled up near 0 and 1 still separate).
 * calibration[b]: examples whose top score falls in bin b: count, sum of top
 * scores, how many were right.
 */
export const EvaluationSummarySchema = z.object({
  classes: z.array(name).min(2).max(1000),
  count,
  lossSum: finite.nonnegative(),
  confusion: z.array(z.array(count)),
  bins: z.number().int().positive().max(100_000),
  histograms: z.array(z.array(z.array(count)).length(2)),
  calibration: z.object({ count: z.array(count), confidenceSum: z.array(finite.nonnegative()), correct: z.array(count) }),
});
export type EvaluationSummaryWire = z.infer<typeof EvaluationSummarySchema>;

export const EvaluateResultSchema = z.object({
  runId: z.string(),
  round: z.number().int().nonnegative(),
  split: z.enum(['val', 'test']),
  summary: EvaluationSummarySchema,
  durationMs: count,
});
export type EvaluateResult = z.infer<typeof EvaluateResultSchema>;

/**
 * BatchNorm recalibration after aggregation: averaging weights leaves each
 * BatchNorm layer's moving statistics describing none of the models that were
 * averaged. Hospitals run the new global model forward (training-mode
 * normalisation, no gradients) over their own training images and return the
 * resulting moving mean and variance per layer; the coordinator pools them
 * (weighted by examples, variance via E[x²]) into the global model.
 */
export const CalibrateSchema = z.object({
  runId: z.string(),
  round: z.number().int().positive(),
  maxExamples: z.number().int().positive(),
  /** What trained this round (as FitConfig.trainable): frozen BatchNorm layers keep their statistics and normalise with them. */
  trainable: z.string().min(1).max(600).optional(),
  weights: WeightsPayloadSchema,
  /** Present under secure aggregation: answer with a SumCalibrateResult (the statistics packed and masked). */
  secure: SumCalibrateSchema.optional(),
  /**
   * What to collect: BatchNorm statistics (absent, the default), or 'head': per class, the
   * image count, Σf and Σ f fᵀ of the features the last layer reads (inference mode), for
   * the coordinator's head calibration (@fedxray/model's HeadStats).
   */
  target: z.enum(['batchnorm', 'head']).optional(),
});
export type Calibrate = z.infer<typeof CalibrateSchema>;
export type CalibrationTarget = NonNullable<Calibrate['target']>;

export const CalibrateResultSchema = z.object({
  runId: z.string(),
  round: z.number().int().positive(),
  examples: z.number().int().positive(),
  durationMs: count,
  stats: WeightsPayloadSchema,
});
export type CalibrateResult = z.infer<typeof CalibrateResultSchema>;

export const HeartbeatSchema = z.object({
  round: z.number().int().nonnegative(),
  phase: z.enum(['idle', 'fit', 'calibrate', 'evaluate']),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const ProgressSchema = z.object({
  round: z.number().int().nonnegative(),
  phase: z.enum(['fit', 'evaluate']),
  epoch: count,
  epochs: count,
  done: count,
  total: count,
  loss: finite.optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

export const FailureSchema = z.object({
  runId: z.string(),
  round: z.number().int().nonnegative(),
  phase: z.enum(['fit', 'calibrate', 'evaluate']),
  error: ErrorSchema,
});
export type Failure = z.infer<typeof FailureSchema>;

export const AbortSchema = z.object({ round: z.number().int().nonnegative(), reason: z.string().max(4096) });
export type Abort = z.infer<typeof AbortSchema>;

export const ByeSchema = z.object({ reason: z.string().max(4096), finished: z.boolean() });
export type Bye = z.infer<typeof ByeSchema>;

/** What a handler answers through a socket.io acknowledgement. */
export type Ack = { ok: true } | { ok: false; error: WireError };

/** socket.io typed events, coordinator → hospital. */
export interface ServerToHospitalEvents {
  welcome: (msg: Welcome) => void;
  fit: (msg: Fit) => void;
  evaluate: (msg: Evaluate) => void;
  calibrate: (msg: Calibrate) => void;
  abort: (msg: Abort) => void;
  bye: (msg: Bye) => void;
  /** Secure aggregation's stages (libs/secure), each answered through the acknowledgement. */
  secAggSetup: (msg: SecAggSetup, ack: (a: SecAggReply) => void) => void;
  secAggKeys: (msg: SecAggPublicKeys, ack: (a: SecAggReply) => void) => void;
  secAggRelayed: (msg: SecAggRelayedShares, ack: (a: SecAggReply) => void) => void;
  secAggUnmask: (msg: SecAggUnmaskRequest, ack: (a: SecAggReply) => void) => void;
}

/** socket.io typed events, hospital → coordinator. */
export interface HospitalToServerEvents {
  hello: (msg: Hello, ack: (a: Ack) => void) => void;
  fitResult: (msg: FitResult | SumFitResult, ack: (a: Ack) => void) => void;
  evaluateResult: (msg: EvaluateResult | SumEvaluateResult, ack: (a: Ack) => void) => void;
  calibrateResult: (msg: CalibrateResult | SumCalibrateResult, ack: (a: Ack) => void) => void;
  failure: (msg: Failure) => void;
  heartbeat: (msg: Heartbeat) => void;
  progress: (msg: Progress) => void;
}

/** Turns a zod failure into a message that says what was expected and what arrived. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
    .join('; ');
}
