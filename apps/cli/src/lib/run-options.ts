// The options `simulate` and `tune` share (data, federation, model, training),
// defined once: the flags, their defaults, what a --config file may hold for
// them, and the simulation settings they make.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { STRATEGY_NAMES } from '@fedxray/aggregation';
import { DEFAULT_LOCAL_EPOCHS, parseLocalLoss, type LocalLoss } from '@fedxray/protocol';
import { UsageError, parseIntOption } from '../usage';
import { PRIVACY_OPTIONS, privacySettings, type PrivacyFlags } from './privacy-options';

const BACKENDS = ['auto', 'gpu', 'node', 'wasm', 'cpu'] as const;
const NORMALIZE = ['rescale', 'imagenet'] as const;

/** The shared flags, as commander gives them (camelCase). */
export interface RunFlags extends PrivacyFlags {
  demo?: boolean;
  data?: string;
  hospitalData?: string;
  hospitals: number;
  partition?: string;
  rounds: number;
  localEpochs?: number;
  batchSize: number;
  maxExamples: number;
  strategy: string;
  fedbn?: boolean;
  maxWeight?: number;
  serverLr?: number;
  localLoss?: string;
  headCalibration?: HeadCalibrationChoice;
  arch: string;
  imageSize?: number;
  backend: (typeof BACKENDS)[number];
  output?: 'softmax' | 'sigmoid';
  seed: number;
  workers: boolean;
  processes?: boolean;
  augment: boolean;
  balance: string | number;
  maxRepeat?: number;
  cacheDir: string;
  weights?: string;
  trainable?: string;
  schedule?: string;
  normalize?: 'rescale' | 'imagenet';
  preset?: 'study';
}

/** One shared option: its flag and what a --config file may give for it. */
interface RunOption {
  option: Option;
  file: z.ZodType;
}

const int = (min: number) => z.number().int().min(min);

/** `--max-weight <f>`: the strategy's maxWeight, a fraction in (0, 1]. Shared by simulate, tune and coordinator. */
export function maxWeightOption(): Option {
  return new Option('--max-weight <f>', "cap on any one hospital's share of a weighted strategy's average, in (0, 1] (strategy.maxWeight; docs/AGGREGATION.md)").argParser((value) => {
    const f = Number(value);
    if (!(f > 0 && f <= 1)) throw new UsageError(`Expected --max-weight to be a fraction in (0, 1], but got ${value}`);
    return f;
  });
}

/** `--server-lr <η>`: the strategy's serverLearningRate (fedavg, fedavgm). Shared by simulate, tune and coordinator. */
export function serverLrOption(): Option {
  return new Option(
    '--server-lr <η>',
    "server learning rate of fedavg and fedavgm: the global model moves η times the hospitals' mean update (strategy.serverLearningRate; docs/AGGREGATION.md)",
  ).argParser((value) => {
    const f = Number(value);
    if (!(f > 0 && Number.isFinite(f))) throw new UsageError(`Expected --server-lr to be a positive number, but got ${value}`);
    return f;
  });
}

/** `--local-loss <kind>`: the loss hospitals train with (the coordinator's fit.localLoss). Shared by simulate, tune and coordinator. */
export function localLossOption(): Option {
  return new Option(
    '--local-loss <kind>',
    "hospitals' training loss: ce, logit-adjusted[:τ] (cross-entropy of logits + τ·log of the hospital's class shares; τ 1) or restricted[:scale] (logits of classes a hospital lacks × scale; 0.5); evaluation uses the plain logits (default restricted:0.5 with a softmax output, ce with sigmoid)",
  ).argParser((value) => {
    localLossOf(value);
    return value;
  });
}

/** `--head-calibration last|every|off`: when the last layer is retrained on the hospitals' pooled class statistics (the coordinator's headCalibration). Shared by simulate, tune and coordinator. */
export function headCalibrationOption(): Option {
  return new Option(
    '--head-calibration <when>',
    "retrain the global model's last layer on the hospitals' pooled class statistics of its input: in the last round (default), every round, or off (docs/FEDERATION.md, \"Head calibration\")",
  ).choices([...HEAD_CALIBRATION_CHOICES]);
}

export const HEAD_CALIBRATION_CHOICES = ['last', 'every', 'off'] as const;
export type HeadCalibrationChoice = (typeof HEAD_CALIBRATION_CHOICES)[number];

/** The coordinator's headCalibration fields a `--head-calibration` value sets. */
export function headCalibrationOf(when: HeadCalibrationChoice): { enabled: boolean; rounds?: 'last' | 'every' } {
  return when === 'off' ? { enabled: false } : { enabled: true, rounds: when };
}

