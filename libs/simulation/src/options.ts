import { z } from 'zod';
import { DEFAULT_MAX_REPEAT } from '@fedxray/data';
import { DEFAULT_LOCAL_EPOCHS, LocalLossSchema } from '@fedxray/protocol';

/** One simulated federation, parsed once; bad values fail at once with their path. */
export const SimulationOptionsSchema = z
  .strictObject({
    /** One data set split among hospitals by `partition` … */
    data: z.string().optional(),
    /** … or one folder per hospital. */
    hospitalData: z.array(z.string()).optional(),
    hospitals: z.number().int().positive().max(1000).default(3),
    partition: z.string().default('iid'),
    rounds: z.number().int().positive().default(3),
    localEpochs: z.number().int().positive().default(DEFAULT_LOCAL_EPOCHS),
    batchSize: z.number().int().positive().default(32),
    maxExamplesPerEpoch: z.number().int().nonnegative().default(0),
    learningRate: z.number().positive().optional(),
    /** As the coordinator takes it: `name` and its options; `batchNorm: 'local'` is FedBN. */
    strategy: z.record(z.string(), z.unknown()).default({ name: 'fedavg' }),
    /** Model spec fields (arch, imageSize, head, optimizer …); classes come from the data. */
    model: z.record(z.string(), z.unknown()).default({}),
    backend: z.enum(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'),
    /** Round 0's global model: random, imagenet, a Keras .h5 file or a model folder (the coordinator's `weights`). */
    weights: z.string().min(1).optional(),
    /** What trains: all, head or from:<keras layer> (the coordinator's `trainable`). */
    trainable: z.string().min(1).optional(),
    /** What trains round by round, e.g. head:3,all:7 (the coordinator's `schedule`). */
    schedule: z.string().min(1).optional(),
    /** Where each hospital keeps its frozen backbone's features (`<dir>/<hospital>`). @default <out>/feature-cache */
    featureCacheDir: z.string().optional(),
    augment: z.boolean().default(true),
    balance: z.union([z.enum(['none', 'max']), z.number().int().positive()]).default('max'),
    /** Most times one image may appear in a hospital's balanced epoch; 0 = no bound. */
    maxRepeat: z.number().int().nonnegative().default(DEFAULT_MAX_REPEAT),
    /**
     * The loss hospitals train with (the coordinator's `fit.localLoss`); the comparison arms train with plain cross-entropy.
     * Absent: the coordinator's default, restricted (0.5) with a softmax output and ce with sigmoid.
     */
    localLoss: LocalLossSchema.optional(),
    /** When the global model's last layer is retrained on the hospitals' pooled class statistics: the last round, every round, or never (the coordinator's `headCalibration`). */
    headCalibration: z.enum(['last', 'every', 'off']).default('last'),
    seed: z.number().int().default(42),
    /** Where the run's model, summary.json, report and store go. */
    out: z.string(),
    /** Train every hospital in its own worker thread (uses every core). @default true */
    workers: z.boolean().default(true),
    /** Run every hospital in its own process instead (as real hospitals are). @default false */
    processes: z.boolean().default(false),
    /** Also train the same model centrally on the pooled data for comparison. */
    baseline: z.boolean().default(false),
    /** Also score, per hospital, the global model after one local fine-tuning epoch. */
    fineTune: z.boolean().default(false),
    /** Score every hospital's models on its own test split after the last round (summary.json `personalised`). */
    personalTable: z.boolean().default(true),
    crossSiteEvaluation: z.boolean().default(false),
    evaluateEvery: z.number().int().positive().default(1),
    fractionFit: z.number().min(0).max(1).default(1),
    port: z.number().int().min(0).max(65535).default(0),
    dashboardDir: z.string().optional(),
    /** The coordinator's `secureAggregation` and `dp` sections (checked by the coordinator; docs/PRIVACY.md). */
    secureAggregation: z.record(z.string(), z.unknown()).optional(),
    dp: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((o) => !!o.data !== !!o.hospitalData, { message: 'give either data (one data set to partition) or hospitalData (one folder per hospital)' });
export type SimulationOptions = z.infer<typeof SimulationOptionsSchema>;
export type SimulationOptionsInput = z.input<typeof SimulationOptionsSchema>;
