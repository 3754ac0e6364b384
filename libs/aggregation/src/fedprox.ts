import { z } from 'zod';
import { FedAvg, streamingParams, type FedAvgOptions } from './fedavg';
import { defineStrategy } from './registry';
import type { FitInstructions } from './strategy';

/**
 * FedProx (Li et al. 2020): aggregates like FedAvg; hospitals add (μ/2)·‖w − w_global‖²
 * to their local loss. μ travels to them in FitConfig.proximalMu.
 */
export class FedProx extends FedAvg {
  override readonly name = 'fedprox';

  constructor(
    readonly proximalMu: number,
    options: FedAvgOptions = {},
  ) {
    super(options);
  }

  override fitConfig(_round: number): FitInstructions {
    return { proximalMu: this.proximalMu };
  }
}

export const fedproxStrategy = defineStrategy({
  name: 'fedprox',
  description: 'FedAvg on the server; hospitals add (μ/2)·‖w − w_global‖² to their loss (Li et al. 2020)',
  params: { ...streamingParams, proximalMu: z.number().finite().nonnegative().default(0.01) },
  needsIndividualUpdates: false,
  weightedMean: true,
  create: (config, options) => new FedProx(config.proximalMu, { ...options, groupUpdates: config.groupUpdates }),
});