/** The local loss a `--local-loss` value names; a bad value is a usage error listing the valid forms. */
export function localLossOf(value: string): LocalLoss {
  try {
    return parseLocalLoss(value);
  } catch (err) {
    throw new UsageError(`--local-loss: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The strategy config the strategy flags make (checked by the aggregation library: maxWeight is refused for strategies that do not weight updates). */
export function strategyOf(flags: { strategy: string; fedbn?: boolean; maxWeight?: number; serverLr?: number }): Record<string, unknown> {
  return {
    name: flags.strategy,
    ...(flags.fedbn ? { batchNorm: 'local' } : {}),
    ...(flags.maxWeight !== undefined ? { maxWeight: flags.maxWeight } : {}),
    ...(flags.serverLr !== undefined ? { serverLearningRate: flags.serverLr } : {}),
  };
}

const RUN_OPTIONS: RunOption[] = [
  { option: new Option('--demo', 'use the embedded synthetic chest X-rays (generated once into --cache-dir)'), file: z.boolean() },
  { option: new Option('--data <dir>', 'one data set in class folders, split among the hospitals by --partition'), file: z.string() },
  { option: new Option('--hospital-data <dirs>', 'one folder per hospital, comma-separated (instead of --data)'), file: z.string() },
  { option: new Option('--hospitals <n>', 'number of hospitals').argParser(parseIntOption('--hospitals', 1)).default(3), file: int(1) },
  { option: new Option('--partition <spec>', 'iid | dirichlet:<alpha> | pathological:<k> | quantity:<beta> (default: iid; demo: dirichlet:1)'), file: z.string() },
  { option: new Option('--rounds <n>', 'federated rounds').argParser(parseIntOption('--rounds', 1)).default(3), file: int(1) },
  { option: new Option('--local-epochs <n>', `epochs each hospital trains per round (default ${DEFAULT_LOCAL_EPOCHS})`).argParser(parseIntOption('--local-epochs', 1)), file: int(1) },
  { option: new Option('--batch-size <n>', 'training batch size').argParser(parseIntOption('--batch-size', 1)).default(32), file: int(1) },
  { option: new Option('--max-examples <n>', 'cap on training examples per hospital epoch (0 = all)').argParser(parseIntOption('--max-examples', 0)).default(0), file: int(0) },
  { option: new Option('--strategy <name>', `aggregation strategy: ${STRATEGY_NAMES.join(', ')} (docs/AGGREGATION.md)`).default('fedavg'), file: z.string() },
  { option: new Option('--fedbn', "keep BatchNorm layers local to each hospital (FedBN: the strategy's batchNorm: local)"), file: z.boolean() },
  { option: maxWeightOption(), file: z.number().gt(0).lte(1) },
  { option: serverLrOption(), file: z.number().positive() },
  { option: localLossOption(), file: z.string() },
  { option: headCalibrationOption(), file: z.enum(HEAD_CALIBRATION_CHOICES) },
  { option: new Option('--arch <arch>', 'densenet121 | densenet169 | densenet201 | densenet-small | densenet-tiny').default('densenet-tiny'), file: z.string() },
  { option: new Option('--image-size <px>', 'model input size (default 224; demo 64)').argParser(parseIntOption('--image-size', 8)), file: int(8) },
  { option: new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'), file: z.enum(BACKENDS) },
  { option: new Option('--output <kind>', "softmax (categorical CE) or sigmoid (binary CE, the study's)").choices(['softmax', 'sigmoid']), file: z.enum(['softmax', 'sigmoid']) },
  { option: new Option('--seed <n>', 'seed for the split, partition, initial weights and sampling').argParser(parseIntOption('--seed', 0)).default(42), file: int(0) },
  { option: new Option('--no-workers', 'train hospitals on the main thread instead of one worker thread each'), file: z.boolean() },
  { option: new Option('--processes', 'run every hospital in its own process, as real hospitals are'), file: z.boolean() },
  { option: new Option('--no-augment', 'train without augmentation'), file: z.boolean() },
  { option: new Option('--balance <target>', "balance classes in each hospital's epochs: max, none or a count per class").default('max'), file: z.union([z.enum(['max', 'none']), int(1)]) },
  { option: new Option('--max-repeat <n>', "most times one image may appear in a balanced epoch (default 2; 0 = no bound, the study's balancing)").argParser(parseIntOption('--max-repeat', 0)), file: int(0) },
  { option: new Option('--cache-dir <dir>', "where --demo keeps the generated images, and each hospital its frozen backbone's features").default('.cache'), file: z.string() },
  { option: new Option('--weights <source>', 'starting weights: random (default), imagenet (fetched into ~/.cache/fedxray), a Keras .h5 file or a model folder (e.g. an earlier run\'s model/)'), file: z.string() },
  { option: new Option('--trainable <what>', 'what trains: all, head or from:<keras layer name> (e.g. from:conv5_block1_0_bn); frozen tensors are not sent'), file: z.string() },
  { option: new Option('--schedule <spec>', 'what trains round by round, e.g. head:3,all:7 (instead of --trainable)'), file: z.string() },
  { option: new Option('--normalize <mode>', "pixel normalisation: rescale (x/255, the study's) or imagenet (default with --weights imagenet)").choices(NORMALIZE), file: z.enum(NORMALIZE) },
  { option: new Option('--preset <name>', "the study's setting in one flag (see README; flags given beside it win)").choices(['study']), file: z.enum(['study']) },
  ...PRIVACY_OPTIONS,
];

/**
 * `--preset study`: the study's setting (DESIGN.md). DenseNet-121 from
 * ImageNet weights at 224 px (3 channels, ImageNet normalisation), the head
 * trained (Dense 512 ReLU → BN → Dropout 0.3 → Dense sigmoid with binary
 * cross-entropy, the spec's defaults but for the output), Adam 1e-3 (the
 * spec's default), batch 64, augmented and balanced batches.
 */
export const PRESETS: Record<'study', Partial<RunFlags>> = {
  study: { arch: 'densenet121', imageSize: 224, weights: 'imagenet', normalize: 'imagenet', trainable: 'head', output: 'sigmoid', batchSize: 64, augment: true, balance: 'max' },
};

/** Adds the shared options to a command. */
export function addRunOptions(cmd: Command): Command {
  for (const { option } of RUN_OPTIONS) cmd.addOption(option);
  return cmd;
}

/** What a --config file may hold: every shared option (camelCase) plus `extra`; any other key is refused with its path. */
export function configFileSchema(extra: Record<string, z.ZodType>): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = { ...extra };
  for (const { option, file } of RUN_OPTIONS) shape[option.attributeName()] = file.optional();
  return z.strictObject(shape);
}

/**
 * The flags with a --config file's values where the command line did not give
 * the flag (a default does not override the file; a flag given does), over a
 * --preset's (the command line's, else the file's). The file is checked
 * against `schema` first.
 */
export function withConfigFile<F extends object>(flags: F & { config?: string; preset?: 'study' }, cmd: Command, schema: z.ZodType<Record<string, unknown>>): F {
  const file = flags.config ? readConfigFile(flags.config, schema) : {};
  const fromCli = (k: string) => cmd.getOptionValueSource(k) === 'cli';
  const merged: Record<string, unknown> = { ...flags };
  const preset = fromCli('preset') ? flags.preset : ((file.preset as 'study' | undefined) ?? flags.preset);
  if (preset) for (const [k, v] of Object.entries(PRESETS[preset])) if (!fromCli(k)) merged[k] = v;
  for (const [k, v] of Object.entries(file)) if (!fromCli(k)) merged[k] = v;
  return merged as F;
}

/** A --config file's options, checked against `schema`. */
function readConfigFile(path: string, schema: z.ZodType<Record<string, unknown>>): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`Cannot read --config ${path}: ${err instanceof Error ? err.message : err}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys' ? i.keys.map((k) => `${[...i.path, k].join('.')}: unknown option`) : [`${i.path.join('.') || '(file)'}: ${i.message}`],
    );
    throw new UsageError(`Invalid --config ${path}: ${problems.join('; ')}`);
  }
  return r.data;
}

