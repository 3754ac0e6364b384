import { z } from 'zod';
import { isBatchNormTensor } from './batchnorm';
import { AggregationError } from './errors';
import type { Strategy, StrategyOptions } from './strategy';

/** What the rest of the system must know about a strategy before it runs one. */
export interface StrategyTraits {
  /**
   * Needs each hospital's update on its own (median, trimmed mean, Krum): it
   * cannot run on a securely aggregated sum, and holds every update until `finish`.
   */
  needsIndividualUpdates: boolean;
  /**
   * The result is the example-weighted mean of all the updates, or a server
   * optimizer step taken from it (FedAvg and its family): it runs on a weighted sum.
   */
  weightedMean: boolean;
  /** Updates count by their example counts, so `maxWeight` applies (every weighted mean, and MultiKrum's mean of the kept updates). */
  weighted: boolean;
  /**
   * Built to withstand a minority of lying hospitals (median, trimmed mean,
   * Krum, MultiKrum): the coordinator then pools what hospitals report besides
   * their updates (BatchNorm statistics) robustly too.
   */
  robust: boolean;
}

/** Options a strategy is built with: the caller's, plus what every weighted strategy takes from its config. */
export interface BuildOptions extends StrategyOptions {
  /** Cap on any one hospital's share of the weighted average (config `maxWeight`; absent: no cap). */
  maxWeight?: number;
}

/** Fields every strategy's config has besides its own. */
const commonFields = {
  /** BatchNorm tensors averaged (default) or kept local per hospital (FedBN). @default 'average' */
  batchNorm: z.enum(['average', 'local']).default('average'),
  /**
   * Weighted strategies: no hospital's share of the weighted average exceeds
   * this fraction (docs/AGGREGATION.md, "maxWeight"). Absent: shares follow the example counts.
   */
  maxWeight: z.number().gt(0).lte(1).optional(),
};

type ConfigShape<N extends string, P extends z.ZodRawShape> = { name: z.ZodLiteral<N> } & typeof commonFields & P;

/** One strategy as its file declares it. */
export interface StrategyDefinition<N extends string = string, P extends z.ZodRawShape = z.ZodRawShape> extends StrategyTraits {
  readonly name: N;
  /** One line, for help texts: what the rule does and where it comes from. */
  readonly description: string;
  /** The full config schema: `name`, `batchNorm`, `maxWeight` and the strategy's own parameters (with their defaults); unknown keys are refused. */
  readonly schema: z.ZodObject<ConfigShape<N, P>, z.core.$strict>;
  /** Builds the strategy from a parsed config. */
  create(config: z.output<z.ZodObject<ConfigShape<N, P>>>, options: BuildOptions): Strategy;
}

/**
 * Declares a strategy: its name, its parameters as zod fields with
 * `.default()`s, a one-line description, its traits and how to build it.
 * Register the result in strategies.ts; nothing else needs to change.
 */
export function defineStrategy<const N extends string, P extends z.ZodRawShape>(
  def: Omit<StrategyTraits, 'weighted' | 'robust'> & {
    name: N;
    description: string;
    params: P;
    /** Defaults to `weightedMean`. */
    weighted?: boolean;
    /** Defaults to `needsIndividualUpdates` (every rule that looks at each update on its own is one of the robust ones). */
    robust?: boolean;
    create(config: z.output<z.ZodObject<ConfigShape<N, P>>>, options: BuildOptions): Strategy;
  },
): StrategyDefinition<N, P> {
  const weighted = def.weighted ?? def.weightedMean;
  const schema = z.strictObject({ name: z.literal(def.name), ...commonFields, ...def.params } as ConfigShape<N, P>).superRefine((config, ctx) => {
    if (!weighted && (config as { maxWeight?: number }).maxWeight !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxWeight'],
        message: `maxWeight caps a hospital's share of a weighted average, but ${def.name} does not weight updates by their example counts`,
      });
    }
  });
  return {
    name: def.name,
    description: def.description,
    needsIndividualUpdates: def.needsIndividualUpdates,
    weightedMean: def.weightedMean,
    weighted,
    robust: def.robust ?? def.needsIndividualUpdates,
    schema,
    create: def.create,
  };
}

