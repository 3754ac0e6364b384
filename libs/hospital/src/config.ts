import { z } from 'zod';
import { DEFAULT_MAX_REPEAT } from '@fedxray/data';

const ItemSchema = z.object({
  path: z.string(),
  label: z.number().int().nonnegative(),
  className: z.string(),
  hash: z.string(),
  split: z.enum(['train', 'val', 'test']).optional(),
});

/** A hospital's images: a folder to scan, or (in simulation) lists already split. */
export const DataSourceSchema = z.union([
  z.object({
    dir: z.string().min(1),
    /** The run's classes, in its order (label i = classes[i]); a folder of another name is refused. @default the folder names, sorted */
    classes: z.array(z.string().min(1)).min(1).optional(),
    ratios: z.tuple([z.number(), z.number(), z.number()]).optional(),
    splitSeed: z.number().int().default(0),
  }),
  z.object({ classes: z.array(z.string()).min(2), train: z.array(ItemSchema), val: z.array(ItemSchema), test: z.array(ItemSchema) }),
]);
export type DataSource = z.infer<typeof DataSourceSchema>;

export const TrainerOptionsSchema = z.object({
  data: DataSourceSchema,
  /** tfjs backend: auto tries tfjs-node-gpu, tfjs-node, wasm, cpu. @default 'auto' */
  backend: z.enum(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'),
  /** Augment training batches with the study's pipeline. @default true */
  augment: z.union([z.boolean(), z.record(z.string(), z.unknown())]).default(true),
  /** Balance classes in each epoch: 'none', 'max' (up to the largest class) or a count. @default 'max' */
  balance: z.union([z.enum(['none', 'max']), z.number().int().positive()]).default('max'),
  /** Most times one image may appear in a balanced epoch; 0 = no bound (docs/DATA.md). @default DEFAULT_MAX_REPEAT (2) */
  maxRepeat: z.number().int().nonnegative().default(DEFAULT_MAX_REPEAT),
  normalize: z.enum(['rescale', 'imagenet']).default('rescale'),
  resize: z.enum(['fill', 'letterbox']).default('fill'),
  seed: z.number().int().default(0),
  /**
   * Extra training threads, each with its own backend (wasm trains on one core
   * per thread); micro-batches run in parallel and gradients are summed.
   * 'auto': one per core on the wasm backend (whose threads do not start in
   * Node), none on the native ones (which use every core already). @default 'auto'
   */
  threads: z.union([z.literal('auto'), z.number().int().min(0).max(256)]).default('auto'),
  /**
   * Where this hospital keeps the frozen backbone's pooled features (in
   * `<cacheDir>/features/`): while only the head trains, each image's
   * features (and K augmented variants') are computed once and the head
   * trains on them. Absent: the whole model runs every step.
   */
  cacheDir: z.string().min(1).optional(),
  /** Images per forward/backward pass; larger batches accumulate gradients. @default by image size (4 at 224×224) */
  microBatch: z.number().int().positive().optional(),
});
export type TrainerOptions = z.infer<typeof TrainerOptionsSchema>;
export type TrainerOptionsInput = z.input<typeof TrainerOptionsSchema>;

export const HospitalConfigSchema = z.object({
  /** Coordinator URL, e.g. https://coordinator.example.org:8080 */
  coordinator: z.string().url(),
  /** The hospital's token; or, instead, a client certificate (`cert` and `key`). */
  token: z.string().min(16).optional(),
  /** Client certificate (PEM path) issued by `fedxray coordinator add-hospital NAME --certificate`: the hospital proves who it is in the TLS handshake (mutual TLS). */
  cert: z.string().min(1).optional(),
  /** The client certificate's private key (PEM path). */
  key: z.string().min(1).optional(),
  trainer: TrainerOptionsSchema,
  /** Run training in a worker thread so heartbeats flow while it trains. @default true */
  worker: z.boolean().default(true),
  /** Trust this CA certificate (PEM path) for the coordinator's TLS. */
  ca: z.string().optional(),
  /** Give up after this many consecutive failed connection attempts (0 = never). @default 0 */
  maxReconnectAttempts: z.number().int().nonnegative().default(0),
  reconnectDelayMs: z.number().int().positive().default(1000),
  /** Longest pause between connection attempts. @default 30 s */
  reconnectDelayMaxMs: z.number().int().positive().default(30_000),
  /**
   * How long a cause that retrying cannot fix (a wrong URL or port, an
   * untrusted certificate, http:// against TLS, a 404) may last before the
   * hospital gives up. Causes that can clear by themselves (the coordinator
   * not up yet, a proxy's 502) are retried without end. @default 60 s
   */
  giveUpAfterMs: z.number().int().nonnegative().default(60_000),
  /** While the coordinator stays unreachable for the same cause, repeat the report this often. @default 5 min */
  reportEveryMs: z.number().int().positive().default(300_000),
  /**
   * Mask websocket frames with random keys, as browsers do. Off by default: a
   * zero key lets uploads skip a copy of every update (see transport.ts). @default false
   */
  maskFrames: z.boolean().default(false),
  /**
   * Simulations only: seeds the stochastic rounding of what this hospital
   * puts into a secure sum, so that a seeded simulation with secure
   * aggregation repeats itself. Unset (node:crypto), as a real hospital
   * should leave it: whoever knows the seed knows the rounding.
   */
  roundingSeed: z.string().min(1).max(256).optional(),
  /**
   * Send no training loss or accuracy: neither with an update nor in the
   * progress of training (they are never sent in a summed round, whatever
   * this says). The coordinator's records then show none for this hospital. @default false
   */
  withholdMetrics: z.boolean().default(false),
}).superRefine((c, ctx) => {
  const certificate = c.cert !== undefined || c.key !== undefined;
  if (certificate && (c.cert === undefined || c.key === undefined)) ctx.addIssue({ code: 'custom', path: [c.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs both cert and key' });
  if (certificate && c.token !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'give a token or a client certificate, not both' });
  if (!certificate && c.token === undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'give a token, or a client certificate (cert and key)' });
  if (certificate && !c.coordinator.startsWith('https://')) ctx.addIssue({ code: 'custom', path: ['coordinator'], message: `a client certificate is presented over TLS only: the coordinator URL must be https://, but got ${c.coordinator}` });
});
export type HospitalConfig = z.infer<typeof HospitalConfigSchema>;
export type HospitalConfigInput = z.input<typeof HospitalConfigSchema>;
