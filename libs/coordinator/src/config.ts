import { z } from 'zod';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '@fedxray/protocol';

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
  /** A round's fit phase ends at this deadline; hospitals still training count as failures. */
  roundTimeoutMs: z.number().int().positive().default(60 * 60_000),
  /** Failures tolerated in a round (k of n); more, and the round is retried. */
  maxFailures: z.number().int().nonnegative().default(1),
  /** Attempts at one round before the run fails. */
  maxRoundAttempts: z.number().int().positive().default(3),
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
      localEpochs: z.number().int().positive().default(1),
      batchSize: z.number().int().positive().default(32),
      learningRate: z.number().positive().optional(),
      maxExamplesPerEpoch: z.number().int().nonnegative().default(0),
      weightsDtype: z.enum(['float32', 'float16']).default('float32'),
    })
    .default({ localEpochs: 1, batchSize: 32, maxExamplesPerEpoch: 0, weightsDtype: 'float32' }),
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
  /** Refuse updates whose L2 distance from the global model exceeds this. */
  maxUpdateNorm: z.number().positive().optional(),
  /** The model, as understood by @fedxray/model's ModelSpecSchema. */
  model: z.record(z.string(), z.unknown()),
  /** Seed for the initial weights and for sampling. */
  seed: z.number().int().default(42),
  maxPayloadBytes: z.number().int().positive().default(DEFAULT_MAX_PAYLOAD_BYTES),
  /** A folder with the built dashboard (index.html …) to serve at `/`. */
  dashboardDir: z.string().optional(),
  /** Token that lets a non-loopback browser read the dashboard and API. */
  dashboardToken: z.string().min(16).optional(),
  /** Accept these tokens without the registry (simulation and tests). name → token. */
  staticTokens: z.record(z.string(), z.string().min(16)).optional(),
});
export type CoordinatorConfig = z.infer<typeof CoordinatorConfigSchema>;
export type CoordinatorConfigInput = z.input<typeof CoordinatorConfigSchema>;