/** What `strategyInfo` tells about a registered strategy. */
export interface StrategyInfo extends StrategyTraits {
  name: string;
  description: string;
  /** The config with every default filled in (its keys are the valid ones). */
  defaults: Record<string, unknown>;
}

type AnyDefinition = StrategyDefinition<string, any>;
type Schemas<D extends readonly AnyDefinition[]> = { -readonly [K in keyof D]: D[K]['schema'] };

/**
 * Everything derived from a list of strategy definitions: the config schema
 * (a union on `name`), the names, parsing with clear refusals, creation, the
 * traits of each and a help text.
 */
export function createRegistry<const D extends readonly [AnyDefinition, ...AnyDefinition[]]>(definitions: D) {
  type Config = z.output<Schemas<D>[number]>;
  type Name = D[number]['name'];
  const byName = new Map<string, AnyDefinition>();
  for (const d of definitions) {
    if (byName.has(d.name)) throw new AggregationError('bad_config', `Strategy ${d.name} is registered twice`);
    byName.set(d.name, d);
  }
  const names = definitions.map((d) => d.name) as readonly Name[];
  const schema = z.discriminatedUnion('name', definitions.map((d) => d.schema) as unknown as Schemas<D>);
  const weightedNames = definitions.filter((d) => d.weighted).map((d) => d.name);

  const find = (name: unknown): AnyDefinition => {
    const d = typeof name === 'string' ? byName.get(name) : undefined;
    if (!d) throw new AggregationError('bad_config', `Expected strategy name to be one of ${names.join(', ')}, but got ${JSON.stringify(name)}`);
    return d;
  };

  /** Parses a strategy config (defaults filled in); a bad one is refused with the valid choices named. */
  const parse = (input: unknown): Config => {
    const d = find((input as { name?: unknown } | null)?.name);
    const r = d.schema.safeParse(input);
    if (!r.success) {
      const issue = r.error.issues[0];
      const at = issue.path.join('.') || '(root)';
      const hint = issue.path[0] === 'maxWeight' && !d.weighted ? ` (weighted strategies: ${weightedNames.join(', ')})` : '';
      const valid = issue.code === 'unrecognized_keys' ? ` (valid: ${Object.keys(d.schema.shape).join(', ')})` : '';
      throw new AggregationError('bad_config', `Bad ${d.name} config at ${at}: ${issue.message}${hint}${valid}`);
    }
    return r.data as Config;
  };

  /**
   * Builds the strategy a parsed config names. `keepLocal` picks the tensors
   * hospitals keep (FedBN); without it, `batchNorm: 'local'` keeps the Keras BatchNorm weights local.
   */
  const create = (config: Config, options: StrategyOptions = {}): Strategy => {
    const c = config as { name: string; batchNorm: 'average' | 'local'; maxWeight?: number };
    const d = find(c.name);
    const keepLocal = options.keepLocal ?? (c.batchNorm === 'local' ? isBatchNormTensor : undefined);
    return d.create(config, { ...options, keepLocal, maxWeight: c.maxWeight });
  };

  /** The traits, description and defaults of a registered strategy; an unknown name is refused with the valid ones listed. */
  const info = (name: string): StrategyInfo => {
    const d = find(name);
    return {
      name: d.name,
      description: d.description,
      needsIndividualUpdates: d.needsIndividualUpdates,
      weightedMean: d.weightedMean,
      weighted: d.weighted,
      robust: d.robust,
      defaults: d.schema.parse({ name: d.name }) as Record<string, unknown>,
    };
  };

  /** One line per strategy: name and description, for `--help`. */
  const help = (): string => definitions.map((d) => `${d.name}: ${d.description}`).join('\n');

  return { definitions, names, schema, parse, create, info, help };
}
