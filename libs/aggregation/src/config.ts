import type { z } from 'zod';
import { createRegistry } from './registry';
import { STRATEGIES } from './strategies';

const registry = createRegistry(STRATEGIES);

/** Every strategy's config: a union on `name`; each member has `.default()`s and refuses unknown keys. */
export const StrategyConfigSchema = registry.schema;
export type StrategyConfig = z.output<typeof StrategyConfigSchema>;
export type StrategyConfigInput = z.input<typeof StrategyConfigSchema>;
export type StrategyName = StrategyConfig['name'];

/** The registered strategies' names, in registration order. */
export const STRATEGY_NAMES: readonly StrategyName[] = registry.names;
/** Parses a strategy config (defaults filled in); a bad one is refused with the valid choices named. */
export const parseStrategyConfig = registry.parse;
/** Builds the strategy a parsed config names (see createRegistry). */
export const createStrategy = registry.create;
/** Traits, description and defaults of a strategy, by name. */
export const strategyInfo = registry.info;
/** One line per strategy (`name: description`), for help texts. */
export const strategyHelp = registry.help;
