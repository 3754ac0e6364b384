// The options `simulate` and `tune` share (data, federation, model, training),
// defined once: the flags, their defaults, what a --config file may hold for
// them, and the simulation settings they make.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { STRATEGY_NAMES } from '@fedxray/aggregation';
import { UsageError, parseIntOption } from '../usage';

const BACKENDS = ['auto', 'gpu', 'node', 'wasm', 'cpu'] as const;

/** The shared flags, as commander gives them (camelCase). */
export interface RunFlags {
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
}

/** One shared option: its flag and what a --config file may give for it. */
interface RunOption {
  option: Option;
  file: z.ZodType;
}

const int = (min: number) => z.number().int().min(min);

const RUN_OPTIONS: RunOption[] = [
  { option: new Option('--demo', 'use the embedded synthetic chest X-rays (generated once into --cache-dir)'), file: z.boolean() },
  { option: new Option('--data <dir>', 'one data set in class folders, split among the hospitals by --partition'), file: z.string() },
  { option: new Option('--hospital-data <dirs>', 'one folder per hospital, comma-separated (instead of --data)'), file: z.string() },
  { option: new Option('--hospitals <n>', 'number of hospitals').argParser(parseIntOption('--hospitals', 1)).default(3), file: int(1) },
  { option: new Option('--partition <spec>', 'iid | dirichlet:<alpha> | pathological:<k> | quantity:<beta> (default: iid; demo: dirichlet:1)'), file: z.string() },
  { option: new Option('--rounds <n>', 'federated rounds').argParser(parseIntOption('--rounds', 1)).default(3), file: int(1) },
  { option: new Option('--local-epochs <n>', 'epochs each hospital trains per round (default 1; demo 2)').argParser(parseIntOption('--local-epochs', 1)), file: int(1) },
  { option: new Option('--batch-size <n>', 'training batch size').argParser(parseIntOption('--batch-size', 1)).default(32), file: int(1) },
  { option: new Option('--max-examples <n>', 'cap on training examples per hospital epoch (0 = all)').argParser(parseIntOption('--max-examples', 0)).default(0), file: int(0) },
  { option: new Option('--strategy <name>', `aggregation strategy: ${STRATEGY_NAMES.join(', ')} (docs/AGGREGATION.md)`).default('fedavg'), file: z.string() },
  { option: new Option('--fedbn', "keep BatchNorm layers local to each hospital (FedBN: the strategy's batchNorm: local)"), file: z.boolean() },
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
  { option: new Option('--cache-dir <dir>', 'where --demo keeps the generated images').default('.cache'), file: z.string() },
];

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
 * the flag (a default does not override the file; a flag given does). The file
 * is checked against `schema` first.
 */
export function withConfigFile<F extends object>(flags: F & { config?: string }, cmd: Command, schema: z.ZodType<Record<string, unknown>>): F {
  if (!flags.config) return flags;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(flags.config, 'utf8'));
  } catch (err) {
    throw new UsageError(`Cannot read --config ${flags.config}: ${err instanceof Error ? err.message : err}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys' ? i.keys.map((k) => `${[...i.path, k].join('.')}: unknown option`) : [`${i.path.join('.') || '(file)'}: ${i.message}`],
    );
    throw new UsageError(`Invalid --config ${flags.config}: ${problems.join('; ')}`);
  }
  const merged: Record<string, unknown> = { ...flags };
  for (const [k, v] of Object.entries(r.data)) if (cmd.getOptionValueSource(k) !== 'cli') merged[k] = v;
  return merged as F;
}

/** The model spec fields the shared flags set (classes come from the data). */
export function modelOf(flags: RunFlags): Record<string, unknown> {
  return { arch: flags.arch, imageSize: flags.imageSize ?? (flags.demo ? 64 : 224), ...(flags.output ? { output: flags.output } : {}) };
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
    localEpochs: flags.localEpochs ?? (flags.demo ? 2 : 1),
    batchSize: flags.batchSize,
    maxExamplesPerEpoch: flags.maxExamples,
    strategy: { name: flags.strategy, ...(flags.fedbn ? { batchNorm: 'local' } : {}) },
    model: modelOf(flags),
    backend: flags.backend,
    augment: flags.augment,
    balance: balanceOf(flags.balance),
    maxRepeat: flags.maxRepeat,
    seed: flags.seed,
    workers: flags.workers,
    processes: !!flags.processes,
  };
}

/** Exactly one data source: `--demo`, `--data` or `--hospital-data`. */
export function checkDataSource(flags: RunFlags): void {
  if ([flags.demo, flags.data, flags.hospitalData].filter(Boolean).length !== 1) throw new UsageError('Give exactly one of --demo, --data <dir> or --hospital-data <a,b,c>');
}