/** The model spec fields the shared flags set (classes come from the data). */
export function modelOf(flags: RunFlags): Record<string, unknown> {
  return {
    arch: flags.arch,
    imageSize: flags.imageSize ?? (flags.demo ? 64 : 224),
    ...(flags.output ? { output: flags.output } : {}),
    ...(flags.normalize ? { normalize: flags.normalize } : {}),
  };
}

function balanceOf(balance: string | number): 'max' | 'none' | number {
  if (balance === 'max' || balance === 'none') return balance;
  const n = Number(balance);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`Expected --balance to be max, none or a positive count per class, but got ${balance}`);
  return n;
}

/** The simulation settings the shared flags make (data resolved by the caller: `--demo` generates it). */
export function simulationSettings(flags: RunFlags, data: string | undefined) {
  return {
    data,
    hospitalData: flags.hospitalData ? flags.hospitalData.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    hospitals: flags.hospitals,
    partition: flags.partition ?? (flags.demo ? 'dirichlet:1' : 'iid'),
    rounds: flags.rounds,
    localEpochs: flags.localEpochs ?? DEFAULT_LOCAL_EPOCHS,
    batchSize: flags.batchSize,
    maxExamplesPerEpoch: flags.maxExamples,
    strategy: strategyOf(flags),
    model: modelOf(flags),
    backend: flags.backend,
    augment: flags.augment,
    balance: balanceOf(flags.balance),
    maxRepeat: flags.maxRepeat,
    ...(flags.localLoss !== undefined ? { localLoss: localLossOf(flags.localLoss) } : {}),
    ...(flags.headCalibration !== undefined ? { headCalibration: flags.headCalibration } : {}),
    seed: flags.seed,
    workers: flags.workers,
    processes: !!flags.processes,
    weights: flags.weights,
    trainable: flags.trainable,
    schedule: flags.schedule,
    featureCacheDir: join(flags.cacheDir, 'hospitals'),
    ...privacySettings(flags),
  };
}

/** Exactly one data source: `--demo`, `--data` or `--hospital-data`. */
export function checkDataSource(flags: RunFlags): void {
  if ([flags.demo, flags.data, flags.hospitalData].filter(Boolean).length !== 1) throw new UsageError('Give exactly one of --demo, --data <dir> or --hospital-data <a,b,c>');
}
