import { z } from 'zod';
import { DEFAULT_LOCAL_EPOCHS, DEFAULT_MAX_PAYLOAD_BYTES, LocalLossSchema } from '@fedxray/protocol';
import { DpConfigSchema, SecureAggregationConfigSchema } from './privacy-config';

/**
 * Everything a coordinator needs, with defaults, parsed once at start-up so a
 * bad config fails at once with the path of the bad field (an unknown field
 * too). `model` and `strategy` are checked by their own libraries
 * (see resolveConfig in run-config.ts).
 */
export const CoordinatorConfigSchema = z.strictObject({
  /** Where the run store (SQLite), checkpoints and reports live. */
  dataDir: z.string().min(1),
  /** @default '127.0.0.1' */
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. @default 8080 */
  port: z.number().int().min(0).max(65535).default(8080),
  /** Serve TLS with this certificate and key (PEM paths). */
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  /** Plain HTTP on a non-loopback address must be asked for explicitly. @default false */
  allowInsecure: z.boolean().default(false),
  /** The run's own folder (model, checkpoints, report). @default <dataDir>/runs/<runId> */
  runDir: z.string().optional(),
  /**
   * Resume this run (with its own stored settings), or start it fresh under this
   * name. Without it, the latest unfinished run in dataDir is resumed when its
   * settings match; a start whose settings differ is refused.
   */
  runId: z.string().min(1).max(128).optional(),
  /** Start a new run even though dataDir holds an unfinished one (which stays, to resume later by its runId). @default false */
  newRun: z.boolean().default(false),
  rounds: z.number().int().positive().default(3),
  /** Hospitals that must be connected before a round starts. @default 2 */
  minAvailable: z.number().int().positive().default(2),
  /**
   * Classes a hospital must have images of to join. A hospital may have any
   * subset of the run's classes (labels follow the run's order); 1 lets
   * one-class hospitals join, 2 or more refuses them. @default 1
   */
  minHospitalClasses: z.number().int().positive().default(1),
  /** Hospitals sampled per round: max(minFit, ceil(fractionFit × available)). */
  minFit: z.number().int().positive().default(2),
  fractionFit: z.number().min(0).max(1).default(1),
  /** Bounded wait for minAvailable hospitals before a round; then the run stops with a clear error. */
  waitTimeoutMs: z.number().int().positive().default(10 * 60_000),
  /** One deadline for the whole round (fit may take 80 % of it, calibration and evaluation the rest); hospitals still working count as failures. */
  roundTimeoutMs: z.number().int().positive().default(60 * 60_000),
  /** Failures tolerated in a round (k of n); more, and the round is retried. */
  maxFailures: z.number().int().nonnegative().default(1),
  /** Attempts at one round before the run fails. */
  maxRoundAttempts: z.number().int().positive().default(3),
  /** After a round fails for a full disk (ENOSPC, SQLITE_FULL), wait this long before trying it again (such attempts do not count towards maxRoundAttempts). */
  diskFullRetryMs: z.number().int().positive().default(30_000),
  heartbeatIntervalMs: z.number().int().positive().default(5_000),
  /** A hospital silent for this many intervals is taken as gone. */
  heartbeatMisses: z.number().int().positive().default(6),
  /** Evaluate the global model every N rounds (and always after the last). */
  evaluateEvery: z.number().int().positive().default(1),
  /** Evaluate the initial model before round 1 (a baseline for the learning curve). @default true */
  evaluateInitial: z.boolean().default(true),
  /** Evaluate each hospital's last local model at every site after the last round. */
  crossSiteEvaluation: z.boolean().default(false),
  fit: z
    .strictObject({
      localEpochs: z.number().int().positive().default(DEFAULT_LOCAL_EPOCHS),
      batchSize: z.number().int().positive().default(32),
      learningRate: z.number().positive().optional(),
      maxExamplesPerEpoch: z.number().int().nonnegative().default(0),
      weightsDtype: z.enum(['float32', 'float16']).default('float32'),
      /**
       * The loss hospitals train with: ce, logit-adjusted (τ) or restricted (scale); libs/protocol local-loss.ts.
       * Absent: restricted (0.5) with a softmax output, ce with sigmoid (defaultLocalLoss; resolveConfig fills it in).
       */
      localLoss: LocalLossSchema.optional(),
    })
    .default({ localEpochs: DEFAULT_LOCAL_EPOCHS, batchSize: 32, maxExamplesPerEpoch: 0, weightsDtype: 'float32' }),
  /** Strategy config as understood by @fedxray/aggregation (`name` plus its options; `batchNorm: 'local'` is FedBN). */
  strategy: z.record(z.string(), z.unknown()).default({ name: 'fedavg' }),
  /** FedBN, the old way: the same as `strategy.batchNorm: 'local'` (which is the one switch); contradicting it is refused. */
  keepBatchNormLocal: z.boolean().optional(),
  /**
   * After aggregation, hospitals recompute the BatchNorm moving statistics of the
   * new global model on their own training images and the coordinator pools them
   * (skipped under FedBN). Averaged weights with averaged statistics evaluate
   * badly under non-IID data; this fixes it at the cost of one forward pass over
   * at most `maxExamples` images per hospital.
   */
  batchNormCalibration: z
    .strictObject({ enabled: z.boolean().default(true), maxExamples: z.number().int().positive().default(512) })
    .default({ enabled: true, maxExamples: 512 }),
  /**
   * After BatchNorm calibration, hospitals send per class the image count, Σf and
   * Σ f fᵀ of the features the last layer reads, over at most `maxExamples` of
   * their training images; the coordinator retrains the last layer on
   * `samplesPerClass` virtual features per class drawn from the pooled Gaussians
   * (`steps` Adam steps at `learningRate`; CCVR), in the last round only or in
   * every round (`rounds`). It corrects the class thresholds that averaging
   * sets badly under label skew. Skipped (and said)
   * under secure aggregation, DP and the robust strategies, and in rounds that
   * do not train the last layer.
   */
  headCalibration: z
    .strictObject({
      enabled: z.boolean().default(true),
      maxExamples: z.number().int().positive().default(512),
      samplesPerClass: z.number().int().positive().max(100_000).default(200),
      steps: z.number().int().nonnegative().max(1_000_000).default(300),
      learningRate: z.number().positive().max(1).default(1e-3),
      /** `last`: only the last round's model (hospitals train from the averaged layers throughout); `every`: every round's. */
      rounds: z.enum(['last', 'every']).default('last'),
    })
    .default({ enabled: true, maxExamples: 512, samplesPerClass: 200, steps: 300, learningRate: 1e-3, rounds: 'last' }),
  /** Refuse updates whose L2 distance from the global model exceeds this (with secure aggregation or DP: hospitals clip to it, the coordinator checks the mean). */
  maxUpdateNorm: z.number().positive().optional(),
  /** Secure aggregation and client-level differential privacy (docs/PRIVACY.md). */
  secureAggregation: SecureAggregationConfigSchema.default({ enabled: false, variant: 'auto', range: 1, stageTimeoutMs: 30_000 }),
  dp: DpConfigSchema.optional(),
  /** The model, as understood by @fedxray/model's ModelSpecSchema. */
  model: z.record(z.string(), z.unknown()),
  /**
   * Where round 0's global model comes from: `random` (seeded; the default),
   * `imagenet` (Keras' notop file for densenet121/169/201, fetched into the
   * user's cache when missing; the head stays seeded-random), a Keras `.h5`
   * file, or a fedxray/tfjs model folder (e.g. an earlier run's model, to
   * continue it). Sets or checks the model's channels and normalisation.
   */
  weights: z.string().min(1).optional(),
  /** What trains at the hospitals in every round: `all`, `head` or `from:<keras layer>`; frozen tensors are neither sent back nor aggregated. Absent: the model as built. */
  trainable: z.string().min(1).optional(),
  /** What trains round by round instead, e.g. `head:3,all:7`; past its end the last setting stays. */
  schedule: z.string().min(1).optional(),
  /** Seed for the initial weights and for sampling. */
  seed: z.number().int().default(42),
  maxPayloadBytes: z.number().int().positive().default(DEFAULT_MAX_PAYLOAD_BYTES),
  /** A folder with the built dashboard (index.html …) to serve at `/`. */
  dashboardDir: z.string().optional(),
  /** Token that lets a non-loopback browser read the dashboard and API. */
  dashboardToken: z.string().min(16).optional(),
  /**
   * Addresses of the reverse proxies in front of the coordinator whose
   * X-Forwarded-For is believed (only their own hops; see docs/FEDERATION.md).
   * Without it, a request bearing forwarding headers is never taken as local.
   */
  trustProxy: z.array(z.ipv4().or(z.ipv6())).default([]),
  /** Time a new connection has to authenticate and say hello (until then it may send at most 64 KiB). @default 10 s */
  helloTimeoutMs: z.number().int().positive().default(10_000),
  /** Failed authentications (wrong, malformed or revoked tokens) an address may make before it is refused for a while. @default 10 */
  authFailureLimit: z.number().int().positive().default(10),
  /** The first refusal period after authFailureLimit failures; each further failure doubles it (up to 15 min). @default 1 s */
  authBlockMs: z.number().int().positive().default(1_000),
  /** Dashboard sockets open at once; more are refused. @default 32 */
  maxDashboardConnections: z.number().int().positive().default(32),
  /** Accept these tokens without the registry (simulation and tests). name → token. */
  staticTokens: z.record(z.string(), z.string().min(16)).optional(),
});
export type CoordinatorConfig = z.infer<typeof CoordinatorConfigSchema>;
export type CoordinatorConfigInput = z.input<typeof CoordinatorConfigSchema>;
