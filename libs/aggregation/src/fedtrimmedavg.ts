import { trimmedMean } from './aggregate';
import { AggregationError } from './errors';
import { z } from 'zod';
import { HoldingStrategy, type HeldUpdate } from './holding';
import { defineStrategy } from './registry';
import type { StrategyOptions } from './strategy';

/** FedTrimmedAvg (Yin et al. 2018): coordinate-wise mean without the ⌊β·n⌋ extremes on each side. */
export class FedTrimmedAvg extends HoldingStrategy {
  readonly name = 'fedtrimmedavg';

  constructor(
    readonly beta: number,
    options: StrategyOptions = {},
  ) {
    super(options);
    if (!(beta >= 0 && beta < 0.5)) throw new AggregationError('bad_config', `Expected beta in [0, 0.5), but got ${beta}`);
  }

  protected combine(held: HeldUpdate[]) {
    return { slots: trimmedMean(held.map((h) => h.slots), this.beta), used: held.map((h) => h.id) };
  }
}

export const fedtrimmedavgStrategy = defineStrategy({
  name: 'fedtrimmedavg',
  description: 'coordinate-wise mean without the ⌊β·n⌋ lowest and highest values (Yin et al. 2018)',
  params: { beta: z.number().min(0).lt(0.5).default(0.2) },
  needsIndividualUpdates: true,
  weightedMean: false,
  create: (config, options) => new FedTrimmedAvg(config.beta, options),
});
