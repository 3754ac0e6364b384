import { z } from 'zod';
import { DESIGNS } from './l9';

export const TUNE_OPTIMIZERS = ['adam', 'sgd', 'adagrad'] as const;
export const TUNE_ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;

const threeDistinct = <T extends z.ZodType<string | number>>(item: T, name: string) =>
  z
    .array(item)
    .length(3, { message: `${name}: expected exactly 3 levels` })
    .refine((xs) => new Set(xs).size === xs.length, { message: `${name}: the 3 levels must all differ` });

/**
 * The four factors of the study's L9 design, three levels each, in the order
 * of the array's columns. Defaults are the study's levels.
 */
export const TuneFactorsSchema = z
  .object({
    /** @default ['adam', 'sgd', 'adagrad'] */
    optimizer: threeDistinct(z.enum(TUNE_OPTIMIZERS), 'optimizer').default(['adam', 'sgd', 'adagrad']),
    /** @default [0.001, 0.0001, 0.005] */
    learningRate: threeDistinct(z.number().positive().max(10), 'learningRate').default([0.001, 0.0001, 0.005]),
    /** Dropout after the Dense-512 layer. @default [0.3, 0.4, 0.5] */
    dropout: threeDistinct(z.number().min(0).max(0.95), 'dropout').default([0.3, 0.4, 0.5]),
    /** Activation of the Dense-512 layer. @default ['relu', 'tanh', 'sigmoid'] */
    activation: threeDistinct(z.enum(TUNE_ACTIVATIONS), 'activation').default(['relu', 'tanh', 'sigmoid']),
  })
  .strict();

/** A design and its factor levels, as `--config` gives them. */
export const TuneDesignSchema = z
  .object({
    design: z.enum(Object.keys(DESIGNS) as [keyof typeof DESIGNS]).default('l9'),
    factors: TuneFactorsSchema.prefault({}),
  })
  .strict();

export type TuneFactors = z.infer<typeof TuneFactorsSchema>;
export type TuneFactorsInput = z.input<typeof TuneFactorsSchema>;
export type TuneDesign = z.infer<typeof TuneDesignSchema>;
export type TuneDesignInput = z.input<typeof TuneDesignSchema>;

/** Column order of the array. */
export const FACTOR_NAMES = ['optimizer', 'learningRate', 'dropout', 'activation'] as const;
export type FactorName = (typeof FACTOR_NAMES)[number];

/** Headings used in tables. */
export const FACTOR_LABELS: Record<FactorName, string> = {
  optimizer: 'optimizer',
  learningRate: 'learning rate',
  dropout: 'dropout',
  activation: 'activation',
};

/** Parses a design, refusing a bad one with every problem and its path. */
export function parseTuneDesign(input: unknown): TuneDesign {
  const r = TuneDesignSchema.safeParse(input);
  if (!r.success) throw new TuneConfigError(`Invalid tune design: ${r.error.issues.map((i) => `${i.path.join('.') || '(design)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export class TuneConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TuneConfigError';
  }
}
