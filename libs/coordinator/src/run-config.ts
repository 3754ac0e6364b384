// A coordinator's configuration, checked whole before anything is stored: the
// config's own fields, the strategy (by the aggregation library), the model
// spec (by the model library) and the TLS files. And whether a start may
// resume the unfinished run it finds.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseStrategyConfig, type StrategyConfig } from '@fedxray/aggregation';
import { ModelSpecSchema, trainingSchedule, weightsPreprocessing, type ModelSpec, type ScheduleEntry } from '@fedxray/model';
import { DEFAULT_LOCAL_LOSS, defaultLocalLoss, type LocalLoss } from '@fedxray/protocol';
import { isLoopback } from './access';
import { CoordinatorConfigSchema, type CoordinatorConfig, type CoordinatorConfigInput } from './config';
import { privacyConflicts } from './privacy-config';

/** A configuration every part of the coordinator can trust. */
export interface ResolvedConfig {
  /** `strategy` and `model` hold the parsed strategy config and model spec, defaults filled in; `keepBatchNormLocal` is folded into the strategy. */
  config: CoordinatorConfig;
  spec: ModelSpec;
  strategy: StrategyConfig;
  /** The TLS certificate and key, read. */
  tls?: { cert: Buffer; key: Buffer };
  /** What trains round by round (`trainable` or `schedule`); null: the model as built, every tensor aggregated. */
  schedule: ScheduleEntry[] | null;
  /** Lines for the log: the preprocessing the starting weights call for. */
  notes: string[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describe(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 8)
    .flatMap((i) => {
      const at = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${at ? `${at}.` : ''}${k}: unknown field`);
      return [`${at || '(config)'}: ${i.message}`];
    })
    .join('; ');
}

/** Paths of `input` that `parsed` does not have: fields a schema that strips unknown keys dropped. */
function droppedKeys(input: unknown, parsed: unknown, prefix: string): string[] {
  if (!input || typeof input !== 'object' || Array.isArray(input) || !parsed || typeof parsed !== 'object') return [];
  return Object.entries(input).flatMap(([k, v]) => (k in parsed ? droppedKeys(v, (parsed as Record<string, unknown>)[k], `${prefix}.${k}`) : [`${prefix}.${k}`]));
}

/**
 * The server learning rate of a fedavg run whose config names none: the global
 * model moves 1.5 times the hospitals' mean update. With a few hospitals each
 * training one epoch a round, the mean update is a fraction of what one
 * centralized epoch moves, so FedAvg at η = 1 trails training in one place even
 * on IID data (docs/EXPERIMENTS.md, "A server learning rate of 1.5"). The
 * aggregation library's own default stays 1 (McMahan's FedAvg, Flower's
 * arithmetic); `serverLearningRate: 1` (`--server-lr 1`) asks for it.
 */
export const DEFAULT_FEDAVG_SERVER_LEARNING_RATE = 1.5;

/** The strategy the config asks for: FedBN is `batchNorm: 'local'`, however it was asked; fedavg's server learning rate is filled in. */
function strategyOf(config: CoordinatorConfig): StrategyConfig {
  const input = { ...config.strategy };
  if (input.name === 'fedavg' && input.serverLearningRate === undefined) input.serverLearningRate = DEFAULT_FEDAVG_SERVER_LEARNING_RATE;
  if (config.keepBatchNormLocal) {
    if (input.batchNorm !== undefined && input.batchNorm !== 'local') {
      throw new ConfigError(`keepBatchNormLocal (--fedbn) keeps BatchNorm local, but strategy.batchNorm is ${JSON.stringify(input.batchNorm)}: give only one of them`);
    }
    input.batchNorm = 'local';
  }
  let parsed: StrategyConfig;
  try {
    parsed = parseStrategyConfig(input);
  } catch (err) {
    throw new ConfigError(`Invalid strategy: ${err instanceof Error ? err.message : String(err)}`);
  }
  const unknown = droppedKeys(input, parsed, 'strategy');
  if (unknown.length > 0) throw new ConfigError(`Invalid strategy: ${unknown.map((k) => `${k}: unknown option of ${parsed.name}`).join('; ')}`);
  return parsed;
}

function specOf(config: CoordinatorConfig): ModelSpec {
  const parsed = ModelSpecSchema.safeParse(config.model);
  if (!parsed.success) throw new ConfigError(`Invalid model spec: ${describe(parsed.error, 'model')}`);
  const unknown = droppedKeys(config.model, parsed.data, 'model');
  if (unknown.length > 0) throw new ConfigError(`Invalid model spec: ${unknown.map((k) => `${k}: unknown field`).join('; ')}`);
  return parsed.data as ModelSpec;
}

/** The spec with the channels and normalisation the starting weights call for (what the config gave is checked, not overridden). */
function withWeightsPreprocessing(config: CoordinatorConfig, spec: ModelSpec): { spec: ModelSpec; notes: string[] } {
  if (!config.weights || config.weights === 'random') return { spec, notes: [] };
  const given = config.model as { channels?: number };
  try {
    const pre = weightsPreprocessing(config.weights, { channels: given.channels, normalize: spec.normalize });
    return { spec: { ...spec, channels: pre.channels, normalize: pre.normalize }, notes: [pre.log] };
  } catch (err) {
    throw new ConfigError(`Invalid weights: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function scheduleOf(config: CoordinatorConfig, spec: ModelSpec): ScheduleEntry[] | null {
  try {
    return trainingSchedule(spec, { trainable: config.trainable, schedule: config.schedule, rounds: config.rounds });
  } catch (err) {
    throw new ConfigError(`Invalid ${config.schedule ? 'schedule' : 'trainable'}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`Cannot read the TLS ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Checks a whole configuration; throws ConfigError naming every bad field. Reads the TLS files. */
export function resolveConfig(input: CoordinatorConfigInput | Record<string, unknown>): ResolvedConfig {
  const parsed = CoordinatorConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(`Invalid coordinator config: ${describe(parsed.error)}`);
  const raw = parsed.data;
  if (!raw.tls && !raw.allowInsecure && !isLoopback(raw.host)) {
    throw new ConfigError(
      `Refusing plain HTTP on ${raw.host}: hospital tokens and weights would cross the network unencrypted. Give a TLS certificate and key, or pass allowInsecure (--insecure) if a trusted proxy terminates TLS.`,
    );
  }
  const strategy = strategyOf(raw);
  const { spec, notes } = withWeightsPreprocessing(raw, specOf(raw));
  const schedule = scheduleOf(raw, spec);
  if (raw.fit.localLoss && raw.fit.localLoss.name !== 'ce' && spec.output !== 'softmax') {
    throw new ConfigError(`fit.localLoss ${raw.fit.localLoss.name} changes softmax logits, but model.output is ${spec.output}: use ce, or a softmax output`);
  }
  // the default depends on the output; written into the config so the run records what its hospitals train with
  const fit = { ...raw.fit, localLoss: localLossOf({ fit: raw.fit, model: spec }) };
  const privacy = privacyConflicts(raw, strategy);
  if (privacy.length > 0) throw new ConfigError(`Invalid privacy options: ${privacy.join('; ')}`);
  const tls = raw.tls ? { cert: readPem(raw.tls.cert, 'certificate'), key: readPem(raw.tls.key, 'key') } : undefined;
  const { keepBatchNormLocal: _folded, ...rest } = raw;
  const config: CoordinatorConfig = { ...rest, fit, strategy: { ...strategy }, model: { ...spec } };
  return { config, spec, strategy, tls, schedule, notes };
}

/** Fields that say how to serve a run, not what it computes: a resumed run takes them from the new start. */
export const SERVING_FIELDS = [
  'dataDir',
  'host',
  'port',
  'tls',
  'allowInsecure',
  'runId',
  'newRun',
  'waitTimeoutMs',
  'roundTimeoutMs',
  'diskFullRetryMs',
  'heartbeatIntervalMs',
  'heartbeatMisses',
  'maxPayloadBytes',
  'dashboardDir',
  'dashboardToken',
  'staticTokens',
  'trustProxy',
  'helloTimeoutMs',
  'authFailureLimit',
  'authBlockMs',
  'maxDashboardConnections',
] as const satisfies readonly (keyof CoordinatorConfig)[];

/** The config of a run as stored (no tokens). */
/** The loss a run's hospitals train with: the config's, or the default for its model's output (defaultLocalLoss). */
export function localLossOf(config: Pick<CoordinatorConfig, 'fit' | 'model'>): LocalLoss {
  return config.fit.localLoss ?? defaultLocalLoss(config.model.output === 'sigmoid' ? 'sigmoid' : 'softmax');
}

export function persistedConfig(config: CoordinatorConfig): Record<string, unknown> {
  const { staticTokens: _s, dashboardToken: _d, ...persisted } = config;
  return persisted;
}

function flatten(value: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

/** How two configs differ in what they compute (serving fields aside), as `path: stored → new` lines. */
export function runDifferences(stored: CoordinatorConfig, next: CoordinatorConfig): string[] {
  const serving = new Set<string>(SERVING_FIELDS);
  const strip = (c: CoordinatorConfig) => Object.fromEntries(Object.entries(c).filter(([k]) => !serving.has(k)));
  const a = flatten(strip(stored), '', new Map());
  const b = flatten(strip(next), '', new Map());
  return [...new Set([...a.keys(), ...b.keys()])]
    .sort()
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => `${k}: ${a.get(k) ?? '(none)'} → ${b.get(k) ?? '(none)'}`);
}

/**
 * A stored run's config, with this start's serving fields (where and how to listen, timeouts, tokens).
 * A run resumes with what it ran with, also where a default changed since it was stored: a fedavg run
 * stored before fedavg had a server learning rate ran McMahan's FedAvg (1), and a run stored before
 * `fit.localLoss` existed trained with cross-entropy.
 */
export function resumedConfig(stored: Record<string, unknown>, start: CoordinatorConfig): ResolvedConfig {
  const serving = Object.fromEntries(SERVING_FIELDS.filter((k) => start[k] !== undefined).map((k) => [k, start[k]]));
  const kept = Object.fromEntries(Object.entries(stored).filter(([k]) => !(SERVING_FIELDS as readonly string[]).includes(k)));
  const strategy = kept.strategy as Record<string, unknown> | undefined;
  if (strategy?.name === 'fedavg' && strategy.serverLearningRate === undefined) kept.strategy = { ...strategy, serverLearningRate: 1 };
  const fit = kept.fit as Record<string, unknown> | undefined;
  if (fit && fit.localLoss === undefined) kept.fit = { ...fit, localLoss: DEFAULT_LOCAL_LOSS };
  return resolveConfig({ ...kept, ...serving });
}
