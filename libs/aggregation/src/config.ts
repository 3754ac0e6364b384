import { z } from 'zod';
import { isBatchNormTensor } from './batchnorm';
import { AggregationError } from './errors';
import { FedAdagrad } from './fedadagrad';
import { FedAdam } from './fedadam';
import { DEFAULT_GROUP_UPDATES, FedAvg } from './fedavg';
import { FedAvgM } from './fedavgm';
import { FedMedian } from './fedmedian';
import { FedProx } from './fedprox';
import { FedTrimmedAvg } from './fedtrimmedavg';
import { FedYogi } from './fedyogi';
import { Krum } from './krum';
import type { Strategy, StrategyOptions } from './strategy';

const rate = z.number().finite().positive();
const decay = z.number().finite().min(0).max(0.999999);

/** Every strategy: BatchNorm tensors averaged (default) or kept local per hospital (FedBN). */
const common = {
  /** @default 'average' */
  batchNorm: z.enum(['average', 'local']).default('average'),
};

/** Streaming strategies: how many arriving updates are folded per pass (up to this many are held). */
const streaming = {
  ...common,
  /** @default 16 */
  groupUpdates: z.number().int().min(1).max(64).default(DEFAULT_GROUP_UPDATES),
};

const fedOpt = (eta: number, beta1: number, tau: number) => ({
  ...streaming,
  /** Server learning rate η. */
  eta: rate.default(eta),
  beta1: decay.default(beta1),
  beta2: decay.default(0.99),
  /** Adaptivity τ (Reddi et al. suggest 1e-3). */
  tau: rate.default(tau),
});

export const StrategyConfigSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('fedavg'), ...streaming }),
  z.object({ name: z.literal('fedprox'), ...streaming, proximalMu: z.number().finite().nonnegative().default(0.01) }),
  z.object({
    name: z.literal('fedavgm'),
    ...streaming,
    serverLearningRate: rate.default(1),
    serverMomentum: decay.default(0.9),
  }),
  z.object({ name: z.literal('fedadam'), ...fedOpt(0.01, 0.9, 1e-3) }),
  z.object({ name: z.literal('fedyogi'), ...fedOpt(0.01, 0.9, 1e-3) }),
  z.object({ name: z.literal('fedadagrad'), ...fedOpt(0.01, 0, 1e-3) }),
  z.object({ name: z.literal('fedmedian'), ...common }),
  z.object({ name: z.literal('fedtrimmedavg'), ...common, beta: z.number().min(0).lt(0.5).default(0.2) }),
  z.object({ name: z.literal('krum'), ...common, byzantine: z.number().int().nonnegative().default(0) }),
  z.object({
    name: z.literal('multikrum'),
    ...common,
    byzantine: z.number().int().nonnegative().default(0),
    /** Updates averaged; 0 means n − byzantine. */
    keep: z.number().int().nonnegative().default(0),
  }),
]);
export type StrategyConfig = z.infer<typeof StrategyConfigSchema>;
export type StrategyConfigInput = z.input<typeof StrategyConfigSchema>;
export type StrategyName = StrategyConfig['name'];

export const STRATEGY_NAMES: readonly StrategyName[] = [
  'fedavg',
  'fedprox',
  'fedavgm',
  'fedadam',
  'fedyogi',
  'fedadagrad',
  'fedmedian',
  'fedtrimmedavg',
  'krum',
  'multikrum',
];

/** Parses a strategy config (defaults filled in); a bad one is refused with the valid choices named. */
export function parseStrategyConfig(input: unknown): StrategyConfig {
  const name = (input as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || !(STRATEGY_NAMES as readonly string[]).includes(name)) {
    throw new AggregationError('bad_config', `Expected strategy name to be one of ${STRATEGY_NAMES.join(', ')}, but got ${JSON.stringify(name)}`);
  }
  const r = StrategyConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new AggregationError('bad_config', `Bad ${name} config at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Builds the strategy a config names. `keepLocal` picks the tensors hospitals
 * keep (FedBN); without it, `batchNorm: 'local'` keeps the Keras BatchNorm weights local.
 */
export function createStrategy(config: StrategyConfig, options: StrategyOptions = {}): Strategy {
  const keepLocal = options.keepLocal ?? (config.batchNorm === 'local' ? isBatchNormTensor : undefined);
  const base: StrategyOptions = { ...options, keepLocal };
  switch (config.name) {
    case 'fedavg':
      return new FedAvg({ ...base, groupUpdates: config.groupUpdates });
    case 'fedprox':
      return new FedProx(config.proximalMu, { ...base, groupUpdates: config.groupUpdates });
    case 'fedavgm':
      return new FedAvgM(
        { serverLearningRate: config.serverLearningRate, serverMomentum: config.serverMomentum },
        { ...base, groupUpdates: config.groupUpdates },
      );
    case 'fedadam':
    case 'fedyogi':
    case 'fedadagrad': {
      const Cls = config.name === 'fedadam' ? FedAdam : config.name === 'fedyogi' ? FedYogi : FedAdagrad;
      const { eta, beta1, beta2, tau } = config;
      return new Cls({ eta, beta1, beta2, tau }, { ...base, groupUpdates: config.groupUpdates });
    }
    case 'fedmedian':
      return new FedMedian(base);
    case 'fedtrimmedavg':
      return new FedTrimmedAvg(config.beta, base);
    case 'krum':
      return new Krum(config.byzantine, 1, base, 'krum');
    case 'multikrum':
      return new Krum(config.byzantine, config.keep, base, 'multikrum');
  }
}
