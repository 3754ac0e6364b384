import { createFedOpt, FedOpt, fedOptParams } from './fedopt';
import { defineStrategy } from './registry';

/** FedAdam: v ← β₂·v + (1 − β₂)·Δ². */
export class FedAdam extends FedOpt {
  override readonly name = 'fedadam';

  protected secondMoment(v: number, delta2: number, beta2: number): number {
    return beta2 * v + (1 - beta2) * delta2;
  }
}

export const fedadamStrategy = defineStrategy({
  name: 'fedadam',
  description: 'adaptive server step, v ← β₂v + (1−β₂)Δ² (Reddi et al. 2021)',
  params: fedOptParams(0.01, 0.9, 1e-3),
  needsIndividualUpdates: false,
  weightedMean: true,
  create: (config, options) => createFedOpt(FedAdam, config, options),
});
